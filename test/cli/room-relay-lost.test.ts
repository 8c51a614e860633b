// A room whose relay dies: the man page says a room does not reconnect and ends with exit 5.
// Checked with a real videochatd SIGKILLed under two real `connect --room` members: both end,
// in bounded time, with exit 5 and an `ended` line, and leave no ffmpeg behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../helpers/relay-client.js';
import { allGone, endedOf, killStarted, member, waitJoins } from '../helpers/room-call.js';

/** From the relay's death to both members' exit: their links see the reset at once. */
const END_WITHIN_MS = 10_000;

after(() => killStarted());

test('a room whose relay is killed ends for every member with exit 5, nothing left running', async () => {
  const d = await startDaemon(['--log-level', 'warn']);
  const session = `roomlost-${process.pid}-walnut-orbit-lantern`;
  const a = member(d, session);
  await a.waitFor('waiting', 30_000);
  const b = member(d, session);
  await Promise.all([waitJoins(a, 1, 20_000), waitJoins(b, 1, 20_000)]);
  assert.ok(a.events.some((e) => e.event === 'member-joined'), `a never saw b; stderr: ${a.stderr()}`);
  d.child.kill('SIGKILL');
  const killedAt = Date.now();
  const exits = await Promise.all([a.exited, b.exited]);
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs < END_WITHIN_MS, `the members took ${tookMs} ms to end`);
  for (const [i, r] of [a, b].entries()) {
    assert.equal(exits[i]!.code, 5, r.stderr());
    const ended = endedOf(r);
    assert.equal(ended.reason, 'peer-lost');
    assert.equal(ended.exitCode, 5);
    assert.match(String(ended.message), /relay/);
  }
  await allGone([a, b]);
});
