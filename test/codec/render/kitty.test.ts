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

test('kitty placeholders: the frame to a virtual placement of the target cells; cells carry U+10EEEE, row diacritics and the id', async () => {
  const { decodeKitty, placeholderRuns } = await import('./decoders.js');
  const { KITTY_DIACRITICS } = await import('../../../src/codec/render/kitty-placeholders.js');
  const frame = { width: 40, height: 30, data: Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) & 255) };
  const target = { col: 3, row: 2, cols: 12, rows: 5, colors: 'truecolor' as const };
  const r = createRenderer('kitty', { kittyPlaceholders: true, kittyImageId: 0x5a1234 });
  const out = r.render(frame, target);
  const [cmd, ...more] = decodeKitty(out);
  assert.equal(more.length, 0);
  assert.equal(cmd.control.U, '1', 'a virtual placement');
  assert.deepEqual([cmd.control.i, cmd.control.c, cmd.control.r, cmd.control.s, cmd.control.v, cmd.control.f], [String(0x5a1234), '12', '5', '40', '30', '24']);
  assert.ok(cmd.payload.equals(Buffer.from(frame.data)), 'the pixels, exactly');
  // The cells as a terminal shows them: paint the text escapes onto a grid, then read it back.
  const grid: string[][] = Array.from({ length: 8 }, () => Array.from({ length: 20 }, () => ' '));
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  const text = out.toString('utf8').replace(new RegExp('\\x1b_G[^\\x1b]*\\x1b\\\\', 'g'), '');
  let row = 0, col = 0, sgr = '';
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  for (const m of text.matchAll(new RegExp('\\x1b\\[(\\d+);(\\d+)H|\\x1b\\[([\\d;]*)m|([\\s\\S])', 'gu'))) {
    if (m[1]) [row, col] = [Number(m[1]) - 1, Number(m[2]) - 1];
    else if (m[3] !== undefined) sgr = m[3] === '39' ? '' : `\x1b[${m[3]}m`;
    else if (KITTY_DIACRITICS.includes(m[4].codePointAt(0) ?? 0)) grid[row][col - 1] += m[4];
    else grid[row][col++] = sgr + m[4];
  }
  const runs = placeholderRuns(grid.map((l) => l.join('')).join('\n'), KITTY_DIACRITICS);
  assert.deepEqual(runs.map((x) => [x.line, x.col, x.cells, x.imageId, x.row, x.firstColumn]),
    [0, 1, 2, 3, 4].map((k) => [2 + k, 3, 12, 0x5a1234, k, 0]));
  // The next frame only replaces the image: the cells stay (tmux keeps them).
  const next = r.render({ ...frame, data: frame.data.map((v) => 255 - v) }, target);
  assert.ok(!next.toString('utf8').includes('\u{10EEEE}'));
  assert.equal(decodeKitty(next).length, 1);
  // Moved: the cells are written again.
  assert.ok(r.render({ ...frame, data: frame.data.map((v) => 255 - v) }, { ...target, row: 3 }).toString('utf8').includes('\u{10EEEE}'));
  // 256-colour ids for a tmux without RGB.
  const c256 = createRenderer('kitty', { kittyPlaceholders: true, kittyPlaceholderColors: 256 }).render(frame, target).toString('utf8');
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  assert.match(c256, new RegExp('\\x1b\\[38;5;(\\d+)m\u{10EEEE}'));
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  const id256 = Number(new RegExp('\\x1b\\[38;5;(\\d+)m').exec(c256)?.[1]);
  assert.ok(id256 > 0 && id256 < 256 && c256.includes(`i=${id256},`), 'the same 8-bit id in the cells and the image');
});

test('kitty with a transfer: one escape naming the object (t=s / t=t, S = the frame bytes), no pixels in the stream; a failed put goes direct', () => {
  const frame = { width: 4, height: 2, data: Uint8Array.from({ length: 24 }, (_, i) => i * 10) };
  const target = { col: 1, row: 0, cols: 2, rows: 1, colors: 'truecolor' as const };
  const stored: Uint8Array[] = [];
  const shm = createRenderer('kitty', { kittyImageId: 9, kittyTransfer: { medium: 's', put: (d) => { stored.push(Uint8Array.from(d)); return '/videochat-tty-graphics-protocol-1-0'; } } });
  assert.equal(shm.render(frame, target).toString('latin1'),
    `\x1b[1;2H\x1b_Ga=T,f=24,t=s,S=24,s=4,v=2,c=2,r=1,i=9,p=1,q=2,C=1;${Buffer.from('/videochat-tty-graphics-protocol-1-0').toString('base64')}\x1b\\`);
  assert.deepEqual(stored, [frame.data]);
  const file = createRenderer('kitty', { kittyImageId: 9, kittyTransfer: { medium: 't', put: () => '/tmp/x-tty-graphics-protocol' } });
  // eslint-disable-next-line no-control-regex -- APC escapes are what is matched
  assert.match(file.render(frame, target).toString('latin1'), /\x1b_Ga=T,f=24,t=t,S=24,/);
  const full = createRenderer('kitty', { kittyImageId: 9, kittyTransfer: { medium: 's', put: () => { throw new Error('ENOSPC'); } } });
  assert.equal(full.render(frame, target).toString('latin1'), `\x1b[1;2H\x1b_Ga=T,f=24,s=4,v=2,c=2,r=1,i=9,p=1,q=2,C=1,m=0;${Buffer.from(frame.data).toString('base64')}\x1b\\`);
});
