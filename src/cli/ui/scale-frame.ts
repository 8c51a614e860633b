import type { RgbFrame } from '../../codec/render/types.js';

const RGB_BYTES = 3;

/**
 * Nearest-neighbour resize of an RGB24 frame. Used for the small self-view and for the few
 * peer frames that still have the old size right after a resize, so that they need not be
 * dropped. The decoder does the real scaling; this only bridges.
 */
export function scaleNearest(frame: RgbFrame, width: number, height: number): RgbFrame {
  if (frame.width === width && frame.height === height) return frame;
  const data = new Uint8Array(width * height * RGB_BYTES);
  if (frame.width <= 0 || frame.height <= 0) return { width, height, data };
  const xMap = new Uint32Array(width);
  for (let x = 0; x < width; x++) xMap[x] = Math.min(frame.width - 1, Math.floor(((x + 0.5) * frame.width) / width)) * RGB_BYTES;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(frame.height - 1, Math.floor(((y + 0.5) * frame.height) / height));
    const rowStart = sy * frame.width * RGB_BYTES;
    for (let x = 0; x < width; x++) {
      const i = rowStart + xMap[x];
      data[o++] = frame.data[i];
      data[o++] = frame.data[i + 1];
      data[o++] = frame.data[i + 2];
    }
  }
  return { width, height, data };
}
