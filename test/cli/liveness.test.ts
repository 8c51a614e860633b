/**
 * --peer-timeout: a peer that stops sending while its sockets stay open is lost, then --grace
 * runs, then exit 5. Real things: a peer process frozen by SIGSTOP; the real videochatd's
 * handler frozen by SIGSTOP (a relay that stops forwarding); a relay that rewrites one record's
 * length header to +2 MiB, so the receiver waits inside a record that never completes in time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { startTestRelay, type TestRelay } from '../helpers/test-relay.js';
import { clientArgs, runClient, type ClientRun, type EventLine } from '../helpers/call.js';
import { describe, killLeft, processTree, waitGone } from '../helpers/proc-tree.js';

const STEP_MS = 45_000;
const started: number[] = [];
const stopped: number[] = [];
const daemons: StartedDaemon[] = [];
const relays: TestRelay[] = [];
let n = 0;
const code = (): string => `liveness-${process.pid}-${++n}-copper-lantern`;

after(async () => {
  for (const p of stopped) {
    try {
      process.kill(p, 'SIGCONT');
    } catch {
      // Gone.
    }
  }
  killLeft(started);
  await Promise.all(daemons.map((d) => d.stop()));
  await Promise.all(relays.map((r) => r.close()));
});

function poll(check: () => boolean, what: string, ms = STEP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (check()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(t);
        reject(new Error(`${what}: not within ${ms} ms`));
      }
    }, 50);
  });
}

function find(r: ClientRun, pred: (e: EventLine) => boolean): EventLine | undefined {
  return r.events.find(pred);
}

async function call(ports: { videoPort: number; audioPort: number }, extraA: string[], extraB: string[] = []): Promise<{ a: ClientRun; b: ClientRun }> {
  const session = code();
  const a = runClient(clientArgs(ports, session, extraA), {}, 150_000);
  started.push(a.child.pid!);
  await a.waitFor('waiting', STEP_MS);
  const b = runClient(clientArgs(ports, session, extraB), {}, 150_000);
  started.push(b.child.pid!);
  for (const r of [a, b]) {
    await poll(() => r.events.some((e) => e.event === 'stats' && (e.videoFramesReceived as number) > 0), `frames; ${r.stderr()}`);
  }
  return { a, b };
}

test('a peer frozen by SIGSTOP: lost after --peer-timeout 3, then --grace 2, then exit 5', async () => {
  const d = await startDaemon(['--log-level', 'warn']);
  daemons.push(d);
  const { a, b } = await call(d, ['--peer-timeout', '3', '--grace', '2']);
  const tree = processTree(b.child.pid!);
  started.push(...tree);
  const frozenAt = Date.now();
  process.kill(b.child.pid!, 'SIGSTOP');
  stopped.push(b.child.pid!);
  // Without a liveness timeout a waits forever: its sockets to the frozen peer stay open.
  const ea = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), STEP_MS))]);
  assert.ok(ea, `a still in the call ${STEP_MS} ms after the peer froze; events: ${a.events.map((e) => e.event).join(',')}`);
  assert.equal(ea.code, 5, a.stderr());
  const warn = find(a, (e) => e.event === 'warning' && e.code === 'W_PEER_SILENT');
  assert.ok(warn, a.stderr());
  assert.match(String(warn.message), /nothing from the peer on the (video|audio) connection for \d+(\.\d)? s \(--peer-timeout 3\)/);
  const left = find(a, (e) => e.event === 'peer-left');
  assert.equal(left?.reason, 'lost');
  assert.ok(left.ts - frozenAt >= 2500, `lost ${left.ts - frozenAt} ms after the freeze: sooner than --peer-timeout 3`);
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.event, 'ended');
  assert.equal(ended.reason, 'peer-lost');
  assert.ok(ended.ts - left.ts >= 1800, `ended ${ended.ts - left.ts} ms after peer-left: --grace 2 not honoured`);
  process.kill(b.child.pid!, 'SIGKILL');
  process.kill(b.child.pid!, 'SIGCONT');
  const gone = await waitGone(tree, 20_000);
  assert.deepEqual(gone, [], describe(gone));
});

test('the relay stops forwarding (its handler SIGSTOPped): both sides lost, exit 5 each', async () => {
  const d = await startDaemon(['--log-level', 'warn', '--handlers', '1']);
  daemons.push(d);
  const { a, b } = await call(d, ['--peer-timeout', '3', '--grace', '2'], ['--peer-timeout', '3', '--grace', '2']);
  const handlers = processTree(d.pid).slice(1);
  assert.ok(handlers.length >= 1, describe(handlers));
  for (const h of handlers) {
    process.kill(h, 'SIGSTOP');
    stopped.push(h);
  }
  const [ea, eb] = await Promise.race([
    Promise.all([a.exited, b.exited]),
    new Promise<null>((r) => setTimeout(() => r(null), STEP_MS)),
  ]) ?? [null, null];
  assert.ok(ea && eb, `still in the call ${STEP_MS} ms after the relay stopped forwarding`);
  for (const [r, e] of [[a, ea], [b, eb]] as const) {
    assert.equal(e.code, 5, r.stderr());
    assert.ok(find(r, (x) => x.event === 'warning' && x.code === 'W_PEER_SILENT'), r.stderr());
    assert.equal(r.events[r.events.length - 1].reason, 'peer-lost');
  }
  for (const h of handlers) process.kill(h, 'SIGCONT');
});

test('one record header grown by 2 MiB on the path: the stuck video connection is lost, then the call resumes', async () => {
  // The relay flips bit 0x20 of byte 1 of a video record's length (0 for every frame here):
  // a's parser then waits for 2 MiB more inside one record while audio still flows.
  const relay = await startTestRelay({
    tamper: { channel: 'video', direction: 'bToA', afterBytes: 200_000, flipMask: 0x20, target: 'length', lengthByte: 1, minBodyBytes: 1000 },
  });
  relays.push(relay);
  const { a, b } = await call(relay, ['--peer-timeout', '3', '--grace', '20'], ['--grace', '20']);
  await poll(() => relay.tampered !== null, 'the tamper');
  await poll(() => !!find(a, (e) => e.event === 'warning' && e.code === 'W_PEER_SILENT'), `a notices; ${a.stderr()}`, 20_000);
  const warn = find(a, (e) => e.event === 'warning' && e.code === 'W_PEER_SILENT')!;
  assert.match(String(warn.message), /on the video connection/);
  // Fresh connections (the tamper fires once): the call goes on, frames flow again.
  const back = await Promise.race([a.waitFor('reconnected', STEP_MS), a.exited.then(() => null)]);
  assert.ok(back, `a reconnected; ${a.stderr()}`);
  await poll(() => a.events.some((e) => e.event === 'stats' && e.ts > back.ts && (e.videoFpsIn as number) > 0), 'frames again');
  a.child.kill('SIGINT');
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
});

test('our own process frozen past --peer-timeout (SIGSTOP, then SIGCONT) while the peer kept sending: not taken for a lost peer', async () => {
  const d = await startDaemon(['--log-level', 'warn']);
  daemons.push(d);
  // b never times out: only a's judgement is under test.
  const { a, b } = await call(d, ['--peer-timeout', '3', '--grace', '20'], ['--peer-timeout', '0', '--grace', '20']);
  process.kill(a.child.pid!, 'SIGSTOP');
  stopped.push(a.child.pid!);
  await new Promise((r) => setTimeout(r, 5000));
  const wokeAt = Date.now();
  process.kill(a.child.pid!, 'SIGCONT');
  // The peer's messages were waiting in a's socket: they count before any verdict.
  await poll(() => a.events.some((e) => e.event === 'stats' && e.ts > wokeAt + 2000), 'a running again');
  assert.equal(find(a, (e) => e.event === 'warning' && e.code === 'W_PEER_SILENT'), undefined, a.stderr());
  assert.equal(find(a, (e) => e.event === 'peer-left'), undefined);
  a.child.kill('SIGINT');
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
});
