import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitStatusOf } from '../../../src/cli/exit-codes.js';
import {
  MAX_PAYLOAD_BYTES,
  MESSAGE_HEADER_BYTES,
  MessageFramer,
  MessageParser,
  MessageType,
  ProtocolError,
  StreamParser,
  decodeMessage,
  encodeFramedMessage,
  encodeHello,
  encodeMessage,
  encodeRecord,
  type Message,
  type StreamEvent,
} from '../../../src/codec/protocol/index.js';
import { fixtureMessages, pattern } from './fixtures.js';

const fixtures = fixtureMessages();

function parseChunks(chunks: Uint8Array[]): Message[] {
  const parser = new MessageParser();
  const out: Message[] = [];
  for (const c of chunks) out.push(...parser.push(c));
  assert.equal(parser.bufferedBytes, 0);
  return out;
}

test('the message header: type, flags, seq, timestamp in µs, big-endian', () => {
  const bytes = encodeMessage({ type: MessageType.VIDEO, seq: 0x01020304, timestampUs: 0x0011_2233_4455_6677 / 0x100, keyframe: true, data: Buffer.from([9]) });
  assert.equal(bytes.length, MESSAGE_HEADER_BYTES + 1);
  assert.deepEqual([...bytes], [0x02, 0x01, 1, 2, 3, 4, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 9]);
  assert.deepEqual(encodeFramedMessage({ type: MessageType.KEYFRAME_REQUEST, seq: 1, timestampUs: 2 }), encodeRecord(encodeMessage({ type: MessageType.KEYFRAME_REQUEST, seq: 1, timestampUs: 2 })));
});

test('every fixture round-trips, split at every byte offset', () => {
  for (const msg of fixtures) {
    const bytes = encodeFramedMessage(msg);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(parseChunks([bytes.subarray(0, i), bytes.subarray(i)]), [msg], `type ${msg.type} split at ${i}`);
    }
  }
});

test('two and three messages glued together, split at every offset (and every pair of offsets)', () => {
  for (let a = 0; a < fixtures.length; a++) {
    const pair = [fixtures[a], fixtures[(a + 1) % fixtures.length]];
    const bytes = Buffer.concat(pair.map(encodeFramedMessage));
    for (let i = 0; i <= bytes.length; i++) assert.deepEqual(parseChunks([bytes.subarray(0, i), bytes.subarray(i)]), pair);
  }
  // Three small messages: every pair of split points.
  const three = [fixtures[6], fixtures[10], fixtures[8]];
  const bytes = Buffer.concat(three.map(encodeFramedMessage));
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      assert.deepEqual(parseChunks([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]), three, `${i}/${j}`);
    }
  }
});

test('a whole connection (HELLO + every fixture) in random chunks', () => {
  const hello = encodeHello({ channel: 'video', insecure: true, nonce: pattern(32) });
  const stream = Buffer.concat([hello, ...fixtures.map(encodeFramedMessage)]);
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 200; round++) {
    const parser = new StreamParser();
    const events: StreamEvent[] = [];
    for (let pos = 0; pos < stream.length; ) {
      const size = 1 + rand(round % 2 ? 9 : 200);
      events.push(...parser.push(stream.subarray(pos, pos + size)));
      pos += size;
    }
    assert.equal(events[0].kind, 'hello');
    assert.deepEqual(events.slice(1), fixtures.map((message) => ({ kind: 'message', message })));
    assert.equal(parser.peerHello?.channel, 'video');
  }
});

test('an unknown message type is returned as unknown and the stream goes on', () => {
  const unknown = Buffer.concat([Buffer.from([0x7f, 0x80, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9]), Buffer.from('future')]);
  const bytes = Buffer.concat([encodeRecord(unknown), encodeFramedMessage(fixtures[10])]);
  assert.deepEqual(parseChunks([bytes]), [
    { type: 'unknown', code: 0x7f, flags: 0x80, seq: 5, timestampUs: 9, payload: Buffer.from('future') },
    fixtures[10],
  ]);
});

test('fixed-size payloads may carry trailing bytes for later versions', () => {
  const ping = encodeMessage(fixtures[6]);
  const longer = Buffer.concat([ping, Buffer.from([1, 2, 3])]);
  assert.deepEqual(decodeMessage(longer), fixtures[6]);
});

function assertMalformed(body: Buffer, code = 'E_MALFORMED_MESSAGE'): void {
  assert.throws(() => decodeMessage(body), (err: unknown) => err instanceof ProtocolError && err.code === code && exitStatusOf(err) === 6);
}

test('malformed messages of known types are typed errors', () => {
  const header = (type: number) => Buffer.from([type, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
  assertMalformed(Buffer.from([MessageType.PING, 0, 0]));
  assertMalformed(Buffer.concat([header(MessageType.PING), Buffer.alloc(4)]));
  assertMalformed(Buffer.concat([header(MessageType.PONG), Buffer.alloc(16)]));
  assertMalformed(header(MessageType.STATE));
  assertMalformed(Buffer.concat([header(MessageType.SETUP), Buffer.from('{not json')]));
  assertMalformed(Buffer.concat([header(MessageType.SETUP), Buffer.from('[1,2]')]));
  assertMalformed(Buffer.concat([header(MessageType.SETUP), Buffer.from('{"client":"x","clientVersion":"1","video":{"codec":"h264","width":-1,"height":2,"fps":1}}')]));
  assertMalformed(
    Buffer.concat([header(MessageType.SETUP), Buffer.from('{"client":"x","clientVersion":"1","video":{"codec":"av1","width":1,"height":2,"fps":1}}')]),
    'E_UNSUPPORTED_CODEC',
  );
  assertMalformed(Buffer.concat([header(MessageType.REPORT), Buffer.from('{"videoFramesReceived":"many"}')]));
  assertMalformed(Buffer.concat([header(MessageType.KEY_CONFIRM), Buffer.alloc(65)]));
  assertMalformed(Buffer.concat([header(MessageType.BYE), Buffer.alloc(257, 0x61)]));
  // A timestamp beyond 2^53 µs cannot be a JS number exactly.
  const far = header(MessageType.KEYFRAME_REQUEST);
  far.writeUInt32BE(0x0020_0000, 6);
  assertMalformed(far);
});

test('SETUP: unknown fields are ignored, missing sections mean none', () => {
  const doc = { client: 'videochat', clientVersion: '9.0.0', capabilities: ['x'], video: { codec: 'mjpeg', width: 2, height: 2, fps: 1, hdr: true } };
  const body = Buffer.concat([Buffer.from([MessageType.SETUP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(JSON.stringify(doc))]);
  assert.deepEqual(decodeMessage(body), {
    type: MessageType.SETUP,
    seq: 0,
    timestampUs: 0,
    setup: { client: 'videochat', clientVersion: '9.0.0', video: { codec: 'mjpeg', width: 2, height: 2, fps: 1 }, audio: null },
  });
});

test('a payload above MAX_PAYLOAD_BYTES is refused with E_FRAME_TOO_LARGE and uses no sequence number', () => {
  const framer = new MessageFramer();
  assert.throws(() => framer.frame({ type: MessageType.VIDEO, timestampUs: 1, keyframe: true, data: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) }), {
    code: 'E_FRAME_TOO_LARGE',
  });
  assert.equal(framer.nextSeq, 0);
  const max = framer.frame({ type: MessageType.AUDIO, timestampUs: 1, data: Buffer.alloc(MAX_PAYLOAD_BYTES) });
  assert.equal(parseChunks([max]).length, 1);
});

test('the framer numbers messages per connection and wraps at 2^32', () => {
  const framer = new MessageFramer(0xffff_fffe);
  const seqs = [0, 1, 2].map(() => (decodeMessage(framer.frame({ type: MessageType.KEYFRAME_REQUEST, timestampUs: 5 }).subarray(4)) as Message).seq);
  assert.deepEqual(seqs, [0xffff_fffe, 0xffff_ffff, 0]);
});

test('a BYE reason is cut to 256 bytes on a character boundary', () => {
  const reason = 'é'.repeat(200); // 400 bytes of UTF-8
  const [msg] = parseChunks([encodeFramedMessage({ type: MessageType.BYE, seq: 0, timestampUs: 0, reason })]);
  assert.equal(msg.type, MessageType.BYE);
  if (msg.type === MessageType.BYE) assert.equal(msg.reason, 'é'.repeat(128));
});
