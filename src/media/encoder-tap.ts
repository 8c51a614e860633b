/**
 * Capture times for encoded video: ffmpeg's last filter before the encoder prints a line per
 * frame to fd 3 as the frame enters the encoder (args.ts, ENCODER_TAP_FILTER); this pairs
 * those lines with the encoded frames that come out on stdout. Pure: times are handed in.
 */

/** Lines longer than this on the tap are not ours: the rest of the line is skipped. */
const TAP_MAX_LINE = 256;
/** Frames whose encoder-entry time may wait for their packet (more means the stream is out of step). */
const TAP_MAX_PENDING = 64;

/**
 * Reads the encoder tap (fd 3: `frame:N ...` per frame as it enters the encoder) and pairs each
 * encoded frame, in order, with the time its line arrived. Frame numbers keep the two in step:
 * a frame that came out before its line was read takes the fallback time, and its line, read
 * later, is skipped.
 */
export class EncoderTap {
  private partial = '';
  /** Encoder-entry times by frame number, oldest first. */
  private readonly times = new Map<number, number>();
  /** Number of the next encoded frame. */
  private nextFrame = 0;
  /** Frames that took the fallback time (diagnostics, tests). */
  fallbacks = 0;

  reset(): void {
    this.partial = '';
    this.times.clear();
    this.nextFrame = 0;
  }

  /** A chunk of the tap, read at `atUs`. */
  push(chunk: Buffer, atUs: number): void {
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > TAP_MAX_LINE) this.partial = '';
    for (const line of lines) {
      const m = /^frame:(\d+)\s/.exec(line);
      if (!m) continue;
      const n = Number(m[1]);
      if (n < this.nextFrame) continue;
      this.times.set(n, atUs);
      if (this.times.size > TAP_MAX_PENDING) this.times.delete(this.times.keys().next().value!);
    }
  }

  /** The encoder-entry time of the next encoded frame, or `fallbackUs` when its line is not in yet. */
  next(fallbackUs: number): number {
    const n = this.nextFrame++;
    for (const k of this.times.keys()) {
      if (k >= n) break;
      this.times.delete(k);
    }
    const at = this.times.get(n);
    if (at === undefined) {
      this.fallbacks++;
      return fallbackUs;
    }
    this.times.delete(n);
    return Math.min(at, fallbackUs);
  }
}
