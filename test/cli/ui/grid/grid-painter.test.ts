import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createRenderer } from '../../../../src/codec/render/index.js';
import type { RenderMode, Renderer } from '../../../../src/codec/render/types.js';
import { TerminalSurface } from '../../../../src/cli/ui/terminal-surface.js';
import { GridPainter, SELF_TILE, type GridPainterLayout } from '../../../../src/cli/ui/grid/grid-painter.js';
import { layoutGrid } from '../../../../src/cli/ui/grid/grid-layout.js';
import { FakeRoomSession } from '../../../helpers/fake-room-session.js';
import { makeFrame } from '../../../helpers/fake-session.js';
import { VirtualTerminal } from '../virtual-terminal.js';

const COLOURS: Record<number, [number, number, number]> = { 1: [200, 0, 0], 2: [0, 200, 0], 3: [0, 0, 200], 4: [200, 200, 0] };

function setup(cols = 120, rows = 40, factory: (mode: RenderMode) => Renderer = (mode) => createRenderer(mode), share?: number, paintSliceMs = 10_000) {
  const vt = new VirtualTerminal(cols, rows);
  const written: string[] = [];
  const out = { write: (d: string | Uint8Array) => { written.push(typeof d === 'string' ? d : Buffer.from(d).toString('latin1')); return vt.write(d); }, get columns() { return vt.columns; }, get rows() { return vt.rows; } };
  const surface = new TerminalSurface(out);
  const session = new FakeRoomSession();
  // A long time slice by default: a loaded machine must not split what a test expects in one write.
  const painter = new GridPainter({ surface, controls: session, createRenderer: factory, colors: 'truecolor', paintSliceMs, ...(share ? { maxPaintShare: share } : {}) });
  surface.write(`${'\n'.repeat(rows - 3)}notice\nSTATUS\nline two`);
  const layout = (extra: Partial<GridPainterLayout> = {}): GridPainterLayout => ({
    area: { col: 0, row: 0, cols, rows: rows - 3 },
    mode: 'blocks',
    selfView: true,
    self: { muted: false, cameraOff: false },
    ...extra,
  });
  const frame = (id: number) => {
    const size = session.videoSize ?? { width: 40, height: 30 };
    return makeFrame(size.width, size.height, () => COLOURS[id] ?? [90, 90, 90]);
  };
  return { vt, surface, session, painter, layout, frame, written };
}

const bgAt = (vt: VirtualTerminal, row: number, col: number) => vt.cells[row]![col]!.bg;
const textAt = (vt: VirtualTerminal, row: number, col: number, n: number) => vt.cells[row]!.slice(col, col + n).map((c) => c.ch).join('');

test('each member gets a tile at the layout\'s place, with its picture and its label', async () => {
  const { vt, painter, layout, frame, session } = setup();
  painter.setLayout(layout());
  for (const id of [1, 2, 3]) painter.memberJoined(id, { name: `m${id}` });
  const expected = layoutGrid(layout().area!, 4).tiles;
  // All tiles one size: the decoders are asked for it once per size change.
  assert.deepEqual(session.videoSize, { width: expected[0]!.picture.cols, height: expected[0]!.picture.rows * 2 });
  const flushes = painter.counters.flushes;
  for (const id of [1, 2, 3]) painter.onMemberFrame(id, frame(id));
  painter.onSelfFrame(frame(9));
  await nextTurn();
  for (const [i, id] of [1, 2, 3].entries()) {
    const p = expected[i]!.picture;
    assert.equal(bgAt(vt, p.row + 1, p.col + 1), COLOURS[id]!.join(','), `member ${id}'s colour in tile ${i}`);
    assert.match(textAt(vt, expected[i]!.label.row, expected[i]!.label.col, expected[i]!.label.cols), new RegExp(`m${id}`));
  }
  const self = expected[3]!;
  assert.equal(bgAt(vt, self.picture.row + 1, self.picture.col + 1), '90,90,90', 'self-view in the last tile');
  assert.match(textAt(vt, self.label.row, self.label.col, self.label.cols), /you/);
  assert.equal(session.selfView, true, 'self frames asked for');
  assert.equal(painter.counters.flushes - flushes, 1, 'frames that came together went out in one write');
});

test('a member leaving re-flows the grid and the others keep their pictures', async () => {
  const { vt, painter, layout, frame } = setup();
  painter.setLayout(layout());
  for (const id of [1, 2, 3, 4]) painter.memberJoined(id, { name: `m${id}` });
  for (const id of [1, 2, 3, 4]) painter.onMemberFrame(id, frame(id));
  await nextTurn();
  painter.memberLeft(2);
  // Redrawn at once from the last frames, without waiting for new ones.
  const expected = layoutGrid(layout().area!, 4).tiles;
  for (const [i, id] of [1, 3, 4].entries()) {
    const p = expected[i]!.picture;
    assert.equal(bgAt(vt, p.row + 1, p.col + 1), COLOURS[id]!.join(','), `member ${id} in tile ${i} after the re-flow`);
  }
  assert.deepEqual([...painter.tileBoxes.keys()], [1, 3, 4, SELF_TILE]);
  assert.ok(!vt.cells.some((row) => row.map((c) => c.ch).join('').includes('m2')), 'no label left for the member who left');
});

test('a tile without a picture says why; the self tile follows our camera state', async () => {
  const { vt, painter, layout } = setup();
  painter.setLayout(layout());
  painter.memberJoined(1, { name: 'Ann' });
  painter.memberJoined(2, { name: 'Ben', cameraOff: true });
  await nextTurn();
  const screen = () => vt.cells.map((r) => r.map((c) => c.ch).join('')).join('\n');
  assert.match(screen(), /connecting…/, 'no frame yet');
  assert.match(screen(), /camera off/);
  painter.setLayout(layout({ self: { muted: true, cameraOff: true } }));
  await nextTurn();
  assert.match(screen(), /you {2}muted, camera off/);
});

test('the loudest speaker is highlighted; hidden tiles make way for the speaker', async () => {
  let now = 0;
  const vt = new VirtualTerminal(40, 10);
  const surface = new TerminalSurface({ write: vt.write, columns: 40, rows: 10 });
  const session = new FakeRoomSession();
  const painter = new GridPainter({ surface, controls: session, createRenderer: (m) => createRenderer(m), colors: 'truecolor', now: () => now });
  painter.setLayout({ area: { col: 0, row: 0, cols: 40, rows: 7 }, mode: 'blocks', selfView: true, self: { muted: false, cameraOff: false } });
  for (let id = 1; id <= 6; id++) painter.memberJoined(id, { name: `n${id}` });
  assert.deepEqual([...painter.tileBoxes.keys()], [1, 2, 3, 4], 'four fit; the self-view goes first, then the last to join');
  now = 100;
  painter.memberLevel(6, 0.5, true);
  painter.memberLevel(2, 0.3, true);
  assert.equal(painter.activeSpeaker, 6);
  assert.deepEqual([...painter.tileBoxes.keys()], [1, 2, 3, 6], 'the speaker is shown, in join order');
  await nextTurn();
  const row = vt.cells[layoutGrid({ col: 0, row: 0, cols: 40, rows: 7 }, 4).tiles[3]!.label.row]!;
  assert.match(row.map((c) => c.ch).join(''), /» n6/);
});

test('the paint budget batches tiles: frames that come while it waits replace each other', async () => {
  const { painter, layout, frame } = setup(120, 40, (m) => createRenderer(m), 0.5);
  painter.setLayout(layout());
  for (let id = 1; id <= 4; id++) painter.memberJoined(id, {});
  for (let round = 0; round < 20; round++) {
    for (let id = 1; id <= 4; id++) painter.onMemberFrame(id, frame(((round + id) % 4) + 1));
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(painter.counters.framesSkipped >= 60, `skipped ${painter.counters.framesSkipped}`);
  assert.ok(painter.counters.tilesPainted <= 12, `painted ${painter.counters.tilesPainted}`);
  painter.close();
});

test('kitty: one image per tile; a member who leaves has its image deleted', async () => {
  const { painter, layout, frame, written } = setup(120, 40, (m) => createRenderer(m));
  painter.setLayout(layout({ mode: 'kitty' }));
  for (const id of [1, 2]) painter.memberJoined(id, {});
  for (const id of [1, 2]) painter.onMemberFrame(id, frame(id));
  await nextTurn();
  // eslint-disable-next-line no-control-regex -- ESC is what kitty's escapes start with
  const ids = new Set([...written.join('').matchAll(/\x1b_Ga=T[^;]*i=(\d+)/g)].map((m) => m[1]));
  assert.equal(ids.size, 2, 'two members, two image ids');
  const before = written.length;
  painter.memberLeft(1);
  // eslint-disable-next-line no-control-regex -- as above
  assert.match(written.slice(before).join(''), /\x1b_Ga=d,d=I,i=\d+/, 'the leaver\'s image deleted');
  painter.close();
});

test('renderers of tiles that went away are reused: members coming and going make no new ones', async () => {
  let made = 0;
  const { painter, layout } = setup(120, 40, (m) => { made++; return createRenderer(m); });
  painter.setLayout(layout());
  painter.memberJoined(1, {});
  const afterFirst = made;
  for (let id = 2; id < 40; id++) {
    painter.memberJoined(id, {});
    painter.memberLeft(id);
  }
  assert.ok(made - afterFirst <= 2, `made ${made - afterFirst} more for 38 members who came and went`);
  painter.close();
});

test('no area (help, waiting): the rows go back and nothing is drawn', async () => {
  const { painter, layout, frame, surface } = setup();
  painter.setLayout(layout());
  painter.memberJoined(1, {});
  painter.setLayout(layout({ area: null }));
  const writes = surface.counters.videoWrites;
  painter.onMemberFrame(1, frame(1));
  await nextTurn();
  assert.equal(surface.counters.videoWrites, writes);
  assert.equal(painter.tileBoxes.size, 0);
});

test('one paint yields after its time slice; the tiles left over go first next time', async () => {
  /** A renderer that takes 10 ms a frame (a sixel tile on a loaded machine). */
  const slow = (): Renderer => {
    const inner = createRenderer('blocks');
    return { ...inner, mode: 'blocks', pixelSize: (t) => inner.pixelSize(t), reset: () => inner.reset(), render: (f, t) => { const end = performance.now() + 10; while (performance.now() < end); return inner.render(f, t); } };
  };
  const { painter, layout, frame } = setup(120, 40, slow, undefined, 16);
  painter.setLayout(layout({ selfView: false }));
  for (let id = 1; id <= 4; id++) painter.memberJoined(id, {});
  await new Promise((r) => setTimeout(r, 50));
  const flushes = painter.counters.flushes;
  const painted = painter.counters.tilesPainted;
  for (let id = 1; id <= 4; id++) painter.onMemberFrame(id, frame(id));
  await nextTurn();
  assert.equal(painter.counters.tilesPainted - painted, 2, 'two tiles of 10 ms, then the slice is over');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(painter.counters.tilesPainted - painted, 4, 'the other two in the next paint');
  assert.ok(painter.counters.flushes - flushes >= 2);
  assert.ok(painter.counters.paintMsMax < 40, `no paint much longer than the slice (${painter.counters.paintMsMax.toFixed(1)} ms)`);
  painter.close();
});

test('a member whose video stops says "no video" in its label; one who never sent any, in its tile', async () => {
  let now = 0;
  const vt = new VirtualTerminal(120, 40);
  const surface = new TerminalSurface({ write: vt.write, columns: 120, rows: 40 });
  const session = new FakeRoomSession();
  const painter = new GridPainter({ surface, controls: session, createRenderer: (m) => createRenderer(m), colors: 'truecolor', now: () => now });
  painter.setLayout({ area: { col: 0, row: 0, cols: 120, rows: 37 }, mode: 'blocks', selfView: false, self: { muted: false, cameraOff: false } });
  painter.memberJoined(1, { name: 'Ann' });
  painter.memberJoined(2, { name: 'Ben' });
  const size = session.videoSize!;
  painter.onMemberFrame(1, makeFrame(size.width, size.height, () => [200, 0, 0]));
  const screen = () => vt.cells.map((r) => r.map((c) => c.ch).join('')).join('\n');
  now = 2000;
  painter.stats([]);
  await nextTurn();
  assert.doesNotMatch(screen(), /no video/);
  assert.match(screen(), /connecting…/, 'Ben: nothing yet, still connecting');
  now = 7000;
  painter.stats([]);
  await nextTurn();
  assert.match(screen(), /Ann {2}no video/, "Ann's frames stopped: her label says so, her last picture stays");
  assert.doesNotMatch(screen(), /connecting…/);
  const ben = painter.tileBoxes.get(2)!.picture;
  assert.match(vt.cells[ben.row + Math.floor((ben.rows - 1) / 2)]!.map((c) => c.ch).join(''), /no video/, "Ben's tile says no video");
  painter.onMemberFrame(1, makeFrame(size.width, size.height, () => [200, 0, 0]));
  await nextTurn();
  assert.doesNotMatch(screen(), /Ann {2}no video/, 'a frame again: the flag goes');
  painter.close();
});

test('r (another mode): kitty images deleted, every tile drawn again in the new mode from its last frame', async () => {
  const { vt, painter, layout, frame, written } = setup();
  painter.setLayout(layout({ mode: 'kitty', selfView: false }));
  for (const id of [1, 2]) painter.memberJoined(id, {});
  for (const id of [1, 2]) painter.onMemberFrame(id, frame(id));
  await nextTurn();
  const before = written.length;
  painter.setLayout(layout({ mode: 'blocks', selfView: false }));
  await nextTurn();
  const after = written.slice(before).join('');
  // eslint-disable-next-line no-control-regex -- kitty's delete escape
  assert.equal([...after.matchAll(/\x1b_Ga=d,d=I,i=\d+/g)].length, 2, 'both images deleted');
  const expected = layoutGrid(layout().area!, 2).tiles;
  for (const [i, id] of [1, 2].entries()) {
    const p = expected[i]!.picture;
    assert.equal(bgAt(vt, p.row + 1, p.col + 1), COLOURS[id]!.join(','), `member ${id} in blocks without a new frame`);
  }
  painter.close();
});
