import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawFrameSplitter } from '../../src/codec/raw-frames.js';

test('frames cut from chunks of any size come out whole, in order, the rest kept', () => {
  const s = new RawFrameSplitter(4);
  const stream = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const out: number[][] = [];
  for (const [a, b] of [[0, 3], [3, 3], [3, 9], [9, 11]]) {
    for (const f of s.push(stream.subarray(a, b))) out.push([...f]);
  }
  assert.deepEqual(out, [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(s.push(Buffer.from([11])).map((f) => [...f]), [[8, 9, 10, 11]]);
});

test('a leftover does not change when the chunk it came from is reused', () => {
  const s = new RawFrameSplitter(3);
  const chunk = Buffer.from([1, 2, 3, 4]);
  s.push(chunk);
  chunk.fill(0);
  assert.deepEqual(s.push(Buffer.from([5, 6])).map((f) => [...f]), [[4, 5, 6]]);
});

test('a frame size that is not a positive integer is refused', () => {
  assert.throws(() => new RawFrameSplitter(0), RangeError);
});
