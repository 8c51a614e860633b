/**
 * Dithering for the palette depths (256 and 16 colours): before a pixel is looked up in the
 * nearest-colour table, each channel is moved by a threshold that depends only on the pixel's
 * position, so flat areas between two palette colours become a fine mix of both instead of
 * one band. `ordered` uses an 8x8 Bayer matrix; `noise` a 64x64 blue-noise matrix (built once
 * by void-and-cluster: the same mix without the Bayer cross-hatch). Position-only thresholds
 * keep a still picture still (no crawling noise between frames).
 */
import { lutIndex, nearest16Lut, nearest256Lut, XTERM_256 } from './palette.js';
import type { RgbFrame } from './types.js';

export type DitherKind = 'none' | 'ordered' | 'noise';
export const DITHER_KINDS: readonly DitherKind[] = ['none', 'ordered', 'noise'];

/** Thresholds of a matrix as offsets -0.5..0.5 (row-major, `size` x `size`). */
export interface DitherMatrix {
  size: number;
  /** log2(size): x & (size - 1), y << shift. */
  shift: number;
  offsets: Float32Array;
}

function bayer(size: number): DitherMatrix {
  // Recursive construction: M(2n) = [4M, 4M+2; 4M+3, 4M+1].
  let m = [0];
  let n = 1;
  while (n < size) {
    const next = new Array<number>(4 * n * n);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const v = 4 * m[y * n + x];
        next[y * 2 * n + x] = v;
        next[y * 2 * n + x + n] = v + 2;
        next[(y + n) * 2 * n + x] = v + 3;
        next[(y + n) * 2 * n + x + n] = v + 1;
      }
    }
    m = next;
    n *= 2;
  }
  return { size, shift: Math.log2(size), offsets: Float32Array.from(m, (v) => (v + 0.5) / (size * size) - 0.5) };
}

/**
 * Blue noise by void-and-cluster (Ulichney 1993) on a torus, Gaussian energy (sigma 1.5):
 * a seeded random start, relaxed by moving the tightest cluster into the largest void; then
 * every pixel ranked by removing clusters (down) and filling voids (up).
 */
function blueNoise(size: number, seed = 0x9e3779b9): DitherMatrix {
  const n = size * size;
  const sigma2 = 2 * 1.5 * 1.5;
  const kernel = new Float64Array(n);
  for (let dy = 0; dy < size; dy++) {
    for (let dx = 0; dx < size; dx++) {
      const ddx = Math.min(dx, size - dx), ddy = Math.min(dy, size - dy);
      kernel[dy * size + dx] = Math.exp(-(ddx * ddx + ddy * ddy) / sigma2);
    }
  }
  const energy = new Float64Array(n);
  const on = new Uint8Array(n);
  const toggle = (p: number, sign: number) => {
    const px = p % size, py = (p / size) | 0;
    for (let y = 0; y < size; y++) {
      const ky = ((y - py + size) % size) * size;
      for (let x = 0; x < size; x++) energy[y * size + x] += sign * kernel[ky + ((x - px + size) % size)];
    }
  };
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const initial = Math.floor(n / 10);
  for (let k = 0; k < initial;) {
    const p = Math.floor(rand() * n);
    if (on[p]) continue;
    on[p] = 1;
    toggle(p, 1);
    k++;
  }
  const extreme = (want: number, max: boolean) => {
    let best = -1;
    let bestE = max ? -Infinity : Infinity;
    for (let p = 0; p < n; p++) {
      if (on[p] !== want) continue;
      if (max ? energy[p] > bestE : energy[p] < bestE) {
        bestE = energy[p];
        best = p;
      }
    }
    return best;
  };
  for (let iter = 0; iter < n; iter++) {
    const cluster = extreme(1, true);
    on[cluster] = 0;
    toggle(cluster, -1);
    const voidP = extreme(0, false);
    on[voidP] = 1;
    toggle(voidP, 1);
    if (voidP === cluster) break;
  }
  const rank = new Int32Array(n);
  const start = Uint8Array.from(on);
  const startEnergy = Float64Array.from(energy);
  for (let r = initial - 1; r >= 0; r--) {
    const p = extreme(1, true);
    rank[p] = r;
    on[p] = 0;
    toggle(p, -1);
  }
  on.set(start);
  energy.set(startEnergy);
  for (let r = initial; r < n; r++) {
    const p = extreme(0, false);
    rank[p] = r;
    on[p] = 1;
    toggle(p, 1);
  }
  return { size, shift: Math.log2(size), offsets: Float32Array.from(rank, (v) => (v + 0.5) / n - 0.5) };
}

let bayer8: DitherMatrix | undefined;
let blue64: DitherMatrix | undefined;

/** The matrix of a kind (built on first use; blue noise takes a few hundred ms once), or null for none. */
export function ditherMatrix(kind: DitherKind): DitherMatrix | null {
  if (kind === 'ordered') return (bayer8 ??= bayer(8));
  if (kind === 'noise') return (blue64 ??= blueNoise(64));
  return null;
}

/**
 * How far a threshold moves a channel at a depth: about the distance between neighbouring
 * palette levels (the 256-colour cube steps by 40, the 16 colours by about 128).
 */
export function ditherAmplitude(depth: 16 | 256): number {
  return depth === 256 ? 32 : 96;
}

const clampChannel = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
/** The 256 palette colours flat (r, g, b, ...): one typed-array read a channel in the pixel loop. */
const PALETTE_RGB = Uint8Array.from(XTERM_256.flat());

/**
 * `frame` with every pixel moved by its position's threshold and replaced by the RGB of its
 * nearest palette colour at `depth`: a renderer that fits glyphs to pixels (symbols) then sees
 * the dither pattern and draws it inside each cell.
 */
export function ditherToPalette(frame: RgbFrame, depth: 16 | 256, kind: DitherKind): RgbFrame {
  const matrix = ditherMatrix(kind);
  if (matrix === null) return frame;
  const lut = depth === 256 ? nearest256Lut() : nearest16Lut();
  const amp = ditherAmplitude(depth);
  const { size, shift, offsets } = matrix;
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const rowOffsets = (y & (size - 1)) << shift;
    for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
      const d = offsets[rowOffsets | (x & (size - 1))] * amp;
      const c = lut[lutIndex(clampChannel(data[o] + d), clampChannel(data[o + 1] + d), clampChannel(data[o + 2] + d))] * 3;
      out[o] = PALETTE_RGB[c];
      out[o + 1] = PALETTE_RGB[c + 1];
      out[o + 2] = PALETTE_RGB[c + 2];
    }
  }
  return { width, height, data: out };
}
