// Shared by the room tests: a started videochatd with rooms, `videochat connect --room`
// members as real processes, and what a user checks in their NDJSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runClient, type ClientRun, type EventLine } from './call.js';
import { startDaemon } from './relay-client.js';
import { processTree, waitGone, describe as describePids, killLeft } from './proc-tree.js';

export const ROOM_FPS = 10;

export interface Relay {
  videoPort: number;
  audioPort: number;
  stop(): Promise<void>;
}

/** A started videochatd with rooms of at most `maxMembers`. */
export async function startRelay(maxMembers = 8): Promise<Relay> {
  const d = await startDaemon(['--log-level', 'warn', '--max-room-size', String(maxMembers)]);
  return { videoPort: d.videoPort, audioPort: d.audioPort, stop: async () => { await d.stop(); } };
}

export type Members = Array<{ id: number; videoFramesReceived: number; audioMsReceived: number; latencyMs: number | null; present?: boolean }>;

export const started: ClientRun[] = [];

/** One `connect --room --headless --json` member (its own process group: a test can kill it with its children). */
export function member(ports: { videoPort: number; audioPort: number }, session: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): ClientRun {
  const run = runClient([
    'connect', '--room', '--headless', '--host', '127.0.0.1', '--video-port', String(ports.videoPort), '--audio-port', String(ports.audioPort),
    '--session', session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', '--size', '160x120', '--fps', String(ROOM_FPS), ...extra,
  ], env, 90_000, { detached: true });
  started.push(run);
  return run;
}

export function killStarted(): void {
  for (const c of started) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
}

export function endedOf(run: ClientRun): EventLine {
  const e = run.events.find((x) => x.event === 'ended');
  assert.ok(e, `no ended event; stderr: ${run.stderr()}`);
  return e;
}

export const idOf = (run: ClientRun): number => run.events.find((e) => e.event === 'waiting')!.memberId as number;
export const joinedAt = (run: ClientRun, id: number): number | undefined => run.events.find((e) => e.event === 'member-joined' && e.memberId === id)?.ts;
export const joins = (run: ClientRun): number => run.events.filter((e) => e.event === 'member-joined').length;
export const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

export async function waitJoins(run: ClientRun, count: number, ms = 10_000): Promise<void> {
  for (let t = 0; t < ms / 100 && joins(run) < count; t++) await sleep(100);
}

/** r received at least `share` of what s sent while both were in the room (video frames and audio ms). */
export function assertReceived(r: ClientRun, s: ClientRun, share = 0.8, until?: number): { frames: number; wantFrames: number } {
  const sid = idOf(s);
  const er = endedOf(r);
  const es = endedOf(s);
  const from = joinedAt(r, sid);
  assert.ok(from, `member ${idOf(r)} never saw ${sid} join`);
  const to = until ?? Math.min(er.ts, es.ts);
  const overlapSec = (to - from) / 1000;
  const m = (er.members as Members).find((x) => x.id === sid);
  assert.ok(m, `no member ${sid} in ${idOf(r)}'s ended.members: ${JSON.stringify(er.members)}`);
  // What s actually sent per second while anyone listened (its camera may run a little under its fps).
  const firstJoin = s.events.find((e) => e.event === 'member-joined')!.ts;
  const sendSec = (es.ts - firstJoin) / 1000;
  const fps = (es.videoFramesSent as number) / sendSec;
  const audioRate = (es.audioMsSent as number) / sendSec;
  const wantFrames = share * fps * overlapSec - 2;
  const wantAudio = share * audioRate * overlapSec - 100;
  assert.ok(m.videoFramesReceived >= wantFrames, `${idOf(r)} got ${m.videoFramesReceived} frames from ${sid}, want >= ${wantFrames.toFixed(1)} (${fps.toFixed(1)} fps x ${overlapSec.toFixed(1)} s)`);
  assert.ok(m.audioMsReceived >= wantAudio, `${idOf(r)} got ${m.audioMsReceived} ms of audio from ${sid}, want >= ${wantAudio.toFixed(0)}`);
  return { frames: m.videoFramesReceived, wantFrames };
}

/** CPU seconds used by these processes so far, from /proc. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

/** Waits for the runs to exit and asserts none of their processes (ffmpeg children included) is left. */
export async function allGone(runs: ClientRun[]): Promise<void> {
  const pids = runs.flatMap((r) => (r.child.pid ? processTree(r.child.pid) : []));
  await Promise.all(runs.map((r) => r.exited));
  const left = await waitGone(pids, 5000);
  killLeft(left);
  assert.deepEqual(left, [], `left behind: ${describePids(left)}`);
}
