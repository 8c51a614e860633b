/**
 * The group call grid in a real terminal: tmux runs runRoomTui with the real renderers
 * against a FakeRoomSession (test/cli/ui/fixtures/room-demo.ts). A FAKE session, because
 * the real room session (`videochat connect --room`, issue 17) is not merged yet; the grid
 * only listens to its events, so the fake emits exactly those. We read the screen with
 * `capture-pane -e`, find each member's colour in its tile and its name in the label row,
 * and check that the highlight follows the speaker and that the grid re-flows when a member
 * leaves and when the window is resized.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../wait-for.js';
import { hasTmux } from '../../../helpers/has-tmux.js';
import { layoutGrid, type TileBox } from '../../../../src/cli/ui/grid/grid-layout.js';
import { ACTIVE_MARK } from '../../../../src/cli/ui/grid/tile-label.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const DEMO = 'test/cli/ui/fixtures/room-demo.ts';
const SOCKET = `videochat-room-test-${process.pid}`;
const START_TIMEOUT_MS = 45_000;
const STEP_TIMEOUT_MS = 15_000;
/** Notice row and two status rows under the grid. */
const BELOW_GRID_ROWS = 3;

type Rgb = [number, number, number];
interface Cell { fg: Rgb | null; bg: Rgb | null; ch: string }

const MEMBERS: Array<{ id: number; name: string; rgb: Rgb }> = [
  { id: 1, name: 'Alice', rgb: [200, 40, 40] },
  { id: 2, name: 'Bob', rgb: [40, 200, 40] },
  { id: 3, name: 'Carol', rgb: [40, 40, 200] },
  { id: 4, name: 'Dave', rgb: [200, 200, 40] },
];
const SELF_RGB: Rgb = [128, 128, 128];

let dir = '';
let count = 0;

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** The 16 basic colours as tmux reports them (`\e[42m` and the like). */
const BASIC: Rgb[] = [[0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229]];

/** Cells of one `capture-pane -e` line with the colours in force at each. */
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
          if (c === 38) fg = rgb;
          else bg = rgb;
          k += 4;
        } else if (c >= 30 && c <= 37) fg = BASIC[c - 30]!;
        else if (c >= 40 && c <= 47) bg = BASIC[c - 40]!;
      }
      i = end + 1;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    i += ch.length;
    // A combining mark (kitty's row and column diacritics) belongs to the cell before it.
    if (/\p{M}/u.test(ch) && cells.length > 0) continue;
    cells.push({ fg, bg, ch });
  }
  return cells;
}

interface Pane {
  name: string;
  control: string;
  send(line: string): void;
  text(): string[];
  cells(): Cell[][];
}

function startDemo(size: { x: number; y: number }, members = 4, extraEnv = ''): Pane {
  const name = `room${process.pid}-${++count}`;
  const control = join(dir, `${name}.ctl`);
  appendFileSync(control, '');
  // Members join 2.5 s after the start: time to see the waiting screen on a loaded machine.
  const env = `ROOM_DEMO_CONTROL=${control} ROOM_DEMO_MEMBERS=${members} ROOM_DEMO_JOIN_MS=2500 ${extraEnv}`;
  // `env -u CI`: Ink draws nothing until exit when it believes it runs in CI.
  const command = `cd ${ROOT} && printf 'SHELL-BEFORE\\n'; env -u CI ${env} ${process.execPath} --import tsx ${DEMO}; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), command);
  return {
    name,
    control,
    send: (line) => appendFileSync(control, `${line}\n`),
    text: () => tmux('capture-pane', '-p', '-t', name).split('\n'),
    cells: () => tmux('capture-pane', '-p', '-e', '-t', name).split('\n').map(parseLine),
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 8;
const isColour = (c: Rgb | null, rgb: Rgb) => c !== null && close(c[0], rgb[0]) && close(c[1], rgb[1]) && close(c[2], rgb[2]);

/** Share of the picture's cells that show `rgb` (as background, or as a half block's foreground). */
function colourShare(cells: Cell[][], box: TileBox['picture'], rgb: Rgb): number {
  let hits = 0;
  for (let r = box.row; r < box.row + box.rows; r++) {
    for (let c = box.col; c < box.col + box.cols; c++) {
      const cell = cells[r]?.[c];
      if (cell && (isColour(cell.bg, rgb) || (cell.ch.trim() !== '' && isColour(cell.fg, rgb)))) hits++;
    }
  }
  return hits / (box.rows * box.cols);
}

function labelAt(lines: string[], box: TileBox['label']): string {
  return [...(lines[box.row] ?? '')].slice(box.col, box.col + box.cols).join('');
}

/** The grid as the pure layout places it for this terminal and these tiles. */
function expectedTiles(cols: number, rows: number, tiles: number): TileBox[] {
  return layoutGrid({ col: 0, row: 0, cols, rows: rows - BELOW_GRID_ROWS }, tiles).tiles;
}

/** Every tile shows its member's colour and its name under it, where the layout puts them. */
function gridMatches(pane: Pane, cols: number, rows: number, who: Array<{ name: string; rgb: Rgb }>): string | null {
  const tiles = expectedTiles(cols, rows, who.length);
  if (tiles.length !== who.length) return `layout shows ${tiles.length} of ${who.length}`;
  const lines = pane.text();
  const cells = pane.cells();
  for (const [i, w] of who.entries()) {
    const label = labelAt(lines, tiles[i]!.label);
    if (!label.includes(w.name)) return `tile ${i}: label ${JSON.stringify(label)} lacks ${w.name}`;
    const share = colourShare(cells, tiles[i]!.picture, w.rgb);
    if (share < 0.6) return `tile ${i} (${w.name}): only ${(share * 100).toFixed(0)}% of its cells in its colour`;
  }
  return null;
}

async function waitForGrid(pane: Pane, cols: number, rows: number, who: Array<{ name: string; rgb: Rgb }>, what: string): Promise<void> {
  let last: string | null = 'not checked';
  try {
    await waitFor(() => (last = gridMatches(pane, cols, rows, who)) === null, what, STEP_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${last}\n${pane.text().join('\n')}`);
  }
}

/** Rows whose text holds the active-speaker mark. */
const marked = (lines: string[]) => lines.filter((l) => l.includes(ACTIVE_MARK));

function labelIsGreen(pane: Pane, box: TileBox['label']): boolean {
  const cell = pane.cells()[box.row]?.[box.col + 1];
  return cell?.bg !== null && cell?.bg !== undefined && cell.bg[1] > 150 && cell.bg[0] < 100 && cell.bg[2] < 100;
}

const skip = !hasTmux() && 'tmux is not installed';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-room-ui-'));
});

after(() => {
  try {
    tmux('kill-server');
  } catch {
    // No server left.
  }
  rmSync(dir, { recursive: true, force: true });
});

test('4 members and the self-view in tiles; the highlight follows the speaker; re-flow on leave and resize; q exits 0', { skip }, async () => {
  const pane = startDemo({ x: 120, y: 40 });
  const everyone = [...MEMBERS, { name: 'you', rgb: SELF_RGB }];
  await waitFor(() => pane.text().some((l) => l.includes('Waiting for others to join the room')), 'the waiting screen', START_TIMEOUT_MS);
  assert.ok(pane.text().some((l) => l.includes('videochat connect --room --session apple-river-room')), 'the command the others run');
  await waitFor(() => pane.text().some((l) => l.includes('Alice')), 'the first tiles', START_TIMEOUT_MS);
  await waitForGrid(pane, 120, 40, everyone, '5 tiles at 120x40 (3 + 2, 39x15 pictures)');
  assert.equal(expectedTiles(120, 40, 5)[0]!.picture.cols, 39);
  await waitFor(() => /apple-river-room │ 5 in room │ encrypted │ blocks │ mic on │ camera on/.test(pane.text()[38]!), 'the status bar', STEP_TIMEOUT_MS);
  assert.equal(marked(pane.text()).length, 0, 'nobody highlighted before anyone speaks');

  // Bob speaks: his label, and only his, gets the mark on a green bar.
  let tiles = expectedTiles(120, 40, 5);
  pane.send('speak 2');
  await waitFor(() => labelAt(pane.text(), tiles[1]!.label).includes(`${ACTIVE_MARK} Bob`), 'Bob highlighted', STEP_TIMEOUT_MS);
  assert.equal(marked(pane.text()).length, 1, 'one speaker highlighted');
  assert.ok(labelIsGreen(pane, tiles[1]!.label), "Bob's label on a green bar");
  assert.ok(!labelIsGreen(pane, tiles[0]!.label), "Alice's label plain");
  await waitFor(() => /60 ms/.test(labelAt(pane.text(), tiles[1]!.label)), "Bob's latency in his label", STEP_TIMEOUT_MS);

  // Then Alice: the highlight moves.
  pane.send('speak 1');
  await waitFor(() => labelAt(pane.text(), tiles[0]!.label).includes(`${ACTIVE_MARK} Alice`), 'Alice highlighted', STEP_TIMEOUT_MS);
  assert.ok(!labelAt(pane.text(), tiles[1]!.label).includes(ACTIVE_MARK), 'Bob no longer highlighted');
  assert.ok(!labelIsGreen(pane, tiles[1]!.label), "Bob's bar gone");
  assert.ok(labelIsGreen(pane, tiles[0]!.label), "Alice's bar");

  // Dave leaves: 4 tiles re-flow into 2 x 2 larger pictures.
  pane.send('leave 4');
  const four = [...MEMBERS.slice(0, 3), { name: 'you', rgb: SELF_RGB }];
  await waitForGrid(pane, 120, 40, four, '4 tiles after Dave left (2 x 2, 45x17)');
  assert.equal(expectedTiles(120, 40, 4)[0]!.picture.cols, 45);
  assert.ok(!pane.text().slice(0, 37).some((l) => l.includes('Dave')), 'no tile left for Dave');
  // The painter re-flows as soon as the session says so; Ink's rows follow a moment later.
  await waitFor(() => /Dave left/.test(pane.text()[37]!) && /4 in room/.test(pane.text()[38]!), 'the notice and the count', STEP_TIMEOUT_MS);

  // Carol turns her camera off: her tile says so.
  pane.send('camera-off 3');
  tiles = expectedTiles(120, 40, 4);
  const carol = tiles[2]!.picture;
  await waitFor(() => pane.text()[carol.row + Math.floor((carol.rows - 1) / 2)]!.includes('camera off'), "Carol's tile says camera off", STEP_TIMEOUT_MS);
  await waitFor(() => /Carol\s+camera off/.test(labelAt(pane.text(), tiles[2]!.label)), "Carol's label says camera off", STEP_TIMEOUT_MS);
  assert.ok(colourShare(pane.cells(), carol, MEMBERS[2]!.rgb) < 0.05, "Carol's picture is gone");

  // Resize to 80x24: the tiles are laid out again for the new size.
  tmux('resize-window', '-t', pane.name, '-x', '80', '-y', '24');
  const shown = [MEMBERS[0]!, MEMBERS[1]!, { name: 'you', rgb: SELF_RGB }];
  await waitFor(() => pane.text()[22]?.includes('apple-river-room') ?? false, 'the status bar on the new bottom rows', STEP_TIMEOUT_MS);
  tiles = expectedTiles(80, 24, 4);
  for (const [i, who] of [[0, shown[0]!], [1, shown[1]!], [3, shown[2]!]] as const) {
    await waitFor(() => labelAt(pane.text(), tiles[i]!.label).includes(who.name) && colourShare(pane.cells(), tiles[i]!.picture, who.rgb) >= 0.6, `${who.name} at 80x24`, STEP_TIMEOUT_MS);
  }
  assert.match(labelAt(pane.text(), tiles[2]!.label), /Carol/);
  assert.equal(tiles[0]!.picture.cols, 24, '2 x 2 of 24x9 at 80x24');

  // m mutes: the status bar and the self tile's label say so.
  tmux('send-keys', '-t', pane.name, 'm');
  await waitFor(() => /mic muted|muted/.test(pane.text()[22]!) && /you\s+muted/.test(labelAt(pane.text(), tiles[3]!.label)), 'muted shown', STEP_TIMEOUT_MS);

  // v turns our camera off: the status bar says so, and our tile says it instead of a picture.
  tmux('send-keys', '-t', pane.name, 'v');
  const own = tiles[3]!.picture;
  await waitFor(() => /camera off/.test(pane.text()[22]!) && pane.text()[own.row + Math.floor((own.rows - 1) / 2)]!.includes('camera off'), 'our camera off', STEP_TIMEOUT_MS);
  assert.ok(colourShare(pane.cells(), own, SELF_RGB) < 0.05, 'our picture gone');
  tmux('send-keys', '-t', pane.name, 'v');
  await waitFor(() => colourShare(pane.cells(), own, SELF_RGB) >= 0.6, 'our picture back', STEP_TIMEOUT_MS);

  // ? shows the keys instead of the tiles; Esc brings the tiles back.
  tmux('send-keys', '-t', pane.name, '?');
  await waitFor(() => pane.text().some((l) => l.includes('Keys')) && !pane.text().slice(0, 21).some((l) => l.includes('Alice')), 'the help instead of the grid', STEP_TIMEOUT_MS);
  tmux('send-keys', '-t', pane.name, 'Escape');
  await waitFor(() => labelAt(pane.text(), tiles[0]!.label).includes('Alice') && colourShare(pane.cells(), tiles[0]!.picture, MEMBERS[0]!.rgb) >= 0.6, 'the grid back after Esc', STEP_TIMEOUT_MS);

  // p hides our own tile: three tiles re-flow; p again brings it back.
  tmux('send-keys', '-t', pane.name, 'p');
  const three = expectedTiles(80, 24, 3);
  await waitFor(() => !pane.text().slice(0, 21).some((l) => /\byou\b/.test(l)) && labelAt(pane.text(), three[1]!.label).includes('Bob'), 'the self tile hidden', STEP_TIMEOUT_MS);
  tmux('send-keys', '-t', pane.name, 'p');
  await waitFor(() => labelAt(pane.text(), tiles[3]!.label).includes('you'), 'the self tile back', STEP_TIMEOUT_MS);

  tmux('send-keys', '-t', pane.name, 'q');
  await waitFor(() => pane.text().some((l) => l.includes('EXIT=')), 'the TUI to exit', STEP_TIMEOUT_MS);
  assert.ok(pane.text().some((l) => /room-demo ended hangup 0/.test(l)));
  assert.ok(pane.text().some((l) => l.includes('EXIT=0')));
  assert.equal(tmux('display-message', '-p', '-t', pane.name, '#{alternate_on}').trim(), '0', 'back on the normal screen');
  assert.equal(tmux('display-message', '-p', '-t', pane.name, '#{cursor_flag}').trim(), '1', 'cursor visible');
});

test('40x10 with 8 members: fewer tiles, the status bar says how many are hidden, the speaker is always shown', { skip }, async () => {
  const pane = startDemo({ x: 40, y: 10 }, 8);
  await waitFor(() => pane.text().some((l) => /not shown|\(-\d\)/.test(l)), 'the hidden count in the status bar', START_TIMEOUT_MS);
  const grid = layoutGrid({ col: 0, row: 0, cols: 40, rows: 7 }, 9);
  assert.equal(grid.tiles.length, 4, 'one row of four 9x3 tiles');
  assert.match(pane.text()[8]!, /9 in room \(5 not shown\)|9 in room \(-5\)/);
  await waitFor(() => labelAt(pane.text(), grid.tiles[0]!.label).includes('Alice'), "Alice's tile", STEP_TIMEOUT_MS);
  // Heidi joined last: not shown until she speaks, then she is.
  assert.ok(!pane.text().slice(0, 7).some((l) => l.includes('Heidi')), 'Heidi not shown while quiet');
  pane.send('speak 8');
  // Labels are 9 cells: "» Heidi" fits, the latency does not.
  await waitFor(() => pane.text().slice(0, 7).some((l) => l.includes(`${ACTIVE_MARK} Heidi`)), 'Heidi shown and highlighted', STEP_TIMEOUT_MS);
  assert.ok(labelAt(pane.text(), grid.tiles[3]!.label).includes('Heidi'), 'in the last slot: display order is join order');
  for (const line of pane.text()) assert.ok([...line].length <= 40, `no line wider than the pane: ${JSON.stringify(line)}`);

  // Narrower than any tile: a clear message instead of tiles.
  tmux('resize-window', '-t', pane.name, '-x', '20', '-y', '5');
  await waitFor(() => pane.text().join(' ').includes('too small'), 'the too-small message', STEP_TIMEOUT_MS);
  assert.ok(!pane.text().slice(0, 2).some((l) => /Alice|Heidi/.test(l)), 'no tile squeezed in');
  // And back: the tiles return.
  tmux('resize-window', '-t', pane.name, '-x', '40', '-y', '10');
  await waitFor(() => labelAt(pane.text(), grid.tiles[0]!.label).includes('Alice'), 'the tiles back at 40x10', STEP_TIMEOUT_MS);
  tmux('send-keys', '-t', pane.name, 'q');
  await waitFor(() => pane.text().some((l) => l.includes('EXIT=0')), 'exit 0', STEP_TIMEOUT_MS);
});

test('kitty inside tmux: each tile is its own image, placeholder cells carrying its own id', { skip }, async () => {
  const pane = startDemo({ x: 120, y: 40 }, 3, 'ROOM_DEMO_RENDER=kitty ROOM_DEMO_KITTY_PLACEHOLDERS=1');
  const tiles = expectedTiles(120, 40, 4);
  const PLACEHOLDER = String.fromCodePoint(0x10eeee);
  const idsInTiles = () => {
    const cells = pane.cells();
    return tiles.slice(0, 3).map((t) => {
      const ids = new Set<string>();
      let placeholders = 0;
      for (let r = t.picture.row; r < t.picture.row + t.picture.rows; r++) {
        for (let c = t.picture.col; c < t.picture.col + t.picture.cols; c++) {
          const cell = cells[r]?.[c];
          if (cell?.ch === PLACEHOLDER) {
            placeholders++;
            if (cell.fg) ids.add(cell.fg.join(','));
          }
        }
      }
      return { share: placeholders / (t.picture.rows * t.picture.cols), ids };
    });
  };
  await waitFor(() => idsInTiles().every((t) => t.share > 0.9), 'placeholder cells over the three members\' tiles', START_TIMEOUT_MS);
  const found = idsInTiles();
  for (const [i, t] of found.entries()) assert.equal(t.ids.size, 1, `tile ${i}: one image id`);
  assert.equal(new Set(found.map((t) => [...t.ids][0])).size, 3, 'three tiles, three images');
  pane.send('leave 2');
  // Three tiles now (Alice, Carol, you): Carol's image moves into the second slot.
  const three = expectedTiles(120, 40, 3);
  await waitFor(() => {
    const cells = pane.cells();
    const p = three[1]!.picture;
    return cells[p.row + 1]?.[p.col + 1]?.ch === PLACEHOLDER && labelAt(pane.text(), three[1]!.label).includes('Carol');
  }, "Carol's image in the second slot", STEP_TIMEOUT_MS);
  tmux('send-keys', '-t', pane.name, 'q');
  await waitFor(() => pane.text().some((l) => l.includes('EXIT=0')), 'exit 0', STEP_TIMEOUT_MS);
});
