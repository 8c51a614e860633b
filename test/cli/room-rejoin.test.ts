// Times in the log are ms from the fake clock's start.
// The room's rejoin policy (room-rejoin.ts over the call's Reconnector), on a fake clock:
// backoff while the relay is away, give-up after --grace with reconnect-failed, back in the
// room closes the interruption (no waiting for a peer), and nothing after the session ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomRejoin } from '../../src/cli/room/room-rejoin.js';
import { RECONNECT_STABLE_MS, reconnectDelayMs } from '../../src/cli/session/reconnect.js';
import { FakeClock } from '../helpers/fake-clock.js';

function setup(open: () => Promise<void>, giveUpSec = 3) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const log: string[] = [];
  const at: number[] = [];
  let ending = false;
  const r = new RoomRejoin({ host: 'relay', giveUpSec, timers: clock }, {
    open: async () => { at.push(clock.now() - t0); return open(); },
    ending: () => ending,
    reconnecting: (n, giveUpAtMs) => log.push(`reconnecting ${n} ${giveUpAtMs - t0}`),
    reconnected: (downMs) => log.push(`reconnected ${downMs}`),
    giveUp: (message) => log.push(`give-up ${message}`),
  });
  return { clock, log, at, r, end: () => { ending = true; r.stop(); } };
}

test('relay away: attempts back off (at once, 0.5 s, 1 s, ...) and give up after --grace seconds', async () => {
  const { clock, log, at, r } = setup(async () => { throw new Error('connect ECONNREFUSED'); }, 3);
  r.attached();
  await clock.advance(1000);
  r.lost();
  await clock.advance(10_000);
  assert.deepEqual(at.slice(0, 3).map((t) => t - at[0]!), [0, reconnectDelayMs(1), reconnectDelayMs(1) + reconnectDelayMs(2)]);
  assert.match(log[0]!, new RegExp(`^reconnecting 1 ${1000 + 3000}$`));
  const last = log[log.length - 1]!;
  assert.match(last, /^give-up the relay at relay stayed unreachable for 3 s \(limit 3 s\): connect ECONNREFUSED/);
  assert.ok(at[at.length - 1]! - 1000 <= 3000, `last attempt at ${at[at.length - 1]! - 1000} ms after the drop`);
  const n = log.length;
  await clock.advance(30_000);
  assert.equal(log.length, n, 'nothing after giving up');
});

test('relay back: reconnected once the room is joined again, and a later drop starts a new interruption', async () => {
  let up = false;
  const { clock, log, r } = setup(async () => { if (!up) throw new Error('refused'); }, 30);
  r.attached();
  r.lost();
  await clock.advance(0);
  assert.deepEqual(log, [`reconnecting 1 ${30_000}`]);
  up = true;
  await clock.advance(500);
  assert.deepEqual(log.slice(1), ['reconnecting 2 30000', 'reconnected 500']);
  assert.equal(r.active, false, 'no peer to wait for: back in the room ends the interruption');
  // Up for a while: the backoff starts over (a relay that drops us again soon keeps backing off).
  await clock.advance(RECONNECT_STABLE_MS);
  r.lost();
  await clock.advance(0);
  assert.deepEqual(log.slice(3), [`reconnecting 1 ${500 + RECONNECT_STABLE_MS + 30_000}`, 'reconnected 0']);
});

test('the session ends while an attempt is under way: no reconnected, no more attempts', async () => {
  let release: () => void = () => undefined;
  const { clock, log, r, end } = setup(() => new Promise<void>((res) => { release = res; }), 30);
  r.attached();
  r.lost();
  await clock.advance(0);
  end();
  release();
  await clock.advance(60_000);
  assert.deepEqual(log, ['reconnecting 1 30000']);
});
