// Resilient calls (docs/resilience.md), end to end with real processes: the relay SIGKILLed
// and restarted on the same ports, the relay gone for good, a peer SIGKILLed and restarted,
// a peer that never comes back, --no-reconnect, and a capture ffmpeg SIGKILLed mid-call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { daemonOn, freePorts, startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { runClient, clientArgs, ASOUNDRC, type EventLine, type ClientRun } from '../helpers/call.js';
import { RECONNECT_GIVE_UP_SEC, reconnectDelayMs, reconnectGiveUpSec } from '../../src/cli/session/reconnect.js';

/** Ceiling for any one wait on an event: generous, the machine is shared. */
const EVENT_TIMEOUT_MS = 30_000;

let shared: StartedDaemon;
let n = 0;
const code = (): string => `resil-${process.pid}-${++n}-maple-comet`;

before(async () => {
  shared = await startDaemon(['--log-level', 'warn']);
});
after(async () => {
  await shared?.stop();
});

/** Two ports nothing listens on right now (bound, then closed). */
/** Resolves with the first event (past or future) matching `pred`; polls the parsed lines. */
function waitEvent(run: ClientRun, what: string, pred: (e: EventLine) => boolean, ms = EVENT_TIMEOUT_MS): Promise<EventLine> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      const hit = run.events.find(pred);
      if (hit) return resolve(hit);
      if (run.child.exitCode !== null || run.child.signalCode !== null) {
        return reject(new Error(`${what}: the client exited first; events: ${names(run)}; stderr: ${run.stderr()}`));
      }
      if (Date.now() - started > ms) return reject(new Error(`${what}: not within ${ms} ms; events: ${names(run)}; stderr: ${run.stderr()}`));
      setTimeout(check, 100);
    };
    check();
  });
}

function names(run: ClientRun): string {
  return run.events.map((e) => e.event).filter((x) => x !== 'stats').join(',');
}

/** A `stats` line after `afterTs` whose videoFramesReceived exceeds `frames`. */
function framesBeyond(run: ClientRun, what: string, afterTs: number, frames: number): Promise<EventLine> {
  return waitEvent(run, what, (e) => e.event === 'stats' && e.ts > afterTs && (e.videoFramesReceived as number) > frames);
}

/** videoFramesReceived of the last stats line at or before `ts` (0 when none). */
function framesAt(run: ClientRun, ts: number): number {
  const s = run.events.filter((e) => e.event === 'stats' && e.ts <= ts).pop();
  return (s?.videoFramesReceived as number | undefined) ?? 0;
}

function ended(run: ClientRun): EventLine {
  const last = run.events[run.events.length - 1];
  assert.ok(last, `no events; stderr: ${run.stderr()}`);
  assert.equal(last.event, 'ended', `ended is the last line; events: ${names(run)}`);
  return last;
}

function indexOf(run: ClientRun, pred: (e: EventLine) => boolean): number {
  return run.events.findIndex(pred);
}

/** Starts a, waits for `waiting`, starts b: a call in progress once both saw frames. */
async function startCall(ports: { videoPort: number; audioPort: number }, session: string, extraA: string[], extraB: string[],
  envA: NodeJS.ProcessEnv = {}, envB: NodeJS.ProcessEnv = {}): Promise<{ a: ClientRun; b: ClientRun }> {
  const a = runClient(clientArgs(ports, session, extraA), envA, 120_000);
  await a.waitFor('waiting', EVENT_TIMEOUT_MS);
  const b = runClient(clientArgs(ports, session, extraB), envB, 120_000);
  await Promise.all([
    framesBeyond(a, 'a receives frames', 0, 10),
    framesBeyond(b, 'b receives frames', 0, 10),
  ]);
  return { a, b };
}

/** A polite hang-up, as Ctrl-C would do: the client sends BYE and exits 0, the peer then too. */
function hangUp(run: ClientRun): void {
  run.child.kill('SIGTERM');
}

function killAll(...runs: ClientRun[]): void {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
}

test('backoff: at once, then 0.5 s doubling to 5 s; the give-up time is 60 s unless the test variable says otherwise', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 40].map(reconnectDelayMs), [0, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(RECONNECT_GIVE_UP_SEC, 60);
  assert.equal(reconnectGiveUpSec({}), 60);
  assert.equal(reconnectGiveUpSec({ VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC: '2.5' }), 2.5);
  assert.equal(reconnectGiveUpSec({ VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC: 'soon' }), 60);
});

test('relay SIGKILLed and restarted on the same ports: both sides reconnect, frames flow again, both exit 0', async () => {
  const ports = await freePorts();
  let daemon = await daemonOn(ports);
  const { a, b } = await startCall(ports, code(), [], []);
  try {
    const killedAt = Date.now();
    await daemon.stop('SIGKILL');
    await Promise.all([a, b].map((r) => waitEvent(r, 'reconnecting', (e) => e.event === 'reconnecting')));
    // Down for a moment: the first attempts fail (nothing listens), then the relay is back.
    await new Promise((r) => setTimeout(r, 1000));
    daemon = await daemonOn(ports);
    const back = await Promise.all([a, b].map((r) => waitEvent(r, 'reconnected', (e) => e.event === 'reconnected')));
    for (const [i, run] of [a, b].entries()) {
      const lost = indexOf(run, (e) => e.event === 'peer-left');
      assert.ok(lost >= 0 && run.events[lost].reason === 'lost', `peer-left lost; events: ${names(run)}`);
      assert.ok(lost < indexOf(run, (e) => e.event === 'reconnecting'), 'peer-left before reconnecting');
      assert.ok(run.events[lost].ts - killedAt < 5000, `peer-left ${run.events[lost].ts - killedAt} ms after the kill`);
      assert.equal(typeof back[i].downMs, 'number');
      assert.equal((back[i].peer as { client: string }).client, 'videochat');
    }
    // Frames flow again: received counts grow well past what they were when the call came back.
    await Promise.all([a, b].map((r, i) => framesBeyond(r, 'frames after reconnecting', back[i].ts, framesAt(r, back[i].ts) + 20)));
    hangUp(a);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ea.code, 0, a.stderr());
    assert.equal(eb.code, 0, b.stderr());
    for (const run of [a, b]) {
      const end = ended(run);
      assert.equal(end.reason, 'hangup');
      assert.equal(end.encrypted, true);
      // Totals span both connections: more received than before the drop, bytes of both counted.
      assert.ok((end.videoFramesReceived as number) > framesAt(run, killedAt) + 20);
    }
  } finally {
    killAll(a, b);
    await daemon.stop();
  }
});

test('relay killed for good: reconnecting with backoff, then exit 9 (reconnect-failed) after the give-up time', async () => {
  const ports = await freePorts();
  const daemon = await daemonOn(ports);
  const env = { VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC: '3' };
  const { a, b } = await startCall(ports, code(), [], [], env, env);
  try {
    const killedAt = Date.now();
    await daemon.stop('SIGKILL');
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    for (const [run, ex] of [[a, ea], [b, eb]] as const) {
      assert.equal(ex.code, 9, run.stderr());
      const end = ended(run);
      assert.equal(end.reason, 'reconnect-failed');
      assert.equal(end.exitCode, 9);
      const attempts = run.events.filter((e) => e.event === 'reconnecting').map((e) => e.attempt as number);
      assert.ok(attempts.length >= 3, `attempts ${attempts.join(',')}`);
      assert.deepEqual(attempts, attempts.map((_, i) => i + 1), 'attempts count up from 1');
      // Not before the give-up time: the backoff kept trying for at least those 3 s.
      assert.ok(end.ts - killedAt >= 2500, `gave up after ${end.ts - killedAt} ms`);
      assert.ok(end.ts - killedAt < 20_000, `gave up after ${end.ts - killedAt} ms`);
      assert.match(String(end.message), /unreachable/);
    }
  } finally {
    killAll(a, b);
  }
});

test('peer SIGKILLed and restarted with the same code within --grace: peer-left lost, then reconnected, frames flow, exit 0', async () => {
  const session = code();
  const { a, b } = await startCall(shared, session, [], []);
  let b2: ClientRun | undefined;
  try {
    b.child.kill('SIGKILL');
    const left = await waitEvent(a, 'peer-left', (e) => e.event === 'peer-left');
    assert.equal(left.reason, 'lost');
    await waitEvent(a, 'reconnecting', (e) => e.event === 'reconnecting');
    // The new process has new keys: the survivor does a fresh HELLO / KEY_CONFIRM with it.
    b2 = runClient(clientArgs(shared, session), {}, 120_000);
    const back = await waitEvent(a, 'reconnected', (e) => e.event === 'reconnected');
    await b2.waitFor('peer-joined', EVENT_TIMEOUT_MS);
    assert.ok(!a.events.some((e) => e.event === 'peer-joined' && e.ts > left.ts), 'the survivor reports reconnected, not a second peer-joined');
    await framesBeyond(a, 'frames from the new peer', back.ts, framesAt(a, back.ts) + 20);
    await framesBeyond(b2, 'the new peer receives frames', 0, 20);
    hangUp(a);
    const [ea, eb2] = await Promise.all([a.exited, b2.exited]);
    assert.equal(ea.code, 0, a.stderr());
    assert.equal(eb2.code, 0, b2.stderr());
    assert.equal(ended(a).reason, 'hangup');
    assert.equal(ended(b2).reason, 'hangup');
    assert.ok(b2.events.some((e) => e.event === 'peer-left' && e.reason === 'bye'), 'the new peer saw our BYE');
  } finally {
    killAll(a, b, ...(b2 ? [b2] : []));
  }
});

test('peer SIGKILLed and not coming back: exit 5 (peer-lost) once --grace 2 has passed', async () => {
  const { a, b } = await startCall(shared, code(), ['--grace', '2'], []);
  try {
    b.child.kill('SIGKILL');
    const ea = await a.exited;
    assert.equal(ea.code, 5, a.stderr());
    const end = ended(a);
    assert.equal(end.reason, 'peer-lost');
    const left = a.events.find((e) => e.event === 'peer-left')!;
    assert.equal(left.reason, 'lost');
    const waited = end.ts - left.ts;
    assert.ok(waited >= 1800, `ended ${waited} ms after peer-left: the grace was not honoured`);
    assert.ok(waited < 12_000, `ended ${waited} ms after peer-left`);
  } finally {
    killAll(a, b);
  }
});

test('--no-reconnect: the relay killed ends the call at once with exit 5', async () => {
  const ports = await freePorts();
  const daemon = await daemonOn(ports);
  const { a, b } = await startCall(ports, code(), ['--no-reconnect'], ['--no-reconnect']);
  try {
    const killedAt = Date.now();
    await daemon.stop('SIGKILL');
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    for (const [run, ex] of [[a, ea], [b, eb]] as const) {
      assert.equal(ex.code, 5, run.stderr());
      const end = ended(run);
      assert.equal(end.reason, 'peer-lost');
      assert.ok(run.events.some((e) => e.event === 'peer-left' && e.reason === 'lost'));
      assert.ok(!run.events.some((e) => e.event === 'reconnecting'), 'no reconnect attempt');
      assert.ok(end.ts - killedAt < 5000, `ended ${end.ts - killedAt} ms after the kill`);
    }
  } finally {
    killAll(a, b);
  }
});

/** Pids of `pid`'s ffmpeg children whose command line contains `needle`. */
function ffmpegChildren(pid: number, needle: string): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-P', String(pid), 'ffmpeg'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').filter(Boolean).map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}

test('capture ffmpeg SIGKILLed mid-call: a warning, capture restarts, the peer keeps receiving frames', async () => {
  const { a, b } = await startCall(shared, code(), [], []);
  try {
    const pids = ffmpegChildren(a.child.pid!, 'testsrc2');
    assert.equal(pids.length, 1, `a's video capture ffmpeg: ${pids.join(',')}`);
    const killedAt = Date.now();
    process.kill(pids[0], 'SIGKILL');
    const warning = await waitEvent(a, 'capture warning', (e) => e.event === 'warning' && e.ts >= killedAt - 100);
    assert.equal(warning.code, 'W_CAPTURE_RESTART');
    await framesBeyond(b, 'frames after the capture restart', warning.ts, framesAt(b, warning.ts) + 20);
    const again = ffmpegChildren(a.child.pid!, 'testsrc2');
    assert.equal(again.length, 1);
    assert.notEqual(again[0], pids[0], 'a new capture process');
    hangUp(a);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ea.code, 0, a.stderr());
    assert.equal(eb.code, 0, b.stderr());
    assert.ok(!a.events.some((e) => e.event === 'peer-left' && e.reason === 'lost'), 'the call itself never dropped');
  } finally {
    killAll(a, b);
  }
});

test('audio output unavailable: one clear warning, the call goes on without sound (frames and audio still received)', async () => {
  // An ALSA device that does not exist: the speaker child fails to open it.
  const { a, b } = await startCall(shared, code(), ['--audio-out', 'speaker:nosuchdevice'], [], { ALSA_CONFIG_PATH: ASOUNDRC });
  try {
    const warning = await waitEvent(a, 'audio warning', (e) => e.event === 'warning' && e.code === 'W_AUDIO_OUT');
    assert.match(String(warning.message), /without sound/);
    await framesBeyond(a, 'frames after the audio warning', warning.ts, framesAt(a, warning.ts) + 20);
    hangUp(a);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ea.code, 0, a.stderr());
    assert.equal(eb.code, 0, b.stderr());
    const end = ended(a);
    assert.ok((end.audioMsReceived as number) > 1000, `audio still received: ${end.audioMsReceived} ms`);
    assert.equal(a.events.filter((e) => e.event === 'warning' && e.code === 'W_AUDIO_OUT').length, 1, 'said once');
  } finally {
    killAll(a, b);
  }
});
