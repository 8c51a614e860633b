/**
 * Sender keys: each member seals its media once, with its own key, and the relay hands the
 * same bytes to every other member. A sender's key lives for one epoch; the member starts a
 * new epoch with a fresh random secret whenever the room's membership changes and gives the
 * secret only to the members present, over their pairwise (X25519, code-confirmed) channels:
 * one who joins never holds a key of what came before, one who left never holds what follows.
 *
 *   media body = epoch u32 BE | counter u64 BE | ChaCha20-Poly1305 ciphertext | tag (16)
 *
 * Key and IV are HKDF-SHA256 expansions of the epoch's secret; the nonce is IV XOR counter
 * (as in records, aead.ts); the additional data is the sender's member id and the 12 bytes
 * of epoch and counter. The relay keeps each sender's envelopes in order per receiver and
 * never drops a key message, so a receiver always holds the key of an epoch before the
 * first frame sealed with it and needs no key but the newest: a frame of an older epoch is
 * refused (E_NO_SENDER_KEY), and so is one from the future.
 */
import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { nonceOf, openSealed, sealInto } from '../secure/aead.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES } from '../secure/constants.js';
import {
  MAX_SENDER_EPOCH, MEDIA_COUNTER_BYTES, MEDIA_EPOCH_BYTES, MEDIA_SEAL_OVERHEAD_BYTES,
  SENDER_KEY_LABELS, SENDER_SECRET_BYTES,
} from './constants.js';
import { MediaRejectedError } from './errors.js';

/** Size of the additional data: sender id u16 + epoch u32 + counter u64. */
const AAD_BYTES = 2 + MEDIA_EPOCH_BYTES + MEDIA_COUNTER_BYTES;
const HEAD_BYTES = MEDIA_EPOCH_BYTES + MEDIA_COUNTER_BYTES;
const MAX_MEDIA_COUNTER = 2n ** 64n - 1n;

/** What a SENDER_KEY message carries: one epoch of one sender. */
export interface SenderKey {
  epoch: number;
  /** SENDER_SECRET_BYTES of secret; only ever sent sealed, over a pairwise channel. */
  secret: Buffer;
}

/** The SENDER_KEY payload: epoch u32 BE | secret. */
export function encodeSenderKey(key: SenderKey): Buffer {
  if (key.secret.length !== SENDER_SECRET_BYTES) throw new RangeError(`a sender secret is ${SENDER_SECRET_BYTES} bytes`);
  const out = Buffer.alloc(MEDIA_EPOCH_BYTES + SENDER_SECRET_BYTES);
  out.writeUInt32BE(key.epoch, 0);
  out.set(key.secret, MEDIA_EPOCH_BYTES);
  return out;
}

/** Decodes a SENDER_KEY payload; null when it is not one (wrong size). */
export function decodeSenderKey(payload: Uint8Array): SenderKey | null {
  if (payload.length !== MEDIA_EPOCH_BYTES + SENDER_SECRET_BYTES) return null;
  const data = Buffer.from(payload);
  return { epoch: data.readUInt32BE(0), secret: data.subarray(MEDIA_EPOCH_BYTES) };
}

interface EpochCipher {
  epoch: number;
  key: KeyObject;
  iv: Buffer;
}

function expandSecret(epoch: number, secret: Uint8Array): EpochCipher {
  const derive = (label: string, length: number): Buffer =>
    Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.from(label, 'utf8'), length));
  return { epoch, key: createSecretKey(derive(SENDER_KEY_LABELS.key, AEAD_KEY_BYTES)), iv: derive(SENDER_KEY_LABELS.iv, AEAD_NONCE_BYTES) };
}


function additionalData(senderId: number, head: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(AAD_BYTES);
  aad.writeUInt16BE(senderId, 0);
  aad.set(head, 2);
  return aad;
}

/** Seals the media one member sends on one connection. */
export class SenderKeySealer {
  private readonly senderId: number;
  private cipher: EpochCipher | null = null;
  private secret: Buffer | null = null;
  private counter = 0n;

  /** @param senderId our member id, from WELCOME */
  constructor(senderId: number) {
    this.senderId = senderId;
  }

  /** The epoch media is sealed under now (null before the first rotate()). */
  get epoch(): number | null {
    return this.cipher ? this.cipher.epoch : null;
  }

  /** The current epoch's key, to give a member who needs it (null before the first rotate()). */
  get currentKey(): SenderKey | null {
    return this.cipher && this.secret ? { epoch: this.cipher.epoch, secret: Buffer.from(this.secret) } : null;
  }

  /**
   * Starts a new epoch with a fresh random secret and returns it, to be sent to every member
   * present before any frame sealed under it. The old secret is wiped.
   */
  rotate(): SenderKey {
    const epoch = this.cipher ? this.cipher.epoch + 1 : 0;
    if (epoch > MAX_SENDER_EPOCH) throw new RangeError('sender epochs exhausted');
    this.secret?.fill(0);
    const secret = randomBytes(SENDER_SECRET_BYTES);
    this.secret = secret;
    this.cipher = expandSecret(epoch, secret);
    this.counter = 0n;
    return { epoch, secret: Buffer.from(secret) };
  }

  /** Seals one message (the encoded member-protocol message) into a media body. */
  seal(plaintext: Uint8Array): Buffer {
    const c = this.cipher;
    if (!c) throw new Error('SenderKeySealer.seal before rotate()');
    if (this.counter > MAX_MEDIA_COUNTER) throw new RangeError('sender counter exhausted: rotate()');
    const out = Buffer.allocUnsafe(MEDIA_SEAL_OVERHEAD_BYTES + plaintext.length);
    out.writeUInt32BE(c.epoch, 0);
    out.writeBigUInt64BE(this.counter, MEDIA_EPOCH_BYTES);
    sealInto(c.key, nonceOf(c.iv, this.counter), additionalData(this.senderId, out.subarray(0, HEAD_BYTES)), plaintext, out, HEAD_BYTES);
    this.counter++;
    return out;
  }
}

/** Counters of an opener, for stats. */
export interface SenderKeyOpenerStats {
  opened: number;
  /** Frames of an epoch we hold no key for (before its SENDER_KEY, or an older epoch). */
  noKey: number;
  rejectedAuth: number;
  rejectedReplay: number;
}

/** Opens the media of one other member on one connection. */
export class SenderKeyOpener {
  private readonly senderId: number;
  private cipher: EpochCipher | null = null;
  private lastCounter = -1n;
  private readonly counters: SenderKeyOpenerStats = { opened: 0, noKey: 0, rejectedAuth: 0, rejectedReplay: 0 };

  /** @param senderId the member whose media this opens (the envelope's sender id) */
  constructor(senderId: number) {
    this.senderId = senderId;
  }

  /** The epoch we hold a key for (null before the first SENDER_KEY). */
  get epoch(): number | null {
    return this.cipher ? this.cipher.epoch : null;
  }

  get stats(): SenderKeyOpenerStats {
    return { ...this.counters };
  }

  /**
   * Takes the sender's key for a new epoch (from its SENDER_KEY message). Returns false and
   * changes nothing when the epoch is not newer than the one held: keys only move forward.
   */
  setKey(key: SenderKey): boolean {
    if (key.secret.length !== SENDER_SECRET_BYTES) return false;
    if (this.cipher && key.epoch <= this.cipher.epoch) return false;
    this.cipher = expandSecret(key.epoch, key.secret);
    this.lastCounter = -1n;
    return true;
  }

  /** Opens one media body; throws MediaRejectedError (counted) and leaves the state unchanged. */
  open(body: Uint8Array): Buffer {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
    if (data.length < MEDIA_SEAL_OVERHEAD_BYTES) {
      this.counters.rejectedAuth++;
      throw new MediaRejectedError('E_AUTH', `media body of ${data.length} bytes is shorter than its ${MEDIA_SEAL_OVERHEAD_BYTES}-byte overhead`);
    }
    const epoch = data.readUInt32BE(0);
    const c = this.cipher;
    if (!c || c.epoch !== epoch) {
      this.counters.noKey++;
      throw new MediaRejectedError('E_NO_SENDER_KEY', `no key of member ${this.senderId} for epoch ${epoch}` + (c ? ` (we hold epoch ${c.epoch})` : ''));
    }
    const counter = data.readBigUInt64BE(MEDIA_EPOCH_BYTES);
    const plaintext = openSealed(c.key, nonceOf(c.iv, counter), additionalData(this.senderId, data.subarray(0, HEAD_BYTES)), data.subarray(HEAD_BYTES));
    if (plaintext === null) {
      this.counters.rejectedAuth++;
      throw new MediaRejectedError('E_AUTH', `media of member ${this.senderId} failed authentication`);
    }
    if (counter <= this.lastCounter) {
      plaintext.fill(0);
      this.counters.rejectedReplay++;
      throw new MediaRejectedError('E_REPLAY', `media ${counter} of member ${this.senderId} replayed or out of order`);
    }
    this.lastCounter = counter;
    this.counters.opened++;
    return plaintext;
  }
}
