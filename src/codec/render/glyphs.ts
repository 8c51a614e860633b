/**
 * Block glyphs as coverage masks on a 2x12 grid of sub-pixels per cell (bit = row * 2 + col).
 * 2x12 is the smallest grid on which half-blocks and quadrants (rows split 6/6), sextants
 * (4/4/4) and octants (3/3/3/3) are all exact, so the symbols renderer's glyph tables and the
 * pixel reconstruction share one table.
 */

/** Sub-pixels per cell across and down on which glyph masks are defined. */
export const MASK_COLS = 2;
export const MASK_ROWS = 12;
/** A mask with every sub-pixel set. */
export const MASK_FULL = 2 ** (MASK_COLS * MASK_ROWS) - 1;

const SPACE = 0x20;
const FULL_BLOCK = 0x2588;
const LEFT_HALF = 0x258c;
const RIGHT_HALF = 0x2590;
const SEXTANT_FIRST = 0x1fb00;
/** Sextant patterns that Unicode encodes elsewhere: the left and right half blocks. */
const SEXTANT_LEFT_COLUMN = 21;
const SEXTANT_RIGHT_COLUMN = 42;
/** The first code point of the octants (Unicode 16, Symbols for Legacy Computing Supplement). */
export const OCTANT_FIRST = 0x1cd00;
/** ... and the last: 230 of the 256 patterns; the other 26 were encoded before. */
export const OCTANT_LAST = 0x1cde5;

/** Quadrant glyphs by pattern: bit 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. */
export const QUADRANT_GLYPHS: readonly number[] = [
  SPACE, 0x2598, 0x259d, 0x2580, 0x2596, LEFT_HALF, 0x259e, 0x259b,
  0x2597, 0x259a, RIGHT_HALF, 0x259c, 0x2584, 0x2599, 0x259f, FULL_BLOCK,
];

/** Mask of the cell-wide band of rows [from, to) in column `col`. */
function columnBand(col: number, from: number, to: number): number {
  let m = 0;
  for (let row = from; row < to; row++) m |= 1 << (row * MASK_COLS + col);
  return m;
}

/** Mask of a pattern of `rows` x 2 parts (bit k: part row k >> 1, column k & 1). */
function partsMask(p: number, rows: number): number {
  const h = MASK_ROWS / rows;
  let m = 0;
  for (let k = 0; k < rows * 2; k++) {
    if (p & (1 << k)) m |= columnBand(k & 1, (k >> 1) * h, ((k >> 1) + 1) * h);
  }
  return m;
}

/** Mask of sextant pattern `p` (bit k: sextant row k >> 1, column k & 1). */
export function sextantMask(p: number): number {
  return partsMask(p, 3);
}

/** Mask of quadrant pattern `q`. */
export function quadrantMask(q: number): number {
  return partsMask(q, 2);
}

/** Mask of octant pattern `p` (bit k: octant k + 1 of Unicode's names, row k >> 1, column k & 1). */
export function octantMask(p: number): number {
  return partsMask(p, 4);
}

/** The code point that draws sextant pattern `p` (0..63). */
export function sextantGlyph(p: number): number {
  if (p === 0) return SPACE;
  if (p === 63) return FULL_BLOCK;
  if (p === SEXTANT_LEFT_COLUMN) return LEFT_HALF;
  if (p === SEXTANT_RIGHT_COLUMN) return RIGHT_HALF;
  return SEXTANT_FIRST + p - 1 - (p > SEXTANT_LEFT_COLUMN ? 1 : 0) - (p > SEXTANT_RIGHT_COLUMN ? 1 : 0);
}

/**
 * Octant patterns Unicode 16 did not encode again in U+1CD00..: they already had a character
 * (space, full and half blocks, quadrants, quarter blocks) or got one in the same release
 * among the Supplement's eighth blocks. Keyed by pattern (bit k = octant k + 1).
 */
const OCTANTS_ENCODED_ELSEWHERE: ReadonlyMap<number, number> = new Map([
  ...QUADRANT_GLYPHS.map((glyph, q): [number, number] => [
    (q & 1 ? 0x05 : 0) | (q & 2 ? 0x0a : 0) | (q & 4 ? 0x50 : 0) | (q & 8 ? 0xa0 : 0), glyph,
  ]),
  [0x03, 0x1fb82], // UPPER ONE QUARTER BLOCK
  [0x3f, 0x1fb85], // UPPER THREE QUARTERS BLOCK
  [0xc0, 0x2582], // LOWER ONE QUARTER BLOCK
  [0xfc, 0x2586], // LOWER THREE QUARTERS BLOCK
  [0x14, 0x1fbe6], // MIDDLE LEFT ONE QUARTER BLOCK
  [0x28, 0x1fbe7], // MIDDLE RIGHT ONE QUARTER BLOCK
  [0x01, 0x1cea8], // LEFT HALF UPPER ONE QUARTER BLOCK
  [0x02, 0x1ceab], // RIGHT HALF UPPER ONE QUARTER BLOCK
  [0x40, 0x1cea3], // LEFT HALF LOWER ONE QUARTER BLOCK
  [0x80, 0x1cea0], // RIGHT HALF LOWER ONE QUARTER BLOCK
]);

/**
 * Code point of each octant pattern (0..255). U+1CD00.. holds the patterns not encoded
 * elsewhere in ascending order of the pattern read as a binary number (bit k = octant k + 1),
 * which is the order of their names' digit lists in UnicodeData ("BLOCK OCTANT-3", "-23", ...).
 */
export const OCTANT_GLYPHS: readonly number[] = (() => {
  const out: number[] = [];
  let next = OCTANT_FIRST;
  for (let p = 0; p < 256; p++) out.push(OCTANTS_ENCODED_ELSEWHERE.get(p) ?? next++);
  if (next !== OCTANT_LAST + 1) throw new Error(`octant table ends at ${next.toString(16)}`);
  return out;
})();

/** The code point that draws octant pattern `p` (0..255). */
export function octantGlyph(p: number): number {
  return OCTANT_GLYPHS[p & 255];
}

/** Every block glyph the symbols renderer may emit, with its mask: quadrants, sextants, then octants. */
export const BLOCK_GLYPHS: readonly { glyph: number; mask: number }[] = (() => {
  const seen = new Set<number>();
  const out: { glyph: number; mask: number }[] = [];
  const add = (glyph: number, mask: number) => {
    if (seen.has(glyph)) return;
    seen.add(glyph);
    out.push({ glyph, mask });
  };
  for (let q = 0; q < 16; q++) add(QUADRANT_GLYPHS[q], quadrantMask(q));
  for (let p = 0; p < 64; p++) add(sextantGlyph(p), sextantMask(p));
  for (let p = 0; p < 256; p++) add(octantGlyph(p), octantMask(p));
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
