import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LeaveReason, RoomProtocolError, decodeControl, encodeDropped, encodeMemberJoined, encodeMemberLeft,
  encodeRoomFull, encodeWelcome,
} from '../../../src/codec/room/index.js';
import { encodeHello } from '../../../src/codec/protocol/index.js';

const hello = encodeHello({ channel: 'video', insecure: false, publicKey: Buffer.alloc(32, 7), nonce: Buffer.alloc(32, 9) });

test('every control message decodes to what was encoded', () => {
  assert.deepEqual(decodeControl(encodeWelcome(3, 8)), { type: 'welcome', memberId: 3, maxMembers: 8 });
  assert.deepEqual(decodeControl(encodeMemberJoined(65534, hello)), { type: 'member-joined', memberId: 65534, hello });
  assert.deepEqual(decodeControl(encodeMemberLeft(2, LeaveReason.TOO_SLOW)), { type: 'member-left', memberId: 2, reason: 2 });
  assert.deepEqual(decodeControl(encodeRoomFull(8)), { type: 'room-full', maxMembers: 8 });
  assert.deepEqual(decodeControl(encodeDropped(5, 2 ** 40)), { type: 'dropped', memberId: 5, envelopes: 0xffffffff });
});

test('unknown types are skipped, trailing bytes ignored (the relay may say more later)', () => {
  assert.deepEqual(decodeControl(Buffer.of(0x7f, 1, 2, 3)), { type: 'unknown', code: 0x7f });
  assert.deepEqual(decodeControl(Buffer.concat([encodeWelcome(1, 4), Buffer.of(9, 9)])), { type: 'welcome', memberId: 1, maxMembers: 4 });
});

test('a known type that is too short, or names member 0 or 0xffff, is malformed', () => {
  const malformed = (e: unknown): boolean => e instanceof RoomProtocolError && e.code === 'E_MALFORMED_ENVELOPE';
  assert.throws(() => decodeControl(Buffer.alloc(0)), malformed);
  for (const full of [encodeWelcome(1, 8), encodeMemberJoined(1, hello), encodeMemberLeft(1, 0), encodeRoomFull(8), encodeDropped(1, 1)]) {
    // Each encoder writes exactly the fields its type needs, so every shorter prefix is malformed.
    for (let n = 1; n < full.length; n++) assert.throws(() => decodeControl(full.subarray(0, n)), malformed, `type ${full[0]} cut at ${n}`);
  }
  assert.throws(() => decodeControl(encodeWelcome(0, 8)), malformed);
  assert.throws(() => decodeControl(encodeMemberLeft(0xffff, 0)), malformed);
  assert.throws(() => encodeMemberJoined(1, hello.subarray(1)), RangeError);
});
