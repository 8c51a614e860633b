/**
 * Per-call key agreement: ephemeral X25519 on both sides (public keys and nonces travel in
 * HELLO), then HKDF-SHA256 over the shared secret, salted with the code key, with the
 * transcript hash in every label. Each connection (video, audio) runs its own agreement
 * with its own HELLOs, and its channel name is in the transcript, so the two connections
 * never share a key.
 *
 * Sides are named by comparing public keys, not by who connected first: the relay pairs
 * the two peers symmetrically and neither knows whether it was first. The side with the
 * smaller key (bytewise) is `low`.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Channel } from '../protocol/hello.js';
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  CODE_KEY_BYTES,
  CONFIRM_LABELS,
  HELLO_RANDOM_BYTES,
  KEY_CONFIRM_MAC_BYTES,
  KEY_LABELS,
  TRANSCRIPT_LABEL,
  X25519_PRIVATE_KEY_BYTES,
  X25519_PUBLIC_KEY_BYTES,
} from './constants.js';
import { KeyConfirmationError } from './errors.js';

/** An ephemeral X25519 key pair: one per connection, never reused, never stored. */
export interface EphemeralKeyPair {
  /** Raw public key, X25519_PUBLIC_KEY_BYTES: the HELLO `publicKey` field. */
  publicKey: Buffer;
  privateKey: KeyObject;
}

/** What this side puts in its HELLO, and keeps to finish the agreement. */
export interface LocalHelloSecrets {
  keyPair: EphemeralKeyPair;
  /** HELLO_RANDOM_BYTES of fresh randomness: the HELLO `nonce` field. */
  nonce: Buffer;
}

/** The peer's HELLO fields that key agreement uses. */
export interface PeerHelloFields {
  publicKey: Uint8Array;
  nonce: Uint8Array;
}

/** Which end of the canonical order this side is (smaller public key = `low`). */
export type KeySide = 'low' | 'high';

/** Everything a connection needs after key agreement. Secret: never log it. */
export interface SessionKeys {
  channel: Channel;
  side: KeySide;
  /** AEAD key and IV for records this side sends. */
  sendKey: Buffer;
  sendIv: Buffer;
  /** AEAD key and IV for records this side receives. */
  receiveKey: Buffer;
  receiveIv: Buffer;
  /** Our KEY_CONFIRM payload (KEY_CONFIRM_MAC_BYTES). */
  ourConfirmMac: Buffer;
  /** The KEY_CONFIRM payload a peer that knows the code sends. */
  peerConfirmMac: Buffer;
  /** SHA-256 of the transcript (public: both HELLOs' keys and nonces, the channel). */
  transcriptHash: Buffer;
}

/** Input of deriveSessionKeys. */
export interface KeyAgreementInput {
  /** The connection this agreement is for (must match the HELLO channel flag). */
  channel: Channel;
  /** From deriveCodeSecrets: binds the keys to the session code. */
  codeKey: Uint8Array;
  local: LocalHelloSecrets;
  peer: PeerHelloFields;
}

/** DER prefix of a PKCS#8 X25519 private key (RFC 8410); the raw 32-byte key follows it. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('X25519 key export without x');
  return Buffer.from(jwk.x, 'base64url');
}

/** Generates a fresh ephemeral X25519 key pair. */
export function generateEphemeralKeyPair(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey), privateKey };
}

/**
 * A key pair from a raw 32-byte private key. For known-answer tests only: a real call
 * always uses generateEphemeralKeyPair.
 */
export function importEphemeralPrivateKey(raw: Uint8Array): EphemeralKeyPair {
  if (raw.length !== X25519_PRIVATE_KEY_BYTES) throw new RangeError(`X25519 private key must be ${X25519_PRIVATE_KEY_BYTES} bytes`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  return { publicKey: rawPublicKey(createPublicKey(privateKey)), privateKey };
}

/** A fresh key pair and nonce for one HELLO. */
export function createLocalHelloSecrets(): LocalHelloSecrets {
  return { keyPair: generateEphemeralKeyPair(), nonce: randomBytes(HELLO_RANDOM_BYTES) };
}

function badPeerKey(message: string, cause?: unknown): KeyConfirmationError {
  return new KeyConfirmationError('E_BAD_PEER_KEY', message, cause === undefined ? undefined : { cause });
}

/**
 * X25519 shared secret with the peer's raw public key. Throws E_BAD_PEER_KEY for a key
 * that yields no usable secret (OpenSSL refuses low-order points; we also refuse an
 * all-zero result, in case a future library does not).
 */
export function x25519SharedSecret(privateKey: KeyObject, peerPublicKey: Uint8Array): Buffer {
  if (peerPublicKey.length !== X25519_PUBLIC_KEY_BYTES) throw badPeerKey(`the peer's public key is ${peerPublicKey.length} bytes, not ${X25519_PUBLIC_KEY_BYTES}`);
  let secret: Buffer;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublicKey).toString('base64url') }, format: 'jwk' });
    secret = diffieHellman({ privateKey, publicKey });
  } catch (err) {
    throw badPeerKey("the peer's public key is not a usable X25519 key", err);
  }
  if (secret.every((b) => b === 0)) throw badPeerKey("the peer's public key is a low-order point");
  return secret;
}

/**
 * The transcript both sides hash, in canonical order so both build the same bytes:
 * label | 0x00 | channel | 0x00 | low key | low nonce | high key | high nonce.
 * Every field after the channel has a fixed size, so the encoding is unambiguous.
 */
export function encodeTranscript(channel: Channel, low: PeerHelloFields, high: PeerHelloFields): Buffer {
  return Buffer.concat([
    Buffer.from(TRANSCRIPT_LABEL, 'utf8'),
    Buffer.of(0),
    Buffer.from(channel, 'utf8'),
    Buffer.of(0),
    low.publicKey,
    low.nonce,
    high.publicKey,
    high.nonce,
  ]);
}

/**
 * Derives the keys of one connection from our HELLO secrets and the peer's HELLO fields.
 * Pure apart from the X25519 computation. Throws E_BAD_PEER_KEY when the peer's key is
 * unusable or equal to ours (our own HELLO reflected back by the path).
 */
export function deriveSessionKeys(input: KeyAgreementInput): SessionKeys {
  const { channel, codeKey, local, peer } = input;
  if (codeKey.length !== CODE_KEY_BYTES) throw new RangeError(`code key must be ${CODE_KEY_BYTES} bytes`);
  if (local.nonce.length !== HELLO_RANDOM_BYTES || peer.nonce.length !== HELLO_RANDOM_BYTES) {
    throw badPeerKey(`HELLO nonces must be ${HELLO_RANDOM_BYTES} bytes`);
  }
  const order = Buffer.compare(local.keyPair.publicKey, peer.publicKey);
  if (order === 0) throw badPeerKey("the peer's public key equals ours: our own HELLO came back (a reflecting path)");
  const ours: PeerHelloFields = { publicKey: local.keyPair.publicKey, nonce: local.nonce };
  const side: KeySide = order < 0 ? 'low' : 'high';
  const [low, high] = side === 'low' ? [ours, peer] : [peer, ours];

  const shared = x25519SharedSecret(local.keyPair.privateKey, peer.publicKey);
  const transcriptHash = createHash('sha256').update(encodeTranscript(channel, low, high)).digest();
  // HKDF-Extract(salt = code key, IKM = DH secret): keys depend on both, so neither a relay
  // that knows no code nor a peer that knows no DH secret can derive them.
  const derive = (label: string, length: number): Buffer =>
    Buffer.from(hkdfSync('sha256', shared, codeKey, Buffer.concat([Buffer.from(label, 'utf8'), transcriptHash]), length));
  const keyLowToHigh = derive(KEY_LABELS.keyLowToHigh, AEAD_KEY_BYTES);
  const keyHighToLow = derive(KEY_LABELS.keyHighToLow, AEAD_KEY_BYTES);
  const ivLowToHigh = derive(KEY_LABELS.ivLowToHigh, AEAD_NONCE_BYTES);
  const ivHighToLow = derive(KEY_LABELS.ivHighToLow, AEAD_NONCE_BYTES);
  const confirmKey = derive(KEY_LABELS.confirmKey, KEY_CONFIRM_MAC_BYTES);
  shared.fill(0);
  const mac = (label: string): Buffer => createHmac('sha256', confirmKey).update(label, 'utf8').update(transcriptHash).digest();
  const macLow = mac(CONFIRM_LABELS.low);
  const macHigh = mac(CONFIRM_LABELS.high);
  confirmKey.fill(0);

  const weAreLow = side === 'low';
  return {
    channel,
    side,
    sendKey: weAreLow ? keyLowToHigh : keyHighToLow,
    sendIv: weAreLow ? ivLowToHigh : ivHighToLow,
    receiveKey: weAreLow ? keyHighToLow : keyLowToHigh,
    receiveIv: weAreLow ? ivHighToLow : ivLowToHigh,
    ourConfirmMac: weAreLow ? macLow : macHigh,
    peerConfirmMac: weAreLow ? macHigh : macLow,
    transcriptHash,
  };
}
