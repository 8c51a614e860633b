/**
 * Half-block renderer: each cell shows two pixels stacked, the upper one as the foreground of
 * '▀' and the lower one as the background. A cell whose two pixels match is a space, so it
 * needs no foreground escape at all.
 */
import { CellGrid, COLOR_ANY } from './cells.js';
import { colorMapper } from './color.js';
import { ditherAmplitude, ditherMatrix, type DitherKind } from './dither.js';
import { lutIndex, nearest16Lut, nearest256Lut } from './palette.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

const UPPER_HALF = 0x2580;
const SPACE = 0x20;

/** Pixels per cell across and down that the blocks renderer wants. */
export const BLOCKS_PX_PER_CELL = { x: 1, y: 2 } as const;

/** Blocks renderer options. */
export interface BlocksOptions {
  /** Dithering for 256 and 16 colours (truecolor needs none). Default none. */
  dither?: DitherKind;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Create a half-block renderer. It keeps the last cells and redraws only what changed. */
export function createBlocksRenderer(opts: BlocksOptions = {}): Renderer {
  const grid = new CellGrid();
  const matrix = ditherMatrix(opts.dither ?? 'none');
  return {
    mode: 'blocks',
    pixelSize(target: RenderTarget) {
      return { width: target.cols * BLOCKS_PX_PER_CELL.x, height: target.rows * BLOCKS_PX_PER_CELL.y };
    },
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      // Never resample: draw what fits of the frame, clipped to the target.
      const cols = Math.min(target.cols, frame.width);
      const rows = Math.min(target.rows, Math.ceil(frame.height / 2));
      const depth = target.colors === 'mono' ? 16 : target.colors;
      grid.prepare(cols, rows, depth);
      const dithered = matrix !== null && depth !== 'truecolor';
      const lut = depth === 256 ? nearest256Lut() : nearest16Lut();
      const amp = dithered ? ditherAmplitude(depth === 256 ? 256 : 16) : 0;
      const size = matrix?.size ?? 1;
      const shift = matrix?.shift ?? 0;
      const offsets = matrix?.offsets;
      // Position-dependent thresholds, by pixel (x, y) of the frame: the same on every frame.
      const ditherMap = (r: number, g: number, b: number, x: number, y: number) => {
        const d = offsets![((y & (size - 1)) << shift) | (x & (size - 1))] * amp;
        return lut[lutIndex(clamp(r + d), clamp(g + d), clamp(b + d))];
      };
      const map = colorMapper(depth);
      const { glyph, fg, bg } = grid;
      const data = frame.data;
      const stride = frame.width * 3;
      for (let row = 0; row < rows; row++) {
        const top = 2 * row * stride;
        // An odd last pixel row repeats itself as the lower half.
        const bottom = 2 * row + 1 < frame.height ? top + stride : top;
        let i = row * cols;
        for (let col = 0; col < cols; col++, i++) {
          const t = top + col * 3;
          const b = bottom + col * 3;
          const upper = dithered ? ditherMap(data[t], data[t + 1], data[t + 2], col, 2 * row) : map(data[t], data[t + 1], data[t + 2]);
          const lower = dithered ? ditherMap(data[b], data[b + 1], data[b + 2], col, 2 * row + 1) : map(data[b], data[b + 1], data[b + 2]);
          if (upper === lower) {
            glyph[i] = SPACE;
            fg[i] = COLOR_ANY;
          } else {
            glyph[i] = UPPER_HALF;
            fg[i] = upper;
          }
          bg[i] = lower;
        }
      }
      return grid.emit(target.col, target.row);
    },
    reset() {
      grid.invalidate();
    },
  };
}
