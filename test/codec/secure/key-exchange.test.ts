import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endReasonOf, exitStatusOf } from '../../../src/cli/exit-codes.js';
import { createHash, randomBytes } from 'node:crypto';
import { HELLO_NONCE_BYTES, HELLO_PUBLIC_KEY_BYTES, decodeHello, encodeHello, MAX_KEY_CONFIRM_BYTES } from '../../../src/codec/protocol/index.js';
import {
  HELLO_RANDOM_BYTES,
  KEY_CONFIRM_MAC_BYTES,
  KeyConfirmationError,
  X25519_PUBLIC_KEY_BYTES,
  createLocalHelloSecrets,
  deriveCodeSecrets,
  deriveSessionKeys,
  importEphemeralPrivateKey,
  keyConfirmPayload,
  keyConfirmationMissing,
  resolveSecurityMode,
  verifyKeyConfirm,
  x25519SharedSecret,
  type LocalHelloSecrets,
  type SessionKeys,
} from '../../../src/codec/secure/index.js';
import type { Channel } from '../../../src/codec/protocol/index.js';
import { hkdfByHand, hmac, utf8 } from './hkdf-by-hand.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

// RFC 7748 section 6.1 test vector.
const ALICE_PRIVATE = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUBLIC = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const BOB_PRIVATE = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUBLIC = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

function isKeyConfirmationError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof KeyConfirmationError, `expected KeyConfirmationError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(exitStatusOf(err), 8);
    assert.equal(endReasonOf(err), 'key-confirmation');
    return true;
  };
}

/** Both ends of one connection, each with its own code. */
function agree(codeKeyA: Buffer, codeKeyB: Buffer, channel: Channel = 'video'): { a: SessionKeys; b: SessionKeys } {
  const helloA = createLocalHelloSecrets();
  const helloB = createLocalHelloSecrets();
  return {
    a: deriveSessionKeys({ channel, codeKey: codeKeyA, local: helloA, peer: { publicKey: helloB.keyPair.publicKey, nonce: helloB.nonce } }),
    b: deriveSessionKeys({ channel, codeKey: codeKeyB, local: helloB, peer: { publicKey: helloA.keyPair.publicKey, nonce: helloA.nonce } }),
  };
}

test('sizes fit the HELLO and KEY_CONFIRM fields of the protocol', () => {
  assert.equal(X25519_PUBLIC_KEY_BYTES, HELLO_PUBLIC_KEY_BYTES);
  assert.equal(HELLO_RANDOM_BYTES, HELLO_NONCE_BYTES);
  assert.ok(KEY_CONFIRM_MAC_BYTES <= MAX_KEY_CONFIRM_BYTES);
  const local = createLocalHelloSecrets();
  assert.equal(local.keyPair.publicKey.length, 32);
  assert.equal(local.nonce.length, 32);
  // Round trip through the real HELLO codec.
  const hello = decodeHello(encodeHello({ channel: 'audio', insecure: false, publicKey: local.keyPair.publicKey, nonce: local.nonce }));
  assert.deepEqual(Buffer.from(hello.publicKey), local.keyPair.publicKey);
  assert.deepEqual(Buffer.from(hello.nonce), local.nonce);
});

test('known answer: X25519 matches RFC 7748 section 6.1', () => {
  const alice = importEphemeralPrivateKey(ALICE_PRIVATE);
  const bob = importEphemeralPrivateKey(BOB_PRIVATE);
  assert.deepEqual(alice.publicKey, ALICE_PUBLIC);
  assert.deepEqual(bob.publicKey, BOB_PUBLIC);
  assert.deepEqual(x25519SharedSecret(alice.privateKey, BOB_PUBLIC), SHARED);
  assert.deepEqual(x25519SharedSecret(bob.privateKey, ALICE_PUBLIC), SHARED);
});

test('known answer: the key schedule equals a hand-written HKDF/HMAC computation', () => {
  const codeKey = Buffer.alloc(32, 0x33);
  const aliceNonce = Buffer.alloc(32, 0x11);
  const bobNonce = Buffer.alloc(32, 0x22);
  const alice: LocalHelloSecrets = { keyPair: importEphemeralPrivateKey(ALICE_PRIVATE), nonce: aliceNonce };
  const keys = deriveSessionKeys({ channel: 'video', codeKey, local: alice, peer: { publicKey: BOB_PUBLIC, nonce: bobNonce } });

  // Alice's key (0x85...) sorts before Bob's (0xde...): Alice is the low side.
  assert.equal(keys.side, 'low');
  const transcript = Buffer.concat([utf8('videochat/v1 transcript'), Buffer.of(0), utf8('video'), Buffer.of(0), ALICE_PUBLIC, aliceNonce, BOB_PUBLIC, bobNonce]);
  const th = createHash('sha256').update(transcript).digest();
  assert.deepEqual(keys.transcriptHash, th);
  const derive = (label: string, length: number) => hkdfByHand(SHARED, codeKey, Buffer.concat([utf8(label), th]), length);
  assert.deepEqual(keys.sendKey, derive('videochat/v1 key low->high', 32));
  assert.deepEqual(keys.receiveKey, derive('videochat/v1 key high->low', 32));
  assert.deepEqual(keys.sendIv, derive('videochat/v1 iv low->high', 12));
  assert.deepEqual(keys.receiveIv, derive('videochat/v1 iv high->low', 12));
  const confirmKey = derive('videochat/v1 confirm key', 32);
  assert.deepEqual(keys.ourConfirmMac, hmac(confirmKey, utf8('videochat/v1 confirm low'), th));
  assert.deepEqual(keys.peerConfirmMac, hmac(confirmKey, utf8('videochat/v1 confirm high'), th));

  // Bob, computing from his side, lands on the mirror image.
  const bob: LocalHelloSecrets = { keyPair: importEphemeralPrivateKey(BOB_PRIVATE), nonce: bobNonce };
  const bobKeys = deriveSessionKeys({ channel: 'video', codeKey, local: bob, peer: { publicKey: ALICE_PUBLIC, nonce: aliceNonce } });
  assert.equal(bobKeys.side, 'high');
  assert.deepEqual(bobKeys.receiveKey, keys.sendKey);
  assert.deepEqual(bobKeys.ourConfirmMac, keys.peerConfirmMac);
});

test('same code: both sides derive mirrored keys and confirm each other', async () => {
  const { codeKey } = await deriveCodeSecrets('417-crossover-clockwork-lemon-oyster-banner');
  const { a, b } = agree(codeKey, Buffer.from(codeKey));
  assert.notEqual(a.side, b.side);
  assert.deepEqual(a.sendKey, b.receiveKey);
  assert.deepEqual(a.receiveKey, b.sendKey);
  assert.deepEqual(a.sendIv, b.receiveIv);
  assert.notDeepEqual(a.sendKey, a.receiveKey);
  assert.deepEqual(a.transcriptHash, b.transcriptHash);
  const payloadA = keyConfirmPayload(a);
  assert.equal(payloadA.length, KEY_CONFIRM_MAC_BYTES);
  verifyKeyConfirm(b, payloadA);
  verifyKeyConfirm(a, keyConfirmPayload(b));
});

test('different codes: both sides fail key confirmation with exit 8', async () => {
  const [one, two] = await Promise.all([deriveCodeSecrets('417-crossover-clockwork-lemon-oyster-banner'), deriveCodeSecrets('417-crossover-clockwork-lemon-oyster-bannex')]);
  const { a, b } = agree(one.codeKey, two.codeKey);
  assert.throws(() => verifyKeyConfirm(b, keyConfirmPayload(a)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  assert.throws(() => verifyKeyConfirm(a, keyConfirmPayload(b)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  // And the traffic keys do not match either: nothing sealed by one opens at the other.
  assert.notDeepEqual(a.sendKey, b.receiveKey);
});

test('a relay in the middle that swaps in its own keys but lacks the code fails on both sides', () => {
  const codeKey = randomBytes(32);
  const guessedCodeKey = randomBytes(32);
  const alice = createLocalHelloSecrets();
  const bob = createLocalHelloSecrets();
  const relayToAlice = createLocalHelloSecrets();
  const relayToBob = createLocalHelloSecrets();
  // Each client agrees with the relay, believing it is the peer.
  const aliceKeys = deriveSessionKeys({ channel: 'video', codeKey, local: alice, peer: { publicKey: relayToAlice.keyPair.publicKey, nonce: relayToAlice.nonce } });
  const bobKeys = deriveSessionKeys({ channel: 'video', codeKey, local: bob, peer: { publicKey: relayToBob.keyPair.publicKey, nonce: relayToBob.nonce } });
  const relayAlice = deriveSessionKeys({ channel: 'video', codeKey: guessedCodeKey, local: relayToAlice, peer: { publicKey: alice.keyPair.publicKey, nonce: alice.nonce } });
  const relayBob = deriveSessionKeys({ channel: 'video', codeKey: guessedCodeKey, local: relayToBob, peer: { publicKey: bob.keyPair.publicKey, nonce: bob.nonce } });
  assert.throws(() => verifyKeyConfirm(aliceKeys, keyConfirmPayload(relayAlice)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  assert.throws(() => verifyKeyConfirm(bobKeys, keyConfirmPayload(relayBob)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  // Forwarding the genuine MACs does not help either: they cover different transcripts.
  assert.throws(() => verifyKeyConfirm(aliceKeys, keyConfirmPayload(bobKeys)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  assert.throws(() => verifyKeyConfirm(bobKeys, keyConfirmPayload(aliceKeys)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
});

test('video and audio connections of one call never share keys, and MACs do not cross over', () => {
  const codeKey = randomBytes(32);
  const alice = createLocalHelloSecrets();
  const bob = createLocalHelloSecrets();
  // Even if a client reused its HELLO secrets on both connections, the channel label separates them.
  const derive = (channel: Channel, local: LocalHelloSecrets, peer: LocalHelloSecrets) =>
    deriveSessionKeys({ channel, codeKey, local, peer: { publicKey: peer.keyPair.publicKey, nonce: peer.nonce } });
  const videoA = derive('video', alice, bob);
  const audioA = derive('audio', alice, bob);
  const audioB = derive('audio', bob, alice);
  for (const field of ['sendKey', 'receiveKey', 'sendIv', 'receiveIv', 'ourConfirmMac', 'peerConfirmMac'] as const) {
    assert.notDeepEqual(videoA[field], audioA[field], field);
  }
  assert.throws(() => verifyKeyConfirm(audioB, keyConfirmPayload(videoA)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  verifyKeyConfirm(audioB, keyConfirmPayload(audioA));
});

test('our own HELLO reflected back, or a low-order peer key, is refused (E_BAD_PEER_KEY)', () => {
  const codeKey = randomBytes(32);
  const local = createLocalHelloSecrets();
  assert.throws(
    () => deriveSessionKeys({ channel: 'video', codeKey, local, peer: { publicKey: local.keyPair.publicKey, nonce: local.nonce } }),
    isKeyConfirmationError('E_BAD_PEER_KEY'),
  );
  for (const lowOrder of [Buffer.alloc(32), hex('0100000000000000000000000000000000000000000000000000000000000000'), hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')]) {
    assert.throws(
      () => deriveSessionKeys({ channel: 'video', codeKey, local, peer: { publicKey: lowOrder, nonce: randomBytes(32) } }),
      isKeyConfirmationError('E_BAD_PEER_KEY'),
    );
  }
});

test('a KEY_CONFIRM of the wrong length, a flipped bit, or no KEY_CONFIRM at all fails confirmation', () => {
  const codeKey = randomBytes(32);
  const { a, b } = agree(codeKey, codeKey);
  const good = keyConfirmPayload(a);
  assert.throws(() => verifyKeyConfirm(b, good.subarray(0, 16)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  assert.throws(() => verifyKeyConfirm(b, Buffer.concat([good, Buffer.of(0)])), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  assert.throws(() => verifyKeyConfirm(b, Buffer.alloc(0)), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  for (let bit = 0; bit < good.length * 8; bit += 37) {
    const flipped = Buffer.from(good);
    flipped[bit >> 3] ^= 1 << (bit & 7);
    assert.throws(() => verifyKeyConfirm(b, flipped), isKeyConfirmationError('E_KEY_CONFIRMATION'));
  }
  assert.throws(() => {
    throw keyConfirmationMissing('video', 'SETUP');
  }, isKeyConfirmationError('E_KEY_CONFIRMATION'));
  verifyKeyConfirm(b, good);
});

test('security modes: both secure seal, both insecure stay plaintext, a mismatch is refused', () => {
  assert.equal(resolveSecurityMode(false, false), 'sealed');
  assert.equal(resolveSecurityMode(true, true), 'plaintext');
  assert.throws(() => resolveSecurityMode(false, true), isKeyConfirmationError('E_INSECURE_MISMATCH'));
  assert.throws(() => resolveSecurityMode(true, false), isKeyConfirmationError('E_INSECURE_MISMATCH'));
});
