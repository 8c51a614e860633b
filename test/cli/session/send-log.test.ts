import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendLog, SEND_LOG_HISTORY_MS } from '../../../src/cli/session/send-log.js';

test('nothing pending: no delay, however old the last write', () => {
  const log = new SendLog();
  log.wrote(1000, 0);
  log.wrote(2000, 100);
  assert.equal(log.delayAt(2000, 5000), 0);
});

test('the age of the oldest byte the peer had not received is the path delay', () => {
  const log = new SendLog();
  // 10 frames of 1000 bytes, one every 100 ms.
  for (let i = 1; i <= 10; i++) log.wrote(i * 1000, i * 100);
  // At t=1000 the peer had 4000 bytes: the 5th chunk (sent at 500) is the oldest on the way.
  assert.equal(log.delayAt(4000, 1000), 500);
  // Bytes written after the report's time do not count as pending then.
  assert.equal(log.delayAt(4000, 450), 0);
  assert.equal(log.delayAt(4000, 550), 50);
});

test('history is bounded', () => {
  const log = new SendLog();
  for (let t = 0; t < 60_000; t += 10) log.wrote(t, t);
  // A byte from long ago still has a time: the oldest kept entry, just past the horizon.
  const d = log.delayAt(0, 60_000);
  assert.ok(d >= SEND_LOG_HISTORY_MS && d <= SEND_LOG_HISTORY_MS + 20, `delay ${d}`);
});
