import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, kittyDeleteImage } from '../../../src/codec/render/index.js';
import { KITTY_CHUNK_BYTES, KITTY_MAX_AREA_PX } from '../../../src/codec/render/kitty.js';
import { frameOf, lavfiFrame } from './frames.js';

test('kitty: exact bytes of a one-pixel frame', () => {
  const r = createRenderer('kitty', { kittyImageId: 7337 });
  const out = r.render(frameOf([[[255, 0, 0]]]), { col: 3, row: 4, cols: 2, rows: 1, colors: 'truecolor' });
  assert.equal(out.toString('latin1'), '\x1b[5;4H\x1b_Ga=T,f=24,s=1,v=1,c=2,r=1,i=7337,p=1,q=2,C=1,m=0;/wAA\x1b\\');
  assert.equal(r.clear?.().toString('latin1'), '\x1b_Ga=d,d=I,i=7337,q=2\x1b\\');
});

test('kitty: two renderers (peer and self-view) use different image ids', () => {
  const px = frameOf([[[1, 2, 3]]]);
  const t = { col: 0, row: 0, cols: 1, rows: 1, colors: 'truecolor' as const };
  const id = (b: Buffer) => /i=(\d+)/.exec(b.toString('latin1'))?.[1];
  assert.notEqual(id(createRenderer('kitty').render(px, t)), id(createRenderer('kitty').render(px, t)));
});

test('kitty: a large frame in chunks of at most 4096 base64 bytes that decode back to the pixels', () => {
  const frame = lavfiFrame('testsrc2', 320, 240);
  const r = createRenderer('kitty');
  const target = { col: 0, row: 0, cols: 32, rows: 12, colors: 'truecolor' as const };
  const out = r.render(frame, target).toString('latin1');
  // eslint-disable-next-line no-control-regex -- APC escapes are what is being parsed
  const chunks = [...out.matchAll(/\x1b_G([^;]*);([^\x1b]*)\x1b\\/g)];
  assert.ok(chunks.length > 1);
  chunks.forEach((c, i) => {
    assert.ok(c[2].length <= KITTY_CHUNK_BYTES);
    assert.match(c[1], i === chunks.length - 1 ? /m=0$/ : /m=1$/);
    if (i > 0) assert.equal(c[1], i === chunks.length - 1 ? 'm=0' : 'm=1');
  });
  const data = Buffer.from(chunks.map((c) => c[2]).join(''), 'base64');
  assert.deepEqual(new Uint8Array(data), frame.data);
  assert.equal(r.render(frame, target).length, 0);
});

test('kitty: the frame size stays within the pixel budget', () => {
  const s = createRenderer('kitty').pixelSize({ col: 0, row: 0, cols: 200, rows: 60, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 });
  assert.ok(s.width * s.height <= KITTY_MAX_AREA_PX);
  assert.ok(Math.abs(s.width / s.height - 2000 / 1200) < 0.01);
  assert.equal(kittyDeleteImage().toString('latin1'), '\x1b_Ga=d,d=I,i=7337,q=2\x1b\\');
});
