/**
 * The terminal queries in a real tmux pane, through the built `videochat play`:
 * - the kitty graphics probe is an APC string, which tmux takes as the pane title: the title
 *   must be the same after a run as in a pane that never ran videochat;
 * - tmux answers the OSC 11 background query for a pane whose window style sets a
 *   background: on a light one the ascii ramp is inverted (dense characters for dark pixels).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTmux } from '../../helpers/has-tmux.js';
import { VIDEOCHAT_BIN } from '../../helpers/call.js';
import { waitFor } from '../ui/wait-for.js';

const SOCKET = `vc-probe-${process.pid}`;
/** tsx-free, but node startup and ffmpeg on a busy 2-core machine can take seconds. */
const RUN_TIMEOUT_MS = 60_000;
const skip = !hasTmux() && 'tmux is not installed';
let dir = '';
let ramp = '';
let windows = 0;

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

/**
 * Runs `command` in a new tmux window (the server starts with the first) and returns its
 * target. With `style`, the window's style is set before the command starts.
 */
function run(command: string, style?: string): string {
  const name = `w${++windows}`;
  const go = join(dir, `${name}.go`);
  const shell = `while [ ! -e ${go} ]; do sleep 0.05; done; ${command}; echo "EXIT=$?"; sleep 60`;
  if (windows === 1) tmux('new-session', '-d', '-s', 'probe', '-n', name, '-x', '100', '-y', '30', shell);
  else tmux('new-window', '-d', '-t', 'probe', '-n', name, shell);
  if (style) tmux('set-option', '-w', '-t', `probe:${name}`, 'window-style', style);
  writeFileSync(go, '');
  return `probe:${name}`;
}

const screen = (target: string) => tmux('capture-pane', '-p', '-t', target);
const title = (target: string) => tmux('display-message', '-p', '-t', target, '#{pane_title}').trim();

function play(args: string): string {
  return `env -u CI -u COLORFGBG NO_COLOR=1 ${process.execPath} ${VIDEOCHAT_BIN} play ${ramp} ${args}`;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vc-probe-'));
  ramp = join(dir, 'ramp.mkv');
  // A horizontal ramp: black at the left edge, white at the right.
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', "nullsrc=s=128x48:r=10,geq=lum='X*2':cb=128:cr=128",
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', ramp]);
});

after(() => {
  try {
    tmux('kill-server');
  } catch {
    // No server left.
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the pane title is the same after a run as in a pane that never ran videochat (--render blocks and auto)', { skip }, async () => {
  const reference = run('true');
  const blocks = run(play('--render blocks --speed max'));
  const auto = run(play('--speed max'));
  for (const target of [blocks, auto]) await waitFor(() => screen(target).includes('EXIT=0'), `play to exit 0 in ${target}`, RUN_TIMEOUT_MS);
  const expected = title(reference);
  assert.ok(expected !== '', 'tmux gives every pane a title');
  assert.equal(title(blocks), expected, 'with --render blocks');
  assert.equal(title(auto), expected, 'with --render auto');
  assert.doesNotMatch(title(auto), /Gi=/);
});

/** The characters of the picture's widest row, left to right, as a user reads them. */
function pictureRow(target: string): string {
  const rows = screen(target).split('\n').filter((l) => /[@%#]/.test(l));
  assert.ok(rows.length > 5, `a picture on screen:\n${screen(target)}`);
  return rows[Math.floor(rows.length / 2)].trim();
}

test('OSC 11: on a light pane background the ascii ramp is inverted, on a dark one (or no answer) it is not', { skip }, async () => {
  // No window style: tmux 3.3 does not answer OSC 11, so dark is assumed.
  const unknown = run(play('--render ascii'));
  const light = run(play('--render ascii'), 'bg=#f0f0e0');
  const dark = run(play('--render ascii'), 'bg=#101018');
  for (const target of [unknown, light, dark]) await waitFor(() => /@{4}/.test(screen(target)), `a picture in ${target}`, RUN_TIMEOUT_MS);
  const rows = { unknown: pictureRow(unknown), light: pictureRow(light), dark: pictureRow(dark) };
  // The black left edge is ink on a light background and empty on a dark one.
  assert.match(rows.light, /^@/, `light: ${rows.light}`);
  assert.match(rows.light, /\.$/, `light: ${rows.light}`);
  assert.match(rows.dark, /@$/, `dark: ${rows.dark}`);
  assert.match(rows.dark, /^\./, `dark: ${rows.dark}`);
  assert.match(rows.unknown, /@$/, `no answer: ${rows.unknown}`);
});
