import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RATE_LADDER, STEP_DOWN_HOLD_MS, UP_AFTER_CLEAN_MS, VIDEO_MAX_QUEUE_MS, VideoRateControl,
} from '../../../src/cli/session/video-rate.js';

test('the ladder spends quality first, then picture size, the frame rate last', () => {
  const firstSize = RATE_LADDER.findIndex((l) => l.sizeShare < 1);
  const firstFps = RATE_LADDER.findIndex((l) => l.fpsShare < 1);
  assert.ok(firstSize > 0 && firstFps > firstSize, `size at ${firstSize}, fps at ${firstFps}`);
  // Before the first size step, quality has already gone down.
  assert.ok(RATE_LADDER[firstSize - 1]!.quality < RATE_LADDER[0]!.quality);
  for (let i = 1; i < RATE_LADDER.length; i++) {
    const [a, b] = [RATE_LADDER[i - 1]!, RATE_LADDER[i]!];
    assert.ok(b.quality <= a.quality && b.sizeShare <= a.sizeShare && b.fpsShare <= a.fpsShare, `rung ${i} is thinner`);
  }
});

test('the queue is bounded in time: no frame while what is on the way needs longer than the limit at the measured rate', () => {
  const rc = new VideoRateControl();
  // The peer receives 50 bytes/ms (0.4 Mbit/s) while the path is busy.
  rc.onReport({ bytesReceived: 0, pathDelayMs: 100, atMs: 0 });
  rc.onReport({ bytesReceived: 10_000, pathDelayMs: 100, atMs: 200 });
  // 5 KB outstanding = 100 ms at 50 B/ms: fine. 15 KB = 300 ms: held back.
  assert.equal(rc.maySend(15_000, 200), true);
  assert.equal(rc.maySend(25_000, 200), false);
  // Time passes: what the peer should have received since counts (300 ms at 50 B/ms = 15 KB).
  assert.equal(rc.maySend(25_000, 500), true);
  // The same bytes on a fast path are no queue at all.
  const fast = new VideoRateControl();
  fast.onReport({ bytesReceived: 0, pathDelayMs: 100, atMs: 0 });
  fast.onReport({ bytesReceived: 1_000_000, pathDelayMs: 100, atMs: 200 });
  assert.equal(fast.maySend(1_015_000, 200), true);
  // A report that says bytes waited longer than the limit stops video whatever the rate.
  rc.onReport({ bytesReceived: 30_000, pathDelayMs: VIDEO_MAX_QUEUE_MS + 1, atMs: 600 });
  assert.equal(rc.maySend(30_000, 600), false);
});

test('congestion steps down at most once per hold time; a clean path steps back up only after a while', () => {
  const rc = new VideoRateControl();
  let t = 0;
  rc.onReport({ bytesReceived: 0, pathDelayMs: 300, atMs: t });
  assert.deepEqual(rc.tick(15, 0, t), RATE_LADDER[1]);
  t += 1000;
  assert.equal(rc.tick(15, 0, t), null, 'held: the last step has not shown yet');
  t += STEP_DOWN_HOLD_MS;
  assert.deepEqual(rc.tick(15, 0, t), RATE_LADDER[2]);
  // Frames held back (no delay report) count as congestion too; far over: two rungs.
  t += STEP_DOWN_HOLD_MS;
  rc.onReport({ bytesReceived: 1, pathDelayMs: 0, atMs: t });
  assert.deepEqual(rc.tick(3, 12, t), RATE_LADDER[4]);
  // Clean from now on: nothing for UP_AFTER_CLEAN_MS, then one rung up.
  const cleanFrom = t + 1000;
  for (t = cleanFrom; t < cleanFrom + UP_AFTER_CLEAN_MS; t += 1000) {
    rc.onReport({ bytesReceived: 2, pathDelayMs: 0, atMs: t });
    assert.equal(rc.tick(15, 0, t), null, `no step up at ${t - cleanFrom} ms`);
  }
  rc.onReport({ bytesReceived: 3, pathDelayMs: 0, atMs: t });
  assert.deepEqual(rc.tick(15, 0, t), RATE_LADDER[3]);
  // Congested right after stepping up: back down, and the next step up waits twice as long.
  t += 1000;
  rc.onReport({ bytesReceived: 4, pathDelayMs: 300, atMs: t });
  assert.deepEqual(rc.tick(15, 0, t), RATE_LADDER[4]);
  const again = t + 1000;
  let upAt = -1;
  for (t = again; t < again + 4 * UP_AFTER_CLEAN_MS; t += 1000) {
    rc.onReport({ bytesReceived: 5, pathDelayMs: 0, atMs: t });
    if (rc.tick(15, 0, t)) { upAt = t - again; break; }
  }
  assert.ok(upAt >= 2 * UP_AFTER_CLEAN_MS, `stepped up after ${upAt} ms`);
});
