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

test('blocks --dither: a flat colour between two palette colours becomes a mix of both, in proportion; still frames stay still', async () => {
  const { ditherMatrix } = await import('../../../src/codec/render/dither.js');
  const { XTERM_256 } = await import('../../../src/codec/render/palette.js');
  // Red 115 lies halfway between the cube's 95 and 135 (no grey is near a saturated colour).
  const w = 32, h = 32;
  const frame = { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i % 3 === 0 ? 115 : 0)) };
  const target = { col: 0, row: 0, cols: w, rows: h / 2, colors: 256 as const };
  const colours = (bytes: Buffer) => {
    const counts = new Map<number, number>();
    for (const m of bytes.toString('latin1').matchAll(/[34]8;5;(\d+)/g)) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    return counts;
  };
  const plain = colours(createRenderer('blocks').render(frame, target));
  assert.equal(plain.size, 1, 'without dithering: one colour');
  for (const dither of ['ordered', 'noise'] as const) {
    const r = createRenderer('blocks', { dither });
    const out = r.render(frame, target);
    const c = colours(out);
    const levels = [...c.keys()].map((i) => XTERM_256[i][0]).sort((a, b) => a - b);
    assert.deepEqual(levels, [95, 135], `${dither}: the two neighbouring reds`);
    const [a, b] = [...c.values()];
    assert.ok(Math.abs(a - b) / (a + b) < 0.3, `${dither}: about half and half (${a}, ${b})`);
    assert.equal(r.render(frame, target).length, 0, `${dither}: the same frame again costs nothing`);
  }
  // The thresholds are a permutation (every level once) and blue noise is even at every scale:
  // any 8x8 tile's mean stays near 0 (white noise strays far more).
  for (const kind of ['ordered', 'noise'] as const) {
    const m = ditherMatrix(kind)!;
    const sorted = [...m.offsets].sort((a, b) => a - b);
    sorted.forEach((v, i) => assert.ok(Math.abs(v - ((i + 0.5) / sorted.length - 0.5)) < 1e-6, `${kind}: uniform thresholds`));
    for (let ty = 0; ty < m.size; ty += 8) {
      for (let tx = 0; tx < m.size; tx += 8) {
        let sum = 0;
        for (let y = ty; y < ty + 8; y++) for (let x = tx; x < tx + 8; x++) sum += m.offsets[y * m.size + x];
        assert.ok(Math.abs(sum / 64) < 0.04, `${kind}: tile ${tx},${ty} mean ${(sum / 64).toFixed(3)}`);
      }
    }
  }
  // Truecolor needs no dithering: unchanged.
  const tc = { ...target, colors: 'truecolor' as const };
  assert.ok(createRenderer('blocks', { dither: 'ordered' }).render(frame, tc).equals(createRenderer('blocks').render(frame, tc)));
});
