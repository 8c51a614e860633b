// Property tests (fast-check): 110,000 cases in all, small arbitraries so they take seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HELLO_BYTES,
  MESSAGE_HEADER_BYTES,
  MessageParser,
  MessageType,
  ProtocolError,
  RECORD_HEADER_BYTES,
  StreamParser,
  encodeFramedMessage,
  encodeHello,
  encodeRecord,
  type KnownMessage,
  type Message,
} from '../../../src/codec/protocol/index.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const u32 = fc.nat({ max: 0xffff_ffff });
const us = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const header = { seq: u32, timestampUs: us };
const text = fc.string({ maxLength: 12 });
const b64 = fc.option(bytes(12).map((b) => b.toString('base64')), { nil: undefined });

const videoSetup = fc.record(
  {
    codec: fc.constantFrom('mjpeg' as const, 'h264' as const),
    width: fc.integer({ min: 1, max: 4096 }),
    height: fc.integer({ min: 1, max: 4096 }),
    fps: fc.integer({ min: 1, max: 60 }),
    extradata: b64,
  },
  { requiredKeys: ['codec', 'width', 'height', 'fps'] },
);
const audioSetup = fc.record(
  {
    codec: fc.constantFrom('opus' as const, 'pcm' as const),
    sampleRate: fc.constantFrom(8000, 44100, 48000),
    channels: fc.integer({ min: 1, max: 2 }),
    frameMs: fc.constantFrom(10, 20, 60),
    extradata: b64,
  },
  { requiredKeys: ['codec', 'sampleRate', 'channels'] },
);
const count = fc.nat({ max: 1e9 });

/** Any valid message of a known type. */
const message: fc.Arbitrary<KnownMessage> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.SETUP), ...header, setup: fc.record({ client: text, clientVersion: text, video: fc.option(videoSetup, { nil: null }), audio: fc.option(audioSetup, { nil: null }) }) }),
  fc.record({ type: fc.constant(MessageType.VIDEO), ...header, keyframe: fc.boolean(), data: bytes(48) }),
  fc.record({ type: fc.constant(MessageType.AUDIO), ...header, data: bytes(48) }),
  fc.record({ type: fc.constant(MessageType.PING), ...header, t0Us: us }),
  fc.record({ type: fc.constant(MessageType.PONG), ...header, t0Us: us, t1Us: us, t2Us: us }),
  fc.record({ type: fc.constant(MessageType.STATE), ...header, muted: fc.boolean(), cameraOff: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.KEYFRAME_REQUEST), ...header }),
  fc.record({ type: fc.constant(MessageType.BYE), ...header, reason: text }),
  fc.record({
    type: fc.constant(MessageType.REPORT),
    ...header,
    report: fc.record({
      videoFramesReceived: count,
      videoFramesDropped: count,
      videoFpsIn: fc.double({ min: 0, max: 120, noNaN: true }),
      audioMsReceived: count,
      audioBufferMs: count,
      audioUnderruns: count,
      bytesReceived: count,
      latencyMs: fc.option(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { nil: null }),
    }),
  }),
  fc.record({ type: fc.constant(MessageType.KEY_CONFIRM), ...header, mac: bytes(64) }),
) as fc.Arbitrary<KnownMessage>;

/** Cuts `data` at the given (unsorted, possibly repeated) offsets. */
function cut(data: Buffer, offsets: number[]): Buffer[] {
  const points = offsets.map((o) => o % (data.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(data.subarray(prev, p));
    prev = p;
  }
  chunks.push(data.subarray(prev));
  return chunks;
}

/** Only typed protocol errors may escape a parser. */
function typedOrNothing(run: () => void): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

/** -0 does not survive JSON (it comes back as 0); compare reports as numbers. */
function normalise(msgs: Message[]): Message[] {
  return JSON.parse(JSON.stringify(msgs)) as Message[];
}

test('encode -> split anywhere -> parse gives back the same messages (40,000 cases)', () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), (msgs, offsets) => {
      const stream = Buffer.concat(msgs.map(encodeFramedMessage));
      const parser = new MessageParser();
      const got: Message[] = [];
      for (const chunk of cut(stream, offsets)) got.push(...parser.push(chunk));
      assert.deepEqual(normalise(got), normalise(msgs));
      assert.equal(parser.bufferedBytes, 0);
    }),
    { numRuns: 40_000 },
  );
});

test('arbitrary bytes never crash the message parser and memory stays bounded (30,000 cases)', () => {
  const maxRecordBytes = 64;
  fc.assert(
    fc.property(fc.array(bytes(40), { maxLength: 6 }), (chunks) => {
      const parser = new MessageParser({ maxRecordBytes });
      typedOrNothing(() => {
        for (const chunk of chunks) {
          parser.push(chunk);
          assert.ok(parser.bufferedBytes <= RECORD_HEADER_BYTES + maxRecordBytes);
        }
      });
    }),
    { numRuns: 30_000 },
  );
});

test('well-framed records with arbitrary bodies decode or fail typed (30,000 cases)', () => {
  // Bodies start with a plausible header so every type's payload decoder is exercised.
  const body = fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.nat({ max: 255 }), bytes(MESSAGE_HEADER_BYTES - 2), bytes(40))
    .map(([type, flags, rest, payload]) => Buffer.concat([Buffer.of(type, flags), rest, payload]));
  fc.assert(
    fc.property(fc.array(body, { minLength: 1, maxLength: 3 }), (bodies) => {
      const parser = new MessageParser();
      typedOrNothing(() => parser.push(Buffer.concat(bodies.map((b) => encodeRecord(b)))));
      assert.ok(parser.bufferedBytes <= RECORD_HEADER_BYTES + 64);
    }),
    { numRuns: 30_000 },
  );
});

test('arbitrary bytes after a valid HELLO, or instead of it, never crash the stream parser (10,000 cases)', () => {
  const hello = encodeHello({ channel: 'audio', insecure: true });
  fc.assert(
    fc.property(fc.boolean(), bytes(80), fc.array(fc.nat(), { maxLength: 3 }), (withHello, junk, offsets) => {
      const stream = withHello ? Buffer.concat([hello, junk]) : junk;
      const parser = new StreamParser({ maxRecordBytes: 64 });
      typedOrNothing(() => {
        for (const chunk of cut(stream, offsets)) {
          parser.push(chunk);
          assert.ok(parser.bufferedBytes <= Math.max(HELLO_BYTES, RECORD_HEADER_BYTES + 64));
        }
      });
    }),
    { numRuns: 10_000 },
  );
});
