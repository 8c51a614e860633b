// `videochat connect --room` end to end: real client processes (lavfi test sources for camera
// and microphone, real ffmpeg encoders and decoders), through a relay with rooms: the real
// videochatd once it routes `vcroom1-` codes (--max-room-size), until then the loopback relay
// made of the daemon's Room class (test/helpers/room-relay.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { runClient, type ClientRun, type EventLine } from '../helpers/call.js';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { startRoomRelay, type RoomRelay } from '../helpers/room-relay.js';
import { processTree, waitGone, describe as describePids, killLeft } from '../helpers/proc-tree.js';

const FPS = 10;
const DAEMON_DIST = fileURLToPath(new URL('../../dist/daemon/', import.meta.url));

/** True once the built videochatd knows rooms (it has --max-room-size). */
function daemonKnowsRooms(): boolean {
  for (const f of ['options.js', 'cli.js', 'main.js', 'config.js']) {
    const p = DAEMON_DIST + f;
    if (existsSync(p) && readFileSync(p, 'utf8').includes('max-room-size')) return true;
  }
  return false;
}

interface Relay { videoPort: number; audioPort: number; tapped: Buffer[] | null; stop(): Promise<void> }

async function startRelay(maxMembers = 8): Promise<Relay> {
  if (daemonKnowsRooms()) {
    const d: StartedDaemon = await startDaemon(['--log-level', 'warn', '--max-room-size', String(maxMembers)]);
    return { videoPort: d.videoPort, audioPort: d.audioPort, tapped: null, stop: async () => { await d.stop(); } };
  }
  const r: RoomRelay = await startRoomRelay({ maxMembers });
  return r;
}

let relay: Relay;
let n = 0;
const code = (): string => `room-${process.pid}-${++n}-walnut-orbit-lantern`;
const started: ClientRun[] = [];

before(async () => {
  relay = await startRelay();
});
after(async () => {
  for (const c of started) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await relay?.stop();
});

function member(session: string, extra: string[] = [], ports: { videoPort: number; audioPort: number } = relay): ClientRun {
  const run = runClient([
    'connect', '--room', '--headless', '--host', '127.0.0.1', '--video-port', String(ports.videoPort), '--audio-port', String(ports.audioPort),
    '--session', session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', '--size', '160x120', '--fps', String(FPS), ...extra,
  ], {}, 90_000, { detached: true });
  started.push(run);
  return run;
}

function endedOf(run: ClientRun): EventLine {
  const e = run.events.find((x) => x.event === 'ended');
  assert.ok(e, `no ended event; stderr: ${run.stderr()}`);
  return e;
}

const idOf = (run: ClientRun): number => run.events.find((e) => e.event === 'waiting')!.memberId as number;
const joinedAt = (run: ClientRun, id: number): number | undefined => run.events.find((e) => e.event === 'member-joined' && e.memberId === id)?.ts;
type Members = Array<{ id: number; videoFramesReceived: number; audioMsReceived: number; latencyMs: number | null }>;

/** r received at least `share` of what s sent while both were in the room (video frames and audio ms). */
function assertReceived(r: ClientRun, s: ClientRun, share = 0.8, until?: number): void {
  const sid = idOf(s);
  const er = endedOf(r);
  const es = endedOf(s);
  const from = joinedAt(r, sid);
  assert.ok(from, `member ${idOf(r)} never saw ${sid} join`);
  const to = until ?? Math.min(er.ts, es.ts);
  const overlapSec = (to - from) / 1000;
  const m = (er.members as Members).find((x) => x.id === sid);
  assert.ok(m, `no member ${sid} in ${idOf(r)}'s ended.members: ${JSON.stringify(er.members)}`);
  // What s actually sent per second while anyone listened (its camera may run a little under FPS).
  const firstJoin = s.events.find((e) => e.event === 'member-joined')!.ts;
  const sendSec = (es.ts - firstJoin) / 1000;
  const fps = (es.videoFramesSent as number) / sendSec;
  const audioRate = (es.audioMsSent as number) / sendSec;
  const wantFrames = share * fps * overlapSec - 2;
  const wantAudio = share * audioRate * overlapSec - 100;
  assert.ok(m.videoFramesReceived >= wantFrames, `${idOf(r)} got ${m.videoFramesReceived} frames from ${sid}, want >= ${wantFrames.toFixed(1)} (${fps.toFixed(1)} fps x ${overlapSec.toFixed(1)} s)`);
  assert.ok(m.audioMsReceived >= wantAudio, `${idOf(r)} got ${m.audioMsReceived} ms of audio from ${sid}, want >= ${wantAudio.toFixed(0)}`);
}

/** CPU seconds used by a process and its children, from /proc. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

async function allGone(runs: ClientRun[]): Promise<void> {
  const pids = runs.flatMap((r) => (r.child.pid ? processTree(r.child.pid) : []));
  await Promise.all(runs.map((r) => r.exited));
  const left = await waitGone(pids, 5000);
  killLeft(left);
  assert.deepEqual(left, [], `left behind: ${describePids(left)}`);
}

test('four members: each receives >= 80 % of every other member\'s frames and audio; the relay sees no code, no JPEG, no Opus', async () => {
  const session = code();
  const runs: ClientRun[] = [];
  for (let i = 0; i < 4; i++) {
    const r = member(session, ['--duration', '10', '--name', `m${i}`]);
    await r.waitFor('waiting');
    runs.push(r);
  }
  // Everyone sees the three others (with what their INTRO said).
  await Promise.all(runs.map(async (r) => {
    for (let t = 0; t < 100 && r.events.filter((e) => e.event === 'member-joined').length < 3; t++) await new Promise((res) => setTimeout(res, 100));
  }));
  // CPU per client (node + its ffmpeg children) over 4 s of a full room.
  const trees = runs.map((r) => processTree(r.child.pid!));
  const cpu0 = trees.map(cpuSeconds);
  await new Promise((res) => setTimeout(res, 4000));
  const cpu = trees.map((t, i) => (cpuSeconds(t) - cpu0[i]!) / 4);
  console.log(`cpu per client (share of one core, 3 others at 160x120@${FPS}): ${cpu.map((c) => c.toFixed(2)).join(' ')}`);
  const exits = await Promise.all(runs.map((r) => r.exited));
  exits.forEach((e, i) => assert.equal(e.code, 0, runs[i]!.stderr()));
  for (const r of runs) {
    const joined = r.events.filter((e) => e.event === 'member-joined');
    assert.equal(joined.length, 3, `member ${idOf(r)} saw ${joined.length} joins`);
    for (const j of joined) assert.match(String((j.member as { name?: string }).name), /^m[0-3]$/);
    assert.ok(r.events.filter((e) => e.event === 'stats').some((s) => (s.members as Members).length === 3), 'stats carry members');
    const e = endedOf(r);
    assert.equal(e.reason, 'hangup');
    assert.equal(e.encrypted, true);
    for (const m of e.members as Members) assert.ok(typeof m.latencyMs === 'number' && m.latencyMs < 1000, `latency ${m.latencyMs}`);
  }
  const shares: string[] = [];
  for (const r of runs) {
    for (const s of runs) {
      if (r === s) continue;
      assertReceived(r, s);
      const m = (endedOf(r).members as Members).find((x) => x.id === idOf(s))!;
      shares.push(`${idOf(s)}->${idOf(r)}:${m.videoFramesReceived}/${endedOf(s).videoFramesSent}`);
    }
  }
  console.log(`frames received/sent: ${shares.join(' ')}`);
  if (relay.tapped) {
    const all = Buffer.concat(relay.tapped);
    assert.ok(all.length > 500_000, `tapped ${all.length} bytes`);
    for (const needle of [session, 'Lavc', 'JFIF', 'OpusHead', '"participant"', 'videochat']) {
      assert.equal(all.indexOf(Buffer.from(needle)), -1, `the relay saw '${needle}'`);
    }
  }
  await allGone(runs);
});

test('a late joiner and a killed member: keys rotate, the others are told within 2 s and go on', async () => {
  const session = code();
  const a = member(session, ['--duration', '14']);
  await a.waitFor('waiting');
  const b = member(session, ['--duration', '30']);
  await b.waitFor('member-joined');
  await a.waitFor('member-joined');
  await new Promise((res) => setTimeout(res, 2500));
  const epochOf = (r: ClientRun): number => r.events.filter((e) => e.event === 'stats').pop()!.senderEpoch as number;
  const epochBefore = epochOf(a);
  // A late joiner: everyone starts a new epoch (it cannot read what came before).
  const c = member(session, ['--duration', '30']);
  await c.waitFor('waiting');
  for (let t = 0; t < 100 && c.events.filter((e) => e.event === 'member-joined').length < 2; t++) await new Promise((res) => setTimeout(res, 100));
  await new Promise((res) => setTimeout(res, 2500));
  const epochJoined = epochOf(a);
  assert.ok(epochJoined > epochBefore, `a's epoch ${epochBefore} -> ${epochJoined} after c joined`);
  // b dies without a word (SIGKILL to it and its ffmpeg children).
  const bId = idOf(b);
  const killedAt = Date.now();
  process.kill(-b.child.pid!, 'SIGKILL');
  const leftA = await a.waitFor('member-left', 5000);
  const leftC = await c.waitFor('member-left', 5000);
  for (const left of [leftA, leftC]) {
    assert.equal(left.memberId, bId);
    assert.ok(left.ts - killedAt <= 2000, `told after ${left.ts - killedAt} ms`);
  }
  const receivedFromC = (): number => ((a.events.filter((e) => e.event === 'stats').pop()!.members as Members).find((m) => m.id === idOf(c))?.videoFramesReceived ?? 0);
  const atKill = receivedFromC();
  await new Promise((res) => setTimeout(res, 3000));
  assert.ok(epochOf(a) > epochJoined, `a's epoch ${epochJoined} -> ${epochOf(a)} after b left`);
  // a and c go on: c's frames keep arriving at a (>= 80 % of 3 s at FPS).
  assert.ok(receivedFromC() - atKill >= 0.8 * FPS * 3 - 3, `a got ${receivedFromC() - atKill} frames from c in the 3 s after the kill`);
  process.kill(-c.child.pid!, 'SIGTERM');
  const [ea, ec] = await Promise.all([a.exited, c.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(ec.code, 0, c.stderr());
  const endA = endedOf(a);
  const mb = (endA.members as Array<{ id: number; present: boolean }>).find((m) => m.id === bId);
  assert.equal(mb?.present, false, 'b is in ended.members as gone');
  assertReceived(a, c, 0.8, Math.min(endedOf(a).ts, endedOf(c).ts));
  // c never received a key of what came before it; it has frames from a only from its join on.
  await allGone([a, b, c]);
});

test('a member with a wrong code is refused by everyone: exit 8, no one\'s media', async () => {
  const session = code();
  const a = member(session, ['--duration', '10']);
  await a.waitFor('waiting');
  const b = member(session, ['--duration', '10']);
  await b.waitFor('member-joined');
  // Same room (the rendezvous id of the right code), another code key.
  const w = runClient([
    'connect', '--room', '--headless', '--host', '127.0.0.1', '--video-port', String(relay.videoPort), '--audio-port', String(relay.audioPort),
    '--session', `${session}-not-it`, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', '--size', '160x120', '--fps', String(FPS),
  ], { VIDEOCHAT_TEST_ROOM_RENDEZVOUS_CODE: session }, 60_000, { detached: true });
  started.push(w);
  const ew = await w.exited;
  assert.equal(ew.code, 8, w.stderr());
  const endW = endedOf(w);
  assert.equal(endW.reason, 'key-confirmation');
  assert.equal(endW.exitCode, 8);
  assert.equal(w.events.filter((e) => e.event === 'member-joined').length, 0, 'w saw no one join');
  assert.deepEqual(endW.members, []);
  assert.equal(endW.videoFramesReceived, 0);
  assert.equal(endW.audioMsReceived, 0);
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  for (const r of [a, b]) {
    // They refused it and never counted it as a member; the call between them went on.
    assert.ok(r.events.some((e) => e.event === 'warning' && e.code === 'W_MEMBER_REFUSED'), r.stderr());
    assert.equal(r.events.filter((e) => e.event === 'member-joined').length, 1);
    assert.equal((endedOf(r).members as Members).length, 1);
  }
  assertReceived(a, b);
  assertReceived(b, a);
  await allGone([a, b, w]);
});
