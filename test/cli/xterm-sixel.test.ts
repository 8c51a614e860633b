/**
 * The video picture in a real sixel terminal: xterm (`-ti vt340`, 256 colour registers) on
 * Xvfb, screenshot of the root window, pixels checked. `play --render sixel` and a real
 * `connect` call with `--render auto` (which must pick sixel from xterm's DA1 reply) must both
 * show testsrc2's six colour bars, in order, inside the xterm window, with the picture's
 * shape (4:3) and without covering the call's status rows. Skipped (with the reason) only when
 * Xvfb, xterm or the X11 tools are missing. Needs `npm run build` (it runs the built bins).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startXvfb, stopChild } from '../helpers/xvfb.js';

const root = new URL('../..', import.meta.url).pathname;
const X_TOOLS = ['Xvfb', 'xterm', 'import', 'xwininfo'] as const;
const missing = X_TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const skipReason = missing.length ? `needs ${missing.join(', ')} (apt: xvfb, xterm, imagemagick, x11-utils)` : undefined;

/** Screen of the virtual display: big enough for an 80x30 xterm of 6x13 cells (484x394). */
const SCREEN = { width: 800, height: 600 } as const;
const XTERM_COLS = 80;
const XTERM_ROWS = 30;
/** How long the picture may take to appear: processes start slowly on a loaded machine. */
const PICTURE_WAIT_MS = 120_000;
const SCREENSHOT_EVERY_MS = 2000;
const COMMAND_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
/** testsrc2's bars, left to right. */
const BARS = ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan'] as const;

type ColourClass = (typeof BARS)[number] | 'white' | 'black' | 'other';

interface Box { x: number; y: number; width: number; height: number }
interface Shot { data: Buffer; width: number; height: number }

const dir = mkdtempSync(join(tmpdir(), 'vc-xterm-sixel-'));
const children: ChildProcess[] = [];
let display = '';
/** A failed check keeps the screenshots (their paths are in the message). */
let keepScreenshots = false;

function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

const stop = stopChild;

before(async () => {
  if (skipReason) return;
  display = await startXvfb(SCREEN, track);
});

after(async () => {
  // Newest first: xterm (its pty hangup ends the program in it), peers, daemon, Xvfb last.
  for (const child of [...children].reverse()) await stop(child);
  if (!keepScreenshots) rmSync(dir, { recursive: true, force: true });
});

/** Starts xterm as a vt340 running `script` (a file: a long -e command line gets mangled). */
function startXterm(title: string, script: string): ChildProcess {
  const path = join(dir, `${title}.sh`);
  // Inside xterm: TERM=xterm from xterm itself; nothing from an outer tmux or terminal.
  writeFileSync(path, `unset TMUX TMUX_PANE COLORTERM NO_COLOR TERM_PROGRAM KITTY_WINDOW_ID\ncd ${JSON.stringify(root)}\n${script}\nsleep 300\n`);
  const xterm = track(spawn('xterm', [
    '-T', title, '-ti', 'vt340', '-xrm', 'XTerm*decTerminalID: vt340', '-xrm', 'XTerm*numColorRegisters: 256',
    '-geometry', `${XTERM_COLS}x${XTERM_ROWS}+0+0`, '-e', 'bash', path,
  ], { env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  xterm.stderr!.setEncoding('utf8');
  xterm.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
  xtermStderr.set(xterm, () => stderr);
  return xterm;
}

/** What each xterm printed on stderr (for the message when its window does not appear). */
const xtermStderr = new WeakMap<ChildProcess, () => string>();

/** The xterm window on the screen (inside its border). */
async function windowBox(title: string, xterm: ChildProcess): Promise<Box> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const r = spawnSync('xwininfo', ['-display', display, '-name', title], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
    const num = (label: string) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(r.stdout ?? '')?.[1]);
    const box = { x: num('Absolute upper-left X'), y: num('Absolute upper-left Y'), width: num('Width'), height: num('Height') };
    if (r.status === 0 && Object.values(box).every(Number.isFinite)) return box;
    if (Date.now() > deadline) {
      const state = xterm.exitCode !== null || xterm.signalCode !== null ? `xterm exited (${xterm.exitCode ?? xterm.signalCode})` : 'xterm still running';
      throw new Error(`no window '${title}' on ${display}: ${r.stderr.trim()}; ${state}; xterm stderr: ${xtermStderr.get(xterm)?.().trim() || '(none)'}`);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

function screenshot(savePng?: string): Shot {
  const data = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], {
    timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024,
  });
  if (savePng) execFileSync('convert', ['-size', `${SCREEN.width}x${SCREEN.height}`, '-depth', '8', 'rgb:-', savePng], { input: data, timeout: COMMAND_TIMEOUT_MS });
  return { data, width: SCREEN.width, height: SCREEN.height };
}

function classify(r: number, g: number, b: number): ColourClass {
  const hi = (v: number) => v > 160;
  const lo = (v: number) => v < 90;
  const key = `${hi(r) ? 'H' : lo(r) ? 'L' : '?'}${hi(g) ? 'H' : lo(g) ? 'L' : '?'}${hi(b) ? 'H' : lo(b) ? 'L' : '?'}`;
  const names: Record<string, ColourClass> = {
    HLL: 'red', LHL: 'green', HHL: 'yellow', LLH: 'blue', HLH: 'magenta', LHH: 'cyan', HHH: 'white', LLL: 'black',
  };
  return names[key] ?? 'other';
}

interface PictureReport {
  /** Bounding box of bar-coloured pixels inside the window, or null. */
  picture: Box | null;
  /** Per sixth of the picture, left to right: the most common bar colour and its share. */
  bars: Array<{ colour: ColourClass; share: number }>;
  /** Share of white or black pixels in the picture box. */
  whiteOrBlack: number;
  /** Residues (x mod cell width) holding at least 5% of the horizontal colour changes. */
  changeColumns: number;
  /** Dark (text) pixels in the bottom two text rows: the status bar. */
  statusInk: number;
  /** Bar-coloured pixels in the bottom two text rows (a little coloured text; a picture: thousands). */
  statusColoured: number;
}

/** The window's area where the picture may be: all of it, less `bottomRows` text rows. */
function pictureRegion(win: Box, bottomRows: number): Box {
  const cellH = Math.floor(win.height / XTERM_ROWS);
  return { ...win, height: win.height - bottomRows * cellH };
}

/** `region`: where the picture is looked for; `win`: the whole window (status rows, cell grid). */
function analyse(shot: Shot, win: Box, region: Box): PictureReport {
  const px = (x: number, y: number): [number, number, number] => {
    const o = (y * shot.width + x) * 3;
    return [shot.data[o], shot.data[o + 1], shot.data[o + 2]];
  };
  const x1 = Math.min(shot.width, win.x + win.width);
  const y1 = Math.min(shot.height, win.y + win.height);
  let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1;
  for (let y = region.y; y < Math.min(y1, region.y + region.height); y++) {
    for (let x = region.x; x < x1; x++) {
      const c = classify(...px(x, y));
      if (c === 'white' || c === 'black' || c === 'other') continue;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  }
  const cellW = Math.floor(win.width / XTERM_COLS);
  const cellH = Math.floor(win.height / XTERM_ROWS);
  let statusInk = 0;
  let statusColoured = 0;
  for (let y = y1 - 2 * cellH; y < y1; y++) {
    for (let x = win.x; x < x1; x++) {
      const c = classify(...px(x, y));
      if (c === 'black') statusInk++;
      else if ((BARS as readonly string[]).includes(c)) statusColoured++;
    }
  }
  if (maxX < 0) return { picture: null, bars: [], whiteOrBlack: 1, changeColumns: 0, statusInk, statusColoured };
  const picture = { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
  // The bars: the middle half of each sixth, rows below the top quarter (the timer overlay).
  const bars: PictureReport['bars'] = [];
  for (let i = 0; i < BARS.length; i++) {
    const counts = new Map<ColourClass, number>();
    let n = 0;
    const from = picture.x + Math.round(((i + 0.25) * picture.width) / 6);
    const to = picture.x + Math.round(((i + 0.75) * picture.width) / 6);
    for (let y = picture.y + Math.round(picture.height / 4); y < picture.y + picture.height; y++) {
      for (let x = from; x < to; x++) {
        const c = classify(...px(x, y));
        counts.set(c, (counts.get(c) ?? 0) + 1);
        n++;
      }
    }
    const best = [...counts].filter(([c]) => (BARS as readonly string[]).includes(c)).sort((a, b) => b[1] - a[1])[0];
    bars.push(best ? { colour: best[0], share: best[1] / n } : { colour: 'other', share: 0 });
  }
  let wb = 0;
  const residues = new Array<number>(cellW).fill(0);
  let changes = 0;
  for (let y = picture.y; y < picture.y + picture.height; y++) {
    for (let x = picture.x; x < picture.x + picture.width; x++) {
      const [r, g, b] = px(x, y);
      const c = classify(r, g, b);
      if (c === 'white' || c === 'black') wb++;
      if (x > picture.x) {
        const [pr, pg, pb] = px(x - 1, y);
        if (Math.abs(r - pr) + Math.abs(g - pg) + Math.abs(b - pb) > 90) {
          residues[(x - win.x) % cellW]++;
          changes++;
        }
      }
    }
  }
  const changeColumns = residues.filter((n) => changes > 0 && n / changes >= 0.05).length;
  return { picture, bars, whiteOrBlack: wb / (picture.width * picture.height), changeColumns, statusInk, statusColoured };
}

/** True when the six bars are there, in order, each the clear majority of its sixth. */
function barsShown(r: PictureReport): boolean {
  return r.bars.length === BARS.length && r.bars.every((b, i) => b.colour === BARS[i] && b.share >= 0.4);
}

/** Screenshots until the bars show (or the wait ends); the last report and a PNG of it. */
async function waitForBars(title: string, win: Box, region: Box, alive: () => boolean): Promise<{ report: PictureReport; png: string }> {
  const png = join(dir, `${title}.png`);
  const deadline = Date.now() + PICTURE_WAIT_MS;
  let report: PictureReport;
  for (;;) {
    report = analyse(screenshot(), win, region);
    // Bars seen: one more shot a moment later, so a half-drawn frame is not what is judged.
    if (barsShown(report)) {
      await new Promise((res) => setTimeout(res, SCREENSHOT_EVERY_MS));
      report = analyse(screenshot(png), win, region);
      if (barsShown(report)) return { report, png };
    }
    if (Date.now() > deadline || !alive()) break;
    await new Promise((res) => setTimeout(res, SCREENSHOT_EVERY_MS));
  }
  screenshot(png);
  return { report, png };
}

/** The checks both commands share: bars, colours, shape, inside the window, pixel graphics. */
function assertPicture(report: PictureReport, win: Box, region: Box, png: string, aspectWanted = 4 / 3, aspectTolerance = 0.04): void {
  const where = `(screenshot: ${png}; report: ${JSON.stringify(report)})`;
  const pic = report.picture;
  assert.ok(pic, `no test-pattern colour in the xterm window ${where}`);
  assert.ok(barsShown(report), `the six bars red, green, yellow, blue, magenta, cyan in order ${where}`);
  assert.ok(report.whiteOrBlack < 0.3, `the picture is not mostly white or black ${where}`);
  assert.ok(pic.x > region.x && pic.y >= region.y, `picture starts inside the window ${where}`);
  // A picture larger than its area is cut by the window's edge (or by the end of the region
  // above the status rows): what is left is not 4:3 any more, nor six equal bars. The
  // picture may fill the width exactly (play in 80x30 cells of 6x13: 480x360).
  const aspect = pic.width / pic.height;
  assert.ok(Math.abs(aspect / aspectWanted - 1) < aspectTolerance, `picture keeps the clip's shape (${aspectWanted.toFixed(3)}), not cut: ${aspect.toFixed(3)} ${where}`);
  // A picture of the window's size, not a thumbnail: at least half its width.
  assert.ok(pic.width >= win.width / 2, `picture uses the window ${where}`);
  // Sixel: colour changes anywhere inside a cell; blocks change colour only at a cell's
  // edge (1 column of the 6), symbols also at its middle (2 of 6).
  assert.ok(report.changeColumns >= 3, `pixel graphics (colour edges inside cells) ${where}`);
}

/** Runs the checks; a failure keeps the screenshots for the person reading the message. */
function keepingScreenshots(checks: () => void): void {
  try {
    checks();
  } catch (err) {
    keepScreenshots = true;
    throw err;
  }
}

test('xterm vt340: play --render sixel shows the test pattern inside the window, 4:3, not cut', { skip: skipReason, timeout: 280_000 }, async () => {
  const clip = join(dir, 'testsrc2.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '90',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip], { timeout: 120_000 });
  const title = 'vc-play-sixel';
  const xterm = startXterm(title, `node bin/videochat.js play ${JSON.stringify(clip)} --render sixel --no-audio 2>${JSON.stringify(join(dir, 'play.err'))}`);
  const win = await windowBox(title, xterm);
  const region = pictureRegion(win, 0);
  const { report, png } = await waitForBars(title, win, region, () => xterm.exitCode === null);
  keepingScreenshots(() => assertPicture(report, win, region, png));
  await stop(xterm);
});

test('xterm vt340: play of a portrait clip stays off the last row (a sixel image there scrolls the screen)', { skip: skipReason, timeout: 280_000 }, async () => {
  const clip = join(dir, 'portrait.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=240x320:rate=15', '-t', '90',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip], { timeout: 120_000 });
  const title = 'vc-play-portrait';
  const xterm = startXterm(title, `node bin/videochat.js play ${JSON.stringify(clip)} --render sixel --no-audio 2>${JSON.stringify(join(dir, 'portrait.err'))}`);
  const win = await windowBox(title, xterm);
  const region = pictureRegion(win, 0);
  const { report, png } = await waitForBars(title, win, region, () => xterm.exitCode === null);
  keepingScreenshots(() => {
    // Scrolled by a row, the picture loses its top 13 px: 294x377 px (0.78) instead of the
    // 282x372 px (0.758) that 29 rows of 6x13 cells give; whole cells and bands are within 2%.
    assertPicture(report, win, region, png, 3 / 4, 0.025);
  });
  await stop(xterm);
});

test('xterm vt340: connect --render auto picks sixel (DA1) and shows the peer test pattern above the status bar', { skip: skipReason, timeout: 280_000 }, async () => {
  const daemon = track(spawn(process.execPath, [join(root, 'bin/videochatd.js'), '--host', '127.0.0.1', '--video-port', '0', '--audio-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const ports = await new Promise<{ videoPort: number; audioPort: number }>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`videochatd did not listen: ${text}`)), START_TIMEOUT_MS);
    daemon.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const line of text.split('\n')) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { videoPort: number; audioPort: number });
      }
    });
  });
  const code = `xterm-sixel-${process.pid}-amber-river`;
  const common = ['--host', '127.0.0.1', '--video-port', String(ports.videoPort), '--audio-port', String(ports.audioPort), '--session', code,
    '--video-in', 'test', '--audio-in', 'none', '--audio-out', 'none', '--duration', '200'];
  const peer = track(spawn(process.execPath, [join(root, 'bin/videochat.js'), 'connect', ...common, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  peer.stdout!.resume();
  peer.stderr!.resume();
  const title = 'vc-connect-sixel';
  const xterm = startXterm(title, `node bin/videochat.js connect ${common.join(' ')} --render auto 2>${JSON.stringify(join(dir, 'connect.err'))}`);
  const win = await windowBox(title, xterm);
  // The picture belongs above the notice row and the two status rows.
  const region = pictureRegion(win, 3);
  const { report, png } = await waitForBars(title, win, region, () => xterm.exitCode === null && peer.exitCode === null);
  keepingScreenshots(() => {
    assertPicture(report, win, region, png);
    assert.ok(report.statusInk > 200, `status bar text visible: ${report.statusInk} dark pixels (screenshot: ${png})`);
    assert.ok(report.statusColoured < 2000, `no picture over the status bar: ${report.statusColoured} bar-coloured pixels (screenshot: ${png})`);
  });
  await stop(xterm);
});

test('xterm vt340: a changed-rows update draws only the changed cell rows, in place, over the picture', { skip: skipReason, timeout: 280_000 }, async () => {
  const title = 'vc-sixel-rows';
  const info = join(dir, 'rows.json');
  const xterm = startXterm(title, `node --import tsx test/cli/fixtures/sixel-rows.ts ${JSON.stringify(info)}`);
  const win = await windowBox(title, xterm);
  const deadline = Date.now() + PICTURE_WAIT_MS;
  while (!existsSync(info) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 500));
  const sent = JSON.parse(readFileSync(info, 'utf8')) as { width: number; height: number; cellH: number; box: { x0: number; x1: number; y0: number; y1: number }; firstBytes: number; secondBytes: number; secondImages: number; secondStart: string };
  assert.ok(sent.cellH > 0, `the terminal told its cell height: ${JSON.stringify(sent)}`);
  assert.equal(sent.secondImages, 1, 'one image for the two changed rows');
  assert.equal(sent.secondStart.slice(0, 6), '\x1b[5;1H', 'placed at the first changed cell row (row 4, 0-based)');
  assert.ok(sent.secondBytes < sent.firstBytes / 3, `update ${sent.secondBytes} bytes, whole picture ${sent.firstBytes}`);
  await new Promise((res) => setTimeout(res, SCREENSHOT_EVERY_MS));
  const png = join(dir, `${title}.png`);
  const shot = screenshot(png);
  const raw = (x: number, y: number) => {
    const o = (y * shot.width + x) * 3;
    return classify(shot.data[o], shot.data[o + 1], shot.data[o + 2]);
  };
  // The picture's top-left pixel (xterm draws inside a border of a few pixels): the first red one.
  let ox = win.x;
  while (ox < win.x + 20 && raw(ox, win.y + 20) !== 'red') ox++;
  let oy = win.y;
  while (oy < win.y + 20 && raw(ox, oy) !== 'red') oy++;
  const at = (x: number, y: number) => raw(ox + x, oy + y);
  keepingScreenshots(() => {
    const where = `(screenshot: ${png}; ${JSON.stringify(sent)})`;
    const { box, width, height, cellH } = sent;
    // Inside the box: white. Beside it, above and below it (rows the update did not send):
    // the bars of the first picture, still there.
    assert.equal(at((box.x0 + box.x1) >> 1, (box.y0 + box.y1) >> 1), 'white', `the box ${where}`);
    assert.equal(at((box.x0 + box.x1) >> 1, box.y0 - cellH), BARS[Math.floor((((box.x0 + box.x1) >> 1) * 6) / width)], `above the box ${where}`);
    assert.equal(at((box.x0 + box.x1) >> 1, box.y1 + 2), BARS[Math.floor((((box.x0 + box.x1) >> 1) * 6) / width)], `below the box ${where}`);
    for (let i = 0; i < 6; i++) {
      const x = Math.floor(((i + 0.5) * width) / 6);
      if (x >= box.x0 && x < box.x1) continue;
      for (const y of [cellH, (box.y0 + box.y1) >> 1, height - cellH]) assert.equal(at(x, y), BARS[i], `bar ${i} at ${x},${y} ${where}`);
    }
  });
  await stop(xterm);
});
