/**
 * Raw video frames of one size (rgb24) cut out of a byte stream that arrives in chunks of any
 * size, as ffmpeg's `-f rawvideo` stdout does. Pure: no I/O.
 */

/** Splits a stream of back-to-back frames of `frameBytes` each. */
export class RawFrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`bad frame size ${frameBytes}`);
  }

  /**
   * The frames `chunk` completes, oldest first. They are views into one buffer that is not
   * used again; a partial frame left over is kept (copied) for the next chunk.
   */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.frameBytes) return [];
    let all = Buffer.concat(this.pending);
    const frames: Buffer[] = [];
    while (all.length >= this.frameBytes) {
      frames.push(all.subarray(0, this.frameBytes));
      all = all.subarray(this.frameBytes);
    }
    this.pending = all.length ? [Buffer.from(all)] : [];
    this.pendingBytes = all.length;
    return frames;
  }
}
