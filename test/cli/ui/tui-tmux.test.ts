/**
 * The call screen in a real terminal: tmux runs the TUI (against a FakeSession, with the
 * real renderer), we read the screen with capture-pane and type with send-keys, and check
 * that the terminal is given back (normal screen, visible cursor) on every way out.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';
import { hasTmux } from '../../helpers/has-tmux.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DEMO = 'test/cli/ui/fixtures/tui-demo.ts';
/** tsx startup on a busy 2-core machine can take seconds. */
const START_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;

let dir = '';
let sessionCount = 0;

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', 'videochat-ui-test', ...args], { encoding: 'utf8' });
}


interface Pane {
  name: string;
  pidfile: string;
  screen(escapes?: boolean): string;
  lines(): string[];
  flag(format: string): string;
}

function startDemo(env: Record<string, string> = {}, size = { x: 80, y: 24 }): Pane {
  const name = `ui${process.pid}-${++sessionCount}`;
  const pidfile = join(dir, `${name}.pid`);
  const envArgs = Object.entries({ ...env, TUI_DEMO_PIDFILE: pidfile }).map(([k, v]) => `${k}=${v}`).join(' ');
  // `env -u CI`: Ink draws nothing until exit when it believes it runs in CI.
  const command = `cd ${ROOT} && printf 'SHELL-BEFORE\\n'; env -u CI ${envArgs} ${process.execPath} --import tsx ${DEMO}; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), command);
  const pane: Pane = {
    name,
    pidfile,
    screen: (escapes = false) => tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name),
    lines: () => pane.screen().split('\n'),
    flag: (format) => tmux('display-message', '-p', '-t', name, format).trim(),
  };
  return pane;
}

async function inCall(pane: Pane): Promise<void> {
  await waitFor(() => pane.screen().includes('peer live'), 'the call screen with the peer live', START_TIMEOUT_MS);
  await waitFor(() => /48;2;\d+;\d+;\d+m/.test(pane.screen(true)), 'truecolor video on screen', STEP_TIMEOUT_MS);
  await waitFor(() => pane.screen().includes('rtt 12 ms'), 'the first stats in the status bar', STEP_TIMEOUT_MS);
}

function assertRestored(pane: Pane): void {
  assert.equal(pane.flag('#{alternate_on}'), '0', 'back on the normal screen');
  assert.equal(pane.flag('#{cursor_flag}'), '1', 'cursor visible');
  assert.match(pane.screen(), /SHELL-BEFORE/, 'what was on the terminal before is shown again');
}

const skip = !hasTmux() && 'tmux is not installed';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-ui-'));
});

after(() => {
  try {
    tmux('kill-server');
  } catch {
    // No server left: nothing to clean.
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a call renders truecolor blocks and the status bar; q ends it with exit 0 and the terminal restored', { skip }, async () => {
  const pane = startDemo();
  await waitFor(() => pane.screen().includes('apple-river'), 'the waiting screen', START_TIMEOUT_MS);
  assert.equal(pane.flag('#{alternate_on}'), '1', 'the call runs on the alternate screen');
  assert.equal(pane.flag('#{cursor_flag}'), '0', 'cursor hidden during the call');
  await inCall(pane);
  const lines = pane.lines();
  assert.match(lines[22], /apple-river │ peer live │ encrypted │ blocks │ mic on │ camera on/);
  assert.match(lines[23], /in 15 fps .* │ rtt 12 ms │ latency 85 ms/);
  // 4:3 in 80x21 cells of 1:2: a 56-column picture from column 12.
  assert.equal(lines[5].indexOf('▀'), 12);
  assert.equal(lines[5].trimEnd().length, 68);
  tmux('send-keys', '-t', pane.name, 'q');
  await waitFor(() => pane.screen().includes('EXIT='), 'the TUI to exit', STEP_TIMEOUT_MS);
  assert.match(pane.screen(), /tui-demo ended hangup 0\s+EXIT=0/);
  assertRestored(pane);
});

test('resize re-lays out cleanly: status bar at the new bottom, picture refitted, nothing left over', { skip }, async () => {
  const pane = startDemo();
  await inCall(pane);
  tmux('resize-window', '-t', pane.name, '-x', '60', '-y', '16');
  // 60x13 cells: 4:3 is 35x13 from column 12.
  await waitFor(() => pane.lines()[14]?.includes('apple-river') ?? false, 'the status bar on the new bottom rows', STEP_TIMEOUT_MS);
  await waitFor(() => pane.lines()[5]?.indexOf('▀') === 12 && pane.lines()[5].trimEnd().length === 47, 'the refitted picture', STEP_TIMEOUT_MS);
  const lines = pane.lines();
  assert.match(lines[15], /rtt 12 ?ms/, 'compact at 60 columns, not cut');
  for (const row of [0, 6, 12]) {
    assert.equal(lines[row].slice(0, 12).trim(), '', `row ${row}: blank left of the picture`);
    assert.equal(lines[row].slice(47).trim(), '', `row ${row}: blank right of the picture`);
  }
  tmux('send-keys', '-t', pane.name, 'q');
  await waitFor(() => pane.screen().includes('EXIT=0'), 'exit 0', STEP_TIMEOUT_MS);
  assertRestored(pane);
});

test('SIGTERM hangs up politely: exit 0 and the terminal restored', { skip }, async () => {
  const pane = startDemo();
  await inCall(pane);
  const pid = Number(readFileSync(pane.pidfile, 'utf8'));
  process.kill(pid, 'SIGTERM');
  await waitFor(() => pane.screen().includes('EXIT='), 'the TUI to exit', STEP_TIMEOUT_MS);
  assert.match(pane.screen(), /tui-demo ended hangup 0\s+EXIT=0/);
  assertRestored(pane);
});

test('a crash restores the terminal and the error is readable on the normal screen', { skip }, async () => {
  const pane = startDemo({ TUI_DEMO_CRASH_MS: '2500', TUI_DEMO_JOIN_MS: '500' });
  await waitFor(() => pane.screen().includes('EXIT='), 'the crash', START_TIMEOUT_MS);
  assert.match(pane.screen(), /tui-demo deliberate crash/);
  assert.match(pane.screen(), /EXIT=1/);
  assertRestored(pane);
});
