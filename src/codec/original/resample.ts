/**
 * A streaming linear-interpolation resampler for mono s16le PCM: the original client speaks
 * 44.1 kHz, our audio path runs at 48 kHz. Pure and stateful: push any number of bytes
 * (an odd trailing byte is kept for the next push), get the samples due so far. Positions
 * are exact integer ratios (output j sits at input j * from / to), so the output does not
 * depend on how the input was chunked. Linear interpolation keeps every frequency where it
 * was (the tone tests check it); its mild high-frequency roll-off is far above speech.
 */
export class PcmResampler {
  /** Absolute index of the next output sample. */
  private outIndex = 0;
  /** Input samples kept, the first at absolute index `keptBase`. */
  private kept: Int16Array = new Int16Array(0);
  private keptBase = 0;
  private oddByte: number | null = null;

  constructor(readonly fromHz: number, readonly toHz: number) {
    if (!(Number.isInteger(fromHz) && Number.isInteger(toHz) && fromHz > 0 && toHz > 0)) throw new RangeError('sample rates must be positive integers');
  }

  push(chunk: Uint8Array): Buffer {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.oddByte !== null) {
      bytes = Buffer.concat([Buffer.from([this.oddByte]), bytes]);
      this.oddByte = null;
    }
    if (bytes.length % 2 === 1) {
      this.oddByte = bytes[bytes.length - 1]!;
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const n = bytes.length / 2;
    if (n === 0) return Buffer.alloc(0);
    const samples = new Int16Array(this.kept.length + n);
    samples.set(this.kept);
    for (let i = 0; i < n; i++) samples[this.kept.length + i] = bytes.readInt16LE(i * 2);
    const lastIndex = this.keptBase + samples.length - 1;
    const out: number[] = [];
    for (;;) {
      const num = this.outIndex * this.fromHz;
      const k = Math.floor(num / this.toHz);
      const rem = num - k * this.toHz;
      if (k > lastIndex || (rem > 0 && k + 1 > lastIndex)) break;
      const a = samples[k - this.keptBase]!;
      const v = rem === 0 ? a : a + ((samples[k + 1 - this.keptBase]! - a) * rem) / this.toHz;
      out.push(Math.round(v));
      this.outIndex++;
    }
    // Keep what the next output still reaches back to.
    const nextK = Math.floor((this.outIndex * this.fromHz) / this.toHz);
    const from = Math.max(0, Math.min(samples.length, nextK - this.keptBase));
    this.kept = samples.slice(from);
    this.keptBase += from;
    const buf = Buffer.allocUnsafe(out.length * 2);
    for (let i = 0; i < out.length; i++) buf.writeInt16LE(out[i]!, i * 2);
    return buf;
  }
}
