import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiverQueue } from '../../../src/daemon/room/receiver-queue.js';
import { EnvelopeFlag } from '../../../src/codec/room/index.js';

const VIDEO = EnvelopeFlag.DROPPABLE;
const AUDIO = EnvelopeFlag.DROPPABLE | EnvelopeFlag.AUDIO;
const CONTROL = 0;

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

function tagged(sender: number, n: number, size = 10): Buffer {
  const b = Buffer.alloc(size);
  b[0] = sender;
  b[1] = n;
  return b;
}

function drain(q: ReceiverQueue): Buffer[] {
  const out: Buffer[] = [];
  for (let b = q.next(); b; b = q.next()) out.push(b);
  return out;
}

test('one sender: envelopes come out in order, bytes accounted', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now });
  for (let i = 0; i < 5; i++) q.push(1, VIDEO, tagged(1, i));
  assert.equal(q.bytes, 50);
  assert.deepEqual(drain(q).map((b) => b[1]), [0, 1, 2, 3, 4]);
  assert.equal(q.bytes, 0);
});

test('a flooding sender gets its share of bytes, not the link', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now, quantumBytes: 1000 });
  // Sender 1 floods with 50 KB in 1000-byte envelopes, then sender 2 sends ten small ones.
  for (let i = 0; i < 50; i++) q.push(1, VIDEO, tagged(1, i, 1000));
  for (let i = 0; i < 10; i++) q.push(2, VIDEO, tagged(2, i, 100));
  const order = drain(q).map((b) => b[0]);
  // Deficit round robin by bytes: one quantum each per round, so all of sender 2 goes out
  // in the first round (positions 1..10), not behind the flood (positions 50..59).
  assert.equal(order.length, 60);
  assert.equal(order[0], 1);
  assert.equal(order.lastIndexOf(2), 10);
});

test('media older than its budget is dropped (video sooner than audio), control never', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now, videoBudgetMs: 300, audioBudgetMs: 600 });
  q.push(1, VIDEO, tagged(1, 0));
  q.push(2, AUDIO, tagged(2, 0));
  q.push(3, CONTROL, tagged(3, 0));
  c.advance(400);
  q.push(1, VIDEO, tagged(1, 1));
  const out = drain(q).map((b) => `${b[0]}:${b[1]}`);
  assert.deepEqual(out.sort(), ['1:1', '2:0', '3:0']);
  assert.deepEqual([...q.takeDrops()], [[1, 1]]);
  assert.deepEqual([...q.takeDrops()], [], 'drops are reported once');
  q.push(2, AUDIO, tagged(2, 1));
  q.push(3, CONTROL, tagged(3, 1));
  c.advance(10_000);
  assert.deepEqual(drain(q).map((b) => `${b[0]}:${b[1]}`), ['3:1']);
  assert.deepEqual([...q.takeDrops()], [[2, 1]]);
});

test('over the byte bound: oldest video goes first, then audio; control overflow says cut', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now, maxBytes: 100, videoBudgetMs: 1e9, audioBudgetMs: 1e9 });
  assert.equal(q.push(1, AUDIO, tagged(1, 0, 40)), true);
  c.advance(1);
  assert.equal(q.push(2, VIDEO, tagged(2, 0, 40)), true);
  c.advance(1);
  assert.equal(q.push(2, VIDEO, tagged(2, 1, 40)), true); // 120 > 100: video 2:0 evicted, not the older audio
  assert.equal(q.bytes, 80);
  assert.equal(q.push(3, CONTROL, tagged(3, 0, 61)), true); // 141: video 2:1 evicted (101), then audio 1:0
  assert.equal(q.bytes, 61);
  assert.equal(q.controlBytes, 61);
  assert.equal(q.push(3, CONTROL, tagged(3, 1, 40)), false, 'control alone over the bound: too slow');
  assert.deepEqual(new Map(q.takeDrops()), new Map([[1, 1], [2, 2]]));
});

test('a sender that leaves takes its queued envelopes with it', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now });
  q.push(1, VIDEO, tagged(1, 0));
  q.push(2, VIDEO, tagged(2, 0));
  q.push(1, CONTROL, tagged(1, 1));
  q.removeSender(1);
  assert.equal(q.bytes, 10);
  assert.equal(q.controlBytes, 0);
  assert.deepEqual(drain(q).map((b) => b[0]), [2]);
});

test('an envelope larger than the quantum still goes out (credit accumulates)', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now, quantumBytes: 100 });
  q.push(1, VIDEO, tagged(1, 0, 1000));
  q.push(2, VIDEO, tagged(2, 0, 50));
  assert.deepEqual(drain(q).map((b) => b[0]), [2, 1]);
});

test('dropExpired drops expired media of every sender without taking anything, keeps control', () => {
  const c = clock();
  const q = new ReceiverQueue({ now: c.now });
  q.push(1, VIDEO, tagged(1, 0));
  q.push(2, AUDIO, tagged(2, 0));
  q.push(3, CONTROL, tagged(3, 0));
  c.advance(400);
  q.push(1, VIDEO, tagged(1, 1));
  q.dropExpired();
  assert.deepEqual([...q.takeDrops()], [[1, 1]], 'the old video only: audio has 600 ms');
  c.advance(300);
  q.dropExpired();
  assert.deepEqual([...q.takeDrops()], [[2, 1]], 'then the audio; the younger video is 300 ms old, not older');
  assert.deepEqual(drain(q).map((b) => [b[0], b[1]]), [[1, 1], [3, 0]]);
});
