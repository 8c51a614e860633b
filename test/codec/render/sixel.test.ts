import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRenderer, psnr } from '../../../src/codec/render/index.js';
import { SIXEL_FULL_REFRESH_FRAMES, SIXEL_MAX_HEIGHT_PX, SIXEL_MAX_WIDTH_PX } from '../../../src/codec/render/sixel.js';
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

/** Every sixel image in `bytes` with the cell row its cursor move puts it on (CSI row ; col H, 1-based). */
function imagesOf(bytes: Buffer): { row: number; image: Buffer }[] {
  const text = bytes.toString('latin1');
  const out: { row: number; image: Buffer }[] = [];
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  const re = new RegExp('\\x1b\\[(\\d+);(\\d+)H(\\x1bP[^\\x1b]*\\x1b\\\\)', 'g');
  for (const m of text.matchAll(re)) out.push({ row: Number(m[1]) - 1, image: Buffer.from(m[3], 'latin1') });
  return out;
}

/** Paint decoded images onto `screen` (a picture `width` wide) as a terminal would: each at its cell row. */
function paint(screen: Uint8Array, width: number, bytes: Buffer, cellH: number, targetRow: number): void {
  for (const { row, image } of imagesOf(bytes)) {
    const height = Number(/"1;1;\d+;(\d+)/.exec(image.toString('latin1'))?.[1]);
    const px = decode(image, width, height);
    screen.set(px.data.subarray(0, width * height * 3), (row - targetRow) * cellH * width * 3);
  }
}

test('sixel changed rows: a change in one cell row redraws that row only, placed where it belongs; the screen then matches the frame', () => {
  const cellH = 13;
  const target: RenderTarget = { col: 3, row: 2, cols: 32, rows: 18, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: cellH };
  const first = lavfiFrame('testsrc2', 320, 234);
  const r = createRenderer('sixel');
  const full = r.render(first, target);
  assert.equal(imagesOf(full).length, 1);
  const screen = new Uint8Array(first.data.length);
  paint(screen, 320, full, cellH, target.row);
  // A white box over pixel rows 28..45: cell rows 2 and 3 of the picture.
  const second = { ...first, data: Uint8Array.from(first.data) };
  for (let y = 28; y <= 45; y++) for (let x = 100; x < 140; x++) second.data.fill(255, (y * 320 + x) * 3, (y * 320 + x) * 3 + 3);
  const update = r.render(second, target);
  const images = imagesOf(update);
  assert.deepEqual(images.map((i) => i.row), [target.row + 2], 'one image, at the first changed cell row');
  assert.match(images[0].image.toString('latin1'), /"1;1;320;26#/, 'two cell rows tall');
  assert.ok(update.length < full.length / 4, `${update.length} bytes vs ${full.length} for the whole picture`);
  paint(screen, 320, update, cellH, target.row);
  const quality = psnr({ width: 320, height: 234, data: screen }, second);
  assert.ok(quality >= 30, `screen after the update: PSNR ${quality.toFixed(1)} dB`);
});

test('sixel changed rows: a small change (a tenth of a block) is left for the refresh; noise below the threshold sends nothing, a full picture comes every SIXEL_FULL_REFRESH_FRAMES, and no cell height means full frames', () => {
  const target: RenderTarget = { col: 0, row: 0, cols: 32, rows: 12, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 };
  const base = lavfiFrame('testsrc2', 320, 240);
  const noisy = (k: number) => ({ ...base, data: base.data.map((v, i) => Math.max(0, Math.min(255, v + (((i * 7 + k * 13) % 9) - 4)))) });
  const r = createRenderer('sixel');
  assert.ok(r.render(base, target).length > 1000);
  const speck = { ...base, data: Uint8Array.from(base.data) };
  speck.data.fill(255, (100 * 320 + 50) * 3, (100 * 320 + 52) * 3);
  assert.equal(r.render(speck, target).length, 0, 'two changed pixels');
  let sent = 0;
  let fulls = 0;
  for (let k = 1; k <= SIXEL_FULL_REFRESH_FRAMES + 1; k++) {
    const out = r.render(noisy(k), target);
    if (out.length > 0) {
      sent++;
      if (/"1;1;320;240#/.test(out.toString('latin1'))) fulls++;
    }
  }
  assert.equal(sent, 1, 'only the periodic refresh is sent for noise');
  assert.equal(fulls, 1);
  // Without the cell height, rows cannot be placed: every changed frame is drawn whole.
  const blind = createRenderer('sixel');
  const t2 = { ...target, cellHeightPx: undefined };
  blind.render(base, t2);
  assert.match(blind.render(noisy(1), t2).toString('latin1'), /"1;1;320;240#/);
});

test('sixel changed rows inside tmux: each image wrapped on its own, the cursor moves left to tmux', () => {
  const target: RenderTarget = { col: 0, row: 0, cols: 32, rows: 12, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 };
  const base = lavfiFrame('testsrc2', 320, 240);
  const r = createRenderer('sixel', { tmuxPassthrough: true });
  r.render(base, target);
  const next = { ...base, data: Uint8Array.from(base.data) };
  next.data.fill(255, 5 * 320 * 3, 13 * 320 * 3); // pixel rows 5-12: cell row 0
  next.data.fill(255, 200 * 320 * 3, 208 * 320 * 3); // pixel rows 200-207: cell row 10
  const text = r.render(next, target).toString('latin1');
  assert.equal(text.split('\x1bPtmux;').length - 1, 2, 'two wrapped images');
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  assert.match(text, new RegExp('^\\x1b\\[1;1H\\x1bPtmux;\\x1b\\x1bP'));
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  assert.match(text, new RegExp('\\x1b\\\\\\x1b\\[11;1H\\x1bPtmux;'), 'the second cursor move is outside the wrapper');
});
