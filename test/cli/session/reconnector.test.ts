import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reconnector, type AttemptResult } from '../../../src/cli/session/reconnector.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { RECONNECT_MAX_UNSETTLED_DROPS, RECONNECT_STABLE_MS, reconnectDelayMs } from '../../../src/cli/session/reconnect.js';

function setup(results: () => AttemptResult, graceSec = 30, giveUpMs = 60_000) {
  const clock = new FakeClock();
  const log: string[] = [];
  const attempts: number[] = [];
  const r = new Reconnector({ host: 'relay', graceSec, giveUpMs, timers: clock }, {
    attempt: async (n) => { attempts.push(clock.now()); log.push(`attempt ${n}`); return results(); },
    back: (downMs, waiting) => log.push(`back ${downMs} ${waiting ? 'waiting' : 'done'}`),
    giveUp: (reason, message) => log.push(`give-up ${reason}: ${message}`),
  });
  return { clock, log, attempts, r };
}

test('failed attempts back off (0, 0.5 s doubling up to 5 s) and give up after the give-up time with reconnect-failed', async () => {
  const { clock, log, attempts, r } = setup(() => ({ ok: false, error: 'ECONNREFUSED' }), 30, 20_000);
  r.attached();
  await clock.advance(RECONNECT_STABLE_MS);
  r.lost(true);
  await clock.advance(30_000);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  assert.deepEqual(gaps.slice(0, 5), [1, 2, 3, 4, 5].map((s) => reconnectDelayMs(s)));
  const last = log[log.length - 1]!;
  assert.match(last, /^give-up reconnect-failed: the relay at relay stayed unreachable for 20 s \(limit 20 s\): ECONNREFUSED/);
  // Nothing after giving up.
  const n = log.length;
  await clock.advance(30_000);
  assert.equal(log.length, n);
});

test('back at the relay with a joined peer, --grace runs and ends with peer-lost; it runs only while at the relay', async () => {
  const { clock, log, r } = setup(() => ({ ok: true }), 10);
  r.attached();
  r.lost(true);
  await clock.advance(0);
  assert.deepEqual(log, ['attempt 1', 'back 0 waiting']);
  await clock.advance(9_999);
  assert.equal(log.length, 2);
  await clock.advance(1);
  assert.match(log[2]!, /^give-up peer-lost: the peer vanished without saying goodbye and did not come back within 10 s/);
});

test('nobody joined: being back at the relay closes the interruption', async () => {
  const { clock, log, r } = setup(() => ({ ok: true }));
  r.attached();
  r.lost(false);
  await clock.advance(0);
  assert.deepEqual(log, ['attempt 1', 'back 0 done']);
  assert.equal(r.active, false);
});

test('a peer that drops before the resumed call settles uses up the interruption: bounded drops, grace spent', async () => {
  const { clock, log, r } = setup(() => ({ ok: true }), 1000);
  r.attached();
  for (let i = 0; i < RECONNECT_MAX_UNSETTLED_DROPS; i++) {
    r.lost(true);
    await clock.advance(6000);
    r.attached();
    r.resumed();
    r.settleWhenStable();
    await clock.advance(1000);
  }
  assert.match(log[log.length - 1]!, new RegExp(`^give-up peer-lost: the connection to the peer kept dropping \\(${RECONNECT_MAX_UNSETTLED_DROPS} drops`));
});

test('a resumed call back for RECONNECT_STABLE_MS settles: the next drop starts over with no backoff', async () => {
  const { clock, attempts, r } = setup(() => ({ ok: true }));
  r.attached();
  r.lost(true);
  await clock.advance(100);
  r.resumed();
  r.settleWhenStable();
  assert.equal(r.active, true);
  await clock.advance(RECONNECT_STABLE_MS);
  assert.equal(r.active, false);
  const before = attempts.length;
  r.lost(true);
  await clock.advance(0);
  assert.equal(attempts.length, before + 1, 'the first attempt of a fresh interruption is made at once');
});

test('stop() cancels what is pending', async () => {
  const { clock, log, r } = setup(() => ({ ok: false, error: 'x' }));
  r.attached();
  r.lost(true);
  await clock.advance(0);
  r.stop();
  await clock.advance(120_000);
  assert.deepEqual(log, ['attempt 1']);
});
