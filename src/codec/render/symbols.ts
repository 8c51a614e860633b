/**
 * Symbols renderer (the idea behind chafa's symbol mode): each cell gets the block glyph of
 * its set whose two-colour split best fits the cell's pixels, with the mean colours of the two
 * parts as foreground and background. Two sets: `sextants` (half-blocks, quadrants and
 * sextants on 2x6 pixels a cell, the default) and `octants` (all 256 patterns of 2x4, Unicode
 * 16's octants with the older blocks that draw some of them, on 2x4 pixels).
 *
 * The search is exact and cheap: a glyph's best colours are the means of its two parts, and
 * its squared error is `const - (|S1|^2/n1 + |S0|^2/n0)` (S = colour sums of the parts). The
 * sextant splits are all subsets of 6 atoms (2-pixel pieces), the quadrant splits all subsets
 * of 4 (3-pixel pieces); walking each set in Gray-code order changes one atom per step, and a
 * split and its complement are the same glyph with colours swapped, so 31 + 7 steps of a few
 * additions each cover every candidate. Octants: subsets of 8 single-pixel atoms, 127 steps.
 *
 * Dithering (256 and 16 colours) moves each pixel to its palette colour through the
 * position's threshold before the search (`ditherToPalette`): the split then follows the
 * dither pattern inside the cell, and the two means are palette colours again.
 */
import { CellGrid, COLOR_ANY } from './cells.js';
import { colorMapper, type ColorMapper } from './color.js';
import { ditherToPalette, type DitherKind } from './dither.js';
import { octantGlyph, QUADRANT_GLYPHS, sextantGlyph } from './glyphs.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

/** The glyph sets of the symbols renderer. */
export type SymbolSet = 'sextants' | 'octants';
export const SYMBOL_SETS: readonly SymbolSet[] = ['sextants', 'octants'];

/** Options of `createSymbolsRenderer`. */
export interface SymbolsOptions {
  /** Glyph set (default sextants: every current font has them; octants need Unicode 16). */
  set?: SymbolSet;
  /** Dithering at 256 and 16 colours (default none). */
  dither?: DitherKind;
}

const SPACE = 0x20;
/** The sextant set's pixels a cell: 2x6, where half-blocks, quadrants and sextants are exact. */
const MASK_COLS = 2;
const MASK_ROWS = 6;
const CELL_PIXELS = MASK_COLS * MASK_ROWS;
const OCTANT_ROWS = 4;
const OCTANT_PIXELS = MASK_COLS * OCTANT_ROWS;
const SEXTANT_ATOMS = 6;
const SEXTANT_ATOM_PIXELS = 2;
const QUADRANT_ATOMS = 4;
const QUADRANT_ATOM_PIXELS = 3;

/** Pixels per cell across and down that the symbols renderer wants (sextants). */
export const SYMBOLS_PX_PER_CELL = { x: MASK_COLS, y: MASK_ROWS } as const;
/** ... and with octants. */
export const OCTANTS_PX_PER_CELL = { x: MASK_COLS, y: OCTANT_ROWS } as const;

/** Gray-code walk over subsets of `atoms - 1` atoms: per step, the atom that flips and whether it joins. */
function grayWalk(atoms: number): { atom: Int8Array; joins: Int8Array; subset: Int32Array } {
  const steps = (1 << (atoms - 1)) - 1;
  const atom = new Int8Array(steps);
  const joins = new Int8Array(steps);
  const subset = new Int32Array(steps);
  let prev = 0;
  for (let i = 1; i <= steps; i++) {
    const g = i ^ (i >> 1);
    const flipped = g ^ prev;
    atom[i - 1] = 31 - Math.clz32(flipped);
    joins[i - 1] = g & flipped ? 1 : 0;
    subset[i - 1] = g;
    prev = g;
  }
  return { atom, joins, subset };
}

const SEXTANT_WALK = grayWalk(SEXTANT_ATOMS);
const QUADRANT_WALK = grayWalk(QUADRANT_ATOMS);
const OCTANT_WALK = grayWalk(OCTANT_PIXELS);
const SEXTANT_GLYPH_OF = Uint32Array.from({ length: 64 }, (_, p) => sextantGlyph(p));
const OCTANT_GLYPH_OF = Uint32Array.from({ length: 256 }, (_, p) => octantGlyph(p));
/** 1 / n for part sizes 0..12: the score loop multiplies instead of dividing. */
const INVERSE = Float64Array.from({ length: CELL_PIXELS + 1 }, (_, n) => (n === 0 ? 0 : 1 / n));

/**
 * Sets cell `cell` from the best split found: a space in the mean colour when nothing beat
 * no split (or both parts map to one colour), else the glyph with the parts' means.
 */
function setCell(
  grid: CellGrid, cell: number, map: ColorMapper, truecolor: boolean, pixels: number, bestGlyph: number,
  sumR: number, sumG: number, sumB: number, bR: number, bG: number, bB: number, bN: number,
): void {
  const { glyph, fg, bg } = grid;
  if (bestGlyph === SPACE) {
    const r = (sumR / pixels + 0.5) | 0, g = (sumG / pixels + 0.5) | 0, b = (sumB / pixels + 0.5) | 0;
    glyph[cell] = SPACE;
    fg[cell] = COLOR_ANY;
    bg[cell] = truecolor ? (r << 16) | (g << 8) | b : map(r, g, b);
    return;
  }
  // Means rounded with | 0 (all positive): Math.round costs more in this loop.
  const m = pixels - bN;
  const fr = (bR / bN + 0.5) | 0, fgr = (bG / bN + 0.5) | 0, fb = (bB / bN + 0.5) | 0;
  const kr = ((sumR - bR) / m + 0.5) | 0, kg = ((sumG - bG) / m + 0.5) | 0, kb = ((sumB - bB) / m + 0.5) | 0;
  const f = truecolor ? (fr << 16) | (fgr << 8) | fb : map(fr, fgr, fb);
  const b = truecolor ? (kr << 16) | (kg << 8) | kb : map(kr, kg, kb);
  if (f === b) {
    glyph[cell] = SPACE;
    fg[cell] = COLOR_ANY;
  } else {
    glyph[cell] = bestGlyph;
    fg[cell] = f;
  }
  bg[cell] = b;
}

/** Fills `grid` with the octant set: each cell's 8 pixels, every split of them. */
function renderOctants(grid: CellGrid, data: Uint8Array, stride: number, cols: number, rows: number, map: ColorMapper, truecolor: boolean): void {
  const px = new Float64Array(OCTANT_PIXELS * 3);
  const { atom: oAtom, joins: oJoins, subset: oSubset } = OCTANT_WALK;
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      let sumR = 0, sumG = 0, sumB = 0;
      for (let y = 0; y < OCTANT_ROWS; y++) {
        const o = (row * OCTANT_ROWS + y) * stride + col * MASK_COLS * 3;
        for (let k = 0; k < MASK_COLS * 3; k++) px[y * MASK_COLS * 3 + k] = data[o + k];
      }
      for (let k = 0; k < OCTANT_PIXELS * 3; k += 3) {
        sumR += px[k]; sumG += px[k + 1]; sumB += px[k + 2];
      }
      let best = (sumR * sumR + sumG * sumG + sumB * sumB) / OCTANT_PIXELS;
      let bestGlyph = SPACE;
      let bR = 0, bG = 0, bB = 0, bN = 0;
      let r1 = 0, g1 = 0, b1 = 0, n1 = 0;
      for (let i = 0; i < oAtom.length; i++) {
        const a = oAtom[i] * 3;
        if (oJoins[i]) {
          r1 += px[a]; g1 += px[a + 1]; b1 += px[a + 2]; n1++;
        } else {
          r1 -= px[a]; g1 -= px[a + 1]; b1 -= px[a + 2]; n1--;
        }
        const r0 = sumR - r1, g0 = sumG - g1, b0 = sumB - b1;
        const score = (r1 * r1 + g1 * g1 + b1 * b1) * INVERSE[n1] + (r0 * r0 + g0 * g0 + b0 * b0) * INVERSE[OCTANT_PIXELS - n1];
        if (score > best) {
          best = score;
          bestGlyph = OCTANT_GLYPH_OF[oSubset[i]];
          bR = r1; bG = g1; bB = b1; bN = n1;
        }
      }
      setCell(grid, row * cols + col, map, truecolor, OCTANT_PIXELS, bestGlyph, sumR, sumG, sumB, bR, bG, bB, bN);
    }
  }
}

/** Create a symbols renderer. It keeps the last cells and redraws only what changed. */
export function createSymbolsRenderer(opts: SymbolsOptions = {}): Renderer {
  const grid = new CellGrid();
  const octants = opts.set === 'octants';
  const cellRows = octants ? OCTANT_ROWS : MASK_ROWS;
  const dither = opts.dither ?? 'none';
  // Colour sums of the atoms of the current cell: [atom * 3 + channel].
  const sext = new Float64Array(SEXTANT_ATOMS * 3);
  const quad = new Float64Array(QUADRANT_ATOMS * 3);
  return {
    mode: 'symbols',
    pixelSize(target: RenderTarget) {
      return { width: target.cols * MASK_COLS, height: target.rows * cellRows };
    },
    render(source: RgbFrame, target: RenderTarget): Buffer {
      const cols = Math.min(target.cols, Math.floor(source.width / MASK_COLS));
      const rows = Math.min(target.rows, Math.floor(source.height / cellRows));
      const depth = target.colors === 'mono' ? 16 : target.colors;
      grid.prepare(cols, rows, depth);
      const map = colorMapper(depth);
      const truecolor = depth === 'truecolor';
      const frame = truecolor || dither === 'none' ? source : ditherToPalette(source, depth, dither);
      const data = frame.data;
      const stride = frame.width * 3;
      if (octants) {
        renderOctants(grid, data, stride, cols, rows, map, truecolor);
        return grid.emit(target.col, target.row);
      }
      const sAtom = SEXTANT_WALK.atom, sJoins = SEXTANT_WALK.joins, sSubset = SEXTANT_WALK.subset;
      const qAtom = QUADRANT_WALK.atom, qJoins = QUADRANT_WALK.joins, qSubset = QUADRANT_WALK.subset;
      for (let row = 0; row < rows; row++) {
        for (let col = 0; col < cols; col++) {
          for (let k = 0; k < SEXTANT_ATOMS * 3; k++) sext[k] = 0;
          for (let k = 0; k < QUADRANT_ATOMS * 3; k++) quad[k] = 0;
          for (let y = 0; y < MASK_ROWS; y++) {
            let o = (row * MASK_ROWS + y) * stride + col * MASK_COLS * 3;
            const sRow = (y >> 1) * 2;
            const qRow = y < 3 ? 0 : 2;
            for (let x = 0; x < MASK_COLS; x++, o += 3) {
              const r = data[o], g = data[o + 1], b = data[o + 2];
              const s = (sRow + x) * 3;
              sext[s] += r;
              sext[s + 1] += g;
              sext[s + 2] += b;
              const q = (qRow + x) * 3;
              quad[q] += r;
              quad[q + 1] += g;
              quad[q + 2] += b;
            }
          }
          const sumR = quad[0] + quad[3] + quad[6] + quad[9];
          const sumG = quad[1] + quad[4] + quad[7] + quad[10];
          const sumB = quad[2] + quad[5] + quad[8] + quad[11];
          // Score of no split (a space); a split must beat it.
          let best = (sumR * sumR + sumG * sumG + sumB * sumB) / CELL_PIXELS;
          let bestGlyph = SPACE;
          let bR = 0, bG = 0, bB = 0, bN = 0;
          let r1 = 0, g1 = 0, b1 = 0, n1 = 0;
          for (let i = 0; i < sAtom.length; i++) {
            const a = sAtom[i] * 3;
            if (sJoins[i]) {
              r1 += sext[a]; g1 += sext[a + 1]; b1 += sext[a + 2]; n1 += SEXTANT_ATOM_PIXELS;
            } else {
              r1 -= sext[a]; g1 -= sext[a + 1]; b1 -= sext[a + 2]; n1 -= SEXTANT_ATOM_PIXELS;
            }
            const r0 = sumR - r1, g0 = sumG - g1, b0 = sumB - b1;
            const score = (r1 * r1 + g1 * g1 + b1 * b1) * INVERSE[n1] + (r0 * r0 + g0 * g0 + b0 * b0) * INVERSE[CELL_PIXELS - n1];
            if (score > best) {
              best = score;
              bestGlyph = SEXTANT_GLYPH_OF[sSubset[i]];
              bR = r1; bG = g1; bB = b1; bN = n1;
            }
          }
          r1 = 0; g1 = 0; b1 = 0; n1 = 0;
          for (let i = 0; i < qAtom.length; i++) {
            const a = qAtom[i] * 3;
            if (qJoins[i]) {
              r1 += quad[a]; g1 += quad[a + 1]; b1 += quad[a + 2]; n1 += QUADRANT_ATOM_PIXELS;
            } else {
              r1 -= quad[a]; g1 -= quad[a + 1]; b1 -= quad[a + 2]; n1 -= QUADRANT_ATOM_PIXELS;
            }
            const r0 = sumR - r1, g0 = sumG - g1, b0 = sumB - b1;
            const score = (r1 * r1 + g1 * g1 + b1 * b1) * INVERSE[n1] + (r0 * r0 + g0 * g0 + b0 * b0) * INVERSE[CELL_PIXELS - n1];
            // Strictly better only: on a tie the sextant (found first) stays, and the
            // half-blocks a quadrant shares with the sextants are found there already.
            if (score > best) {
              best = score;
              bestGlyph = QUADRANT_GLYPHS[qSubset[i]];
              bR = r1; bG = g1; bB = b1; bN = n1;
            }
          }
          setCell(grid, row * cols + col, map, truecolor, CELL_PIXELS, bestGlyph, sumR, sumG, sumB, bR, bG, bB, bN);
        }
      }
      return grid.emit(target.col, target.row);
    },
    reset() {
      grid.invalidate();
    },
  };
}
