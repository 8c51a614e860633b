import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRenderer, psnr } from '../../../src/codec/render/index.js';
import { SIXEL_MAX_HEIGHT_PX, SIXEL_MAX_WIDTH_PX } from '../../../src/codec/render/sixel.js';
import type { RenderTarget, RgbFrame } from '../../../src/codec/render/types.js';
import { frameOf, lavfiFrame } from './frames.js';

const CONVERT_TIMEOUT_MS = 60_000;

/** Decode sixel bytes with ImageMagick, the way a user would check them. */
function decode(bytes: Buffer, width: number, height: number): RgbFrame {
  const dir = mkdtempSync(join(tmpdir(), 'sixel-test-'));
  try {
    writeFileSync(join(dir, 'f.six'), bytes.subarray(bytes.indexOf('\x1bP')));
    execFileSync('/usr/bin/convert', [`sixel:${join(dir, 'f.six')}`, join(dir, 'out.png')], { timeout: CONVERT_TIMEOUT_MS });
    const raw = execFileSync('/usr/bin/convert', [join(dir, 'out.png'), '-depth', '8', 'rgb:-'], { timeout: CONVERT_TIMEOUT_MS, maxBuffer: 64 << 20 });
    return { width, height, data: new Uint8Array(raw) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('sixel: exact bytes of a two-colour image, colours sharing one pass', () => {
  const R = [255, 0, 0] as [number, number, number];
  const B = [0, 0, 255] as [number, number, number];
  const frame = frameOf(Array.from({ length: 6 }, () => [R, R, B, B]));
  const out = createRenderer('sixel').render(frame, { col: 2, row: 1, cols: 1, rows: 1, colors: 'truecolor' });
  assert.equal(out.toString('latin1'), '\x1b[2;3H\x1bP0;1;0q"1;1;4;6#0;2;0;0;100#1;2;100;0;0#1~~#0~~\x1b\\');
});

test('sixel: image size is the cells\' pixel area, whole bands, within the sixel limit', () => {
  const r = createRenderer('sixel');
  const t = (cols: number, rows: number, w?: number, h?: number): RenderTarget => ({ col: 0, row: 0, cols, rows, colors: 'truecolor', cellWidthPx: w, cellHeightPx: h });
  assert.deepEqual(r.pixelSize(t(64, 24, 10, 20)), { width: 640, height: 480 });
  assert.deepEqual(r.pixelSize(t(10, 3, 9, 17)), { width: 90, height: 48 });
  const big = r.pixelSize(t(300, 100, 10, 20));
  assert.ok(big.width <= SIXEL_MAX_WIDTH_PX && big.height <= SIXEL_MAX_HEIGHT_PX, JSON.stringify(big));
  assert.equal(big.height % 6, 0);
  assert.ok(big.width >= 990, 'scaled to fit, not cropped');
});

test('sixel: a testsrc2 frame decodes back (ImageMagick) to PSNR >= 30 dB; the same frame again costs nothing', () => {
  const frame = lavfiFrame('testsrc2', 640, 480);
  const target: RenderTarget = { col: 0, row: 0, cols: 64, rows: 24, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 };
  const r = createRenderer('sixel');
  const bytes = r.render(frame, target);
  const quality = psnr(decode(bytes, 640, 480), frame);
  assert.ok(quality >= 30, `PSNR ${quality.toFixed(2)} dB`);
  assert.equal(r.render(frame, target).length, 0);
});

test('sixel: mandelbrot (many colours) decodes back to PSNR >= 30 dB', () => {
  const frame = lavfiFrame('mandelbrot', 320, 240);
  const bytes = createRenderer('sixel').render(frame, { col: 0, row: 0, cols: 32, rows: 12, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 });
  const quality = psnr(decode(bytes, 320, 240), frame);
  assert.ok(quality >= 30, `PSNR ${quality.toFixed(2)} dB`);
});

test('sixel: a frame wider than the encoder takes is refused with a typed error, not garbled', () => {
  const wide = { width: 1100, height: 6, data: new Uint8Array(1100 * 6 * 3) };
  assert.throws(() => createRenderer('sixel').render(wide, { col: 0, row: 0, cols: 110, rows: 1, colors: 'truecolor' }), { code: 'E_FRAME_SIZE' });
  const s = createRenderer('sixel', { sixelMaxWidthPx: 4000 }).pixelSize({ col: 0, row: 0, cols: 300, rows: 10, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 });
  assert.ok(s.width <= 1024, JSON.stringify(s));
});

/**
 * A frame of `colors` colours far apart (channel levels 0, 85, 170, 255: exact histogram bins),
 * in 2x2 blocks (so the palette's 1-in-4 sample sees every one), mostly runs of one colour
 * broken up at random (seeded): every band has many colours with overlapping spans.
 */
function scattered(width: number, height: number, colors: number, seed: number): RgbFrame {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
  const pal: number[][] = [];
  while (pal.length < colors) {
    const c = [0, 0, 0].map(() => 85 * Math.floor(rand() * 4));
    if (!pal.some((p) => p.every((v, i) => v === c[i]))) pal.push(c);
  }
  const data = new Uint8Array(width * height * 3);
  for (let by = 0; by < height; by += 2) {
    for (let bx = 0; bx < width; bx += 2) {
      const c = pal[rand() < 0.3 ? Math.floor(rand() * colors) : Math.floor(bx / 14) % colors];
      for (let y = by; y < Math.min(height, by + 2); y++) for (let x = bx; x < Math.min(width, bx + 2); x++) data.set(c, (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

test('sixel: a picture of few distinct colours decodes back (ImageMagick) pixel for pixel, within the 0-100 colour precision', () => {
  for (const [w, h, colors, seed] of [[97, 40, 12, 1], [200, 31, 24, 7], [64, 6, 3, 3], [1024, 12, 40, 5]]) {
    const frame = scattered(w, h, colors, seed);
    const bytes = createRenderer('sixel').render(frame, { col: 0, row: 0, cols: 10, rows: 2, colors: 'truecolor' });
    const back = decode(bytes, w, h);
    assert.equal(back.data.length, frame.data.length, `${w}x${h}: decoded size`);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < frame.data.length; i++) {
      const d = Math.abs(back.data[i] - frame.data[i]);
      if (d > worst) [worst, at] = [d, i];
    }
    assert.ok(worst <= 2, `${w}x${h}, ${colors} colours: pixel ${Math.floor(at / 3)} off by ${worst}`);
  }
});
