/**
 * Block glyphs as coverage masks on a 2x6 grid of sub-pixels per cell (bit = row * 2 + col).
 * 2x6 is the smallest grid on which half-blocks and quadrants (rows split 3/3) and sextants
 * (rows split 2/2/2) are all exact, so the symbols renderer and the pixel reconstruction
 * share one table.
 */

/** Sub-pixels per cell across and down on which glyph masks are defined. */
export const MASK_COLS = 2;
export const MASK_ROWS = 6;
/** A mask with every sub-pixel set. */
export const MASK_FULL = (1 << (MASK_COLS * MASK_ROWS)) - 1;

const SPACE = 0x20;
const FULL_BLOCK = 0x2588;
const LEFT_HALF = 0x258c;
const RIGHT_HALF = 0x2590;
const SEXTANT_FIRST = 0x1fb00;
/** Sextant patterns that Unicode encodes elsewhere: the left and right half blocks. */
const SEXTANT_LEFT_COLUMN = 21;
const SEXTANT_RIGHT_COLUMN = 42;

/** Quadrant glyphs by pattern: bit 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. */
export const QUADRANT_GLYPHS: readonly number[] = [
  SPACE, 0x2598, 0x259d, 0x2580, 0x2596, LEFT_HALF, 0x259e, 0x259b,
  0x2597, 0x259a, RIGHT_HALF, 0x259c, 0x2584, 0x2599, 0x259f, FULL_BLOCK,
];

/** Mask of sextant pattern `p` (bit k: sextant row k >> 1, column k & 1). */
export function sextantMask(p: number): number {
  let m = 0;
  for (let k = 0; k < 6; k++) {
    if (p & (1 << k)) {
      const row = k >> 1;
      const col = k & 1;
      m |= (1 << (2 * row * 2 + col)) | (1 << ((2 * row + 1) * 2 + col));
    }
  }
  return m;
}

/** Mask of quadrant pattern `q`. */
export function quadrantMask(q: number): number {
  let m = 0;
  for (let k = 0; k < 4; k++) {
    if (q & (1 << k)) {
      const col = k & 1;
      const first = k < 2 ? 0 : 3;
      for (let row = first; row < first + 3; row++) m |= 1 << (row * 2 + col);
    }
  }
  return m;
}

/** The code point that draws sextant pattern `p` (0..63). */
export function sextantGlyph(p: number): number {
  if (p === 0) return SPACE;
  if (p === 63) return FULL_BLOCK;
  if (p === SEXTANT_LEFT_COLUMN) return LEFT_HALF;
  if (p === SEXTANT_RIGHT_COLUMN) return RIGHT_HALF;
  return SEXTANT_FIRST + p - 1 - (p > SEXTANT_LEFT_COLUMN ? 1 : 0) - (p > SEXTANT_RIGHT_COLUMN ? 1 : 0);
}

/** Every block glyph the symbols renderer may emit, with its mask: quadrants first, then sextants. */
export const BLOCK_GLYPHS: readonly { glyph: number; mask: number }[] = (() => {
  const seen = new Set<number>();
  const out: { glyph: number; mask: number }[] = [];
  for (let q = 0; q < 16; q++) {
    const mask = quadrantMask(q);
    seen.add(mask);
    out.push({ glyph: QUADRANT_GLYPHS[q], mask });
  }
  for (let p = 0; p < 64; p++) {
    const mask = sextantMask(p);
    if (seen.has(mask)) continue;
    seen.add(mask);
    out.push({ glyph: sextantGlyph(p), mask });
  }
  return out;
})();

/** Mask of a block glyph by code point, for reconstruction. */
export const GLYPH_MASKS: ReadonlyMap<number, number> = new Map(BLOCK_GLYPHS.map((g) => [g.glyph, g.mask]));

/** The luminance ramp of the ascii renderer, darkest first. */
export const ASCII_RAMP = ' .:-=+*#%@';

/** How much of a cell an ascii ramp character covers (0..1), for reconstruction. */
export function asciiCoverage(ch: number): number | undefined {
  const i = ASCII_RAMP.indexOf(String.fromCharCode(ch));
  return i < 0 ? undefined : i / (ASCII_RAMP.length - 1);
}
