/**
 * iTerm2 inline images in a real terminal: mlterm (which draws OSC 1337 File= images) on
 * Xvfb. `--render auto` must pick iterm there (its MLTERM variable), and `play --render iterm`
 * must show testsrc2's six colour bars, in order, inside the window. Screenshots with
 * ImageMagick's `import`. Skipped (with the reason) when Xvfb, mlterm or the X11 tools are
 * missing. Needs `npm run build` (it runs the built bin).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startXvfb, stopChild } from '../helpers/xvfb.js';

const root = new URL('../..', import.meta.url).pathname;
const TOOLS = ['Xvfb', 'mlterm', 'import'] as const;
const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const skip = missing.length ? `needs ${missing.join(', ')} (apt: xvfb, mlterm, imagemagick)` : false;
const SCREEN = { width: 800, height: 600 } as const;
/** Processes start slowly on a loaded machine. */
const WAIT_MS = 120_000;
const START_TIMEOUT_MS = 30_000;
const BARS = ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan'] as const;

const dir = mkdtempSync(join(tmpdir(), 'vc-mlterm-'));
const children: ChildProcess[] = [];
let display = '';
let keep = false;

const stop = stopChild;

before(async () => {
  if (skip) return;
  display = await startXvfb(SCREEN, (child) => children.push(child));
});

after(async () => {
  for (const child of [...children].reverse()) await stop(child);
  if (!keep) rmSync(dir, { recursive: true, force: true });
});

/** mlterm (80x30 cells, top-left) running `script`; nothing from an outer terminal leaks in. */
function startMlterm(name: string, script: string): ChildProcess {
  const path = join(dir, `${name}.sh`);
  writeFileSync(path, `unset TMUX TMUX_PANE COLORTERM NO_COLOR TERM_PROGRAM KITTY_WINDOW_ID LC_TERMINAL KONSOLE_VERSION\ncd ${JSON.stringify(root)}\n${script}\nsleep 300\n`);
  const child = spawn('mlterm', ['-g', '80x30+0+0', '-e', 'bash', path], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
  children.push(child);
  return child;
}

function classify(r: number, g: number, b: number): string {
  const k = (v: number) => (v > 160 ? 'H' : v < 90 ? 'L' : '?');
  const names: Record<string, string> = { HLL: 'red', LHL: 'green', HHL: 'yellow', LLH: 'blue', HLH: 'magenta', LHH: 'cyan', HHH: 'white', LLL: 'black' };
  return names[k(r) + k(g) + k(b)] ?? 'other';
}

/** The bar colours, left to right, of the first screen row that shows exactly the six bars, else of the row with the most. */
function barsOnScreen(png: string): string[] {
  const data = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], { timeout: START_TIMEOUT_MS, maxBuffer: 16 << 20 });
  execFileSync('convert', ['-size', `${SCREEN.width}x${SCREEN.height}`, '-depth', '8', 'rgb:-', png], { input: data, timeout: START_TIMEOUT_MS });
  let best: string[] = [];
  for (let y = 0; y < SCREEN.height; y += 4) {
    const seq: string[] = [];
    let run = 0;
    let prev = '';
    for (let x = 0; x < SCREEN.width; x++) {
      const o = (y * SCREEN.width + x) * 3;
      const c = classify(data[o], data[o + 1], data[o + 2]);
      run = c === prev ? run + 1 : 1;
      prev = c;
      // A bar is at least 20 px of one colour on the row.
      if (run === 20 && (BARS as readonly string[]).includes(c) && seq[seq.length - 1] !== c) seq.push(c);
    }
    if (seq.join() === BARS.join()) return seq;
    if (seq.length > best.length) best = seq;
  }
  return best;
}

test('mlterm: --render auto picks iterm (MLTERM), and play --render iterm shows the six bars in order', { skip, timeout: 280_000 }, async () => {
  const probeOut = join(dir, 'probe.json');
  startMlterm('probe', `node --import tsx test/cli/term/detect-probe.ts ${JSON.stringify(probeOut)} 1000`);
  const deadline = Date.now() + WAIT_MS;
  while (!(existsSync(probeOut) && readFileSync(probeOut, 'utf8').endsWith('}')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  const caps = JSON.parse(readFileSync(probeOut, 'utf8')) as { chosenMode: string; iterm: boolean; isTTY: boolean };
  assert.equal(caps.isTTY, true);
  assert.equal(caps.iterm, true, JSON.stringify(caps));
  assert.equal(caps.chosenMode, 'iterm', JSON.stringify(caps));

  const clip = join(dir, 'testsrc2.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '90',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip], { timeout: 120_000 });
  const player = startMlterm('play', `node bin/videochat.js play ${JSON.stringify(clip)} --render iterm --no-audio 2>${JSON.stringify(join(dir, 'play.err'))}`);
  const png = join(dir, 'play.png');
  let bars: string[] = [];
  while (Date.now() < deadline && player.exitCode === null) {
    bars = barsOnScreen(png);
    if (bars.join() === BARS.join()) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  keep = bars.join() !== BARS.join();
  await stop(player);
  assert.deepEqual(bars, [...BARS], `the six bars in order (screenshot: ${png}; play stderr: ${existsSync(join(dir, 'play.err')) ? readFileSync(join(dir, 'play.err'), 'utf8') : ''})`);
});
