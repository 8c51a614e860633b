import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer } from '../../../src/codec/render/index.js';
import { frameOf } from './frames.js';

test('ascii mono: a brightness ramp in the terminal colours, no colour escapes', () => {
  const frame = frameOf([[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]);
  const r = createRenderer('ascii');
  const target = { col: 4, row: 0, cols: 3, rows: 1, colors: 'mono' as const };
  assert.deepEqual(r.pixelSize(target), { width: 3, height: 1 });
  assert.equal(r.render(frame, target).toString(), '\x1b[1;5H +@');
  assert.equal(r.render(frame, target).length, 0);
});

test('ascii 16 colours: the hue as colour, the brightness as character', () => {
  const frame = frameOf([[[255, 0, 0], [0, 0, 0], [0, 128, 0]]]);
  const out = createRenderer('ascii').render(frame, { col: 0, row: 0, cols: 3, rows: 1, colors: 16 });
  assert.equal(out.toString(), '\x1b[1;1H\x1b[91m@ \x1b[92m+\x1b[0m');
});

test('ascii on a light background: the ramp inverted, dark pixels dense, white a space', () => {
  const frame = frameOf([[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]);
  const r = createRenderer('ascii', { lightBackground: true });
  assert.equal(r.render(frame, { col: 0, row: 0, cols: 3, rows: 1, colors: 'mono' }).toString(), '\x1b[1;1H@= ');
  // The dark default: the same picture the other way round.
  assert.equal(createRenderer('ascii').render(frame, { col: 0, row: 0, cols: 3, rows: 1, colors: 'mono' }).toString(), '\x1b[1;1H +@');
});

test('ascii 16 colours on a light background: coverage is the distance from white, ink the colour that gives the pixel', () => {
  // Pure red: full coverage in bright red. Pink: half coverage, still red ink. Dark green: dense green.
  const frame = frameOf([[[255, 0, 0], [255, 128, 128], [0, 160, 0], [255, 255, 255]]]);
  const out = createRenderer('ascii', { lightBackground: true }).render(frame, { col: 0, row: 0, cols: 4, rows: 1, colors: 16 }).toString();
  assert.equal(out, '\x1b[1;1H\x1b[91m@=\x1b[32m@ \x1b[0m');
});
