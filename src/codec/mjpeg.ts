/**
 * Splits an MJPEG byte stream (JPEG images back to back, as ffmpeg's `-f mjpeg` muxer and
 * most cameras produce) into whole JPEG frames. Pure and incremental: push any chunks, get
 * every frame completed so far.
 *
 * It walks the marker structure instead of searching for FF D9, because an FF D9 can sit
 * inside a segment (e.g. an EXIF thumbnail in APP1). Inside entropy-coded data a real
 * 0xFF byte is stuffed as FF 00 and restart markers are FF D0..D7; any other FF xx there
 * is a marker that ends the scan. So a frame ends exactly at its EOI, with no wait for the
 * next frame.
 */
import { VideochatError } from './errors.js';

/** A frame bigger than this is garbage (or an attack): the splitter resyncs. */
export const MAX_JPEG_FRAME_BYTES = 8 * 1024 * 1024;

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

const enum State {
  /** Looking for FF D8. */
  Sync,
  /** Between segments: the next bytes are a marker. */
  Marker,
  /** Inside entropy-coded data after an SOS header. */
  Entropy,
}

/** Incremental MJPEG -> JPEG frame splitter. */
export class MjpegSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private state: State = State.Sync;
  /** Bytes skipped while looking for a frame start (diagnostics). */
  discardedBytes = 0;

  /** Feeds a chunk; returns the frames it completed (each a copy, safe to keep). */
  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const frame = this.step();
      if (frame === undefined) break;
      frames.push(frame);
    }
    if (this.buf.length > MAX_JPEG_FRAME_BYTES) {
      // No EOI within the limit: drop what we have and look for the next SOI.
      this.discardedBytes += this.buf.length;
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      this.state = State.Sync;
    }
    return frames;
  }

  /** Returns one completed frame, or undefined when more bytes are needed. */
  private step(): Buffer | undefined {
    for (;;) {
      // Re-read every round: the branches below may move the buffer start.
      const b = this.buf;
      if (this.state === State.Sync) {
        let i = this.pos;
        while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] === SOI)) i++;
        if (i + 1 >= b.length) {
          // Keep a trailing FF: it may be the first half of an SOI.
          const keep = b.length > 0 && b[b.length - 1] === 0xff ? 1 : 0;
          this.discardedBytes += b.length - keep;
          this.buf = b.subarray(b.length - keep);
          this.pos = 0;
          return undefined;
        }
        this.discardedBytes += i;
        this.buf = b.subarray(i);
        this.pos = 2;
        this.state = State.Marker;
        continue;
      }
      if (this.state === State.Marker) {
        let i = this.pos;
        if (i >= b.length) return undefined;
        if (b[i] !== 0xff) {
          // Broken structure: resync on the next SOI after this frame's start.
          this.pos = 1;
          this.state = State.Sync;
          continue;
        }
        // Skip fill bytes (FF FF ...) before the marker code.
        while (i < b.length && b[i] === 0xff) i++;
        if (i >= b.length) return undefined;
        const marker = b[i];
        const afterCode = i + 1;
        if (marker === EOI) return this.emit(afterCode);
        if (marker === SOI) {
          // A new frame started before this one ended: drop the truncated one.
          this.discardedBytes += i - 1;
          this.buf = b.subarray(i - 1);
          this.pos = 2;
          continue;
        }
        if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
          this.pos = afterCode;
          continue;
        }
        if (afterCode + 2 > b.length) return undefined;
        const length = b.readUInt16BE(afterCode);
        const segmentEnd = afterCode + length;
        if (segmentEnd > b.length) return undefined;
        this.pos = segmentEnd;
        if (marker === SOS) this.state = State.Entropy;
        continue;
      }
      // Entropy-coded data: find FF followed by something other than 00, D0-D7 or FF.
      let i = this.pos;
      for (;;) {
        const ff = b.indexOf(0xff, i);
        if (ff < 0 || ff + 1 >= b.length) {
          this.pos = ff < 0 ? b.length : ff;
          return undefined;
        }
        const next = b[ff + 1];
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
          i = ff + 2;
          continue;
        }
        if (next === 0xff) {
          i = ff + 1;
          continue;
        }
        this.pos = ff;
        this.state = State.Marker;
        break;
      }
    }
  }

  private emit(end: number): Buffer {
    const frame = Buffer.from(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end);
    this.pos = 0;
    this.state = State.Sync;
    return frame;
  }
}

/** Throws unless `data` looks like one whole JPEG (SOI ... EOI). */
export function assertJpeg(data: Uint8Array): void {
  const n = data.length;
  if (n < 4 || data[0] !== 0xff || data[1] !== SOI || data[n - 2] !== 0xff || data[n - 1] !== EOI) {
    throw new VideochatError('E_BAD_JPEG', 'not a whole JPEG image (SOI ... EOI)');
  }
}
