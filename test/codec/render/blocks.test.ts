import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, reconstructPixels, wrapSynchronized, psnr } from '../../../src/codec/render/index.js';
import { boxDownscale } from '../../../src/codec/render/quality.js';
import type { RenderTarget } from '../../../src/codec/render/types.js';
import { frameOf, lavfiFrame } from './frames.js';

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];
const WHITE: [number, number, number] = [255, 255, 255];
const tiny = frameOf([[RED, GREEN], [RED, BLUE]]);
const target = (colors: RenderTarget['colors']): RenderTarget => ({ col: 1, row: 2, cols: 2, rows: 1, colors });

test('blocks: exact truecolor bytes, a space where both halves match, one SGR per change', () => {
  const out = createRenderer('blocks').render(tiny, target('truecolor')).toString();
  assert.equal(out, '\x1b[3;2H\x1b[48;2;255;0;0m \x1b[38;2;0;255;0;48;2;0;0;255m▀\x1b[0m');
});

test('blocks: 256 and 16 colours through the palette tables', () => {
  assert.equal(createRenderer('blocks').render(tiny, target(256)).toString(), '\x1b[3;2H\x1b[48;5;196m \x1b[38;5;46;48;5;21m▀\x1b[0m');
  assert.equal(createRenderer('blocks').render(tiny, target(16)).toString(), '\x1b[3;2H\x1b[101m \x1b[92;44m▀\x1b[0m');
});

test('blocks: no redundant colour escape in a run of equal cells', () => {
  const row = frameOf([[RED, RED, RED], [BLUE, BLUE, BLUE]]);
  const out = createRenderer('blocks').render(row, { col: 0, row: 0, cols: 3, rows: 1, colors: 'truecolor' }).toString();
  assert.equal(out, '\x1b[1;1H\x1b[38;2;255;0;0;48;2;0;0;255m▀▀▀\x1b[0m');
});

test('blocks: an identical second frame costs nothing, a change redraws only its cell, reset redraws all', () => {
  const r = createRenderer('blocks');
  const first = r.render(tiny, target('truecolor'));
  assert.equal(r.render(tiny, target('truecolor')).length, 0);
  const changed = frameOf([[RED, WHITE], [RED, BLUE]]);
  assert.equal(r.render(changed, target('truecolor')).toString(), '\x1b[3;3H\x1b[38;2;255;255;255;48;2;0;0;255m▀\x1b[0m');
  r.reset();
  assert.equal(r.render(tiny, target('truecolor')).length, first.length);
});

test('blocks: a 160x48 testsrc2 frame, its identical successor under 64 bytes, reconstruction matches the input', () => {
  const t: RenderTarget = { col: 0, row: 0, cols: 160, rows: 48, colors: 'truecolor' };
  const r = createRenderer('blocks');
  assert.deepEqual(r.pixelSize(t), { width: 160, height: 96 });
  const frame = lavfiFrame('testsrc2', 160, 96);
  const bytes = r.render(frame, t);
  assert.ok(bytes.length > 10_000);
  assert.ok(wrapSynchronized(r.render(frame, t)).length < 64);
  // Truecolor half-blocks are lossless at their own resolution: reconstruct at 2x6 per cell, shrink to 1x2.
  const back = boxDownscale(reconstructPixels([bytes], t), 2, 3);
  assert.equal(psnr(back, frame), Infinity);
});

test('wrapSynchronized: begin and end of mode 2026 around the bytes, empty stays empty', () => {
  assert.equal(wrapSynchronized(Buffer.from('x')).toString(), '\x1b[?2026hx\x1b[?2026l');
  assert.equal(wrapSynchronized(Buffer.alloc(0)).length, 0);
});
