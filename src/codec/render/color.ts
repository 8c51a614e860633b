/** Mapping of an RGB colour to a cell colour value for a colour depth, through lookup tables. */
import { lutIndex, nearest16Lut, nearest256Lut } from './palette.js';
import type { ColorDepth } from './types.js';

/**
 * A function from (r, g, b) to the value a CellGrid stores for `depth`: 0xRRGGBB for
 * truecolor, a palette index for 256 and 16. `mono` maps like 16 here; renderers that have a
 * real monochrome output (ascii) handle it themselves.
 */
export type ColorMapper = (r: number, g: number, b: number) => number;

const trueColor: ColorMapper = (r, g, b) => (r << 16) | (g << 8) | b;

/** The colour mapper for a depth. */
export function colorMapper(depth: ColorDepth): ColorMapper {
  if (depth === 'truecolor') return trueColor;
  const lut = depth === 256 ? nearest256Lut() : nearest16Lut();
  return (r, g, b) => lut[lutIndex(r, g, b)];
}
