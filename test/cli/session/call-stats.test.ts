import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStatsBuilder, LATENCY_SMOOTHING_WEIGHT, receiverReport } from '../../../src/cli/session/call-stats.js';
import { LocalMedia } from '../../../src/cli/session/local-media.js';
import { WARNING_THROTTLE_MS, WarningThrottle } from '../../../src/cli/session/warning-throttle.js';

function builder(sources: Partial<ConstructorParameters<typeof CallStatsBuilder>[0]> = {}) {
  return new CallStatsBuilder({
    rttMs: () => null, sink: () => undefined, totals: () => ({ bytesSent: 0, bytesReceived: 0, recordsRejected: 0 }), encrypted: () => false,
    ...sources,
  });
}

test('stats: counters, sink, totals and clock in one snapshot, rounded to 0.1 ms', () => {
  const b = builder({
    rttMs: () => 12.345, sink: () => ({ audioBufferMs: 60, audioUnderruns: 2 }),
    totals: () => ({ bytesSent: 1000, bytesReceived: 2000, recordsRejected: 1 }), encrypted: () => true,
  });
  b.counter.videoSent();
  b.counter.videoReceived();
  b.counter.audioReceived(20);
  const s = b.snapshot();
  assert.equal(s.rttMs, 12.3);
  assert.equal(s.latencyMs, null);
  assert.deepEqual([s.videoFramesSent, s.videoFramesReceived, s.audioMsReceived], [1, 1, 20]);
  assert.deepEqual([s.audioBufferMs, s.audioUnderruns, s.bytesSent, s.bytesReceived, s.recordsRejected, s.encrypted], [60, 2, 1000, 2000, 1, true]);
});

test('stats before the peer joined: no sink (zeros), no round trip', () => {
  const s = builder().snapshot();
  assert.deepEqual([s.audioBufferMs, s.audioUnderruns, s.rttMs, s.latencyMs], [0, 0, null, null]);
});

test('latency: the first sample as it is, then smoothed; unknown samples change nothing', () => {
  const b = builder();
  b.addLatency(null);
  assert.equal(b.snapshot().latencyMs, null);
  b.addLatency(100);
  assert.equal(b.snapshot().latencyMs, 100);
  b.addLatency(200);
  assert.equal(b.snapshot().latencyMs, 100 + LATENCY_SMOOTHING_WEIGHT * 100);
  b.addLatency(null);
  assert.equal(b.snapshot().latencyMs, 120);
});

test('REPORT: the receiving figures, with the bytes of the current connection, not the total', () => {
  const b = builder({ totals: () => ({ bytesSent: 5, bytesReceived: 99_999, recordsRejected: 0 }), sink: () => ({ audioBufferMs: 40, audioUnderruns: 3 }) });
  b.counter.videoReceived();
  b.counter.videoDropped(true);
  b.addLatency(80);
  assert.deepEqual(receiverReport(b.snapshot(), 1234), {
    videoFramesReceived: 1, videoFramesDropped: 1, videoFpsIn: 0, audioMsReceived: 0,
    audioBufferMs: 40, audioUnderruns: 3, bytesReceived: 1234, latencyMs: 80,
  });
});

test('a warning code passes at most once per throttle interval; other codes are apart', () => {
  let now = 50_000;
  const t = new WarningThrottle(() => now);
  assert.equal(t.pass('W_RECORD_REJECTED'), true);
  assert.equal(t.pass('W_RECORD_REJECTED'), false);
  assert.equal(t.pass('W_OTHER'), true);
  now += WARNING_THROTTLE_MS - 1;
  assert.equal(t.pass('W_RECORD_REJECTED'), false);
  now += 1;
  assert.equal(t.pass('W_RECORD_REJECTED'), true);
});

test('local media: no camera is sent as camera off too; a lost device is news once', () => {
  const m = new LocalMedia({ videoIn: { kind: 'test' }, audioIn: { kind: 'none' } } as never);
  assert.deepEqual(m.state(), { muted: false, cameraOff: false, noCamera: false, noMic: true });
  assert.equal(m.deviceGone('W_NO_MIC'), false, 'we never had a mic');
  assert.equal(m.deviceGone('W_CAMERA_LOST'), true);
  assert.equal(m.deviceGone('W_CAMERA_LOST'), false);
  assert.equal(m.deviceGone('W_RECORD_FAILED'), false);
  assert.deepEqual(m.state(), { muted: false, cameraOff: true, noCamera: true, noMic: true });
});
