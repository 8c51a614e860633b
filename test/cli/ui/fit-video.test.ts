import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fitVideo, pipBox } from '../../../src/cli/ui/fit-video.js';
import { bigTextFitting } from '../../../src/cli/ui/big-text.js';

test('4:3 in an 80x21 area with 1:2 cells is 56x21, centred', () => {
  assert.deepEqual(fitVideo(80, 21, 320, 240, 0.5), { col: 12, row: 0, cols: 56, rows: 21 });
});

test('16:9 in a tall area fills the width and is centred vertically', () => {
  // 40 cols of 1:2 cells = 20 "row heights" wide; 16:9 -> 11.25 rows, rounded.
  assert.deepEqual(fitVideo(40, 30, 1280, 720, 0.5), { col: 0, row: 9, cols: 40, rows: 11 });
});

test('square cells (a terminal that reported 10x10 px) keep the picture shape too', () => {
  assert.deepEqual(fitVideo(100, 30, 400, 300, 1), { col: 30, row: 0, cols: 40, rows: 30 });
});

test('property: the box is inside the area, touches one side, and keeps the aspect within a cell', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 400 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 16, max: 4000 }),
      fc.integer({ min: 16, max: 4000 }),
      fc.constantFrom(0.4, 0.5, 0.6, 1),
      (cols, rows, w, h, aspect) => {
        const box = fitVideo(cols, rows, w, h, aspect);
        assert.ok(box.col >= 0 && box.row >= 0 && box.cols >= 1 && box.rows >= 1);
        assert.ok(box.col + box.cols <= cols && box.row + box.rows <= rows);
        assert.ok(box.cols === cols || box.rows === rows, 'as large as it can be');
        // Shown shape vs wanted shape, with one cell of rounding either way (and the 1-cell floor).
        const wantColsPerRow = w / h / aspect;
        const lo = (box.cols - 1) / (box.rows + 1);
        const hi = (box.cols + 1) / Math.max(1, box.rows - 1);
        if (box.cols > 1 && box.rows > 1) assert.ok(wantColsPerRow >= lo - 1e-9 && wantColsPerRow <= hi + 1e-9, JSON.stringify({ box, wantColsPerRow }));
      },
    ),
  );
});

test('the self-view sits in the bottom-right corner of the picture, or nowhere when too small', () => {
  const video = { col: 12, row: 0, cols: 56, rows: 21 };
  const pip = pipBox(video, 320, 240, 0.5)!;
  assert.equal(pip.col + pip.cols, video.col + video.cols);
  assert.equal(pip.row + pip.rows, video.row + video.rows);
  assert.ok(pip.cols <= 14 && pip.cols >= 8);
  assert.equal(pipBox({ col: 0, row: 0, cols: 20, rows: 8 }, 320, 240, 0.5), null);
});

test('the session code is drawn big when it fits, one word per line when that fits better', () => {
  const one = bigTextFitting('ABC123', 80, 5)!;
  assert.equal(one.length, 5);
  assert.ok(one.every((row) => [...row].length <= 80));
  const words = bigTextFitting('apple-river-stone', 60, 17)!;
  assert.equal(words.length, 17);
  assert.equal(bigTextFitting('apple-river-stone', 60, 5), null);
  assert.equal(bigTextFitting('ünïcode', 80, 5), null);
});
