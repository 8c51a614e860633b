import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, psnr, reconstructPixels } from '../../../src/codec/render/index.js';
import type { RenderTarget } from '../../../src/codec/render/types.js';
import { frameOf, glyphsOf, lavfiFrame } from './frames.js';

type Px = [number, number, number];
const R: Px = [255, 0, 0];
const B: Px = [0, 0, 255];

/** A 2x6-pixel cell: `fgBits` lists (row, col) pixels that are red, the rest blue. */
function cell(red: (row: number, col: number) => boolean): Px[][] {
  return Array.from({ length: 6 }, (_, row) => [0, 1].map((col) => (red(row, col) ? R : B)));
}

function sideBySide(...cells: Px[][][]): Px[][] {
  return Array.from({ length: 6 }, (_, row) => cells.flatMap((c) => c[row]));
}

test('symbols: half-block, quadrant and sextant cells, exact bytes', () => {
  const frame = frameOf(sideBySide(
    cell((_r, c) => c === 0), // left half: ▌
    cell((r, c) => r < 3 && c === 0), // top-left quadrant: ▘
    cell((r, c) => r < 2 && c === 0), // top-left sextant: 🬀
  ));
  const target: RenderTarget = { col: 0, row: 0, cols: 3, rows: 1, colors: 'truecolor' };
  const r = createRenderer('symbols');
  assert.deepEqual(r.pixelSize(target), { width: 6, height: 6 });
  assert.equal(r.render(frame, target).toString(), '\x1b[1;1H\x1b[38;2;255;0;0;48;2;0;0;255m▌▘\u{1fb00}\x1b[0m');
  assert.equal(r.render(frame, target).length, 0);
});

test('symbols: a flat cell is a space with only a background', () => {
  const frame = frameOf(cell(() => false));
  const out = createRenderer('symbols').render(frame, { col: 0, row: 0, cols: 1, rows: 1, colors: 256 });
  assert.equal(out.toString(), '\x1b[1;1H\x1b[48;5;21m \x1b[0m');
});

test('symbols: on testsrc2 it emits quadrants and sextants and beats blocks on PSNR', () => {
  const target: RenderTarget = { col: 0, row: 0, cols: 160, rows: 48, colors: 'truecolor' };
  const reference = lavfiFrame('testsrc2', 320, 288);
  const symbols = createRenderer('symbols').render(reference, target);
  const blocks = createRenderer('blocks').render(lavfiFrame('testsrc2', 160, 96), target);
  const glyphs = [...glyphsOf(symbols)];
  assert.ok(glyphs.some((g) => g >= 0x1fb00 && g <= 0x1fb3b), 'no sextant emitted');
  assert.ok(glyphs.some((g) => g >= 0x2596 && g <= 0x259f), 'no quadrant emitted');
  const pSymbols = psnr(reconstructPixels([symbols], target), reference);
  const pBlocks = psnr(reconstructPixels([blocks], target), reference);
  assert.ok(pSymbols > pBlocks + 1, `symbols ${pSymbols.toFixed(2)} dB vs blocks ${pBlocks.toFixed(2)} dB`);
});

test('symbols --dither: a flat colour between palette levels becomes a mix inside the cells whose mean is nearer the colour', () => {
  // Green 110 lies between the 256-colour cube's levels 95 and 135: without dithering all 95.
  const flat = frameOf(Array.from({ length: 48 }, () => Array.from({ length: 32 }, (): Px => [0, 110, 0])));
  const target: RenderTarget = { col: 0, row: 0, cols: 16, rows: 8, colors: 256 };
  const meanGreen = (bytes: Buffer) => {
    const back = reconstructPixels([bytes], target);
    let sum = 0;
    for (let i = 1; i < back.data.length; i += 3) sum += back.data[i];
    return sum / (back.data.length / 3);
  };
  const plain = createRenderer('symbols').render(flat, target);
  assert.equal(Math.round(meanGreen(plain)), 95);
  for (const dither of ['ordered', 'noise'] as const) {
    const mixed = createRenderer('symbols', { dither }).render(flat, target);
    const glyphs = [...glyphsOf(mixed)].filter((g) => g !== 0x20);
    assert.ok(glyphs.length >= 2, `${dither}: ${glyphs.length} glyphs, no mix inside cells`);
    assert.ok(Math.abs(meanGreen(mixed) - 110) < Math.abs(meanGreen(plain) - 110), `${dither}: mean green ${meanGreen(mixed).toFixed(1)}`);
  }
});
