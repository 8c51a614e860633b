/**
 * Symbols renderer (the idea behind chafa's symbol mode): each cell gets the block glyph,
 * among half-blocks, quadrants and sextants, whose two-colour split best fits the cell's 2x6
 * pixels, with the mean colours of the two parts as foreground and background.
 *
 * Per cell: threshold the pixels on their widest channel into a 12-bit bitmap, take the
 * glyph nearest to it (a 4096-entry table), then average the two parts. O(pixels) per cell.
 */
import { CellGrid, COLOR_ANY } from './cells.js';
import { colorMapper } from './color.js';
import { BLOCK_GLYPHS, MASK_COLS, MASK_FULL, MASK_ROWS } from './glyphs.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

const SPACE = 0x20;
const CELL_PIXELS = MASK_COLS * MASK_ROWS;
/** k-means refinements of a cell's split after the threshold guess (each costs about 20%). */
const REFINE_PASSES = 1;

/** Pixels per cell across and down that the symbols renderer wants. */
export const SYMBOLS_PX_PER_CELL = { x: MASK_COLS, y: MASK_ROWS } as const;

function popcount(v: number): number {
  let n = 0;
  while (v) {
    v &= v - 1;
    n++;
  }
  return n;
}

/** For every 12-bit bitmap, the index in BLOCK_GLYPHS of the glyph nearest to it (Hamming). */
const NEAREST_GLYPH: Uint8Array = (() => {
  const table = new Uint8Array(1 << CELL_PIXELS);
  for (let bits = 0; bits < table.length; bits++) {
    let best = 0;
    let bestD = Infinity;
    for (let g = 0; g < BLOCK_GLYPHS.length; g++) {
      const m = BLOCK_GLYPHS[g].mask;
      // A glyph and its complement draw the same split with colours swapped.
      const d = Math.min(popcount(bits ^ m), popcount(bits ^ m ^ MASK_FULL));
      if (d < bestD) {
        bestD = d;
        best = g;
      }
    }
    table[bits] = best;
  }
  return table;
})();

/** Create a symbols renderer. It keeps the last cells and redraws only what changed. */
export function createSymbolsRenderer(): Renderer {
  const grid = new CellGrid();
  const px = new Int32Array(CELL_PIXELS * 3);
  return {
    mode: 'symbols',
    pixelSize(target: RenderTarget) {
      return { width: target.cols * SYMBOLS_PX_PER_CELL.x, height: target.rows * SYMBOLS_PX_PER_CELL.y };
    },
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const cols = Math.min(target.cols, Math.floor(frame.width / MASK_COLS));
      const rows = Math.min(target.rows, Math.floor(frame.height / MASK_ROWS));
      const depth = target.colors === 'mono' ? 16 : target.colors;
      grid.prepare(cols, rows, depth);
      const map = colorMapper(depth);
      const { glyph, fg, bg } = grid;
      const data = frame.data;
      const stride = frame.width * 3;
      for (let row = 0; row < rows; row++) {
        for (let col = 0; col < cols; col++) {
          const cell = row * cols + col;
          let minR = 255, minG = 255, minB = 255, maxR = 0, maxG = 0, maxB = 0;
          let sumR = 0, sumG = 0, sumB = 0;
          for (let y = 0; y < MASK_ROWS; y++) {
            let o = (row * MASK_ROWS + y) * stride + col * MASK_COLS * 3;
            for (let x = 0; x < MASK_COLS; x++, o += 3) {
              const k = (y * MASK_COLS + x) * 3;
              const r = data[o], g = data[o + 1], b = data[o + 2];
              px[k] = r;
              px[k + 1] = g;
              px[k + 2] = b;
              sumR += r; sumG += g; sumB += b;
              if (r < minR) minR = r;
              if (r > maxR) maxR = r;
              if (g < minG) minG = g;
              if (g > maxG) maxG = g;
              if (b < minB) minB = b;
              if (b > maxB) maxB = b;
            }
          }
          // Split on the channel that varies most; green counts a little more (the eye does).
          const rangeR = maxR - minR, rangeG = (maxG - minG) * 1.2, rangeB = maxB - minB;
          let ch = 1, thr = (minG + maxG) / 2;
          if (rangeR >= rangeG && rangeR >= rangeB) {
            ch = 0;
            thr = (minR + maxR) / 2;
          } else if (rangeB > rangeG) {
            ch = 2;
            thr = (minB + maxB) / 2;
          }
          let bits = 0;
          for (let k = 0; k < CELL_PIXELS; k++) if (px[k * 3 + ch] > thr) bits |= 1 << k;
          let sel = bits === 0 || bits === MASK_FULL ? 0 : NEAREST_GLYPH[bits];
          let fR = 0, fG = 0, fB = 0, n = 0;
          for (let pass = 0; pass < REFINE_PASSES + 1 && sel !== 0; pass++) {
            const mask = BLOCK_GLYPHS[sel].mask;
            fR = 0; fG = 0; fB = 0; n = 0;
            for (let k = 0; k < CELL_PIXELS; k++) {
              if (mask & (1 << k)) {
                fR += px[k * 3];
                fG += px[k * 3 + 1];
                fB += px[k * 3 + 2];
                n++;
              }
            }
            if (pass === REFINE_PASSES || n === 0 || n === CELL_PIXELS) break;
            // One k-means step: give each pixel to the nearer of the two mean colours, then
            // take the glyph nearest to that split (the threshold split ignores two channels).
            const m0 = CELL_PIXELS - n;
            const aR = fR / n, aG = fG / n, aB = fB / n;
            const bR = (sumR - fR) / m0, bG = (sumG - fG) / m0, bB = (sumB - fB) / m0;
            let refined = 0;
            for (let k = 0; k < CELL_PIXELS; k++) {
              const r = px[k * 3], g = px[k * 3 + 1], b = px[k * 3 + 2];
              const da = (r - aR) * (r - aR) + (g - aG) * (g - aG) + (b - aB) * (b - aB);
              const db = (r - bR) * (r - bR) + (g - bG) * (g - bG) + (b - bB) * (b - bB);
              if (da < db) refined |= 1 << k;
            }
            const next = refined === 0 || refined === MASK_FULL ? 0 : NEAREST_GLYPH[refined];
            if (next === sel) break;
            sel = next;
            if (sel === 0) n = 0;
          }
          const chosen = BLOCK_GLYPHS[sel];
          const m = CELL_PIXELS - n;
          if (n === 0 || m === 0) {
            glyph[cell] = SPACE;
            fg[cell] = COLOR_ANY;
            bg[cell] = map(Math.round(sumR / CELL_PIXELS), Math.round(sumG / CELL_PIXELS), Math.round(sumB / CELL_PIXELS));
            continue;
          }
          const f = map(Math.round(fR / n), Math.round(fG / n), Math.round(fB / n));
          const b = map(Math.round((sumR - fR) / m), Math.round((sumG - fG) / m), Math.round((sumB - fB) / m));
          if (f === b) {
            glyph[cell] = SPACE;
            fg[cell] = COLOR_ANY;
          } else {
            glyph[cell] = chosen.glyph;
            fg[cell] = f;
          }
          bg[cell] = b;
        }
      }
      return grid.emit(target.col, target.row);
    },
    reset() {
      grid.invalidate();
    },
  };
}
