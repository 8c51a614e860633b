/** Picture quality measures for tests and the benchmark. */
import { VideochatError } from '../errors.js';
import type { RgbFrame } from './types.js';

/** PSNR reported for identical pictures (the true value is infinite). */
export const PSNR_IDENTICAL_DB = Infinity;

/**
 * Peak signal-to-noise ratio in dB between two RGB frames of the same size, over all three
 * channels (peak 255). Higher is better; about 30 dB looks close, 40 dB is hard to tell apart.
 */
export function psnr(a: RgbFrame, b: RgbFrame): number {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) {
    throw new VideochatError('E_FRAME_SIZE', `psnr of frames of different sizes: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let sum = 0;
  const n = a.data.length;
  for (let i = 0; i < n; i++) {
    const d = a.data[i] - b.data[i];
    sum += d * d;
  }
  if (sum === 0) return PSNR_IDENTICAL_DB;
  return 10 * Math.log10((255 * 255 * n) / sum);
}

/** Box-average a frame down by integer factors (reference pictures for the text modes). */
export function boxDownscale(frame: RgbFrame, fx: number, fy: number): RgbFrame {
  const width = Math.floor(frame.width / fx);
  const height = Math.floor(frame.height / fy);
  const out = new Uint8Array(width * height * 3);
  const n = fx * fy;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let dy = 0; dy < fy; dy++) {
        let o = ((y * fy + dy) * frame.width + x * fx) * 3;
        for (let dx = 0; dx < fx; dx++, o += 3) {
          r += frame.data[o];
          g += frame.data[o + 1];
          b += frame.data[o + 2];
        }
      }
      const p = (y * width + x) * 3;
      out[p] = Math.round(r / n);
      out[p + 1] = Math.round(g / n);
      out[p + 2] = Math.round(b / n);
    }
  }
  return { width, height, data: out };
}
