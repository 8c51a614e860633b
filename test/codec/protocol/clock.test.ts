import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockEstimator, clockSample, wallClockUs, type ClockTimes } from '../../../src/codec/protocol/index.js';

const TRUE_OFFSET_MS = 250; // the peer's clock runs 250 ms ahead of ours
const BASE_US = 1_760_000_000_000_000;

/** One exchange on a simulated path: times in ms of true time, clocks as configured. */
function exchange(startMs: number, forwardMs: number, processingMs: number, backMs: number): ClockTimes {
  const ours = (ms: number) => BASE_US + Math.round(ms * 1000);
  const peers = (ms: number) => BASE_US + Math.round((ms + TRUE_OFFSET_MS) * 1000);
  return {
    t0Us: ours(startMs),
    t1Us: peers(startMs + forwardMs),
    t2Us: peers(startMs + forwardMs + processingMs),
    t3Us: ours(startMs + forwardMs + processingMs + backMs),
  };
}

test('symmetric path: exact offset and RTT without the processing time', () => {
  const sample = clockSample(exchange(0, 20, 7, 20));
  assert.ok(sample);
  assert.equal(sample.rttMs, 40);
  assert.equal(sample.offsetMs, TRUE_OFFSET_MS);
});

test('asymmetric path: offset error is (forward - back) / 2, within RTT / 2', () => {
  const sample = clockSample(exchange(0, 30, 5, 10));
  assert.ok(sample);
  assert.equal(sample.rttMs, 40);
  assert.equal(sample.offsetMs, TRUE_OFFSET_MS + (30 - 10) / 2);
  assert.ok(Math.abs(sample.offsetMs - TRUE_OFFSET_MS) <= sample.rttMs / 2);
});

test('the estimator trusts the minimum-RTT sample of its window and smooths the RTT', () => {
  const clock = new ClockEstimator(8);
  assert.equal(clock.offsetMs, null);
  assert.equal(clock.rttMs, null);
  assert.equal(clock.latencyMs(BASE_US, BASE_US), null);
  // Queueing delays one way (video backlog) skew most samples; one quiet exchange is symmetric.
  const paths: Array<[number, number]> = [[80, 10], [60, 12], [11, 11], [95, 10], [70, 15], [40, 10]];
  paths.forEach(([fwd, back], i) => assert.ok(clock.add(exchange(i * 1000, fwd, 3, back))));
  assert.equal(clock.offsetMs, TRUE_OFFSET_MS);
  assert.equal(clock.minRttMs, 22);
  assert.equal(clock.latestRttMs, 50);
  const rtt = clock.rttMs;
  assert.ok(rtt !== null && rtt > 22 && rtt < 110, `smoothed ${rtt}`);
  // A frame captured by the peer 100 ms (true time) before we display it.
  const capturedPeerUs = BASE_US + (5000 + TRUE_OFFSET_MS) * 1000;
  const displayedUs = BASE_US + 5100 * 1000;
  assert.equal(clock.latencyMs(capturedPeerUs, displayedUs), 100);
  // A frame that seems to arrive before it was taken (offset error) is 0, not negative.
  assert.equal(clock.latencyMs(capturedPeerUs, displayedUs - 103_000), 0);
  assert.equal(clock.toLocalUs(capturedPeerUs), BASE_US + 5000 * 1000);
});

test('old samples leave the window', () => {
  const clock = new ClockEstimator(2);
  clock.add(exchange(0, 5, 0, 5)); // best, but will age out
  clock.add(exchange(1000, 50, 0, 10));
  clock.add(exchange(2000, 40, 0, 10));
  assert.equal(clock.minRttMs, 50);
  assert.equal(clock.offsetMs, TRUE_OFFSET_MS + 15);
});

test('impossible exchanges are rejected', () => {
  const clock = new ClockEstimator();
  const bogus = exchange(0, 10, 50, 10);
  bogus.t3Us = bogus.t0Us + 5_000; // returned before the peer finished processing
  assert.equal(clock.add(bogus), null);
  assert.equal(clock.rttMs, null);
  assert.equal(clockSample({ t0Us: 0, t1Us: 10, t2Us: 5, t3Us: 100 }), null);
});

test('wallClockUs is integer microseconds near Date.now()', () => {
  const now = wallClockUs();
  assert.ok(Number.isSafeInteger(now));
  assert.ok(Math.abs(now / 1000 - Date.now()) < 60_000);
});
