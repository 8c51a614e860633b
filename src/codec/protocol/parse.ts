/**
 * Decoding: one record body -> one message, dispatching on the type code; and the
 * incremental parsers for plaintext mode. Unknown types decode to an UnknownMessage that
 * receivers skip; malformed messages of known types are E_MALFORMED_MESSAGE.
 */
import {
  MAX_BYE_REASON_BYTES,
  MAX_KEY_CONFIRM_BYTES,
  MAX_REPORT_BYTES,
  MAX_SETUP_BYTES,
  MESSAGE_HEADER_BYTES,
} from './constants.js';
import { ProtocolError } from './errors.js';
import { HelloParser, type Hello } from './hello.js';
import {
  AUDIO_CODECS,
  MessageFlag,
  MessageType,
  VIDEO_CODECS,
  messageTypeName,
  type AudioSetup,
  type Message,
  type ReceiverReport,
  type Setup,
  type VideoSetup,
} from './messages.js';
import { RecordParser, type RecordParserOptions } from './record.js';
import { EMPTY_PAYLOAD, STATE_CAMERA_OFF_BIT, STATE_MUTED_BIT, STATE_NO_CAMERA_BIT, STATE_NO_MIC_BIT } from './serialize.js';
import { readU64BE } from './uint64.js';

/** Largest frame width or height a SETUP may announce. */
export const MAX_VIDEO_DIMENSION_PIXELS = 16384;
/** Largest frame rate a SETUP may announce. */
export const MAX_VIDEO_FPS = 1000;
/** Largest audio sample rate a SETUP may announce. */
export const MAX_AUDIO_SAMPLE_RATE_HZ = 384_000;
/** Largest audio channel count a SETUP may announce. */
export const MAX_AUDIO_CHANNELS = 8;

function malformed(type: number, why: string): ProtocolError {
  return new ProtocolError('E_MALFORMED_MESSAGE', `malformed ${messageTypeName(type)} message: ${why}`);
}

function u64(type: number, data: Buffer, offset: number): number {
  const value = readU64BE(data, offset);
  if (value === null) throw malformed(type, 'a timestamp exceeds 2^53 microseconds');
  return value;
}

function parseJson(type: number, payload: Buffer, max: number): Record<string, unknown> {
  if (payload.length > max) throw malformed(type, `${payload.length} bytes exceeds the maximum of ${max}`);
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    throw malformed(type, 'payload is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed(type, 'payload is not a JSON object');
  return doc as Record<string, unknown>;
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isFiniteIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

function optionalString(type: number, doc: Record<string, unknown>, key: string): string | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed(type, `${key} is not a string`);
  return value;
}

function videoSetup(doc: unknown): VideoSetup | null {
  const t = MessageType.SETUP;
  if (doc === null) return null;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw malformed(t, 'video is not an object');
  const v = doc as Record<string, unknown>;
  if (typeof v.codec !== 'string') throw malformed(t, 'video.codec is not a string');
  if (!(VIDEO_CODECS as readonly string[]).includes(v.codec)) {
    throw new ProtocolError('E_UNSUPPORTED_CODEC', `the peer sends video as ${JSON.stringify(v.codec.slice(0, 32))}, which this client cannot decode`);
  }
  if (!isInt(v.width, 1, MAX_VIDEO_DIMENSION_PIXELS) || !isInt(v.height, 1, MAX_VIDEO_DIMENSION_PIXELS)) {
    throw malformed(t, 'video.width/height out of range');
  }
  if (!isFiniteIn(v.fps, Number.MIN_VALUE, MAX_VIDEO_FPS)) throw malformed(t, 'video.fps out of range');
  const out: VideoSetup = { codec: v.codec as VideoSetup['codec'], width: v.width, height: v.height, fps: v.fps };
  const extradata = optionalString(t, v, 'extradata');
  if (extradata !== undefined) out.extradata = extradata;
  return out;
}

function audioSetup(doc: unknown): AudioSetup | null {
  const t = MessageType.SETUP;
  if (doc === null) return null;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw malformed(t, 'audio is not an object');
  const a = doc as Record<string, unknown>;
  if (typeof a.codec !== 'string') throw malformed(t, 'audio.codec is not a string');
  if (!(AUDIO_CODECS as readonly string[]).includes(a.codec)) {
    throw new ProtocolError('E_UNSUPPORTED_CODEC', `the peer sends audio as ${JSON.stringify(a.codec.slice(0, 32))}, which this client cannot decode`);
  }
  if (!isInt(a.sampleRate, 1, MAX_AUDIO_SAMPLE_RATE_HZ)) throw malformed(t, 'audio.sampleRate out of range');
  if (!isInt(a.channels, 1, MAX_AUDIO_CHANNELS)) throw malformed(t, 'audio.channels out of range');
  const out: AudioSetup = { codec: a.codec as AudioSetup['codec'], sampleRate: a.sampleRate, channels: a.channels };
  if (a.frameMs !== undefined) {
    if (!isFiniteIn(a.frameMs, Number.MIN_VALUE, 1000)) throw malformed(t, 'audio.frameMs out of range');
    out.frameMs = a.frameMs;
  }
  const extradata = optionalString(t, a, 'extradata');
  if (extradata !== undefined) out.extradata = extradata;
  return out;
}

function setup(payload: Buffer): Setup {
  const t = MessageType.SETUP;
  const doc = parseJson(t, payload, MAX_SETUP_BYTES);
  if (typeof doc.client !== 'string' || typeof doc.clientVersion !== 'string') {
    throw malformed(t, 'client/clientVersion are not strings');
  }
  // A missing section means "none": a later version may split SETUP per channel.
  return { client: doc.client, clientVersion: doc.clientVersion, video: videoSetup(doc.video ?? null), audio: audioSetup(doc.audio ?? null) };
}

const REPORT_COUNTERS = [
  'videoFramesReceived',
  'videoFramesDropped',
  'videoFpsIn',
  'audioMsReceived',
  'audioBufferMs',
  'audioUnderruns',
  'bytesReceived',
] as const;

function report(payload: Buffer): ReceiverReport {
  const t = MessageType.REPORT;
  const doc = parseJson(t, payload, MAX_REPORT_BYTES);
  for (const key of REPORT_COUNTERS) {
    if (!isFiniteIn(doc[key], 0, Number.MAX_VALUE)) throw malformed(t, `${key} is not a non-negative number`);
  }
  const latencyMs = doc.latencyMs ?? null;
  if (latencyMs !== null && !isFiniteIn(latencyMs, -Number.MAX_VALUE, Number.MAX_VALUE)) throw malformed(t, 'latencyMs is not a number');
  return {
    videoFramesReceived: doc.videoFramesReceived as number,
    videoFramesDropped: doc.videoFramesDropped as number,
    videoFpsIn: doc.videoFpsIn as number,
    audioMsReceived: doc.audioMsReceived as number,
    audioBufferMs: doc.audioBufferMs as number,
    audioUnderruns: doc.audioUnderruns as number,
    bytesReceived: doc.bytesReceived as number,
    latencyMs,
  };
}

function need(type: number, payload: Buffer, bytes: number): void {
  if (payload.length < bytes) throw malformed(type, `payload of ${payload.length} bytes, needs at least ${bytes}`);
}

/**
 * Decodes one message from a record body (plaintext, or what an AEAD opened). Payloads of
 * VIDEO, AUDIO and KEY_CONFIRM are views of `body`, not copies. Fixed-size payloads may
 * carry trailing bytes, which are ignored (room for later versions to append fields).
 */
export function decodeMessage(body: Uint8Array): Message {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  if (data.length < MESSAGE_HEADER_BYTES) {
    throw new ProtocolError('E_MALFORMED_MESSAGE', `message of ${data.length} bytes is shorter than its ${MESSAGE_HEADER_BYTES}-byte header`);
  }
  const type = data[0];
  const flags = data[1];
  const seq = data.readUInt32BE(2);
  const timestampUs = u64(type, data, 6);
  const payload = data.length === MESSAGE_HEADER_BYTES ? EMPTY_PAYLOAD : data.subarray(MESSAGE_HEADER_BYTES);
  switch (type) {
    case MessageType.SETUP:
      return { type, seq, timestampUs, setup: setup(payload) };
    case MessageType.VIDEO:
      return { type, seq, timestampUs, keyframe: (flags & MessageFlag.KEYFRAME) !== 0, data: payload };
    case MessageType.AUDIO:
      return { type, seq, timestampUs, data: payload };
    case MessageType.PING:
      need(type, payload, 8);
      return { type, seq, timestampUs, t0Us: u64(type, payload, 0) };
    case MessageType.PONG:
      need(type, payload, 24);
      return { type, seq, timestampUs, t0Us: u64(type, payload, 0), t1Us: u64(type, payload, 8), t2Us: u64(type, payload, 16) };
    case MessageType.STATE:
      need(type, payload, 1);
      return {
        type, seq, timestampUs, muted: (payload[0] & STATE_MUTED_BIT) !== 0, cameraOff: (payload[0] & STATE_CAMERA_OFF_BIT) !== 0,
        // The added bits appear only when set: a STATE of an older peer parses as it always did.
        ...((payload[0] & STATE_NO_CAMERA_BIT) !== 0 ? { noCamera: true } : {}),
        ...((payload[0] & STATE_NO_MIC_BIT) !== 0 ? { noMic: true } : {}),
      };
    case MessageType.KEYFRAME_REQUEST:
      return { type, seq, timestampUs };
    case MessageType.BYE:
      if (payload.length > MAX_BYE_REASON_BYTES) throw malformed(type, `reason longer than ${MAX_BYE_REASON_BYTES} bytes`);
      return { type, seq, timestampUs, reason: payload.toString('utf8') };
    case MessageType.REPORT:
      return { type, seq, timestampUs, report: report(payload) };
    case MessageType.KEY_CONFIRM:
      if (payload.length > MAX_KEY_CONFIRM_BYTES) throw malformed(type, `MAC longer than ${MAX_KEY_CONFIRM_BYTES} bytes`);
      return { type, seq, timestampUs, mac: payload };
    default:
      return { type: 'unknown', code: type, flags, seq, timestampUs, payload };
  }
}

/**
 * Plaintext mode after HELLO: records in, messages out. Same memory bound and error
 * behaviour as RecordParser; a malformed message also ends the stream.
 */
export class MessageParser {
  private readonly records: RecordParser;

  constructor(options: RecordParserOptions = {}) {
    this.records = new RecordParser(options);
  }

  /** Bytes held between pushes (at most RECORD_HEADER_BYTES + max record size). */
  get bufferedBytes(): number {
    return this.records.bufferedBytes;
  }

  /** True when nothing partial is buffered. */
  get idle(): boolean {
    return this.records.idle;
  }

  /** Parses one chunk; returns the messages it completed, in order. */
  push(chunk: Uint8Array): Message[] {
    const messages: Message[] = [];
    this.parse(chunk, (msg) => messages.push(msg));
    return messages;
  }

  /** Parses one chunk, calling `onMessage` in order; messages before an error are delivered. */
  parse(chunk: Uint8Array, onMessage: (msg: Message) => void): void {
    this.records.parse(chunk, (body) => onMessage(decodeMessage(body)));
  }
}

/** What a StreamParser produces: the peer's HELLO once, then its messages. */
export type StreamEvent = { kind: 'hello'; hello: Hello } | { kind: 'message'; message: Message };

/**
 * A whole plaintext connection after the relay handshake: HELLO, then messages. Feed it
 * every byte the relay passes on; the HELLO event comes first, exactly once.
 */
export class StreamParser {
  private readonly helloParser = new HelloParser();
  private readonly messageParser: MessageParser;
  private hello: Hello | null = null;

  constructor(options: RecordParserOptions = {}) {
    this.messageParser = new MessageParser(options);
  }

  /** The peer's HELLO, once it has arrived. */
  get peerHello(): Hello | null {
    return this.hello;
  }

  /** Bytes held between pushes. */
  get bufferedBytes(): number {
    return this.hello ? this.messageParser.bufferedBytes : this.helloParser.bufferedBytes;
  }

  /** Parses one chunk; returns its events in order. */
  push(chunk: Uint8Array): StreamEvent[] {
    const events: StreamEvent[] = [];
    this.parse(chunk, (event) => events.push(event));
    return events;
  }

  /** Parses one chunk, calling `onEvent` in order; events before an error are delivered. */
  parse(chunk: Uint8Array, onEvent: (event: StreamEvent) => void): void {
    let rest: Uint8Array = chunk;
    if (!this.hello) {
      const result = this.helloParser.push(chunk);
      if (!result) return;
      this.hello = result.hello;
      onEvent({ kind: 'hello', hello: result.hello });
      rest = result.rest;
    }
    if (rest.length > 0) this.messageParser.parse(rest, (message) => onEvent({ kind: 'message', message }));
  }
}
