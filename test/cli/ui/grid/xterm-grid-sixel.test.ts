/**
 * The grid in a real sixel terminal: xterm (`-ti vt340`, 256 colour registers) on Xvfb runs
 * the room demo (test/cli/ui/fixtures/room-demo.ts: the real grid and sixel renderer, a FAKE
 * room session because the real one is not merged yet) with `--render sixel`, after asking
 * xterm for its cell size as `connect` does. The screenshot must show each member's colour in
 * its own tile where layoutGrid puts it (one sixel image per tile), nothing of a picture in
 * the status rows, and the tiles re-flowed after a member leaves. Skipped (with the reason)
 * only when Xvfb, xterm or the X11 tools are missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startXvfb, stopChild } from '../../../helpers/xvfb.js';
import { layoutGrid, type TileBox } from '../../../../src/cli/ui/grid/grid-layout.js';

const root = new URL('../../../..', import.meta.url).pathname;
const X_TOOLS = ['Xvfb', 'xterm', 'import', 'xwininfo', 'convert'] as const;
const missing = X_TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const skip = missing.length ? `needs ${missing.join(', ')} (apt: xvfb, xterm, imagemagick, x11-utils)` : false;

const SCREEN = { width: 800, height: 600 } as const;
const XTERM_COLS = 80;
const XTERM_ROWS = 30;
/** Notice row and two status rows under the grid. */
const BELOW_GRID_ROWS = 3;
const PICTURE_WAIT_MS = 90_000;
const STEP_WAIT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 30_000;
/** Coloured pixels coloured text may make in the two status rows. */
const STATUS_TEXT_MAX_PX = 800;

type Rgb = [number, number, number];
interface Box { x: number; y: number; width: number; height: number }

const MEMBERS: Array<{ name: string; rgb: Rgb }> = [
  { name: 'Alice', rgb: [200, 40, 40] },
  { name: 'Bob', rgb: [40, 200, 40] },
  { name: 'Carol', rgb: [40, 40, 200] },
  { name: 'Dave', rgb: [200, 200, 40] },
];
const SELF: { name: string; rgb: Rgb } = { name: 'you', rgb: [128, 128, 128] };

const dir = mkdtempSync(join(tmpdir(), 'vc-xterm-grid-'));
const children: ChildProcess[] = [];
let display = '';
let keepScreenshots = false;

before(async () => {
  if (skip) return;
  display = await startXvfb(SCREEN, (c) => children.push(c));
});

after(async () => {
  for (const child of [...children].reverse()) await stopChild(child);
  if (!keepScreenshots) rmSync(dir, { recursive: true, force: true });
});

function startXterm(title: string, script: string): ChildProcess {
  const path = join(dir, `${title}.sh`);
  writeFileSync(path, `unset TMUX TMUX_PANE COLORTERM NO_COLOR TERM_PROGRAM KITTY_WINDOW_ID CI\ncd ${JSON.stringify(root)}\n${script}\nsleep 300\n`);
  const xterm = spawn('xterm', [
    '-T', title, '-ti', 'vt340', '-xrm', 'XTerm*decTerminalID: vt340', '-xrm', 'XTerm*numColorRegisters: 256',
    '-geometry', `${XTERM_COLS}x${XTERM_ROWS}+0+0`, '-e', 'bash', path,
  ], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
  children.push(xterm);
  return xterm;
}

async function windowBox(title: string): Promise<Box> {
  const deadline = Date.now() + STEP_WAIT_MS;
  for (;;) {
    const r = spawnSync('xwininfo', ['-display', display, '-name', title], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
    const num = (label: string) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(r.stdout ?? '')?.[1]);
    const box = { x: num('Absolute upper-left X'), y: num('Absolute upper-left Y'), width: num('Width'), height: num('Height') };
    if (r.status === 0 && Object.values(box).every(Number.isFinite)) return box;
    if (Date.now() > deadline) throw new Error(`no window '${title}': ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

function screenshot(savePng?: string): Buffer {
  const data = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  if (savePng) execFileSync('convert', ['-size', `${SCREEN.width}x${SCREEN.height}`, '-depth', '8', 'rgb:-', savePng], { input: data, timeout: COMMAND_TIMEOUT_MS });
  return data;
}

const near = (a: number, b: number) => Math.abs(a - b) <= 40;

/** Share of the pixels in the middle of a tile's picture (cells to pixels) that are its member's colour. */
function tileShare(shot: Buffer, win: Box, cell: { w: number; h: number }, picture: TileBox['picture'], rgb: Rgb): number {
  const x0 = win.x + picture.col * cell.w;
  const y0 = win.y + picture.row * cell.h;
  const w = picture.cols * cell.w;
  const h = picture.rows * cell.h;
  let hits = 0;
  let n = 0;
  // The middle 60%: the edges may be a pixel off, and each frame has a white top and a dark moving bar.
  for (let y = y0 + Math.floor(h * 0.2); y < y0 + Math.floor(h * 0.8); y++) {
    for (let x = x0 + Math.floor(w * 0.2); x < x0 + Math.floor(w * 0.8); x++) {
      const o = (y * SCREEN.width + x) * 3;
      if (near(shot[o]!, rgb[0]) && near(shot[o + 1]!, rgb[1]) && near(shot[o + 2]!, rgb[2])) hits++;
      n++;
    }
  }
  return n ? hits / n : 0;
}

/** Pixels of any member colour in the bottom rows (the status bar): none when no image spills over. */
function colouredInStatus(shot: Buffer, win: Box, cell: { w: number; h: number }): number {
  let count = 0;
  for (let y = win.y + (XTERM_ROWS - 2) * cell.h; y < win.y + XTERM_ROWS * cell.h; y++) {
    for (let x = win.x; x < win.x + XTERM_COLS * cell.w; x++) {
      const o = (y * SCREEN.width + x) * 3;
      if (MEMBERS.some((m) => near(shot[o]!, m.rgb[0]) && near(shot[o + 1]!, m.rgb[1]) && near(shot[o + 2]!, m.rgb[2]))) count++;
    }
  }
  return count;
}

async function waitForTiles(win: Box, cell: { w: number; h: number }, who: Array<{ name: string; rgb: Rgb }>, png: string, timeoutMs: number): Promise<number[]> {
  const tiles = layoutGrid({ col: 0, row: 0, cols: XTERM_COLS, rows: XTERM_ROWS - BELOW_GRID_ROWS }, who.length, { cellAspect: cell.w / cell.h }).tiles;
  assert.equal(tiles.length, who.length);
  const deadline = Date.now() + timeoutMs;
  let shares: number[] = [];
  for (;;) {
    const shot = screenshot();
    shares = who.map((w, i) => tileShare(shot, win, cell, tiles[i]!.picture, w.rgb));
    if (shares.every((s) => s >= 0.6)) {
      screenshot(png);
      // Green status words ("5 in room", "encrypted") are a few hundred pixels; a tile's
      // image spilling over one text row would be thousands.
      const spill = colouredInStatus(shot, win, cell);
      assert.ok(spill < STATUS_TEXT_MAX_PX, `no picture in the status rows (${spill} coloured pixels)`);
      return shares;
    }
    if (Date.now() > deadline) {
      keepScreenshots = true;
      screenshot(png);
      throw new Error(`tiles not all in their colours: ${who.map((w, i) => `${w.name} ${(shares[i]! * 100).toFixed(0)}%`).join(', ')}; screenshot ${png}`);
    }
    await new Promise((res) => setTimeout(res, 1500));
  }
}

test('sixel grid in xterm: one image per tile, each member in its place; re-flow when one leaves', { skip }, async () => {
  const control = join(dir, 'control');
  const cellsFile = join(dir, 'cells.json');
  appendFileSync(control, '');
  startXterm('vc-grid', `ROOM_DEMO_RENDER=sixel ROOM_DEMO_DETECT=1 ROOM_DEMO_CONTROL=${control} ROOM_DEMO_CELLS_FILE=${cellsFile} ${process.execPath} --import tsx test/cli/ui/fixtures/room-demo.ts`);
  const win = await windowBox('vc-grid');
  const cell = { w: Math.floor(win.width / XTERM_COLS), h: Math.floor(win.height / XTERM_ROWS) };
  const deadline = Date.now() + PICTURE_WAIT_MS;
  while (!existsSync(cellsFile) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
  const reported = JSON.parse(readFileSync(cellsFile, 'utf8')) as { width: number; height: number } | null;
  assert.deepEqual(reported, { width: cell.w, height: cell.h }, 'xterm reported the cell size the window has');

  const five = await waitForTiles(win, cell, [...MEMBERS, SELF], join(dir, 'grid-5.png'), PICTURE_WAIT_MS);
  console.log(`# 5 tiles: ${five.map((s) => (s * 100).toFixed(0)).join('% ')}%, screenshot ${join(dir, 'grid-5.png')}`);

  appendFileSync(control, 'leave 4\n');
  const four = await waitForTiles(win, cell, [...MEMBERS.slice(0, 3), SELF], join(dir, 'grid-4.png'), STEP_WAIT_MS);
  console.log(`# after Dave left: ${four.map((s) => (s * 100).toFixed(0)).join('% ')}%`);
  if (process.env.KEEP_SCREENSHOTS) keepScreenshots = true;
});
