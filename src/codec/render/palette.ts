/**
 * The xterm 16- and 256-colour palettes and nearest-colour lookup tables. A pixel is mapped
 * through a table indexed by its 5-bit-per-channel colour, never by searching the palette.
 */

/** Bits per channel of the nearest-colour tables (32768 entries). */
export const LUT_BITS_PER_CHANNEL = 5;

/** xterm's default 16 colours (what the 16-colour escapes show on most terminals). */
export const XTERM_16: readonly (readonly [number, number, number])[] = [
  [0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255],
];

const CUBE_LEVELS = [0, 95, 135, 175, 215, 255];

/** The xterm 256-colour palette: the 16 colours, a 6x6x6 cube, 24 greys. */
export const XTERM_256: readonly (readonly [number, number, number])[] = (() => {
  const out: [number, number, number][] = XTERM_16.map((c) => [c[0], c[1], c[2]]);
  for (let r = 0; r < 6; r++) {
    for (let g = 0; g < 6; g++) {
      for (let b = 0; b < 6; b++) out.push([CUBE_LEVELS[r], CUBE_LEVELS[g], CUBE_LEVELS[b]]);
    }
  }
  for (let i = 0; i < 24; i++) {
    const v = 8 + i * 10;
    out.push([v, v, v]);
  }
  return out;
})();

/** Index into a nearest-colour table: 5 bits of each channel. */
export function lutIndex(r: number, g: number, b: number): number {
  return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
}

function buildLut(palette: readonly (readonly [number, number, number])[], first: number): Uint8Array {
  const lut = new Uint8Array(1 << (3 * LUT_BITS_PER_CHANNEL));
  for (let i = 0; i < lut.length; i++) {
    // Centre of the 8-level bin, so that rounding is symmetric.
    const r = ((i >> 10) << 3) + 4;
    const g = (((i >> 5) & 31) << 3) + 4;
    const b = ((i & 31) << 3) + 4;
    let best = first;
    let bestD = Infinity;
    for (let p = first; p < palette.length; p++) {
      const c = palette[p];
      const dr = r - c[0];
      const dg = g - c[1];
      const db = b - c[2];
      // Green weighs most and blue least, roughly as the eye does.
      const d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;
      if (d < bestD) {
        bestD = d;
        best = p;
      }
    }
    lut[i] = best;
  }
  return lut;
}

let lut16: Uint8Array | undefined;
let lut256: Uint8Array | undefined;

/** Nearest of the 16 colours, by `lutIndex`. Built on first use (a few ms). */
export function nearest16Lut(): Uint8Array {
  lut16 ??= buildLut(XTERM_16, 0);
  return lut16;
}

/**
 * Nearest of the 256 colours, by `lutIndex`. Only indices 16..255 are candidates: the first
 * 16 are often redefined by terminal themes, the cube and greys rarely are.
 */
export function nearest256Lut(): Uint8Array {
  lut256 ??= buildLut(XTERM_256, 16);
  return lut256;
}
