/**
 * Sealed records: after key confirmation every record body is
 *
 *   counter u64 BE (8) | ChaCha20-Poly1305 ciphertext (n) | tag (16)
 *
 * The counter is explicit (8 bytes per record) although TCP keeps order, so that the
 * receiver can tell a replayed or reordered record (authentic, old counter: E_REPLAY) from an
 * altered one (E_AUTH) and count each. The nonce is the direction's derived IV XOR the
 * counter (as in TLS 1.3): unique per key because the counter only grows, and different
 * across keys. The additional data is the record's u32 length header and the counter, so
 * nothing in the framing can change without the tag noticing.
 *
 * One sealer and one opener per connection and direction, each with its own key from
 * deriveSessionKeys: the video and audio connections never share a (key, nonce).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from '../protocol/constants.js';
import { writeRecordHeader } from '../protocol/record.js';
import {
  AEAD_ALGORITHM,
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  MAX_RECORD_COUNTER,
  RECORD_COUNTER_BYTES,
  SEAL_OVERHEAD_BYTES,
} from './constants.js';
import { NonceExhaustedError, RecordRejectedError } from './errors.js';
import type { SessionKeys } from './key-exchange.js';

/** Size of the additional data: record length u32 + counter u64. */
const AAD_BYTES = RECORD_HEADER_BYTES + RECORD_COUNTER_BYTES;
/** Where the counter sits inside the 12-byte nonce (the last 8 bytes). */
const NONCE_COUNTER_OFFSET = AEAD_NONCE_BYTES - RECORD_COUNTER_BYTES;

function checkKeyAndIv(key: Uint8Array, iv: Uint8Array): KeyObject {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError(`AEAD key must be ${AEAD_KEY_BYTES} bytes`);
  if (iv.length !== AEAD_NONCE_BYTES) throw new RangeError(`AEAD IV must be ${AEAD_NONCE_BYTES} bytes`);
  return createSecretKey(Buffer.from(key));
}

/**
 * The nonce of `counter` under `iv`: iv XOR (0^32 | counter u64 BE). Shared with the room's
 * sender keys (codec/room/sender-key.ts), which number their frames the same way.
 */
export function nonceOf(iv: Uint8Array, counter: bigint): Buffer {
  const nonce = Buffer.from(iv);
  const c = Buffer.allocUnsafe(RECORD_COUNTER_BYTES);
  c.writeBigUInt64BE(counter);
  for (let i = 0; i < RECORD_COUNTER_BYTES; i++) nonce[NONCE_COUNTER_OFFSET + i] ^= c[i];
  return nonce;
}

function additionalData(bodyLength: number, counterBytes: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(AAD_BYTES);
  aad.writeUInt32BE(bodyLength, 0);
  aad.set(counterBytes, RECORD_HEADER_BYTES);
  return aad;
}

/**
 * ChaCha20-Poly1305 of `plaintext` under (key, nonce, aad), written at `out[pos]` as
 * ciphertext then tag (plaintext.length + AEAD_TAG_BYTES bytes).
 */
export function sealInto(key: KeyObject, nonce: Buffer, aad: Buffer, plaintext: Uint8Array, out: Buffer, pos: number): void {
  const cipher = createCipheriv(AEAD_ALGORITHM, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const head = cipher.update(plaintext);
  out.set(head, pos);
  pos += head.length;
  const tail = cipher.final();
  out.set(tail, pos);
  pos += tail.length;
  out.set(cipher.getAuthTag(), pos);
}

/**
 * Opens ciphertext + tag (`sealed`) under (key, nonce, aad); null when it does not
 * authenticate (OpenSSL says no more than that).
 */
export function openSealed(key: KeyObject, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer | null {
  const tagStart = sealed.length - AEAD_TAG_BYTES;
  try {
    const decipher = createDecipheriv(AEAD_ALGORITHM, key, nonce, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAAD(aad, { plaintextLength: tagStart });
    decipher.setAuthTag(sealed.subarray(tagStart));
    const head = decipher.update(sealed.subarray(0, tagStart));
    // final() throws when the tag does not verify; `head` is then discarded unread.
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}

/** Counters of a sealer, for stats. */
export interface SealerStats {
  sealedRecords: number;
}

/** Seals the records one side sends on one connection. */
export class RecordSealer {
  private readonly key: KeyObject;
  private readonly iv: Buffer;
  private counter: bigint;
  private sealed = 0;

  /**
   * @param key AEAD_KEY_BYTES, from SessionKeys.sendKey
   * @param iv AEAD_NONCE_BYTES, from SessionKeys.sendIv
   * @param options.firstCounter tests only: start elsewhere than 0 to reach the limit
   */
  constructor(key: Uint8Array, iv: Uint8Array, options: { firstCounter?: bigint } = {}) {
    this.key = checkKeyAndIv(key, iv);
    this.iv = Buffer.from(iv);
    this.counter = options.firstCounter ?? 0n;
  }

  /** The counter the next sealed record will carry. */
  get nextCounter(): bigint {
    return this.counter;
  }

  /** The AEAD nonce used for `counter` (for tests and diagnostics). */
  nonceFor(counter: bigint): Buffer {
    return nonceOf(this.iv, counter);
  }

  /** Counters for stats. */
  get stats(): SealerStats {
    return { sealedRecords: this.sealed };
  }

  /**
   * Seals one encoded message into a record body (plaintext + SEAL_OVERHEAD_BYTES); frame it
   * with encodeRecord. Throws E_NONCE_EXHAUSTED after the last counter.
   */
  seal(plaintext: Uint8Array): Buffer {
    const body = Buffer.allocUnsafe(SEAL_OVERHEAD_BYTES + plaintext.length);
    this.sealInto(body, 0, plaintext);
    return body;
  }

  /**
   * Seals one encoded message into a whole record (length header + body) in one buffer.
   * Throws E_FRAME_TOO_LARGE when the sealed body exceeds `maxRecordBytes`.
   */
  sealRecord(plaintext: Uint8Array, maxRecordBytes = MAX_RECORD_BYTES): Buffer {
    const bodyLength = SEAL_OVERHEAD_BYTES + plaintext.length;
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLength);
    writeRecordHeader(record, 0, bodyLength, maxRecordBytes);
    this.sealInto(record, RECORD_HEADER_BYTES, plaintext);
    return record;
  }

  private sealInto(out: Buffer, offset: number, plaintext: Uint8Array): void {
    if (this.counter > MAX_RECORD_COUNTER) throw new NonceExhaustedError();
    const counter = this.counter;
    const bodyLength = SEAL_OVERHEAD_BYTES + plaintext.length;
    out.writeBigUInt64BE(counter, offset);
    const aad = additionalData(bodyLength, out.subarray(offset, offset + RECORD_COUNTER_BYTES));
    sealInto(this.key, nonceOf(this.iv, counter), aad, plaintext, out, offset + RECORD_COUNTER_BYTES);
    // Advance only after a complete seal: a throw above leaves the counter unused, not skipped.
    this.counter = counter + 1n;
    this.sealed++;
  }
}

/** Counters of an opener, for stats (`rejected` = replayed/reordered + altered). */
export interface OpenerStats {
  /** Records that authenticated and were accepted. */
  openedRecords: number;
  /** Records that failed authentication (altered, truncated, wrong key): E_AUTH. */
  rejectedAuth: number;
  /** Authentic records with a counter not above the last accepted one: E_REPLAY. */
  rejectedReplay: number;
  /** Counter values skipped between accepted records (records deleted on the path). */
  missingRecords: number;
}

/** Opens the records one side receives on one connection. */
export class RecordOpener {
  private readonly key: KeyObject;
  private readonly iv: Buffer;
  /** Highest counter accepted so far; -1 before the first record. */
  private lastCounter = -1n;
  private readonly counters: OpenerStats = { openedRecords: 0, rejectedAuth: 0, rejectedReplay: 0, missingRecords: 0 };

  /**
   * @param key AEAD_KEY_BYTES, from SessionKeys.receiveKey
   * @param iv AEAD_NONCE_BYTES, from SessionKeys.receiveIv
   */
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.key = checkKeyAndIv(key, iv);
    this.iv = Buffer.from(iv);
  }

  /** A snapshot of the counters, for stats. */
  get stats(): OpenerStats {
    return { ...this.counters };
  }

  /** The highest counter accepted so far (-1n before the first record). */
  get lastAcceptedCounter(): bigint {
    return this.lastCounter;
  }

  /**
   * Opens one record body and returns the encoded message inside (a new buffer). Throws a
   * RecordRejectedError (E_AUTH or E_REPLAY) and counts it; a rejected record leaves the
   * opener's state unchanged.
   */
  open(body: Uint8Array): Buffer {
    if (body.length < SEAL_OVERHEAD_BYTES) {
      this.counters.rejectedAuth++;
      throw new RecordRejectedError('E_AUTH', `sealed record of ${body.length} bytes is shorter than its ${SEAL_OVERHEAD_BYTES}-byte overhead`);
    }
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
    const counterBytes = data.subarray(0, RECORD_COUNTER_BYTES);
    const counter = data.readBigUInt64BE(0);
    const plaintext = openSealed(this.key, nonceOf(this.iv, counter), additionalData(data.length, counterBytes), data.subarray(RECORD_COUNTER_BYTES));
    if (plaintext === null) {
      this.counters.rejectedAuth++;
      throw new RecordRejectedError('E_AUTH', 'sealed record failed authentication (altered or sealed with another key)');
    }
    // Authentic: now the counter can be trusted, and must move forward.
    if (counter <= this.lastCounter) {
      this.counters.rejectedReplay++;
      plaintext.fill(0);
      throw new RecordRejectedError('E_REPLAY', `sealed record ${counter} replayed or out of order (last accepted ${this.lastCounter})`, counter);
    }
    this.counters.missingRecords += Number(counter - this.lastCounter - 1n);
    this.lastCounter = counter;
    this.counters.openedRecords++;
    return plaintext;
  }
}

/** The sealer and opener of one connection, from its session keys. */
export interface RecordCiphers {
  sealer: RecordSealer;
  opener: RecordOpener;
}

/** Builds the sealer (our direction) and opener (the peer's direction) of one connection. */
export function createRecordCiphers(keys: SessionKeys): RecordCiphers {
  return { sealer: new RecordSealer(keys.sendKey, keys.sendIv), opener: new RecordOpener(keys.receiveKey, keys.receiveIv) };
}
