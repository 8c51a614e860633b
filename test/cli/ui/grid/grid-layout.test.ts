import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  layoutGrid,
  visibleTiles,
  TILE_GAP_COLS,
  TILE_MIN_PICTURE_COLS,
  TILE_MIN_PICTURE_ROWS,
  type GridLayout,
} from '../../../../src/cli/ui/grid/grid-layout.js';
import type { CellBox } from '../../../../src/cli/ui/fit-video.js';

/** The call screen's grid area: the terminal less the notice row and the two status rows. */
const area = (cols: number, rows: number): CellBox => ({ col: 0, row: 0, cols, rows: rows - 3 });

const SIZES: Array<[number, number]> = [[120, 40], [80, 24], [200, 60], [100, 30], [60, 20], [40, 12], [300, 80]];

function boxes(layout: GridLayout): CellBox[] {
  // Picture and label together: the whole tile.
  return layout.tiles.map((t) => ({ col: t.picture.col, row: t.picture.row, cols: t.picture.cols, rows: t.picture.rows + t.label.rows }));
}

function overlap(a: CellBox, b: CellBox): boolean {
  return a.col < b.col + b.cols && b.col < a.col + a.cols && a.row < b.row + b.rows && b.row < a.row + a.rows;
}

function checkLayout(layout: GridLayout, within: CellBox, count: number, cellAspect: number, what: string): void {
  assert.equal(layout.tiles.length + layout.hidden, count, `${what}: every tile shown or counted hidden`);
  const all = boxes(layout);
  for (const [i, b] of all.entries()) {
    assert.ok(b.col >= within.col && b.row >= within.row, `${what}: tile ${i} starts inside`);
    assert.ok(b.col + b.cols <= within.col + within.cols, `${what}: tile ${i} ends inside (cols)`);
    assert.ok(b.row + b.rows <= within.row + within.rows, `${what}: tile ${i} ends inside (rows)`);
    for (let j = i + 1; j < all.length; j++) assert.ok(!overlap(b, all[j]), `${what}: tiles ${i} and ${j} overlap`);
    const p = layout.tiles[i].picture;
    assert.ok(p.cols >= TILE_MIN_PICTURE_COLS && p.rows >= TILE_MIN_PICTURE_ROWS, `${what}: tile ${i} big enough`);
    // 4:3 within one cell: the width that the rows call for is within a column of the width.
    const wantCols = (p.rows * (4 / 3)) / cellAspect;
    const wantRows = (p.cols * cellAspect) / (4 / 3);
    assert.ok(Math.abs(p.cols - wantCols) <= 1 || Math.abs(p.rows - wantRows) <= 1, `${what}: tile ${i} ${p.cols}x${p.rows} is 4:3 within a cell`);
    assert.equal(layout.tiles[i].label.row, p.row + p.rows, `${what}: label under the picture`);
    assert.equal(layout.tiles[i].label.cols, p.cols, `${what}: label as wide as the picture`);
  }
  // All tiles of one layout have the same size.
  for (const t of layout.tiles) assert.deepEqual([t.picture.cols, t.picture.rows], [layout.tiles[0].picture.cols, layout.tiles[0].picture.rows], `${what}: equal tiles`);
}

test('1..9 tiles at many terminal sizes: inside the area, no overlap, 4:3 kept, all shown when they fit', () => {
  for (const [cols, rows] of SIZES) {
    for (let count = 1; count <= 9; count++) {
      const a = area(cols, rows);
      const layout = layoutGrid(a, count);
      const what = `${count} tiles at ${cols}x${rows}`;
      checkLayout(layout, a, count, 0.5, what);
      if (cols >= 80 && rows >= 24) assert.equal(layout.hidden, 0, `${what}: all shown`);
      assert.ok(layout.tiles.length >= 1, `${what}: at least one tile`);
    }
  }
});

test('also with a reported cell aspect and an area that does not start at 0,0', () => {
  const a: CellBox = { col: 5, row: 2, cols: 110, rows: 33 };
  for (let count = 1; count <= 9; count++) checkLayout(layoutGrid(a, count, { cellAspect: 9 / 18 }), a, count, 9 / 18, `${count} tiles, offset area`);
  for (let count = 1; count <= 9; count++) checkLayout(layoutGrid(a, count, { cellAspect: 10 / 22 }), a, count, 10 / 22, `${count} tiles, 10x22 cells`);
});

test('the shapes a person expects at 120x40', () => {
  const shape = (n: number) => { const l = layoutGrid(area(120, 40), n); return `${l.columns}x${l.rows}`; };
  assert.equal(shape(1), '1x1');
  assert.equal(shape(2), '2x1');
  assert.equal(shape(4), '2x2');
  assert.equal(shape(9), '3x3');
  // One tile takes most of the height: 37 rows less the label, 4:3 at 1:2 cells.
  const one = layoutGrid(area(120, 40), 1).tiles[0].picture;
  assert.equal(one.rows, 36);
  assert.equal(one.cols, 96);
});

test('a short last row is centred', () => {
  const l = layoutGrid(area(120, 40), 3);
  assert.equal(l.columns * l.rows >= 3, true);
  if (l.rows === 2) {
    const [a, b, c] = l.tiles.map((t) => t.picture);
    assert.equal(c.row > a.row, true);
    const rowMid = (a.col + b.col + b.cols) / 2;
    assert.ok(Math.abs(c.col + c.cols / 2 - rowMid) <= 1, 'the lone tile of the second row is in the middle');
  }
});

test('narrow terminals: fewer tiles, then a clear "too small", never boxes outside', () => {
  const narrow = layoutGrid(area(40, 12), 9);
  checkLayout(narrow, area(40, 12), 9, 0.5, '9 at 40x12');
  assert.ok(narrow.tiles.length >= 1 && narrow.tiles.length < 9, `some shown, some hidden (${narrow.tiles.length})`);
  assert.equal(narrow.tooSmall, false);
  for (const [cols, rows] of [[10, 6], [7, 20], [40, 6], [0, 0]] as const) {
    const l = layoutGrid(area(cols, rows), 4);
    assert.equal(l.tiles.length, 0, `${cols}x${rows}: nothing fits`);
    assert.equal(l.tooSmall, true);
    assert.equal(l.hidden, 4);
  }
  assert.deepEqual(layoutGrid(area(80, 24), 0), { columns: 0, rows: 0, tiles: [], hidden: 0, tooSmall: false });
});

test('re-flow: the tile grows when a member leaves', () => {
  const four = layoutGrid(area(120, 40), 4).tiles[0].picture;
  const three = layoutGrid(area(120, 40), 3).tiles[0].picture;
  const two = layoutGrid(area(120, 40), 2).tiles[0].picture;
  assert.ok(three.cols >= four.cols && two.cols > four.cols, `${four.cols} -> ${three.cols} -> ${two.cols}`);
  // Tiles side by side keep the gap.
  const tiles = layoutGrid(area(120, 40), 2).tiles;
  assert.equal(tiles[1].picture.col - (tiles[0].picture.col + tiles[0].picture.cols), TILE_GAP_COLS);
});

test('visibleTiles keeps the active speaker, then join order, self last, in display order', () => {
  const ids = ['a', 'b', 'c', 'd', 'self'];
  assert.deepEqual(visibleTiles(ids, 9, 'self', null), ids);
  assert.deepEqual(visibleTiles(ids, 3, 'self', null), ['a', 'b', 'c']);
  assert.deepEqual(visibleTiles(ids, 3, 'self', 'd'), ['a', 'b', 'd']);
  assert.deepEqual(visibleTiles(ids, 1, 'self', 'self'), ['self']);
  assert.deepEqual(visibleTiles(ids, 0, 'self', 'a'), []);
});
