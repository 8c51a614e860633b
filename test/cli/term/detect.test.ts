import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { detectCapabilities } from '../../../src/cli/term/index.js';

const root = new URL('../../..', import.meta.url).pathname;
const probe = join(root, 'test/cli/term/detect-probe.ts');
const PROBE_WAIT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;

async function waitForFile(path: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('}')) return text;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no probe result in ${path} after ${timeoutMs} ms`);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test('off a TTY: truecolor blocks and not one byte of query', async () => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let written = 0;
  stdout.on('data', (c: Buffer) => (written += c.length));
  const caps = await detectCapabilities({ stdin, stdout, env: { TERM: 'xterm-kitty', KITTY_WINDOW_ID: '1' } });
  assert.equal(caps.isTTY, false);
  assert.equal(caps.chosenMode, 'blocks');
  assert.equal(caps.colors, 'truecolor');
  assert.equal(written, 0);
});

test('in a real tmux pane: tmux answers DA1, no passthrough by default, text mode, raw mode restored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'detect-tmux-'));
  const socket = `vc-detect-${process.pid}`;
  t.after(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server'], { timeout: COMMAND_TIMEOUT_MS });
    rmSync(dir, { recursive: true, force: true });
  });
  const out1 = join(dir, 'default.json');
  const out2 = join(dir, 'passthrough.json');
  const cmd = (out: string) => `cd ${shellQuote(root)} && ${shellQuote(process.execPath)} --import tsx ${shellQuote(probe)} ${shellQuote(out)}; sleep 30`;
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '120', '-y', '40', cmd(out1)], { timeout: COMMAND_TIMEOUT_MS });
  const first = JSON.parse(await waitForFile(out1, PROBE_WAIT_MS));
  assert.equal(first.isTTY, true);
  assert.equal(first.tmux, true);
  assert.equal(first.tmuxPassthrough, false);
  assert.equal(first.chosenMode, 'blocks');
  assert.deepEqual([first.cols, first.rows], [120, 40]);
  assert.ok(Array.isArray(first.replies.da1), 'tmux answered DA1');
  assert.equal(first.rawAfter, false);

  // With passthrough on and a kitty outer terminal (as kitty's env tells), graphics go through.
  execFileSync('tmux', ['-L', socket, 'set-option', '-g', 'allow-passthrough', 'on'], { timeout: COMMAND_TIMEOUT_MS });
  execFileSync('tmux', ['-L', socket, 'new-window', '-e', 'KITTY_WINDOW_ID=1', cmd(out2)], { timeout: COMMAND_TIMEOUT_MS });
  const second = JSON.parse(await waitForFile(out2, PROBE_WAIT_MS));
  assert.equal(second.tmuxPassthrough, true);
  assert.equal(second.chosenMode, 'kitty');
});

test('in a real xterm (Xvfb): vt340 announces sixel and its sixel area (the cell size); window ops report the cell size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'detect-xterm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (out: string, xtermArgs: string[]) => spawnSync('xvfb-run', ['-a', 'xterm', ...xtermArgs, '-geometry', '100x30',
    '-e', 'env', '-u', 'TMUX', 'TERM=xterm', 'COLORTERM=', process.execPath, '--import', 'tsx', probe, out, '1000'], { cwd: root, timeout: PROBE_WAIT_MS });
  const sixelOut = join(dir, 'vt340.json');
  run(sixelOut, ['-ti', 'vt340']);
  const sixel = JSON.parse(await waitForFile(sixelOut, 1000));
  assert.equal(sixel.sixel, true);
  assert.equal(sixel.chosenMode, 'sixel');
  assert.ok(sixel.replies.da1.includes(4));
  // Window ops are off by default; the XTSMGRAPHICS sixel area still gives the cell size
  // (xterm's default font is 6x13 px; any font: taller than wide, area = cells x cell size).
  assert.ok(sixel.replies.sixelAreaPx, `no sixel area in ${JSON.stringify(sixel.replies)}`);
  assert.equal(sixel.replies.windowPx, undefined, 'xterm refused 14t as expected');
  assert.ok(sixel.cellWidthPx > 0 && sixel.cellHeightPx > sixel.cellWidthPx, JSON.stringify(sixel));
  assert.equal(sixel.cellWidthPx, Math.floor(sixel.replies.sixelAreaPx.width / 100));
  assert.equal(sixel.cellHeightPx, Math.floor(sixel.replies.sixelAreaPx.height / 30));
  assert.equal(sixel.cellSizeExact, true, 'the sixel area is the cells exactly: sixel may redraw single cell rows');

  const opsOut = join(dir, 'ops.json');
  run(opsOut, ['-xrm', 'XTerm*allowWindowOps: true']);
  const ops = JSON.parse(await waitForFile(opsOut, 1000));
  assert.equal(ops.sixel, false);
  assert.equal(ops.chosenMode, 'blocks');
  assert.ok(ops.cellWidthPx > 0 && ops.cellHeightPx > ops.cellWidthPx, JSON.stringify(ops));
});

test('cell size: exact from 16t or an area that divides into the cells; approximate (no sixel row updates) from a padded area', async () => {
  const ask = async (reply: string) => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode: () => undefined });
    const stdout = { isTTY: true, columns: 80, rows: 30, write: (_: string) => { setImmediate(() => stdin.write(`${reply}\x1b[?62;4c`)); return true; } };
    return detectCapabilities({ stdin, stdout, env: { TERM: 'xterm' }, timeoutMs: 2000 });
  };
  const direct = await ask('\x1b[6;13;6t');
  assert.deepEqual([direct.cellWidthPx, direct.cellHeightPx, direct.cellSizeExact], [6, 13, true]);
  const even = await ask('\x1b[4;390;480t');
  assert.deepEqual([even.cellWidthPx, even.cellHeightPx, even.cellSizeExact], [6, 13, true]);
  const padded = await ask('\x1b[4;395;484t');
  assert.deepEqual([padded.cellWidthPx, padded.cellHeightPx, padded.cellSizeExact], [6, 13, false]);
  const none = await ask('');
  assert.equal(none.cellSizeExact, false);
});
