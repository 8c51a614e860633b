import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, psnr, reconstructPixels } from '../../../src/codec/render/index.js';
import { octantGlyph, octantMask, MASK_COLS } from '../../../src/codec/render/glyphs.js';
import type { RenderTarget } from '../../../src/codec/render/types.js';
import { frameOf, glyphsOf, lavfiFrame } from './frames.js';

/**
 * UnicodeData 16.0, U+1CD00..U+1CDE5 in order: the digits of each name "BLOCK OCTANT-n..."
 * (octants numbered 1 2 / 3 4 / 5 6 / 7 8, top to bottom).
 */
const OCTANT_NAMES = `3 23 123 4 14 124 34 134 234 5 15 25 125 135 235 1235 45 145 245 1245 345 1345 2345 12345
6 16 26 126 36 136 236 1236 146 246 1246 346 1346 2346 12346 56 156 256 1256 356 1356 2356 12356 456 1456 2456
12456 3456 13456 23456 17 27 127 37 137 237 1237 47 147 247 1247 347 1347 2347 12347 157 257 1257 357 2357 12357
457 1457 12457 3457 13457 23457 67 167 267 1267 367 1367 2367 12367 467 1467 2467 12467 3467 13467 23467 123467
567 1567 2567 12567 3567 13567 23567 123567 4567 14567 24567 124567 34567 134567 234567 1234567 18 28 128 38 138
238 1238 48 148 248 1248 348 1348 2348 12348 58 158 258 1258 358 1358 2358 12358 458 1458 2458 12458 3458 13458
23458 123458 168 268 1268 368 2368 12368 468 1468 12468 3468 13468 23468 568 1568 2568 12568 3568 13568 23568
123568 4568 14568 24568 124568 34568 134568 234568 1234568 178 278 1278 378 1378 2378 12378 478 1478 2478 12478
3478 13478 23478 123478 578 1578 2578 12578 3578 13578 23578 123578 4578 14578 24578 124578 34578 134578 234578
1234578 678 1678 2678 12678 3678 13678 23678 123678 4678 14678 24678 124678 34678 134678 234678 1234678 15678
25678 125678 35678 235678 1235678 45678 145678 1245678 1345678 2345678`.split(/\s+/);

/** The characters outside U+1CD00.. that draw octant patterns, with their UnicodeData names. */
const OTHER_NAMES: Record<number, string> = {
  0x20: 'SPACE', 0x2588: 'FULL BLOCK', 0x2580: 'UPPER HALF BLOCK', 0x2584: 'LOWER HALF BLOCK',
  0x258c: 'LEFT HALF BLOCK', 0x2590: 'RIGHT HALF BLOCK', 0x2582: 'LOWER ONE QUARTER BLOCK',
  0x2586: 'LOWER THREE QUARTERS BLOCK', 0x1fb82: 'UPPER ONE QUARTER BLOCK', 0x1fb85: 'UPPER THREE QUARTERS BLOCK',
  0x1fbe6: 'MIDDLE LEFT ONE QUARTER BLOCK', 0x1fbe7: 'MIDDLE RIGHT ONE QUARTER BLOCK',
  0x1cea0: 'RIGHT HALF LOWER ONE QUARTER BLOCK', 0x1cea3: 'LEFT HALF LOWER ONE QUARTER BLOCK',
  0x1cea8: 'LEFT HALF UPPER ONE QUARTER BLOCK', 0x1ceab: 'RIGHT HALF UPPER ONE QUARTER BLOCK',
  0x2596: 'QUADRANT LOWER LEFT', 0x2597: 'QUADRANT LOWER RIGHT', 0x2598: 'QUADRANT UPPER LEFT',
  0x259d: 'QUADRANT UPPER RIGHT', 0x259a: 'QUADRANT UPPER LEFT AND LOWER RIGHT',
  0x259e: 'QUADRANT UPPER RIGHT AND LOWER LEFT', 0x2599: 'QUADRANT UPPER LEFT AND LOWER LEFT AND LOWER RIGHT',
  0x259b: 'QUADRANT UPPER LEFT AND UPPER RIGHT AND LOWER LEFT', 0x259c: 'QUADRANT UPPER LEFT AND UPPER RIGHT AND LOWER RIGHT',
  0x259f: 'QUADRANT UPPER RIGHT AND LOWER LEFT AND LOWER RIGHT',
};

/** The 2x4 cells (row * 2 + col) that a character's name says it covers. */
function decode(cp: number): Set<number> {
  const cells = new Set<number>();
  const add = (rows: number[], cols: number[]) => rows.forEach((r) => cols.forEach((c) => cells.add(r * 2 + c)));
  if (cp >= 0x1cd00 && cp <= 0x1cde5) {
    for (const d of OCTANT_NAMES[cp - 0x1cd00]) cells.add(Number(d) - 1);
    return cells;
  }
  const name = OTHER_NAMES[cp];
  assert.ok(name, `U+${cp.toString(16)} draws no octant pattern`);
  if (name === 'SPACE') return cells;
  if (name.startsWith('QUADRANT ')) {
    for (const part of name.slice(9).split(' AND ')) add(part.startsWith('UPPER') ? [0, 1] : [2, 3], [part.endsWith('LEFT') ? 0 : 1]);
    return cells;
  }
  const rows = /UPPER ONE QUARTER/.test(name) ? [0] : /LOWER ONE QUARTER/.test(name) ? [3]
    : /UPPER THREE QUARTERS/.test(name) ? [0, 1, 2] : /LOWER THREE QUARTERS/.test(name) ? [1, 2, 3]
      : /UPPER HALF/.test(name) ? [0, 1] : /LOWER HALF/.test(name) ? [2, 3] : /MIDDLE/.test(name) ? [1, 2] : [0, 1, 2, 3];
  add(rows, /LEFT/.test(name) ? [0] : /RIGHT/.test(name) ? [1] : [0, 1]);
  return cells;
}

test('octants: every one of the 256 2x4 patterns maps to the character Unicode 16 names for it', () => {
  assert.equal(OCTANT_NAMES.length, 230);
  const seen = new Set<number>();
  for (let p = 0; p < 256; p++) {
    const cp = octantGlyph(p);
    const want = new Set([0, 1, 2, 3, 4, 5, 6, 7].filter((k) => p & (1 << k)));
    assert.deepEqual(decode(cp), want, `pattern ${p.toString(2).padStart(8, '0')} -> U+${cp.toString(16)}`);
    seen.add(cp);
    // The reconstruction mask (2x12) covers the same cells, three rows each.
    const mask = octantMask(p);
    for (let k = 0; k < 8; k++) {
      const bits = [0, 1, 2].map((i) => (mask >> (((k >> 1) * 3 + i) * MASK_COLS + (k & 1))) & 1);
      assert.deepEqual(bits, want.has(k) ? [1, 1, 1] : [0, 0, 0], `mask of pattern ${p}, octant ${k + 1}`);
    }
  }
  assert.equal(seen.size, 256, 'two patterns share a character');
});

type Px = [number, number, number];
const R: Px = [255, 0, 0];
const B: Px = [0, 0, 255];

test('symbols --symbols octants: 2x4 pixels a cell, the exact octant of each cell', () => {
  // Cell 1: octant 3 alone (U+1CD00); cell 2: octant 1 alone (U+1CEA8); cell 3: octants 1-6 (U+1FB85).
  const on = [[2], [0], [0, 1, 2, 3, 4, 5]];
  const rows = Array.from({ length: 4 }, (_, y) => on.flatMap((cells) => [0, 1].map((x) => (cells.includes(y * 2 + x) ? R : B))));
  const target: RenderTarget = { col: 0, row: 0, cols: 3, rows: 1, colors: 'truecolor' };
  const r = createRenderer('symbols', { symbols: 'octants' });
  assert.deepEqual(r.pixelSize(target), { width: 6, height: 4 });
  assert.equal(r.render(frameOf(rows), target).toString(), '\x1b[1;1H\x1b[38;2;255;0;0;48;2;0;0;255m\u{1cd00}\u{1cea8}\u{1fb85}\x1b[0m');
});

test('symbols --symbols octants on mandelbrot: octants emitted, and closer to the picture than sextants', () => {
  const target: RenderTarget = { col: 0, row: 0, cols: 160, rows: 48, colors: 'truecolor' };
  const sub = { x: 2, y: 12 } as const;
  const reference = lavfiFrame('mandelbrot', 320, 576);
  const octants = createRenderer('symbols', { symbols: 'octants' }).render(lavfiFrame('mandelbrot', 320, 192), target);
  const sextants = createRenderer('symbols').render(lavfiFrame('mandelbrot', 320, 288), target);
  assert.ok([...glyphsOf(octants)].some((g) => g >= 0x1cd00 && g <= 0x1cde5), 'no octant emitted');
  assert.ok(![...glyphsOf(sextants)].some((g) => g >= 0x1cd00 && g <= 0x1cde5), 'sextants emitted an octant');
  const pOct = psnr(reconstructPixels([octants], target, sub), reference);
  const pSext = psnr(reconstructPixels([sextants], target, sub), reference);
  assert.ok(pOct > pSext, `octants ${pOct.toFixed(2)} dB vs sextants ${pSext.toFixed(2)} dB`);
});
