// A room whose relay dies (docs/rooms.md section 5), with a real videochatd under two real
// `connect --room` members: (a) SIGKILLed and a new one started on the same ports: both
// members announce the others lost, rejoin (reconnecting, reconnected), see each other again
// and get media again, then exit 0 at --duration; (b) killed for good with --grace 3: exit 9
// in bounded time; (c) --no-reconnect: exit 5 as before. No ffmpeg is left behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { daemonOn, freePorts, startDaemon } from '../helpers/relay-client.js';
import { allGone, endedOf, killStarted, member, sleep, waitJoins, type Members } from '../helpers/room-call.js';
import type { ClientRun, EventLine } from '../helpers/call.js';

/** From the relay's death to both members' exit without reconnection: their links see the reset at once. */
const END_WITHIN_MS = 10_000;

after(() => killStarted());

/** Two ports nothing listens on right now (bound, then closed). */
const names = (r: ClientRun): string => r.events.map((e) => e.event).join(',');
const indexOf = (r: ClientRun, pred: (e: EventLine) => boolean): number => r.events.findIndex(pred);

async function twoMembers(d: { videoPort: number; audioPort: number }, tag: string, extra: string[]): Promise<[ClientRun, ClientRun]> {
  const session = `${tag}-${process.pid}-walnut-orbit-lantern`;
  const a = member(d, session, extra);
  await a.waitFor('waiting', 30_000);
  const b = member(d, session, extra);
  await Promise.all([waitJoins(a, 1, 20_000), waitJoins(b, 1, 20_000)]);
  assert.ok(a.events.some((e) => e.event === 'member-joined'), `a never saw b; stderr: ${a.stderr()}`);
  assert.ok(b.events.some((e) => e.event === 'member-joined'), `b never saw a; stderr: ${b.stderr()}`);
  return [a, b];
}

test('relay SIGKILLed and restarted on the same ports: both members rejoin, see each other, get media again, exit 0', async () => {
  const ports = await freePorts();
  let d = await daemonOn(ports);
  try {
    const [a, b] = await twoMembers(ports, 'roomback', ['--duration', '25']);
    const killedAt = Date.now();
    await d.stop('SIGKILL');
    await Promise.all([a, b].map((r) => r.waitFor('reconnecting', 10_000)));
    await sleep(1000);
    d = await daemonOn(ports);
    await Promise.all([a, b].map((r) => r.waitFor('reconnected', 20_000)));
    await Promise.all([waitJoins(a, 2, 20_000), waitJoins(b, 2, 20_000)]);
    const exits = await Promise.all([a.exited, b.exited]);
    for (const [i, r] of [a, b].entries()) {
      assert.equal(exits[i]!.code, 0, `exit; events: ${names(r)}; stderr: ${r.stderr()}`);
      const lost = indexOf(r, (e) => e.event === 'member-left');
      const reconnecting = indexOf(r, (e) => e.event === 'reconnecting');
      const reconnected = indexOf(r, (e) => e.event === 'reconnected');
      assert.ok(lost >= 0 && r.events[lost]!.reason === 'lost', `member-left lost; events: ${names(r)}`);
      assert.equal(r.events[lost]!.memberId, r.events.find((e) => e.event === 'member-joined')!.memberId, 'the member that left is the one that had joined');
      assert.ok(r.events[lost]!.ts - killedAt < 5000, `member-left ${r.events[lost]!.ts - killedAt} ms after the kill`);
      assert.ok(lost < reconnecting && reconnecting < reconnected, `member-left, reconnecting, reconnected in order; events: ${names(r)}`);
      assert.equal(typeof r.events[reconnected]!.downMs, 'number');
      assert.equal(typeof r.events[reconnecting]!.giveUpAtMs, 'number');
      // Back in the room under a new member id (a `waiting` after the reconnection says which).
      const rejoined = r.events.slice(reconnected).find((e) => e.event === 'waiting');
      assert.ok(rejoined && typeof rejoined.memberId === 'number', `a waiting after reconnected; events: ${names(r)}`);
      const joinedAgain = r.events.slice(reconnected).find((e) => e.event === 'member-joined');
      assert.ok(joinedAgain, `the other member joined again; events: ${names(r)}`);
      const ended = endedOf(r);
      assert.equal(ended.reason, 'hangup');
      const now = (ended.members as Members).find((m) => m.present !== false && m.id === joinedAgain.memberId);
      assert.ok(now, `the rejoined member in ended.members: ${JSON.stringify(ended.members)}`);
      assert.ok(now.videoFramesReceived > 0, `frames after the reconnection: ${JSON.stringify(ended.members)}`);
      assert.ok(now.audioMsReceived > 0, `audio after the reconnection: ${JSON.stringify(ended.members)}`);
    }
    await allGone([a, b]);
  } finally {
    await d.stop();
  }
});

test('a room whose relay is killed for good ends with exit 9 after --grace, nothing left running', async () => {
  const d = await startDaemon(['--log-level', 'warn']);
  const [a, b] = await twoMembers(d, 'roomgone', ['--grace', '3']);
  d.child.kill('SIGKILL');
  const killedAt = Date.now();
  const exits = await Promise.all([a.exited, b.exited]);
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs > 2500 && tookMs < 3000 + END_WITHIN_MS, `the members took ${tookMs} ms to give up`);
  for (const [i, r] of [a, b].entries()) {
    assert.equal(exits[i]!.code, 9, r.stderr());
    const ended = endedOf(r);
    assert.equal(ended.reason, 'reconnect-failed');
    assert.equal(ended.exitCode, 9);
    assert.match(String(ended.message), /relay/);
    const attempts = r.events.filter((e) => e.event === 'reconnecting').map((e) => e.attempt as number);
    assert.ok(attempts.length >= 2 && attempts[0] === 1, `attempts ${attempts.join(',')}`);
  }
  await allGone([a, b]);
});

test('--no-reconnect: a room whose relay is killed ends for every member with exit 5, nothing left running', async () => {
  const d = await startDaemon(['--log-level', 'warn']);
  const [a, b] = await twoMembers(d, 'roomlost', ['--no-reconnect']);
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
    assert.ok(!r.events.some((e) => e.event === 'reconnecting'), `no reconnecting; events: ${names(r)}`);
  }
  await allGone([a, b]);
});
