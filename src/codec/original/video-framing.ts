/**
 * The original client's video stream: messages of a 4-byte unsigned little-endian length
 * (`struct.pack("I", ...)`) and that many bytes of pickle (see pickle.ts), back to back.
 * Pure and incremental: push any chunks, get every JPEG completed so far. The length is
 * checked against MAX_PICKLE_BYTES before anything of that size is buffered.
 */
import { MAX_PICKLE_BYTES, PickleRefusedError, encodeJpegPickle, parseJpegPickle } from './pickle.js';

const LENGTH_BYTES = 4;

/** One video message as the original writes it: length, then the pickled JPEG array. */
export function encodeOriginalVideo(jpeg: Uint8Array): Buffer {
  const pickle = encodeJpegPickle(jpeg);
  const head = Buffer.allocUnsafe(LENGTH_BYTES);
  head.writeUInt32LE(pickle.length, 0);
  return Buffer.concat([head, pickle]);
}

/** Incremental parser of the original's video stream -> JPEG frames. */
export class OriginalVideoParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being collected, once its header is in. */
  private need: number | null = null;

  /** Feeds a chunk; returns the JPEGs it completed. Throws PickleRefusedError on anything else. */
  push(chunk: Uint8Array): Buffer[] {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.need === null) {
        if (this.buffered < LENGTH_BYTES) break;
        const length = this.take(LENGTH_BYTES).readUInt32LE(0);
        if (length === 0) throw new PickleRefusedError('an empty video message');
        if (length > MAX_PICKLE_BYTES) throw new PickleRefusedError(`a ${length}-byte video message is over the limit of ${MAX_PICKLE_BYTES}`);
        this.need = length;
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = null;
      frames.push(parseJpegPickle(body));
    }
    return frames;
  }

  /** Bytes of a message still being collected (a peer that stalls mid-message). */
  get pendingBytes(): number {
    return this.buffered;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
