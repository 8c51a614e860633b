import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer } from '../../../src/codec/render/index.js';
import type { RenderMode, Renderer } from '../../../src/codec/render/types.js';
import { TerminalSurface } from '../../../src/cli/ui/terminal-surface.js';
import { VideoPainter, type PainterLayout } from '../../../src/cli/ui/video-painter.js';
import { FakeSession, makeFrame } from '../../helpers/fake-session.js';
import { VirtualTerminal } from './virtual-terminal.js';
import { StubBlocksRenderer } from './stub-renderer.js';

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];

function setup(cols = 80, rows = 24, factory: (mode: RenderMode) => Renderer = (mode) => createRenderer(mode)) {
  const vt = new VirtualTerminal(cols, rows);
  const out = { write: vt.write, get columns() { return vt.columns; }, get rows() { return vt.rows; } };
  const surface = new TerminalSurface(out);
  const session = new FakeSession();
  const painter = new VideoPainter({ surface, controls: session, createRenderer: factory, colors: 'truecolor' });
  // What Ink would draw: blank video rows, then a status row.
  const inkFrame = (r: number) => `${'\n'.repeat(r - 3)}notice\nSTATUS apple-river\nline two`;
  surface.write(inkFrame(rows));
  const layout = (r = rows, c = cols, extra: Partial<PainterLayout> = {}): PainterLayout => ({
    area: { col: 0, row: 0, cols: c, rows: r - 3 },
    mode: 'blocks',
    selfView: true,
    source: { width: 320, height: 240 },
    ...extra,
  });
  return { vt, surface, session, painter, layout, inkFrame };
}

test('taking the area asks the decoder for the picture size in renderer pixels and for a keyframe', () => {
  const { painter, session, layout } = setup();
  painter.setLayout(layout());
  // 4:3 in 80x21 cells of 1:2 -> 56x21 cells -> 56x42 half-block pixels.
  assert.deepEqual(session.videoSize, { width: 56, height: 42 });
  assert.equal(session.callsNamed('requestKeyframe').length, 1);
  assert.deepEqual(painter.pictureBox, { col: 12, row: 0, cols: 56, rows: 21 });
});

test('a peer frame lands in the picture box, and the status rows stay intact', () => {
  const { vt, painter, session, layout } = setup();
  painter.setLayout(layout());
  assert.ok(session.emitFrame(() => RED));
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  assert.equal(vt.bgAt(0, 12), '255,0,0');
  assert.equal(vt.bgAt(20, 67), '255,0,0');
  assert.equal(vt.bgAt(10, 11), '', 'left of the picture is empty');
  assert.equal(vt.bgAt(10, 68), '', 'right of the picture is empty');
  assert.match(vt.text(22), /^STATUS apple-river/);
  assert.match(vt.text(23), /^line two/);
  assert.equal(painter.counters.framesPainted, 1);
});

test('a frame of the old size right after a resize is scaled, not dropped or drawn wrong', () => {
  const { vt, painter, layout } = setup();
  painter.setLayout(layout());
  painter.onVideoFrame(makeFrame(100, 50, () => GREEN));
  assert.equal(painter.counters.framesRescaled, 1);
  assert.equal(vt.bgAt(20, 67), '0,255,0');
  assert.equal(vt.bgAt(20, 68), '');
});

test('resize: the screen is cleared, the new size requested with a keyframe, nothing left of the old picture', () => {
  const { vt, surface, painter, session, layout, inkFrame } = setup();
  painter.setLayout(layout());
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  vt.resize(40, 14);
  surface.invalidate();
  surface.write(inkFrame(14));
  painter.setLayout(layout(14, 40));
  // 40x11 cells -> 4:3 is 29x11 -> 29x22 pixels.
  assert.deepEqual(session.videoSize, { width: 29, height: 22 });
  assert.equal(session.callsNamed('requestKeyframe').length, 2);
  for (let r = 0; r < 11; r++) for (let c = 0; c < 40; c++) assert.equal(vt.bgAt(r, c), '', `cell ${r},${c} cleared`);
  painter.onVideoFrame(makeFrame(29, 22, () => GREEN));
  assert.equal(vt.bgAt(0, 5), '0,255,0');
  assert.equal(vt.bgAt(0, 4), '');
  assert.match(vt.text(12), /^STATUS apple-river/);
});

test('a resize to the same size still redraws everything (the terminal was cleared)', () => {
  const { vt, surface, painter, layout, inkFrame } = setup();
  painter.setLayout(layout());
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  surface.invalidate();
  surface.write(inkFrame(24));
  painter.setLayout(layout());
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  // The delta renderer saw the same frame twice; only a reset makes it draw again.
  assert.equal(vt.bgAt(5, 30), '255,0,0');
});

test('self-view: drawn in the bottom-right corner and kept on top of peer frames; p hides it', () => {
  const { vt, painter, layout } = setup();
  painter.setLayout(layout());
  painter.onSelfFrame(makeFrame(320, 240, () => GREEN));
  const pip = painter.selfViewBox!;
  assert.ok(pip, 'a self-view box');
  assert.equal(pip.col + pip.cols, 68);
  assert.equal(pip.row + pip.rows, 21);
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  assert.equal(vt.bgAt(20, 67), '0,255,0', 'self-view on top');
  assert.equal(vt.bgAt(0, 12), '255,0,0');
  painter.setLayout(layout(24, 80, { selfView: false }));
  assert.equal(painter.selfViewBox, null);
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  assert.equal(vt.bgAt(20, 67), '255,0,0', 'self-view gone');
});

test('the rows go back to Ink when the video is not live (overlay), and are rewritten from its frame', () => {
  const { vt, surface, painter, layout } = setup();
  painter.setLayout(layout());
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  surface.write(`help text\n${'\n'.repeat(19)}notice\nSTATUS apple-river\nline two`);
  assert.equal(vt.text(0).trim(), '', 'Ink does not draw over the video while the rows are reserved');
  painter.setLayout(layout(24, 80, { area: null }));
  assert.match(vt.text(0), /^help text/);
  const before = painter.counters.framesPainted;
  painter.onVideoFrame(makeFrame(56, 42, () => RED));
  assert.equal(painter.counters.framesPainted, before, 'no painting over the overlay');
});

test('changing the render mode makes a new renderer; same pixel size needs no keyframe', () => {
  const made: RenderMode[] = [];
  const { painter, session, layout } = setup(80, 24, (mode) => {
    made.push(mode);
    return new StubBlocksRenderer(mode);
  });
  painter.setLayout(layout());
  painter.setLayout(layout(24, 80, { mode: 'ascii' }));
  assert.deepEqual(made, ['blocks', 'blocks', 'ascii', 'ascii']);
  assert.equal(session.callsNamed('requestKeyframe').length, 1);
});

test('prepare (peer joined): the decoder is told the size before it starts, so the first layout restarts nothing', () => {
  const { painter, session, layout } = setup();
  painter.prepare(layout());
  assert.deepEqual(session.videoSize, { width: 56, height: 42 });
  assert.equal(session.callsNamed('requestKeyframe').length, 1);
  painter.setLayout(layout());
  assert.equal(session.callsNamed('setVideoSize').length, 1, 'the layout wants the prepared size: no second setVideoSize');
  assert.equal(session.callsNamed('requestKeyframe').length, 1, 'nor another keyframe');
});

/** Busy-waits: a renderer as slow as sixel on a loaded machine. */
class SlowRenderer extends StubBlocksRenderer {
  constructor(private readonly costMs: number) {
    super('blocks');
  }

  override render(frame: Parameters<StubBlocksRenderer['render']>[0], target: Parameters<StubBlocksRenderer['render']>[1]): Buffer {
    const until = performance.now() + this.costMs;
    while (performance.now() < until) { /* the cost of a real render */ }
    return super.render(frame, target);
  }
}

test('paint budget: frames faster than the budget allows wait, the newest wins, and it is painted soon after', async () => {
  const vt = new VirtualTerminal(80, 24);
  const surface = new TerminalSurface({ write: vt.write, columns: 80, rows: 24 });
  const session = new FakeSession();
  const painter = new VideoPainter({ surface, controls: session, createRenderer: () => new SlowRenderer(20), colors: 'truecolor', maxPaintShare: 0.5 });
  surface.write(`${'\n'.repeat(21)}notice\nSTATUS\nline two`);
  painter.setLayout({ area: { col: 0, row: 0, cols: 80, rows: 21 }, mode: 'blocks', selfView: false, source: { width: 320, height: 240 } });
  const colours: Array<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]];
  // Five frames at once (a decoder that caught up): one paints now, the rest wait.
  for (const c of colours) painter.onVideoFrame(makeFrame(56, 42, () => c));
  assert.equal(painter.counters.framesPainted, 1);
  assert.equal(painter.counters.framesSkipped, 3, 'frames 2..4 were replaced by newer ones');
  assert.equal(vt.bgAt(20, 40), '255,0,0');
  const deadline = Date.now() + 10_000;
  while (painter.counters.framesPainted < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(painter.counters.framesPainted, 2, 'the waiting frame was painted');
  assert.equal(vt.bgAt(20, 40), '0,255,255', 'and it was the newest');
  painter.close();
});

test('paint budget: close drops a waiting frame and its timer', async () => {
  const vt = new VirtualTerminal(80, 24);
  const surface = new TerminalSurface({ write: vt.write, columns: 80, rows: 24 });
  const painter = new VideoPainter({ surface, controls: new FakeSession(), createRenderer: () => new SlowRenderer(20), colors: 'truecolor', maxPaintShare: 0.5 });
  painter.setLayout({ area: { col: 0, row: 0, cols: 80, rows: 21 }, mode: 'blocks', selfView: false, source: { width: 320, height: 240 } });
  painter.onVideoFrame(makeFrame(56, 42, () => [255, 0, 0]));
  painter.onVideoFrame(makeFrame(56, 42, () => [0, 255, 0]));
  painter.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(painter.counters.framesPainted, 1);
  assert.equal(vt.bgAt(20, 40), '255,0,0');
});
