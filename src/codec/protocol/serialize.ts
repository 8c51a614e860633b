/**
 * Encoding: one serializer per message type, each returning the header flags and the
 * payload; `encodeMessage` and `encodeFramedMessage` assemble header and payload with a
 * single copy of the payload (a video frame is copied once, into the outgoing record).
 */
import {
  MAX_BYE_REASON_BYTES,
  MAX_KEY_CONFIRM_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_REPORT_BYTES,
  MAX_SEQ,
  MAX_SETUP_BYTES,
  MESSAGE_HEADER_BYTES,
  RECORD_HEADER_BYTES,
} from './constants.js';
import { ProtocolError } from './errors.js';
import {
  MessageFlag,
  MessageType,
  type ByeMessage,
  type KeyConfirmMessage,
  type KnownMessage,
  type MessageInit,
  type PingMessage,
  type PongMessage,
  type ReportMessage,
  type SetupMessage,
  type StateMessage,
  type VideoMessage,
} from './messages.js';
import { writeRecordHeader } from './record.js';
import { writeU64BE } from './uint64.js';

/** The payload of every bodiless message (KEYFRAME_REQUEST), shared rather than allocated. */
export const EMPTY_PAYLOAD: Buffer = Buffer.alloc(0);

/** Header flags and payload of one message, before assembly. */
interface Serialized {
  flags: number;
  payload: Uint8Array;
}

/** Bit of the STATE payload byte: the sender's microphone is muted. */
export const STATE_MUTED_BIT = 0x01;
/** Bit of the STATE payload byte: the sender's camera is off. */
export const STATE_CAMERA_OFF_BIT = 0x02;
/** Bit of the STATE payload byte: the sender has no camera at all (none, or it failed); sent with STATE_CAMERA_OFF_BIT. */
export const STATE_NO_CAMERA_BIT = 0x04;
/** Bit of the STATE payload byte: the sender has no microphone at all (none, or it failed). */
export const STATE_NO_MIC_BIT = 0x08;

const NO_FLAGS = 0;

function json(value: unknown, max: number, what: string): Buffer {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  if (bytes.length > max) {
    throw new ProtocolError('E_FRAME_TOO_LARGE', `${what} of ${bytes.length} bytes exceeds the maximum of ${max} bytes`);
  }
  return bytes;
}

/** Cuts UTF-8 text to at most `max` bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function setup(msg: SetupMessage): Serialized {
  const { client, clientVersion, video, audio } = msg.setup;
  return { flags: NO_FLAGS, payload: json({ client, clientVersion, video, audio }, MAX_SETUP_BYTES, 'SETUP') };
}

function video(msg: VideoMessage): Serialized {
  return { flags: msg.keyframe ? MessageFlag.KEYFRAME : NO_FLAGS, payload: msg.data };
}

function ping(msg: PingMessage): Serialized {
  const payload = Buffer.allocUnsafe(8);
  writeU64BE(payload, msg.t0Us, 0);
  return { flags: NO_FLAGS, payload };
}

function pong(msg: PongMessage): Serialized {
  const payload = Buffer.allocUnsafe(24);
  writeU64BE(payload, msg.t0Us, 0);
  writeU64BE(payload, msg.t1Us, 8);
  writeU64BE(payload, msg.t2Us, 16);
  return { flags: NO_FLAGS, payload };
}

function state(msg: StateMessage): Serialized {
  const bits = (msg.muted ? STATE_MUTED_BIT : 0) | (msg.cameraOff ? STATE_CAMERA_OFF_BIT : 0)
    | (msg.noCamera ? STATE_NO_CAMERA_BIT : 0) | (msg.noMic ? STATE_NO_MIC_BIT : 0);
  return { flags: NO_FLAGS, payload: Buffer.of(bits) };
}

function bye(msg: ByeMessage): Serialized {
  return { flags: NO_FLAGS, payload: truncateUtf8(msg.reason, MAX_BYE_REASON_BYTES) };
}

function report(msg: ReportMessage): Serialized {
  const r = msg.report;
  const doc = {
    videoFramesReceived: r.videoFramesReceived,
    videoFramesDropped: r.videoFramesDropped,
    videoFpsIn: r.videoFpsIn,
    audioMsReceived: r.audioMsReceived,
    audioBufferMs: r.audioBufferMs,
    audioUnderruns: r.audioUnderruns,
    bytesReceived: r.bytesReceived,
    latencyMs: r.latencyMs,
  };
  return { flags: NO_FLAGS, payload: json(doc, MAX_REPORT_BYTES, 'REPORT') };
}

function keyConfirm(msg: KeyConfirmMessage): Serialized {
  if (msg.mac.length > MAX_KEY_CONFIRM_BYTES) {
    throw new ProtocolError('E_FRAME_TOO_LARGE', `KEY_CONFIRM of ${msg.mac.length} bytes exceeds ${MAX_KEY_CONFIRM_BYTES}`);
  }
  return { flags: NO_FLAGS, payload: msg.mac };
}

function serialize(msg: KnownMessage): Serialized {
  switch (msg.type) {
    case MessageType.SETUP:
      return setup(msg);
    case MessageType.VIDEO:
      return video(msg);
    case MessageType.AUDIO:
      return { flags: NO_FLAGS, payload: msg.data };
    case MessageType.PING:
      return ping(msg);
    case MessageType.PONG:
      return pong(msg);
    case MessageType.STATE:
      return state(msg);
    case MessageType.KEYFRAME_REQUEST:
      return { flags: NO_FLAGS, payload: EMPTY_PAYLOAD };
    case MessageType.BYE:
      return bye(msg);
    case MessageType.REPORT:
      return report(msg);
    case MessageType.KEY_CONFIRM:
      return keyConfirm(msg);
  }
}

/** Writes header and payload at `offset` of `out`, which has room for both. */
function assemble(out: Buffer, offset: number, msg: KnownMessage, s: Serialized): void {
  if (!Number.isInteger(msg.seq) || msg.seq < 0 || msg.seq > MAX_SEQ) throw new RangeError(`seq must be a u32, got ${msg.seq}`);
  out[offset] = msg.type;
  out[offset + 1] = s.flags;
  out.writeUInt32BE(msg.seq, offset + 2);
  writeU64BE(out, Math.trunc(msg.timestampUs), offset + 6);
  out.set(s.payload, offset + MESSAGE_HEADER_BYTES);
}

function checkPayload(msg: KnownMessage, s: Serialized): void {
  if (s.payload.length > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError(
      'E_FRAME_TOO_LARGE',
      `message payload of ${s.payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD_BYTES} bytes (type ${msg.type})`,
    );
  }
}

/**
 * Encodes one message (header + payload): the body of one plaintext record, or the
 * plaintext an AEAD seals. Throws E_FRAME_TOO_LARGE when the payload exceeds
 * MAX_PAYLOAD_BYTES (a sender drops such a frame).
 */
export function encodeMessage(msg: KnownMessage): Buffer {
  const s = serialize(msg);
  checkPayload(msg, s);
  const out = Buffer.allocUnsafe(MESSAGE_HEADER_BYTES + s.payload.length);
  assemble(out, 0, msg, s);
  return out;
}

/** Encodes one message as a whole plaintext record (record header included), in one allocation. */
export function encodeFramedMessage(msg: KnownMessage): Buffer {
  const s = serialize(msg);
  checkPayload(msg, s);
  const bodyLength = MESSAGE_HEADER_BYTES + s.payload.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLength);
  writeRecordHeader(out, 0, bodyLength);
  assemble(out, RECORD_HEADER_BYTES, msg, s);
  return out;
}

/**
 * The sending side of one connection in plaintext mode: numbers messages 0, 1, 2, ...
 * (wrapping at 2^32) and frames each as a record. One framer per connection.
 */
export class MessageFramer {
  private seq: number;

  constructor(firstSeq = 0) {
    this.seq = firstSeq >>> 0;
  }

  /** The sequence number the next message will get. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Gives `init` the next sequence number; returns the complete message. */
  number(init: MessageInit): KnownMessage {
    const msg = { ...init, seq: this.seq } as KnownMessage;
    this.seq = (this.seq + 1) >>> 0;
    return msg;
  }

  /**
   * Numbers and frames a message into one record. Throws E_FRAME_TOO_LARGE for an oversize
   * payload without using up a sequence number.
   */
  frame(init: MessageInit): Buffer {
    const out = encodeFramedMessage({ ...init, seq: this.seq } as KnownMessage);
    this.seq = (this.seq + 1) >>> 0;
    return out;
  }
}
