/**
 * A growable byte writer over one reused Buffer. Renderers write escape sequences byte by
 * byte into it instead of concatenating strings per cell, which is what keeps a 160x48
 * frame under a millisecond.
 */

/** Start size of a writer's buffer; it doubles when a frame needs more. */
export const WRITER_INITIAL_BYTES = 64 * 1024;

/** ASCII decimal digits of 0..255, precomputed for colour parameters. */
const DECIMAL_BYTES: Uint8Array[] = Array.from({ length: 256 }, (_, n) => Buffer.from(String(n), 'latin1'));

const EMPTY = Buffer.alloc(0);

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = WRITER_INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Forget what was written; keeps the buffer. */
  clear(): void {
    this.pos = 0;
  }

  /** Make room for `n` more bytes so that the unchecked writers below are safe. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** One byte. Caller has reserved room. */
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A precomputed byte string. Caller has reserved room. */
  bytes(src: Uint8Array): void {
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** A non-negative integer in decimal. Caller has reserved room (10 bytes at most). */
  uint(n: number): void {
    if (n < 256) {
      this.bytes(DECIMAL_BYTES[n]);
      return;
    }
    const s = String(n);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** An ASCII string, reserving room itself (for headers, not for per-pixel work). */
  ascii(s: string): void {
    this.reserve(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /**
   * Start a frame in a fresh buffer of `n` bytes, to be handed out by `detach()` without a
   * copy (large frames: copying was a third of the time of a truecolor frame).
   */
  fresh(n: number): void {
    this.buf = Buffer.allocUnsafe(Math.max(n, 16));
    this.pos = 0;
  }

  /** What was written since `fresh()`, without copying; the writer must not reuse it. */
  detach(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = EMPTY;
    this.pos = 0;
    return out;
  }

  /** A copy of what was written: the caller may keep it while the next frame reuses the buffer. */
  take(): Buffer {
    // allocUnsafe + copy is a memcpy; Buffer.from(view) was measured 10x slower here.
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
