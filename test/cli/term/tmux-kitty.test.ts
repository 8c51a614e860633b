/**
 * Kitty graphics inside a real tmux through Unicode placeholders. tmux runs with
 * `allow-passthrough on` and a client attached through `script` (so what tmux sends to the
 * outer terminal is recorded); the pane says it is in kitty (KITTY_WINDOW_ID, as kitty sets
 * it). `videochat play --render auto` must pick kitty, and then:
 * - the pane's cells (capture-pane -e) carry U+10EEEE with the row diacritics, every row of
 *   the picture, the image id in their foreground colour;
 * - the outer terminal receives, through passthrough, a virtual placement (U=1) with that
 *   id whose pixels are testsrc2 (its six bars, in order).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTmux } from '../../helpers/has-tmux.js';
import { VIDEOCHAT_BIN } from '../../helpers/call.js';
import { waitFor } from '../ui/wait-for.js';
import { KITTY_DIACRITICS } from '../../../src/codec/render/kitty-placeholders.js';
import { decodeKitty, placeholderRuns } from '../../codec/render/decoders.js';

const SOCKET = `vc-kitty-${process.pid}`;
const RUN_TIMEOUT_MS = 60_000;
const hasScript = (() => {
  try {
    execFileSync('script', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const skip = (!hasTmux() && 'tmux is not installed') || (!hasScript && 'script (util-linux) is not installed');
const dir = mkdtempSync(join(tmpdir(), 'vc-kitty-'));
let client: ChildProcess | undefined;

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

after(() => {
  client?.kill('SIGTERM');
  try {
    tmux('kill-server');
  } catch {
    // Already gone.
  }
  rmSync(dir, { recursive: true, force: true });
});

function classify(r: number, g: number, b: number): string {
  const k = (v: number) => (v > 160 ? 'H' : v < 90 ? 'L' : '?');
  const names: Record<string, string> = { HLL: 'red', LHL: 'green', HHL: 'yellow', LLH: 'blue', HLH: 'magenta', LHH: 'cyan' };
  return names[k(r) + k(g) + k(b)] ?? 'other';
}

test('tmux + kitty: play --render auto draws Unicode placeholders with the image id, and the image goes through passthrough', { skip, timeout: 180_000 }, async () => {
  const clip = join(dir, 'testsrc2.mkv');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '30',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const go = join(dir, 'go');
  tmux('new-session', '-d', '-s', 'k', '-x', '100', '-y', '30', `while [ ! -e ${go} ]; do sleep 0.1; done; env -u CI KITTY_WINDOW_ID=1 ${process.execPath} ${VIDEOCHAT_BIN} play ${clip} --no-audio; sleep 60`);
  tmux('set-option', '-g', 'allow-passthrough', 'on');
  // The outer terminal: a client in a pseudo-terminal whose output is recorded.
  const typescript = join(dir, 'outer.raw');
  client = spawn('script', ['-q', '-f', '-c', `tmux -L ${SOCKET} attach -t k`, typescript], { env: { ...process.env, TERM: 'xterm-256color' }, stdio: ['pipe', 'ignore', 'ignore'] });
  await waitFor(() => tmux('list-clients').trim() !== '', 'the client to attach', RUN_TIMEOUT_MS);
  execFileSync('touch', [go]);

  let runs: ReturnType<typeof placeholderRuns> = [];
  await waitFor(() => {
    runs = placeholderRuns(tmux('capture-pane', '-p', '-e', '-t', 'k'), KITTY_DIACRITICS);
    return runs.length >= 10;
  }, 'placeholder cells in the pane', RUN_TIMEOUT_MS);
  const id = runs[0].imageId;
  assert.ok(id > 0, `an image id in the foreground colour: ${JSON.stringify(runs[0])}`);
  assert.ok(runs.every((r) => r.imageId === id), 'one image');
  assert.deepEqual(runs.map((r) => r.row), runs.map((_, k) => k), 'rows 0, 1, 2, ... by their diacritics');
  assert.ok(runs.every((r) => r.firstColumn === 0 && r.cells === runs[0].cells && r.col === runs[0].col), 'a rectangle, each row from column 0');
  assert.ok(runs[0].cells >= 40, `the picture is wide: ${runs[0].cells} cells`);

  // What reached the outer terminal: virtual placements of that id, testsrc2's bars in them.
  let placement: ReturnType<typeof decodeKitty>[number] | undefined;
  await waitFor(() => {
    if (!existsSync(typescript)) return false;
    placement = decodeKitty(readFileSync(typescript)).find((c) => c.control.U === '1' && Number(c.control.i) === id && c.payload.length > 0);
    return placement !== undefined;
  }, 'a virtual placement with the id through passthrough', RUN_TIMEOUT_MS);
  const p = placement!;
  assert.equal(Number(p.control.c), runs[0].cells, 'placement columns = placeholder cells a row');
  assert.equal(Number(p.control.r), runs.length, 'placement rows = placeholder rows');
  const [w, h] = [Number(p.control.s), Number(p.control.v)];
  assert.equal(p.payload.length, w * h * 3, 'raw RGB of the announced size');
  const y = Math.floor(h * 0.6);
  const bars = Array.from({ length: 6 }, (_, i) => {
    const x = Math.floor(((i + 0.5) * w) / 6);
    const o = (y * w + x) * 3;
    return classify(p.payload[o], p.payload[o + 1], p.payload[o + 2]);
  });
  assert.deepEqual(bars, ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan']);
});
