import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRenderer } from '../../../src/codec/render/index.js';
import type { RenderTarget } from '../../../src/codec/render/types.js';
import { decodeIterm, decodePng } from './decoders.js';
import { lavfiFrame } from './frames.js';

const target: RenderTarget = { col: 4, row: 2, cols: 64, rows: 24, colors: 'truecolor', cellWidthPx: 10, cellHeightPx: 20 };

test('iterm: one OSC 1337 File= image over the target cells, a PNG that decodes to the frame exactly', () => {
  const r = createRenderer('iterm');
  assert.deepEqual(r.pixelSize(target), { width: 640, height: 480 });
  for (const source of ['testsrc2', 'mandelbrot']) {
    r.reset();
    const frame = lavfiFrame(source, 640, 480);
    const out = r.render(frame, target);
    const images = decodeIterm(out);
    assert.equal(images.length, 1, source);
    const [img] = images;
    assert.deepEqual([img.row, img.col], [2, 4], 'placed at the target');
    assert.equal(img.args.inline, '1');
    assert.equal(img.args.width, '64');
    assert.equal(img.args.height, '24');
    assert.equal(img.args.preserveAspectRatio, '0');
    assert.equal(Number(img.args.size), img.file.length, 'size= is the file size');
    const back = decodePng(img.file);
    assert.deepEqual([back.width, back.height], [640, 480]);
    assert.ok(Buffer.from(back.data).equals(Buffer.from(frame.data)), `${source}: lossless`);
    // An independent reader agrees: ImageMagick's PNG decoder gives the same pixels.
    const im = execFileSync('/usr/bin/convert', ['png:-', '-depth', '8', 'rgb:-'], { input: img.file, maxBuffer: 16 << 20 });
    assert.ok(im.equals(Buffer.from(frame.data)), `${source}: ImageMagick reads the same pixels`);
  }
});

test('iterm: the same frame again costs nothing; the size is capped at 640x480 px of area', () => {
  const r = createRenderer('iterm');
  const frame = lavfiFrame('testsrc2', 320, 240);
  const small = { ...target, cols: 32, rows: 12 };
  assert.ok(r.render(frame, small).length > 0);
  assert.equal(r.render(frame, small).length, 0);
  const big = r.pixelSize({ ...target, cols: 200, rows: 60 });
  assert.ok(big.width * big.height <= 640 * 480 && big.width / big.height > 1.6, JSON.stringify(big));
});

test('iterm inside tmux: the OSC wrapped for passthrough, the cursor move outside', () => {
  const frame = lavfiFrame('testsrc2', 64, 48);
  const out = createRenderer('iterm', { tmuxPassthrough: true }).render(frame, { ...target, cols: 8, rows: 3 }).toString('latin1');
  assert.ok(out.startsWith('\x1b[3;5H\x1bPtmux;\x1b\x1b]1337;File='), JSON.stringify(out.slice(0, 40)));
  assert.ok(out.endsWith('\x07\x1b\\'));
});
