/**
 * The self-view on a real terminal: `videochat connect --video-in test` in tmux, against a real
 * videochatd on loopback and a peer whose "camera" is a file of one plain colour. Our test
 * pattern's colours must show in a box at the picture's bottom right (the picture-in-picture),
 * go away with `p`, come back with `p`, stay in every render mode tmux can show as text, and
 * turn dark when the camera is turned off (`v`).
 * The screen is read with `capture-pane -e`: the colours of every cell.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';
import { hasTmux } from '../../helpers/has-tmux.js';
import { startDaemon, type StartedDaemon } from '../../helpers/relay-client.js';
import { VIDEOCHAT_BIN, runClient, type ClientRun } from '../../helpers/call.js';
import { FFMPEG } from '../../media/helpers.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const START_TIMEOUT_MS = 45_000;
const STEP_TIMEOUT_MS = 20_000;
const SOCKET = `videochat-selfview-test-${process.pid}`;
const COLS = 120;
const ROWS = 40;
/** The peer's plain picture. */
const PLAIN = { r: 40, g: 80, b: 200 };

let dir = '';
let daemon: StartedDaemon;
const others: ClientRun[] = [];

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, ...args], { encoding: 'utf8' });
}

type Rgb = [number, number, number];
interface Cell { fg: Rgb | null; bg: Rgb | null; ch: string }

/** The 256-colour palette (for `38;5;N`), as xterm defines it. */
function palette(n: number): Rgb {
  if (n < 16) {
    const base: Rgb[] = [[0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
      [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255]];
    return base[n]!;
  }
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return [level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6)];
  }
  const g = 8 + (n - 232) * 10;
  return [g, g, g];
}

/** Cells of one `capture-pane -e` line, with the colours in force at each. */
function parseLine(line: string): Cell[] {
  const cells: Cell[] = [];
  let fg: Rgb | null = null;
  let bg: Rgb | null = null;
  for (let i = 0; i < line.length;) {
    if (line[i] === '\x1b' && line[i + 1] === '[') {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      const codes = line.slice(i + 2, end).split(';').map((x) => Number(x || '0'));
      for (let k = 0; k < codes.length; k++) {
        const c = codes[k]!;
        if (c === 0) [fg, bg] = [null, null];
        else if (c === 39) fg = null;
        else if (c === 49) bg = null;
        else if ((c === 38 || c === 48) && codes[k + 1] === 2) {
          const rgb: Rgb = [codes[k + 2]!, codes[k + 3]!, codes[k + 4]!];
          if (c === 38) fg = rgb; else bg = rgb;
          k += 4;
        } else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) {
          fg = palette(c >= 90 ? c - 90 + 8 : c - 30);
        } else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) {
          bg = palette(c >= 100 ? c - 100 + 8 : c - 40);
        } else if ((c === 38 || c === 48) && codes[k + 1] === 5) {
          if (c === 38) fg = palette(codes[k + 2]!); else bg = palette(codes[k + 2]!);
          k += 2;
        }
      }
      i = end + 1;
      continue;
    }
    const cp = line.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    cells.push({ fg, bg, ch });
    i += ch.length;
  }
  return cells;
}

function screenCells(name: string): Cell[][] {
  return tmux('capture-pane', '-p', '-e', '-t', name).split('\n').slice(0, ROWS).map(parseLine);
}

/** A cell shows its background, and its foreground unless it is blank. */
function shown(cell: Cell): Rgb[] {
  return [cell.bg, cell.ch.trim() ? cell.fg : null].filter((c): c is Rgb => c !== null);
}

/**
 * Where the cells drawn in colours far from the plain picture are, and how many colours they
 * have. The plain colour is the screen's commonest (as the mode drew it: a 16-colour mode
 * shows our blue as its nearest palette entry).
 */
function notPlain(cells: Cell[][]): { count: number; colours: number; minCol: number; minRow: number; maxCol: number; maxRow: number; plainCells: number } {
  const out = { count: 0, colours: 0, minCol: Infinity, minRow: Infinity, maxCol: -1, maxRow: -1, plainCells: 0 };
  const seen = new Set<string>();
  // The last two rows are the status bar (its own colours).
  const video = cells.slice(0, ROWS - 2);
  const counts = new Map<string, number>();
  for (const row of video) for (const cell of row) for (const c of shown(cell)) counts.set(c.join(','), (counts.get(c.join(',')) ?? 0) + 1);
  const common = [...counts].sort((x, y) => y[1] - x[1])[0]?.[0]?.split(',').map(Number) ?? [PLAIN.r, PLAIN.g, PLAIN.b];
  const PLAIN_SHOWN = { r: common[0]!, g: common[1]!, b: common[2]! };
  const far = (c: Rgb, from: typeof PLAIN) => Math.abs(c[0] - from.r) + Math.abs(c[1] - from.g) + Math.abs(c[2] - from.b) > 90;
  video.forEach((row, y) => row.forEach((cell, x) => {
    const colours = shown(cell);
    if (colours.length === 0) return;
    if (colours.every((c) => !far(c, PLAIN_SHOWN))) {
      out.plainCells++;
      return;
    }
    out.count++;
    for (const c of colours) if (far(c, PLAIN_SHOWN)) seen.add(c.map((v) => v >> 5).join(','));
    out.minCol = Math.min(out.minCol, x);
    out.maxCol = Math.max(out.maxCol, x);
    out.minRow = Math.min(out.minRow, y);
    out.maxRow = Math.max(out.maxRow, y);
  }));
  out.colours = seen.size;
  return out;
}

const skip = !hasTmux() && 'tmux is not installed';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-selfview-tmux-'));
  daemon = await startDaemon(['--log-level', 'warn']);
});

after(async () => {
  for (const o of others) o.child.kill('SIGKILL');
  try {
    tmux('kill-server');
  } catch {
    // No server left.
  }
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('p shows our test pattern as a picture-in-picture at the bottom right of a plain peer picture, hides it and shows it again, in every text mode', { skip }, async () => {
  const plainFile = join(dir, 'plain.mkv');
  const hex = [PLAIN.r, PLAIN.g, PLAIN.b].map((v) => v.toString(16).padStart(2, '0')).join('');
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=0x${hex}:s=320x240:r=15`, '-t', '3', '-c:v', 'mjpeg', '-q:v', '2', plainFile]);
  const session = `selfview-${process.pid}-quartz-meadow-lantern`;
  const relay = ['--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort), '--session', session];
  const peer = runClient(['connect', ...relay, '--video-in', plainFile, '--audio-in', 'none', '--audio-out', 'none', '--json']);
  others.push(peer);
  await peer.waitFor('waiting', START_TIMEOUT_MS);
  const name = `sv${process.pid}`;
  const command = `cd ${ROOT} && env -u CI -u ALSA_CONFIG_PATH HOME=${dir} COLORTERM=truecolor ${process.execPath} ${VIDEOCHAT_BIN} connect ${relay.join(' ')} ` +
    `--video-in test --audio-in none --audio-out none --render blocks; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', String(COLS), '-y', String(ROWS), command);
  const keys = (...k: string[]) => void tmux('send-keys', '-t', name, ...k);
  const screen = () => tmux('capture-pane', '-p', '-t', name);

  // A 16-colour mode (ascii) has fewer colours to show the pattern with.
  const pipShows = async (what: string, minColours = 6) => {
    let last = notPlain(screenCells(name));
    await waitFor(() => {
      last = notPlain(screenCells(name));
      return last.count >= 20 && last.colours >= minColours && last.plainCells > 200;
    }, `${what}: the self-view's colours over the plain picture`, START_TIMEOUT_MS)
      .catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(last)}\n${screen()}`); });
    // The box sits at the bottom right of the picture and is at most a third of its width.
    assert.ok(last.minCol >= COLS / 2, `${what}: box starts at column ${last.minCol}`);
    assert.ok(last.maxCol - last.minCol + 1 <= COLS / 3, `${what}: box ${last.minCol}..${last.maxCol} wide`);
    assert.ok(last.minRow >= (ROWS - 2) / 2 - 2, `${what}: box starts at row ${last.minRow}`);
  };
  const pipGone = async (what: string) => {
    let last = notPlain(screenCells(name));
    await waitFor(() => {
      last = notPlain(screenCells(name));
      return last.count <= 2 && last.plainCells > 200;
    }, `${what}: only the plain picture`, STEP_TIMEOUT_MS)
      .catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(last)}\n${screen()}`); });
  };

  await pipShows('blocks, at the start (the self-view is on by default)');
  keys('p');
  await pipGone('blocks, after p');
  keys('p');
  await pipShows('blocks, after p again');
  // Camera off: the box stays, black (what the peer is sent: nothing).
  keys('v');
  let last = notPlain(screenCells(name));
  await waitFor(() => {
    last = notPlain(screenCells(name));
    return last.count >= 20 && last.colours <= 2;
  }, 'camera off: a dark self-view', STEP_TIMEOUT_MS).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(last)}`); });
  keys('v');
  await pipShows('blocks, camera on again');
  // The next text modes (r cycles; sixel and kitty are not text, checked elsewhere).
  const modeIs = (mode: string) => waitFor(() => new RegExp(`│ ${mode} │`).test(screen().split('\n')[ROWS - 2] ?? ''), `the status bar says ${mode}`, STEP_TIMEOUT_MS);
  await modeIs('blocks');
  keys('r');
  await modeIs('symbols');
  await pipShows('after r (symbols)');
  keys('r');
  await modeIs('ascii');
  await pipShows('after r (ascii)', 3);
  keys('q');
  await waitFor(() => screen().includes('EXIT=0'), 'exit 0', STEP_TIMEOUT_MS);
  await peer.exited;
});
