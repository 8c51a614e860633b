/**
 * Resizing a decoded picture for the renderer, in process: RGBA (what the JPEG decoder gives)
 * in, RGB24 of any size out. Separable, two passes (across, then down), each output sample a
 * weighted sum of the source samples under a triangle filter: as wide as one source pixel
 * when enlarging (bilinear), as wide as the output pixel's footprint when shrinking (an area
 * average, so thin lines do not flicker the way nearest-neighbour picking makes them).
 * Weights are fixed point and cached per (source size, output size). Pure.
 */

const WEIGHT_BITS = 14;
const WEIGHT_ONE = 1 << WEIGHT_BITS;
const ROUND = 1 << (WEIGHT_BITS - 1);

/** For each output sample: where its taps start in the source, how many, and their weights. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** `maxTaps` weights per output sample (unused ones are zero). */
  weights: Int32Array;
  maxTaps: number;
}

const cache = new Map<string, Taps>();
const CACHE_MAX = 16;

function taps(src: number, dst: number): Taps {
  const key = `${src}>${dst}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const scale = src / dst;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Int32Array(dst * maxTaps);
  const w = new Float64Array(maxTaps);
  for (let i = 0; i < dst; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const first = Math.max(0, Math.floor(centre - support) + 1);
    const last = Math.min(src - 1, Math.ceil(centre + support) - 1);
    let n = 0;
    let sum = 0;
    for (let j = first; j <= last && n < maxTaps; j++, n++) {
      const x = 1 - Math.abs(j - centre) / support;
      w[n] = x > 0 ? x : 0;
      sum += w[n]!;
    }
    if (n === 0 || sum <= 0) {
      // Outside the source (cannot happen for sane sizes): take the nearest pixel.
      start[i] = Math.min(src - 1, Math.max(0, Math.round(centre)));
      count[i] = 1;
      weights[i * maxTaps] = WEIGHT_ONE;
      continue;
    }
    start[i] = first;
    count[i] = n;
    // Integer weights that add up to exactly WEIGHT_ONE (the rest goes to the largest).
    let acc = 0;
    let big = 0;
    for (let k = 0; k < n; k++) {
      const q = Math.round((w[k]! / sum) * WEIGHT_ONE);
      weights[i * maxTaps + k] = q;
      acc += q;
      if (q > weights[i * maxTaps + big]!) big = k;
    }
    weights[i * maxTaps + big]! += WEIGHT_ONE - acc;
  }
  const t = { start, count, weights, maxTaps };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, t);
  return t;
}

/**
 * RGBA `sw`x`sh` -> RGB24 `dw`x`dh`. `out` may be given (length dw*dh*3) to avoid allocating.
 */
export function resampleRgbaToRgb(src: Uint8Array, sw: number, sh: number, dw: number, dh: number, out?: Buffer): Buffer {
  const dst = out ?? Buffer.allocUnsafe(dw * dh * 3);
  if (sw === dw && sh === dh) {
    for (let s = 0, d = 0, n = sw * sh; n > 0; n--, s += 4, d += 3) {
      dst[d] = src[s]!;
      dst[d + 1] = src[s + 1]!;
      dst[d + 2] = src[s + 2]!;
    }
    return dst;
  }
  // Across: RGBA rows of sw -> RGB rows of dw (sh rows).
  const h = taps(sw, dw);
  const mid = new Uint8Array(dw * sh * 3);
  for (let y = 0; y < sh; y++) {
    const row = y * sw * 4;
    let o = y * dw * 3;
    for (let x = 0; x < dw; x++, o += 3) {
      const base = x * h.maxTaps;
      let p = row + h.start[x]! * 4;
      let r = ROUND;
      let g = ROUND;
      let b = ROUND;
      for (let k = 0, n = h.count[x]!; k < n; k++, p += 4) {
        const wk = h.weights[base + k]!;
        r += src[p]! * wk;
        g += src[p + 1]! * wk;
        b += src[p + 2]! * wk;
      }
      mid[o] = r >> WEIGHT_BITS;
      mid[o + 1] = g >> WEIGHT_BITS;
      mid[o + 2] = b >> WEIGHT_BITS;
    }
  }
  // Down: columns of sh -> dh.
  const v = taps(sh, dh);
  const stride = dw * 3;
  for (let y = 0; y < dh; y++) {
    const base = y * v.maxTaps;
    const first = v.start[y]!;
    const n = v.count[y]!;
    const o = y * stride;
    for (let x = 0; x < stride; x++) {
      let acc = ROUND;
      let p = first * stride + x;
      for (let k = 0; k < n; k++, p += stride) acc += mid[p]! * v.weights[base + k]!;
      dst[o + x] = acc >> WEIGHT_BITS;
    }
  }
  return dst;
}
