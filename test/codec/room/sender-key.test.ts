import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MEDIA_SEAL_OVERHEAD_BYTES, MediaRejectedError, SenderKeyOpener, SenderKeySealer, decodeSenderKey, encodeSenderKey,
} from '../../../src/codec/room/index.js';

function rejected(code: string) {
  return (e: unknown): boolean => e instanceof MediaRejectedError && e.code === code;
}

const frame = Buffer.from('a JPEG frame, say');

test('media sealed once opens at every member that holds the key', () => {
  const alice = new SenderKeySealer(1);
  const key = alice.rotate();
  const bob = new SenderKeyOpener(1);
  const carol = new SenderKeyOpener(1);
  assert.equal(bob.setKey(decodeSenderKey(encodeSenderKey(key))!), true);
  assert.equal(carol.setKey(key), true);
  const body = alice.seal(frame);
  assert.equal(body.length, frame.length + MEDIA_SEAL_OVERHEAD_BYTES);
  assert.equal(body.includes(frame), false, 'the plaintext does not appear in the body');
  assert.deepEqual(bob.open(body), frame);
  assert.deepEqual(carol.open(body), frame);
});

test('a member who joins late cannot open what came before its epoch', () => {
  const alice = new SenderKeySealer(1);
  const bob = new SenderKeyOpener(1);
  bob.setKey(alice.rotate());
  const before = alice.seal(frame);
  // Carol joins: Alice rotates and gives the new key to everyone present, Carol included.
  const fresh = alice.rotate();
  bob.setKey(fresh);
  const carol = new SenderKeyOpener(1);
  carol.setKey(fresh);
  assert.throws(() => carol.open(before), rejected('E_NO_SENDER_KEY'));
  const after = alice.seal(frame);
  assert.deepEqual(carol.open(after), frame);
  assert.deepEqual(bob.open(after), frame);
});

test('a member who left, keeping its old key, cannot open what follows', () => {
  const alice = new SenderKeySealer(1);
  const kept = alice.rotate();
  const dave = new SenderKeyOpener(1);
  dave.setKey(kept);
  assert.deepEqual(dave.open(alice.seal(frame)), frame);
  alice.rotate(); // Dave left: the new key goes to the others only.
  const next = alice.seal(frame);
  assert.throws(() => dave.open(next), rejected('E_NO_SENDER_KEY'));
  // Even a receiver that forces the old secret under the new epoch number learns nothing.
  const forger = new SenderKeyOpener(1);
  forger.setKey({ epoch: 1, secret: kept.secret });
  assert.throws(() => forger.open(next), rejected('E_AUTH'));
});

test('replayed, altered, misattributed or short media is refused and counted; the stream goes on', () => {
  const alice = new SenderKeySealer(4);
  const bob = new SenderKeyOpener(4);
  bob.setKey(alice.rotate());
  const first = alice.seal(frame);
  assert.deepEqual(bob.open(first), frame);
  assert.throws(() => bob.open(first), rejected('E_REPLAY'));
  const second = alice.seal(frame);
  const altered = Buffer.from(second);
  altered[20] ^= 1;
  assert.throws(() => bob.open(altered), rejected('E_AUTH'));
  assert.throws(() => bob.open(second.subarray(0, 27)), rejected('E_AUTH'));
  // The relay stamping another sender id on Alice's frame: the AAD no longer matches.
  const asMember5 = new SenderKeyOpener(5);
  asMember5.setKey(alice.currentKey!);
  assert.throws(() => asMember5.open(second), rejected('E_AUTH'));
  assert.deepEqual(bob.open(second), frame);
  assert.deepEqual(bob.stats, { opened: 2, noKey: 0, rejectedAuth: 2, rejectedReplay: 1 });
});

test('keys only move forward: an older or equal epoch is not taken', () => {
  const alice = new SenderKeySealer(1);
  const k0 = alice.rotate();
  const k1 = alice.rotate();
  const bob = new SenderKeyOpener(1);
  assert.equal(bob.setKey(k1), true);
  assert.equal(bob.setKey(k0), false);
  assert.equal(bob.setKey(k1), false);
  assert.equal(bob.epoch, 1);
  assert.equal(decodeSenderKey(Buffer.alloc(35)), null);
});

test('two epochs of one sender never share a nonce stream: same plaintext, different bodies', () => {
  const alice = new SenderKeySealer(1);
  alice.rotate();
  const a = alice.seal(frame);
  alice.rotate();
  const b = alice.seal(frame);
  assert.notDeepEqual(a.subarray(12), b.subarray(12));
  assert.throws(() => new SenderKeySealer(1).seal(frame), /before rotate/);
});
