/**
 * Pixels back from text-mode terminal bytes: a tiny terminal (cursor moves, SGR colours,
 * UTF-8 glyphs) that draws each cell's glyph with its colours on a grid of sub-pixels (2x6 by
 * default; 2x4 or 2x12 for octants). Used to measure text renderers (ours and chafa's) against
 * the source picture. Pure.
 */
import { asciiCoverage, GLYPH_MASKS, MASK_COLS, MASK_ROWS } from './glyphs.js';
import { XTERM_256 } from './palette.js';
import type { RgbFrame } from './types.js';

/** Colours the reconstruction assumes for the terminal's defaults (a dark theme). */
export const DEFAULT_FG_RGB = 0xe5e5e5;
export const DEFAULT_BG_RGB = 0x000000;

/** Coverage assumed for a glyph the table does not know (text, or a symbol chafa chose). */
const UNKNOWN_GLYPH_COVERAGE = 0.5;

/** Sub-pixels per cell of a reconstruction: 2 across, and a divisor of the mask grid's 12 rows down. */
export interface SubPixels {
  x: 2;
  y: 1 | 2 | 3 | 4 | 6 | 12;
}

/** The default: 2x6, where half-blocks, quadrants and sextants are exact. */
export const SUB_2X6: SubPixels = { x: 2, y: 6 };

function paletteRgb(i: number): number {
  const c = XTERM_256[i & 255];
  return (c[0] << 16) | (c[1] << 8) | c[2];
}

/** A screen of cells fed with terminal bytes. Colours are stored as 0xRRGGBB. */
export class TextScreen {
  readonly glyph: Uint32Array;
  readonly fg: Int32Array;
  readonly bg: Int32Array;
  private row = 0;
  private col = 0;
  private curFg = DEFAULT_FG_RGB;
  private curBg = DEFAULT_BG_RGB;
  private reverse = false;

  constructor(readonly cols: number, readonly rows: number) {
    const n = cols * rows;
    this.glyph = new Uint32Array(n).fill(0x20);
    this.fg = new Int32Array(n).fill(DEFAULT_FG_RGB);
    this.bg = new Int32Array(n).fill(DEFAULT_BG_RGB);
  }

  private sgr(params: number[]): void {
    if (params.length === 0) params = [0];
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      if (p === 0) {
        this.curFg = DEFAULT_FG_RGB;
        this.curBg = DEFAULT_BG_RGB;
        this.reverse = false;
      } else if (p === 7) this.reverse = true;
      else if (p === 27) this.reverse = false;
      else if (p >= 30 && p <= 37) this.curFg = paletteRgb(p - 30);
      else if (p >= 90 && p <= 97) this.curFg = paletteRgb(p - 90 + 8);
      else if (p >= 40 && p <= 47) this.curBg = paletteRgb(p - 40);
      else if (p >= 100 && p <= 107) this.curBg = paletteRgb(p - 100 + 8);
      else if (p === 39) this.curFg = DEFAULT_FG_RGB;
      else if (p === 49) this.curBg = DEFAULT_BG_RGB;
      else if (p === 38 || p === 48) {
        let v: number;
        if (params[i + 1] === 5) {
          v = paletteRgb(params[i + 2]);
          i += 2;
        } else {
          v = ((params[i + 2] & 255) << 16) | ((params[i + 3] & 255) << 8) | (params[i + 4] & 255);
          i += 4;
        }
        if (p === 38) this.curFg = v;
        else this.curBg = v;
      }
    }
  }

  private put(cp: number): void {
    if (this.row < this.rows && this.col < this.cols) {
      const i = this.row * this.cols + this.col;
      this.glyph[i] = cp;
      this.fg[i] = this.reverse ? this.curBg : this.curFg;
      this.bg[i] = this.reverse ? this.curFg : this.curBg;
    }
    this.col++;
  }

  /** Interpret terminal bytes. Unknown escapes are skipped. */
  feed(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      const b = bytes[i];
      if (b === 0x1b) {
        if (bytes[i + 1] === 0x5b) {
          let j = i + 2;
          while (j < n && (bytes[j] < 0x40 || bytes[j] > 0x7e)) j++;
          const body = Buffer.from(bytes.subarray(i + 2, j)).toString('latin1');
          const final = String.fromCharCode(bytes[j]);
          i = j + 1;
          if (body.startsWith('?') || body.startsWith('>')) continue;
          const params = body === '' ? [] : body.split(/[;:]/).map((s) => (s === '' ? 0 : Number(s)));
          if (final === 'm') this.sgr(params);
          else if (final === 'H' || final === 'f') {
            this.row = (params[0] || 1) - 1;
            this.col = (params[1] || 1) - 1;
          } else if (final === 'C') this.col += params[0] || 1;
          else if (final === 'D') this.col = Math.max(0, this.col - (params[0] || 1));
          else if (final === 'A') this.row = Math.max(0, this.row - (params[0] || 1));
          else if (final === 'B') this.row += params[0] || 1;
          else if (final === 'G') this.col = (params[0] || 1) - 1;
          continue;
        }
        // Other escapes (string commands, charset selection): skip to ST or one byte.
        i += 2;
        continue;
      }
      if (b === 0x0a) {
        // Tools that print to a pipe (chafa) rely on the tty turning LF into CR LF.
        this.row++;
        this.col = 0;
        i++;
        continue;
      }
      if (b === 0x0d) {
        this.col = 0;
        i++;
        continue;
      }
      if (b < 0x20) {
        i++;
        continue;
      }
      let cp = b;
      let len = 1;
      if (b >= 0xf0) {
        cp = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63);
        len = 4;
      } else if (b >= 0xe0) {
        cp = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
        len = 3;
      } else if (b >= 0xc0) {
        cp = ((b & 31) << 6) | (bytes[i + 1] & 63);
        len = 2;
      }
      this.put(cp);
      i += len;
    }
  }

  /**
   * The area's pixels at `sub` sub-pixels per cell, each sub-pixel the glyph's foreground
   * where its mask covers it and the background elsewhere (a sub-pixel that a glyph covers in
   * part, e.g. an octant at 2x6, blends by coverage; so do ascii characters).
   */
  toPixels(area: { col: number; row: number; cols: number; rows: number }, sub: SubPixels = SUB_2X6): RgbFrame {
    const width = area.cols * sub.x;
    const height = area.rows * sub.y;
    const span = MASK_ROWS / sub.y;
    const data = new Uint8Array(width * height * 3);
    for (let r = 0; r < area.rows; r++) {
      for (let c = 0; c < area.cols; c++) {
        const sr = area.row + r;
        const sc = area.col + c;
        const inside = sr < this.rows && sc < this.cols;
        const i = sr * this.cols + sc;
        const cp = inside ? this.glyph[i] : 0x20;
        const f = inside ? this.fg[i] : DEFAULT_FG_RGB;
        const bgc = inside ? this.bg[i] : DEFAULT_BG_RGB;
        const mask = GLYPH_MASKS.get(cp);
        const cover = mask === undefined ? asciiCoverage(cp) ?? UNKNOWN_GLYPH_COVERAGE : 0;
        for (let y = 0; y < sub.y; y++) {
          for (let x = 0; x < MASK_COLS; x++) {
            let w = cover;
            if (mask !== undefined) {
              let n = 0;
              for (let m = y * span; m < (y + 1) * span; m++) n += (mask >> (m * MASK_COLS + x)) & 1;
              w = n / span;
            }
            const o = ((r * sub.y + y) * width + c * sub.x + x) * 3;
            data[o] = Math.round(((f >> 16) & 255) * w + ((bgc >> 16) & 255) * (1 - w));
            data[o + 1] = Math.round(((f >> 8) & 255) * w + ((bgc >> 8) & 255) * (1 - w));
            data[o + 2] = Math.round((f & 255) * w + (bgc & 255) * (1 - w));
          }
        }
      }
    }
    return { width, height, data };
  }
}

/**
 * Pixels that a sequence of text-mode frames shows in `area` (`sub` sub-pixels per cell, 2x6
 * by default): the frames are fed in order to a fresh screen just large enough, so delta
 * frames are honoured.
 */
export function reconstructPixels(
  frames: readonly Uint8Array[],
  area: { col: number; row: number; cols: number; rows: number },
  sub: SubPixels = SUB_2X6,
): RgbFrame {
  const screen = new TextScreen(area.col + area.cols, area.row + area.rows);
  for (const f of frames) screen.feed(f);
  return screen.toPixels(area, sub);
}
