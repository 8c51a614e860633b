/**
 * The relay handshake, exactly as the original server reads it: a 4-byte little-endian
 * signed length (a C `int` on x86), then that many bytes of session code. Nothing is ever
 * written back. Pure: no sockets, no timers; the daemon owns timeouts.
 */
import { VideochatError } from './errors.js';

/** Size of the length prefix. */
export const HANDSHAKE_LENGTH_PREFIX_BYTES = 4;
/** Longest session code the original server accepted (and so do we). */
export const SESSION_CODE_MAX_BYTES = 1024;
/** Shortest session code: the original rejected a length <= 0. */
export const SESSION_CODE_MIN_BYTES = 1;

/** Stable reason codes for a handshake that cannot complete. */
export type HandshakeErrorCode = 'E_HANDSHAKE_LENGTH' | 'E_HANDSHAKE_TRUNCATED' | 'E_HANDSHAKE_TIMEOUT';

/** A handshake that cannot complete; `code` is stable and logged as the reason. */
export class HandshakeError extends VideochatError {
  declare readonly code: HandshakeErrorCode;

  constructor(code: HandshakeErrorCode, message: string) {
    super(code, message);
    this.name = 'HandshakeError';
  }
}

/**
 * Encodes the handshake a client sends first on each channel. A string is encoded as
 * UTF-8, as the original client did. Throws E_HANDSHAKE_LENGTH for an empty code or one
 * longer than SESSION_CODE_MAX_BYTES.
 */
export function encodeHandshake(code: string | Uint8Array): Buffer {
  const body = typeof code === 'string' ? Buffer.from(code, 'utf8') : Buffer.from(code);
  if (body.length < SESSION_CODE_MIN_BYTES || body.length > SESSION_CODE_MAX_BYTES) {
    throw new HandshakeError(
      'E_HANDSHAKE_LENGTH',
      `session code must be ${SESSION_CODE_MIN_BYTES}..${SESSION_CODE_MAX_BYTES} bytes, got ${body.length}`,
    );
  }
  const out = Buffer.allocUnsafe(HANDSHAKE_LENGTH_PREFIX_BYTES + body.length);
  out.writeInt32LE(body.length, 0);
  body.copy(out, HANDSHAKE_LENGTH_PREFIX_BYTES);
  return out;
}

/** A complete handshake: the code, and every byte that arrived after it (never dropped). */
export interface HandshakeResult {
  code: Buffer;
  rest: Buffer;
}

/**
 * Incremental reader: feed it chunks exactly as they arrive (one byte at a time, or the
 * handshake glued to the first megabyte of payload). `push` returns the result once the
 * handshake is complete, `undefined` while more bytes are needed, and throws a
 * HandshakeError as soon as the length prefix is invalid (before buffering the body).
 */
export class HandshakeReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private expected: number | undefined;
  private finished = false;

  /** Bytes held so far (at most prefix + SESSION_CODE_MAX_BYTES before completion). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once a result was returned or an error thrown; further pushes are refused. */
  get done(): boolean {
    return this.finished;
  }

  push(chunk: Uint8Array): HandshakeResult | undefined {
    if (this.finished) throw new Error('HandshakeReader: push after completion');
    if (chunk.length === 0) return undefined;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
    if (this.expected === undefined) {
      if (this.buffered < HANDSHAKE_LENGTH_PREFIX_BYTES) return undefined;
      const all = this.flatten();
      const length = all.readInt32LE(0);
      if (length < SESSION_CODE_MIN_BYTES || length > SESSION_CODE_MAX_BYTES) {
        this.finished = true;
        throw new HandshakeError(
          'E_HANDSHAKE_LENGTH',
          `session code length ${length} outside ${SESSION_CODE_MIN_BYTES}..${SESSION_CODE_MAX_BYTES}`,
        );
      }
      this.expected = length;
    }
    const total = HANDSHAKE_LENGTH_PREFIX_BYTES + this.expected;
    if (this.buffered < total) return undefined;
    const all = this.flatten();
    this.finished = true;
    this.chunks.length = 0;
    // Copies, so the caller may keep the code while the big rest buffer is released.
    return {
      code: Buffer.from(all.subarray(HANDSHAKE_LENGTH_PREFIX_BYTES, total)),
      rest: all.subarray(total),
    };
  }

  /**
   * Called when the connection ended before the handshake completed: returns the
   * E_HANDSHAKE_TRUNCATED error to report (the reader is then done).
   */
  truncated(): HandshakeError {
    this.finished = true;
    const want = this.expected === undefined ? HANDSHAKE_LENGTH_PREFIX_BYTES : HANDSHAKE_LENGTH_PREFIX_BYTES + this.expected;
    return new HandshakeError('E_HANDSHAKE_TRUNCATED', `connection ended after ${this.buffered} of ${want} handshake bytes`);
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) {
      const one = Buffer.concat(this.chunks, this.buffered);
      this.chunks.length = 0;
      this.chunks.push(one);
    }
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}
