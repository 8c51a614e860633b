/**
 * A grid of terminal cells (glyph, foreground, background) that remembers what it drew last
 * and emits only the cells that changed: a cursor move per changed run, a colour escape only
 * when the colour differs from the one in force. Shared by the text renderers.
 */
import type { ColorDepth } from './types.js';
import { ByteWriter } from './writer.js';

/** Colour value meaning "the terminal's default colour" (SGR 39 / 49). */
export const COLOR_DEFAULT = -1;
/** Foreground value meaning "does not matter" (the glyph draws no foreground, e.g. a space). */
export const COLOR_ANY = -2;

/** Worst-case bytes one cell can cost: a cursor move, a full truecolor SGR pair and a glyph. */
const CELL_MAX_BYTES = 64;

const ESC = 0x1b;
const CSI_OPEN = 0x5b; // '['
const SGR_RESET = Buffer.from('\x1b[0m', 'latin1');

function paletteSgr(prefix16: number, brightPrefix16: number, ext: string, depth: 16 | 256): Uint8Array[] {
  const n = depth === 16 ? 16 : 256;
  return Array.from({ length: n }, (_, i) => {
    if (depth === 16) return Buffer.from(String(i < 8 ? prefix16 + i : brightPrefix16 + i - 8), 'latin1');
    return Buffer.from(`${ext};5;${i}`, 'latin1');
  });
}

const FG16 = paletteSgr(30, 90, '38', 16);
const BG16 = paletteSgr(40, 100, '48', 16);
const FG256 = paletteSgr(0, 0, '38', 256);
const BG256 = paletteSgr(0, 0, '48', 256);

/** Write a non-negative integer in decimal at `pos`; returns the new position. */
function putDecimal(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 1000) {
    const s = String(n);
    for (let k = 0; k < s.length; k++) buf[pos++] = s.charCodeAt(k);
    return pos;
  }
  if (n >= 100) {
    buf[pos++] = 0x30 + ((n / 100) | 0);
    buf[pos++] = 0x30 + (((n / 10) | 0) % 10);
  } else if (n >= 10) {
    buf[pos++] = 0x30 + ((n / 10) | 0);
  }
  buf[pos++] = 0x30 + (n % 10);
  return pos;
}

/** Write the SGR parameters of one colour (no CSI, no 'm'); returns the new position. */
function putColor(buf: Uint8Array, pos: number, depth: ColorDepth, value: number, isFg: boolean): number {
  if (value === COLOR_DEFAULT) {
    buf[pos++] = isFg ? 0x33 : 0x34; // '3' / '4'
    buf[pos++] = 0x39; // '9': 39 / 49
    return pos;
  }
  if (depth === 'truecolor') {
    buf[pos++] = isFg ? 0x33 : 0x34;
    buf[pos++] = 0x38; // '8': 38 / 48
    buf[pos++] = 0x3b;
    buf[pos++] = 0x32; // '2'
    buf[pos++] = 0x3b;
    pos = putDecimal(buf, pos, (value >> 16) & 255);
    buf[pos++] = 0x3b;
    pos = putDecimal(buf, pos, (value >> 8) & 255);
    buf[pos++] = 0x3b;
    return putDecimal(buf, pos, value & 255);
  }
  const seq = depth === 256 ? (isFg ? FG256[value] : BG256[value]) : isFg ? FG16[value & 15] : BG16[value & 15];
  for (let k = 0; k < seq.length; k++) buf[pos++] = seq[k];
  return pos;
}

/**
 * Cells of one picture area. Renderers fill `glyph`, `fg` and `bg` (colour values are
 * 0xRRGGBB in truecolor, a palette index otherwise, or COLOR_DEFAULT / COLOR_ANY), then call
 * `emit`.
 */
export class CellGrid {
  cols = 0;
  rows = 0;
  depth: ColorDepth = 'truecolor';
  glyph = new Uint32Array(0);
  fg = new Int32Array(0);
  bg = new Int32Array(0);
  private prevGlyph = new Uint32Array(0);
  private prevFg = new Int32Array(0);
  private prevBg = new Int32Array(0);
  /** False until something was drawn, and after `invalidate()`: then every cell is emitted. */
  private valid = false;
  private readonly writer = new ByteWriter();

  /** Size the grid; a change of size or colour depth forgets what was drawn. */
  prepare(cols: number, rows: number, depth: ColorDepth): void {
    if (cols !== this.cols || rows !== this.rows) {
      const n = cols * rows;
      this.cols = cols;
      this.rows = rows;
      this.glyph = new Uint32Array(n);
      this.fg = new Int32Array(n);
      this.bg = new Int32Array(n);
      this.prevGlyph = new Uint32Array(n);
      this.prevFg = new Int32Array(n);
      this.prevBg = new Int32Array(n);
      this.valid = false;
    }
    if (depth !== this.depth) {
      this.depth = depth;
      this.valid = false;
    }
  }

  /** Forget what was drawn: the next `emit` redraws every cell. */
  invalidate(): void {
    this.valid = false;
  }

  /**
   * Terminal bytes that turn what was drawn last into the current cells, with the grid's
   * top-left at (`originCol`, `originRow`). Ends with SGR 0 when it changed a colour, so the
   * text the UI writes next is not tinted. An unchanged grid costs 0 bytes.
   */
  emit(originCol: number, originRow: number): Buffer {
    const w = this.writer;
    const { cols, rows, glyph, fg, bg, prevGlyph, prevFg, prevBg, depth } = this;
    const all = !this.valid;
    let curFg = COLOR_DEFAULT;
    let curBg = COLOR_DEFAULT;
    let sgrUsed = false;
    let curRow = -1;
    let curCol = -1;
    w.fresh(cols * rows * CELL_MAX_BYTES + SGR_RESET.length);
    // Local buffer and position: this loop is the hot path of every text renderer.
    const buf = w.buf;
    let pos = 0;
    for (let row = 0; row < rows; row++) {
      const base = row * cols;
      for (let col = 0; col < cols; col++) {
        const i = base + col;
        const g = glyph[i];
        const f = fg[i];
        const b = bg[i];
        if (!all && g === prevGlyph[i] && f === prevFg[i] && b === prevBg[i]) continue;
        if (curRow !== row || curCol !== col) {
          buf[pos++] = ESC;
          buf[pos++] = CSI_OPEN;
          if (curRow === row && col > curCol) {
            // Forward on the same row is shorter than an absolute move.
            pos = putDecimal(buf, pos, col - curCol);
            buf[pos++] = 0x43; // 'C'
          } else {
            pos = putDecimal(buf, pos, originRow + row + 1);
            buf[pos++] = 0x3b;
            pos = putDecimal(buf, pos, originCol + col + 1);
            buf[pos++] = 0x48; // 'H'
          }
          curRow = row;
        }
        const needFg = f !== COLOR_ANY && f !== curFg;
        const needBg = b !== curBg;
        if (needFg || needBg) {
          buf[pos++] = ESC;
          buf[pos++] = CSI_OPEN;
          if (needFg) {
            pos = putColor(buf, pos, depth, f, true);
            curFg = f;
            if (needBg) buf[pos++] = 0x3b;
          }
          if (needBg) {
            pos = putColor(buf, pos, depth, b, false);
            curBg = b;
          }
          buf[pos++] = 0x6d; // 'm'
          sgrUsed = true;
        }
        // UTF-8 of the glyph, inline: this loop runs once per changed cell.
        if (g < 0x80) {
          buf[pos++] = g;
        } else if (g < 0x800) {
          buf[pos++] = 0xc0 | (g >> 6);
          buf[pos++] = 0x80 | (g & 63);
        } else if (g < 0x10000) {
          buf[pos++] = 0xe0 | (g >> 12);
          buf[pos++] = 0x80 | ((g >> 6) & 63);
          buf[pos++] = 0x80 | (g & 63);
        } else {
          buf[pos++] = 0xf0 | (g >> 18);
          buf[pos++] = 0x80 | ((g >> 12) & 63);
          buf[pos++] = 0x80 | ((g >> 6) & 63);
          buf[pos++] = 0x80 | (g & 63);
        }
        curCol = col + 1;
      }
    }
    w.pos = pos;
    if (sgrUsed) {
      SGR_RESET.copy(buf, pos);
      w.pos = pos + SGR_RESET.length;
    }
    this.prevGlyph.set(glyph);
    this.prevFg.set(fg);
    this.prevBg.set(bg);
    this.valid = true;
    return w.detach();
  }
}
