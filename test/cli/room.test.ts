// `videochat connect --room` end to end: real client processes (lavfi test sources for camera
// and microphone, real ffmpeg encoders and decoders), through a started videochatd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASOUNDRC, runClient, type ClientRun } from '../helpers/call.js';
import { dominantIs1kHz, tempDir } from '../media/helpers.js';
import { processTree } from '../helpers/proc-tree.js';
import { startTapProxy } from '../helpers/throttle-proxy.js';
import {
  ROOM_FPS as FPS, allGone, assertReceived, cpuSeconds, endedOf, idOf, killStarted, member as roomMember, sleep, startRelay, started, waitJoins,
  type Members, type Relay,
} from '../helpers/room-call.js';

let relay: Relay;
let n = 0;
const code = (): string => `room-${process.pid}-${++n}-walnut-orbit-lantern`;
const member = (session: string, extra: string[] = []): ClientRun => roomMember(relay, session, extra);

before(async () => {
  relay = await startRelay();
});
after(async () => {
  killStarted();
  await relay?.stop();
});

test('four members: each receives >= 80 % of every other member\'s frames and audio; the relay sees no code, no JPEG, no Opus', async () => {
  const session = code();
  const runs: ClientRun[] = [];
  // videochatd is tapped on the wire by a transparent proxy in front of it.
  const tap = await startTapProxy('127.0.0.1', [relay.videoPort, relay.audioPort]);
  const ports = { videoPort: tap.ports.get(relay.videoPort)!, audioPort: tap.ports.get(relay.audioPort)! };
  const tapped = tap.tapped;
  for (let i = 0; i < 4; i++) {
    const r = roomMember(ports, session, ['--duration', '10', '--name', `m${i}`]);
    await r.waitFor('waiting');
    runs.push(r);
  }
  // Everyone sees the three others (with what their INTRO said).
  await Promise.all(runs.map((r) => waitJoins(r, 3)));
  // CPU per client (node + its ffmpeg children) over 4 s of a full room.
  const trees = runs.map((r) => processTree(r.child.pid!));
  const cpu0 = trees.map(cpuSeconds);
  await sleep(4000);
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
  const all = Buffer.concat(tapped);
  assert.ok(all.length > 500_000, `tapped ${all.length} bytes`);
  for (const needle of [session, 'Lavc', 'JFIF', 'OpusHead', '"participant"', 'videochat']) {
    assert.equal(all.indexOf(Buffer.from(needle)), -1, `the relay saw '${needle}'`);
  }
  await tap.stop();
  await allGone(runs);
});

test('a late joiner and a killed member: keys rotate, the others are told within 2 s and go on', async () => {
  const session = code();
  // a plays the mix of the others through the real speaker child, into the ALSA file device.
  const speakerOut = process.env.ROOM_SPEAKER_DEBUG ?? join(tempDir(), 'speaker.raw');
  const a = roomMember(relay, session, ['--duration', '14', '--audio-out', 'speaker:tofile'], { ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: speakerOut });
  await a.waitFor('waiting');
  const b = member(session, ['--duration', '30']);
  await b.waitFor('member-joined');
  await a.waitFor('member-joined');
  await sleep(2500);
  const epochOf = (r: ClientRun): number => r.events.filter((e) => e.event === 'stats').pop()!.senderEpoch as number;
  const epochBefore = epochOf(a);
  // A late joiner: everyone starts a new epoch (it cannot read what came before).
  const c = member(session, ['--duration', '30']);
  await c.waitFor('waiting');
  await waitJoins(c, 2);
  await sleep(2500);
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
  await sleep(3000);
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
  await allGone([a, b, c]);
  assert.ok(!a.events.some((e) => e.event === 'warning' && e.code === 'W_AUDIO_OUT'), a.stderr());
  const pcm = readFileSync(speakerOut);
  assert.ok(pcm.length > 48_000 * 2 * 5, `the speaker got ${(pcm.length / 96_000).toFixed(1)} s`);
  // The first seconds: b's tone; while b and c were both there the two tones add up (the mix),
  // and once they are gone, silence.
  assert.ok(dominantIs1kHz(pcm.subarray(0, 96_000 * 2)), 'the speaker plays the others\' 1 kHz tones');
  const peaks: number[] = [];
  for (let at = 0; at + 96_000 <= pcm.length; at += 96_000) {
    let peak = 0;
    for (let i = at; i < at + 96_000; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
    peaks.push(peak);
  }
  assert.ok(Math.max(...peaks) > 1.6 * peaks[1]!, `two members mixed: peaks per second ${peaks.join(' ')}`);
  assert.equal(peaks[peaks.length - 1], 0, 'alone at the end: silence');
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
