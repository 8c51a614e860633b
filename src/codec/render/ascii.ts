/**
 * ASCII renderer: one pixel per cell, drawn as a character of a brightness ramp. Monochrome
 * uses the terminal's own colours; with 16 colours the character carries the pixel's hue at
 * full brightness and the ramp carries its brightness.
 *
 * On a light background the ink is dark, so the ramp runs the other way: a dense character is
 * a dark pixel and white is a space. In colour, coverage is then how far the pixel is from
 * white (255 - its smallest channel) and the colour is the pixel pushed away from white by
 * that coverage (the dual of the dark case, where coverage is the largest channel).
 */
import { CellGrid, COLOR_ANY, COLOR_DEFAULT } from './cells.js';
import { ASCII_RAMP } from './glyphs.js';
import { lutIndex, nearest16Lut } from './palette.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

const RAMP_CODES = Array.from(ASCII_RAMP, (c) => c.charCodeAt(0));
/** Ramp character by 0..255 brightness. */
const RAMP_BY_LEVEL = Uint32Array.from({ length: 256 }, (_, v) => RAMP_CODES[Math.round((v / 255) * (RAMP_CODES.length - 1))]);

/** Ascii renderer options. */
export interface AsciiOptions {
  /** The terminal's background is light (its OSC 11 reply): invert the ramp. */
  lightBackground?: boolean;
}

/** Create an ascii renderer (mono, or 16 colours for any other depth). */
export function createAsciiRenderer(opts: AsciiOptions = {}): Renderer {
  const light = opts.lightBackground === true;
  const grid = new CellGrid();
  return {
    mode: 'ascii',
    pixelSize(target: RenderTarget) {
      return { width: target.cols, height: target.rows };
    },
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const cols = Math.min(target.cols, frame.width);
      const rows = Math.min(target.rows, frame.height);
      const mono = target.colors === 'mono';
      grid.prepare(cols, rows, mono ? 'mono' : 16);
      const lut = nearest16Lut();
      const { glyph, fg, bg } = grid;
      const data = frame.data;
      for (let row = 0; row < rows; row++) {
        let o = row * frame.width * 3;
        for (let col = 0, i = row * cols; col < cols; col++, i++, o += 3) {
          const r = data[o], g = data[o + 1], b = data[o + 2];
          bg[i] = COLOR_DEFAULT;
          if (mono) {
            const y = (r * 77 + g * 150 + b * 29) >> 8;
            glyph[i] = RAMP_BY_LEVEL[light ? 255 - y : y];
            fg[i] = COLOR_DEFAULT;
            continue;
          }
          if (light) {
            // Coverage is the distance from white; the ink is the colour that, at that coverage
            // over white, gives the pixel.
            const m = r < g ? (r < b ? r : b) : g < b ? g : b;
            const c = 255 - m;
            glyph[i] = RAMP_BY_LEVEL[c];
            fg[i] = glyph[i] === 0x20 ? COLOR_ANY : lut[lutIndex(255 - ((255 - r) * 255) / c, 255 - ((255 - g) * 255) / c, 255 - ((255 - b) * 255) / c)];
            continue;
          }
          // Brightness is the largest channel; the hue at full brightness picks the colour.
          const v = r > g ? (r > b ? r : b) : g > b ? g : b;
          glyph[i] = RAMP_BY_LEVEL[v];
          fg[i] = glyph[i] === 0x20 ? COLOR_ANY : lut[lutIndex((r * 255) / v, (g * 255) / v, (b * 255) / v)];
        }
      }
      return grid.emit(target.col, target.row);
    },
    reset() {
      grid.invalidate();
    },
  };
}
