/**
 * The sixel renderer's colour quantizer: a palette per frame by a variance-driven median cut
 * over a 6-bit-per-channel histogram of sampled pixels, and the bin -> palette map every pixel
 * goes through. Split from sixel.ts (which encodes); behaviour unchanged.
 */
import type { RgbFrame } from './types.js';

/** Colour registers used; 256 is what xterm and most terminals offer. */
export const SIXEL_PALETTE_COLORS = 256;
/**
 * Quality at which the palette stops growing (estimated from the histogram, before the
 * 6-bit binning error): a picture that reaches it with fewer than 256 colours costs fewer bytes.
 */
export const SIXEL_TARGET_PSNR_DB = 40;

export const HIST_BITS = 6;
export const HIST_SHIFT = 8 - HIST_BITS;
const HIST_LEVELS = 1 << HIST_BITS;
const HIST_SIZE = 1 << (3 * HIST_BITS);
/** Level a histogram bin stands for: spread over 0..255 so that black and white stay exact. */
const BIN_LEVEL = Float64Array.from({ length: HIST_LEVELS }, (_, k) => (k * 255) / (HIST_LEVELS - 1));

/** Histogram sampling step in pixels, across and down: the palette is built from 1 pixel in 4. */
const SAMPLE_STEP = 2;
/** `binToPalette` value of a bin the palette was not built from: resolved on first use. */
const UNRESOLVED = -1;

/**
 * Reusable working memory of the quantizer. The palette comes from a variance-driven median
 * cut over a sampled histogram; every pixel is then mapped through `binToPalette` (a bin the
 * sample missed gets its nearest palette entry once, then is cached).
 */
export class Quantizer {
  readonly counts = new Uint32Array(HIST_SIZE);
  readonly binToPalette = new Int16Array(HIST_SIZE).fill(UNRESOLVED);
  occupied = new Uint32Array(1 << 16);
  /** Bins whose `binToPalette` entry is set, to clear them after the frame. */
  private resolved: number[] = [];
  readonly palette = new Uint8Array(SIXEL_PALETTE_COLORS * 3);
  paletteSize = 0;
  private readonly axisCounts = new Float64Array(HIST_LEVELS);
  /** Palette building stops once the estimated mean squared error is below this. */
  targetMse = 255 * 255 / 10 ** (SIXEL_TARGET_PSNR_DB / 10);

  /** Build the palette of `frame`. */
  build(frame: RgbFrame, y0 = 0, y1 = frame.height): void {
    for (const k of this.resolved) this.binToPalette[k] = UNRESOLVED;
    this.resolved.length = 0;
    const { counts } = this;
    const data = frame.data;
    let occ = this.occupied;
    let nOcc = 0;
    for (let y = y0; y < y1; y += SAMPLE_STEP) {
      let o = y * frame.width * 3;
      for (let x = 0; x < frame.width; x += SAMPLE_STEP, o += 3 * SAMPLE_STEP) {
        const key = ((data[o] >> HIST_SHIFT) << (2 * HIST_BITS)) | ((data[o + 1] >> HIST_SHIFT) << HIST_BITS) | (data[o + 2] >> HIST_SHIFT);
        if (counts[key]++ === 0) {
          if (nOcc === occ.length) {
            const bigger = new Uint32Array(occ.length * 2);
            bigger.set(occ);
            occ = bigger;
          }
          occ[nOcc++] = key;
        }
      }
    }
    this.occupied = occ;
    this.medianCut(nOcc, Math.ceil((y1 - y0) / SAMPLE_STEP) * Math.ceil(frame.width / SAMPLE_STEP));
    for (let i = 0; i < nOcc; i++) {
      counts[occ[i]] = 0;
      this.resolved.push(occ[i]);
    }
  }

  /** Palette index of a bin the sample did not contain: the nearest entry, cached. */
  resolve(key: number): number {
    // A bin next to a sampled one almost always belongs with it: one step is 4 levels.
    const b2p = this.binToPalette;
    const lo = HIST_LEVELS - 1;
    const c2 = key & lo, c1 = (key >> HIST_BITS) & lo, c0 = key >> (2 * HIST_BITS);
    let near = -1;
    if (c2 > 0 && b2p[key - 1] >= 0) near = b2p[key - 1];
    else if (c2 < lo && b2p[key + 1] >= 0) near = b2p[key + 1];
    else if (c1 > 0 && b2p[key - HIST_LEVELS] >= 0) near = b2p[key - HIST_LEVELS];
    else if (c1 < lo && b2p[key + HIST_LEVELS] >= 0) near = b2p[key + HIST_LEVELS];
    else if (c0 > 0 && b2p[key - HIST_LEVELS * HIST_LEVELS] >= 0) near = b2p[key - HIST_LEVELS * HIST_LEVELS];
    else if (c0 < lo && b2p[key + HIST_LEVELS * HIST_LEVELS] >= 0) near = b2p[key + HIST_LEVELS * HIST_LEVELS];
    if (near >= 0) {
      b2p[key] = near;
      this.resolved.push(key);
      return near;
    }
    const r = BIN_LEVEL[key >> (2 * HIST_BITS)];
    const g = BIN_LEVEL[(key >> HIST_BITS) & (HIST_LEVELS - 1)];
    const b = BIN_LEVEL[key & (HIST_LEVELS - 1)];
    const pal = this.palette;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < this.paletteSize; i++) {
      const dr = pal[i * 3] - r, dg = pal[i * 3 + 1] - g, db = pal[i * 3 + 2] - b;
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    this.binToPalette[key] = best;
    this.resolved.push(key);
    return best;
  }

  private component(key: number, axis: number): number {
    return (key >> ((2 - axis) * HIST_BITS)) & (HIST_LEVELS - 1);
  }

  /**
   * Split the occupied bins into at most 256 boxes, always the box with the largest squared
   * error, along its axis of largest variance, at the cut that minimises the error of the two
   * halves (computed from a 64-entry axis histogram: no sorting). Each box's weighted mean is a
   * palette entry.
   */
  private medianCut(nOcc: number, sampled: number): void {
    const occ = this.occupied;
    const counts = this.counts;
    const start: number[] = [0];
    const end: number[] = [nOcc];
    const score: number[] = [];
    const axisOf: number[] = [];
    const measure = (b: number) => {
      let n = 0, s0 = 0, s1 = 0, s2 = 0, q0 = 0, q1 = 0, q2 = 0;
      for (let i = start[b]; i < end[b]; i++) {
        const k = occ[i];
        const c = counts[k];
        const c0 = k >> (2 * HIST_BITS), c1 = (k >> HIST_BITS) & (HIST_LEVELS - 1), c2 = k & (HIST_LEVELS - 1);
        n += c;
        s0 += c * c0;
        s1 += c * c1;
        s2 += c * c2;
        q0 += c * c0 * c0;
        q1 += c * c1 * c1;
        q2 += c * c2 * c2;
      }
      // Squared error per axis; green is weighted up a little as the eye does.
      const e0 = q0 - (s0 * s0) / n, e1 = (q1 - (s1 * s1) / n) * 1.2, e2 = q2 - (s2 * s2) / n;
      axisOf[b] = e1 >= e0 && e1 >= e2 ? 1 : e0 >= e2 ? 0 : 2;
      score[b] = end[b] - start[b] > 1 ? e0 + e1 + e2 : 0;
    };
    measure(0);
    const ac = this.axisCounts;
    while (start.length < SIXEL_PALETTE_COLORS) {
      let best = -1;
      let bestScore = 0;
      for (let b = 0; b < start.length; b++) {
        if (score[b] > bestScore) {
          bestScore = score[b];
          best = b;
        }
      }
      if (best < 0) break;
      // Enough colours: the boxes' squared error (6-bit units, sampled pixels) already means
      // a PSNR above the target. More colours would only cost bytes.
      let totalError = 0;
      for (let b = 0; b < start.length; b++) totalError += score[b];
      const mse = (totalError * (1 << (2 * HIST_SHIFT))) / (3 * sampled);
      if (mse < this.targetMse) break;
      const axis = axisOf[best];
      const s = start[best], e = end[best];
      ac.fill(0);
      let total = 0, sum = 0;
      for (let i = s; i < e; i++) {
        const c = counts[occ[i]];
        const v = this.component(occ[i], axis);
        ac[v] += c;
        total += c;
        sum += c * v;
      }
      // Best cut: maximise between-part variance n1*n2*(m1-m2)^2 (Otsu), same as least error.
      let n1 = 0, s1 = 0, cut = -1, bestGain = -1;
      for (let v = 0; v < HIST_LEVELS - 1; v++) {
        n1 += ac[v];
        s1 += ac[v] * v;
        const n2 = total - n1;
        if (n1 === 0 || n2 === 0) continue;
        const d = s1 / n1 - (sum - s1) / n2;
        const gain = n1 * n2 * d * d;
        if (gain > bestGain) {
          bestGain = gain;
          cut = v;
        }
      }
      let m = s;
      for (let i = s; i < e; i++) {
        if (this.component(occ[i], axis) <= cut) {
          const t = occ[i];
          occ[i] = occ[m];
          occ[m] = t;
          m++;
        }
      }
      if (m === s || m === e) {
        score[best] = 0;
        continue;
      }
      end[best] = m;
      start.push(m);
      end.push(e);
      measure(best);
      measure(start.length - 1);
    }
    const pal = this.palette;
    for (let b = 0; b < start.length; b++) {
      let r = 0, g = 0, bl = 0, total = 0;
      for (let i = start[b]; i < end[b]; i++) {
        const k = occ[i];
        const c = counts[k];
        r += BIN_LEVEL[k >> (2 * HIST_BITS)] * c;
        g += BIN_LEVEL[(k >> HIST_BITS) & (HIST_LEVELS - 1)] * c;
        bl += BIN_LEVEL[k & (HIST_LEVELS - 1)] * c;
        total += c;
        this.binToPalette[k] = b;
      }
      pal[b * 3] = Math.round(r / total);
      pal[b * 3 + 1] = Math.round(g / total);
      pal[b * 3 + 2] = Math.round(bl / total);
    }
    this.paletteSize = start.length;
  }
}
