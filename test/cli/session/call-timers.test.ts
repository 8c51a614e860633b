import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerSet } from '../../../src/cli/session/call-timers.js';
import { FakeClock } from '../../helpers/fake-clock.js';

test('after() fires once at its time; every() repeats at its period', async () => {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  const fired: string[] = [];
  timers.after(500, () => fired.push(`once ${clock.now() - 1_000_000}`));
  timers.every(200, () => fired.push(`tick ${clock.now() - 1_000_000}`));
  await clock.advance(700);
  assert.deepEqual(fired, ['tick 200', 'tick 400', 'once 500', 'tick 600']);
});

test('clear() cancels every timer, also from inside a tick, and later ones are never set', async () => {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  let ticks = 0;
  let late = false;
  timers.every(100, () => {
    ticks++;
    if (ticks === 3) timers.clear();
  });
  timers.after(10_000, () => { late = true; });
  await clock.advance(1000);
  assert.equal(ticks, 3);
  timers.after(1, () => { late = true; });
  timers.every(1, () => { late = true; });
  await clock.advance(20_000);
  assert.equal(late, false);
  assert.equal(clock.pending, 0, 'nothing left to keep a process alive');
});
