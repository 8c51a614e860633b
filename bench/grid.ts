/**
 * Bench: the group call grid at 120x40 (117 rows for video less the notice and status rows),
 * 8 members and the self-view: 9 tiles of 29x11 cells. Each round every member sends a new
 * frame (a moving gradient, different per member, so every tile changes) and the GridPainter
 * paints them in one write; we time that write (render + write to a fake stdout) per
 * renderer. Beside it, the one-to-one VideoPainter painting one picture of the same area
 * as the whole grid, for scale. No paint budget and no time slice (they only spread the
 * same work out); the second table feeds the grid in real time with both.
 * Run: node --import tsx bench/grid.ts
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createRenderer } from '../src/codec/render/index.js';
import type { RenderMode } from '../src/codec/render/types.js';
import { TerminalSurface } from '../src/cli/ui/terminal-surface.js';
import { GridPainter } from '../src/cli/ui/grid/grid-painter.js';
import { VideoPainter } from '../src/cli/ui/video-painter.js';
import { computeLayout } from '../src/cli/ui/layout.js';

const COLS = 120;
const ROWS = 40;
const MEMBERS = 8;
const ROUNDS = 60;
const WARMUP = 5;
const MODES: RenderMode[] = ['blocks', 'symbols', 'ascii', 'sixel', 'kitty'];
/** A 9x18 px cell (what xterm with a common font reports), so sixel and kitty size like a real terminal. */
const CELL_PX = { width: 9, height: 18 };

function gradient(width: number, height: number, t: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      data[i] = (x * 5 + t * 7 + seed * 30) & 255;
      data[i + 1] = (y * 3 + t * 2) & 255;
      data[i + 2] = (x + y + t + seed * 50) & 255;
    }
  }
  return { width, height, data };
}

const stdout = { bytes: 0, write(d: string | Uint8Array) { this.bytes += d.length; return true; }, columns: COLS, rows: ROWS };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function benchGrid(mode: RenderMode) {
  const surface = new TerminalSurface(stdout);
  let size = { width: 0, height: 0 };
  const painter = new GridPainter({
    surface,
    controls: { setVideoSize: (w, h) => (size = { width: w, height: h }) },
    createRenderer: (m) => createRenderer(m),
    colors: 'truecolor',
    cellPx: CELL_PX,
    // The whole round in one paint: this table is the cost of a round, not of a slice.
    paintSliceMs: Number.POSITIVE_INFINITY,
  });
  painter.setLayout({ area: computeLayout(COLS, ROWS).main, mode, selfView: true, self: { muted: false, cameraOff: false } });
  for (let id = 1; id <= MEMBERS; id++) painter.memberJoined(id, { name: `member${id}` });
  const times: number[] = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    for (let id = 1; id <= MEMBERS; id++) painter.onMemberFrame(id, gradient(size.width, size.height, round, id));
    painter.onSelfFrame(gradient(size.width, size.height, round, 0));
    const before = painter.counters.paintMsTotal;
    const bytesBefore = stdout.bytes;
    await nextTurn();
    if (round >= WARMUP) {
      times.push(painter.counters.paintMsTotal - before);
      bytes += stdout.bytes - bytesBefore;
    }
  }
  painter.close();
  const tile = [...painter.tileBoxes.values()][0]!.picture;
  times.sort((a, b) => a - b);
  return { tiles: painter.tileBoxes.size, tile: `${tile.cols}x${tile.rows}`, px: `${size.width}x${size.height}`, median: percentile(times, 0.5), p95: percentile(times, 0.95), kib: bytes / ROUNDS / 1024 };
}

function benchOne(mode: RenderMode) {
  const surface = new TerminalSurface(stdout);
  let size = { width: 0, height: 0 };
  const painter = new VideoPainter({
    surface,
    controls: { setVideoSize: (w, h) => (size = { width: w, height: h }), requestKeyframe: () => {} },
    createRenderer: (m) => createRenderer(m),
    colors: 'truecolor',
    cellPx: CELL_PX,
  });
  painter.setLayout({ area: computeLayout(COLS, ROWS).main, mode, selfView: false, source: { width: 4, height: 3 } });
  const times: number[] = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    const frame = gradient(size.width, size.height, round, 1);
    const bytesBefore = stdout.bytes;
    const t0 = performance.now();
    painter.onVideoFrame(frame);
    if (round >= WARMUP) {
      times.push(performance.now() - t0);
      bytes += stdout.bytes - bytesBefore;
    }
  }
  painter.close();
  times.sort((a, b) => a - b);
  return { px: `${size.width}x${size.height}`, median: percentile(times, 0.5), p95: percentile(times, 0.95), kib: bytes / ROUNDS / 1024 };
}

console.log(`Grid at ${COLS}x${ROWS}, ${MEMBERS} members + self-view, every tile changing each round; cells ${CELL_PX.width}x${CELL_PX.height} px; ${ROUNDS} rounds.\n`);
console.log('| renderer | tiles | tile cells | tile px | grid ms / round median | p95 | KiB / round | one-to-one picture px | one-to-one ms median | p95 | KiB |');
console.log('| --- | ---: | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
for (const mode of MODES) {
  const g = await benchGrid(mode);
  const o = benchOne(mode);
  console.log(`| ${mode} | ${g.tiles} | ${g.tile} | ${g.px} | ${g.median.toFixed(1)} | ${g.p95.toFixed(1)} | ${g.kib.toFixed(0)} | ${o.px} | ${o.median.toFixed(1)} | ${o.p95.toFixed(1)} | ${o.kib.toFixed(0)} |`);
}

/**
 * The same grid fed in real time: 8 members at 15 fps and the self-view, for RUN_MS, with the
 * paint budget of the TUI (VIDEO_PAINT_MAX_SHARE). What the other work of the process would
 * feel: the event loop's delay (p99, max), and the share of wall time spent painting; and
 * what the user sees: tile updates per member per second.
 */
const RUN_MS = 4000;
const MEMBER_FPS = 15;

async function benchLive(mode: RenderMode) {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { VIDEO_PAINT_MAX_SHARE } = await import('../src/cli/ui/run-call-tui.js');
  const surface = new TerminalSurface(stdout);
  let size = { width: 0, height: 0 };
  const painter = new GridPainter({
    surface,
    controls: { setVideoSize: (w, h) => (size = { width: w, height: h }) },
    createRenderer: (m) => createRenderer(m),
    colors: 'truecolor',
    cellPx: CELL_PX,
    maxPaintShare: VIDEO_PAINT_MAX_SHARE,
  });
  painter.setLayout({ area: computeLayout(COLS, ROWS).main, mode, selfView: true, self: { muted: false, cameraOff: false } });
  for (let id = 1; id <= MEMBERS; id++) painter.memberJoined(id, { name: `member${id}` });
  // Frames made up front: the bench measures painting, not making gradients.
  const frames = Array.from({ length: 8 }, (_, t) => gradient(size.width, size.height, t, t));
  let t = 0;
  const timers = Array.from({ length: MEMBERS }, (_, i) => setInterval(() => painter.onMemberFrame(i + 1, frames[(t++ + i) % frames.length]!), 1000 / MEMBER_FPS));
  const self = setInterval(() => painter.onSelfFrame(frames[t % frames.length]!), 1000 / MEMBER_FPS);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const start = performance.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  delay.disable();
  for (const timer of [...timers, self]) clearInterval(timer);
  painter.close();
  const wallMs = performance.now() - start;
  return {
    share: painter.counters.paintMsTotal / wallMs,
    perMemberFps: painter.counters.tilesPainted / (MEMBERS + 1) / (wallMs / 1000),
    p99: delay.percentile(99) / 1e6,
    max: delay.max / 1e6,
  };
}

console.log(`\nLive: ${MEMBERS} members at ${MEMBER_FPS} fps and the self-view for ${RUN_MS / 1000} s, with the TUI's paint budget.\n`);
console.log('| renderer | paint share of wall time | tile updates / s per member | event loop delay p99 ms | max ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const mode of MODES) {
  const l = await benchLive(mode);
  console.log(`| ${mode} | ${(l.share * 100).toFixed(0)}% | ${l.perMemberFps.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.max.toFixed(1)} |`);
}
