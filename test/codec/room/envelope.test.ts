import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROADCAST_MEMBER_ID, ENVELOPE_HEADER_BYTES, EnvelopeFlag, EnvelopeParser, MAX_ENVELOPE_PAYLOAD_BYTES,
  RoomProtocolError, encodeEnvelope, startsWithPeerHello,
} from '../../../src/codec/room/index.js';
import { encodeHello } from '../../../src/codec/protocol/index.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const sent = [
  { memberId: 1, flags: 0, payload: bytes(0, 1) },
  { memberId: BROADCAST_MEMBER_ID, flags: EnvelopeFlag.DROPPABLE, payload: bytes(300, 2) },
  { memberId: 7, flags: EnvelopeFlag.DROPPABLE | EnvelopeFlag.AUDIO, payload: bytes(5, 3) },
  { memberId: 0, flags: 0, payload: bytes(1, 4) },
];
const stream = Buffer.concat(sent.map((e) => encodeEnvelope(e.memberId, e.flags, e.payload)));

test('an envelope is length u32 BE, member id u16 BE, flags, payload', () => {
  assert.deepEqual(
    encodeEnvelope(0x0102, 0x01, Buffer.from('ab')),
    Buffer.from([0, 0, 0, 2, 0x01, 0x02, 0x01, 0x61, 0x62]),
  );
  assert.equal(ENVELOPE_HEADER_BYTES, 7);
});

test('glued envelopes split at every byte offset parse to what was sent', () => {
  for (let i = 0; i <= stream.length; i++) {
    const parser = new EnvelopeParser();
    const got = [...parser.push(stream.subarray(0, i)), ...parser.push(stream.subarray(i))];
    assert.deepEqual(got, sent, `split at ${i}`);
    assert.equal(parser.idle, true);
    assert.equal(parser.bufferedBytes, 0);
  }
});

test('one byte at a time', () => {
  const parser = new EnvelopeParser();
  const got = Array.from(stream, (b) => parser.push(Uint8Array.of(b))).flat();
  assert.deepEqual(got, sent);
});

test('an oversize length fails as soon as its four bytes are in, before any allocation', () => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_ENVELOPE_PAYLOAD_BYTES + 1);
  const parser = new EnvelopeParser();
  assert.deepEqual(parser.push(header.subarray(0, 3)), []);
  assert.throws(() => parser.push(header.subarray(3)), (e: unknown) => e instanceof RoomProtocolError && e.code === 'E_ENVELOPE_TOO_LARGE');
  assert.ok(parser.bufferedBytes <= ENVELOPE_HEADER_BYTES);
  // The framing is lost: every later push throws the same error.
  assert.throws(() => parser.push(encodeEnvelope(1, 0, Buffer.alloc(1))), /exceeds the maximum/);
});

test('a small maximum is honoured on both sides', () => {
  assert.throws(() => encodeEnvelope(1, 0, Buffer.alloc(11), 10), /exceeds the maximum of 10/);
  const parser = new EnvelopeParser({ maxPayloadBytes: 10 });
  assert.equal(parser.push(encodeEnvelope(1, 0, Buffer.alloc(10))).length, 1);
  assert.throws(() => parser.push(encodeEnvelope(1, 0, Buffer.alloc(11))), /exceeds/);
});

test('member ids must be u16', () => {
  assert.throws(() => encodeEnvelope(0x10000, 0, Buffer.alloc(0)), RangeError);
  assert.throws(() => encodeEnvelope(-1, 0, Buffer.alloc(0)), RangeError);
});

test('a peer HELLO at the start is told apart from any envelope (relay without rooms)', () => {
  const hello = encodeHello({ channel: 'video', insecure: false, publicKey: new Uint8Array(32), nonce: new Uint8Array(32) });
  assert.equal(startsWithPeerHello(hello.subarray(0, 4)), true);
  assert.equal(startsWithPeerHello(hello.subarray(0, 3)), false);
  assert.equal(startsWithPeerHello(stream.subarray(0, 4)), false);
  // The magic read as an envelope length is beyond the maximum, so a parser refuses it too.
  assert.throws(() => new EnvelopeParser().push(hello), (e: unknown) => e instanceof RoomProtocolError && e.code === 'E_ENVELOPE_TOO_LARGE');
});
