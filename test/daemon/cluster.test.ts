/**
 * Several videochatd nodes sharing one rendezvous directory on a real redis-server (no
 * persistence, free port): the two clients of a session reach different nodes and are spliced;
 * SHA-checked data both ways; waiters that leave are forgotten everywhere; a node's SIGKILL
 * costs only its pairs and its waiters are never paired; Redis SIGKILL and restart; the
 * cluster port refuses whoever lacks the secret; real `videochat connect` calls across nodes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, readExactly, startDaemon, VIDEOCHATD_BIN, waitClosed, type StartedDaemon } from '../helpers/relay-client.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { exchange } from './exchange.js';
import { clientArgs, runClient } from '../helpers/call.js';
import { dialLink } from '../../src/daemon/cluster/link.js';

let redis: StartedRedis;
let dir = '';
let secretFile = '';
const started: StartedDaemon[] = [];
let codes = 0;
const code = (what: string): string => `${what}-${process.pid}-${++codes}`;

async function node(extra: string[] = []): Promise<StartedDaemon & { clusterPort: number; nodeId: string }> {
  const d = await startDaemon(['--host', '127.0.0.1', '--redis', redis.url, '--cluster-secret-file', secretFile, '--cluster-port', '0',
    '--metrics-port', '0', '--handlers', '1', ...extra]);
  started.push(d);
  const listening = d.lines.find((l) => l.msg === 'listening')!;
  return Object.assign(d, { clusterPort: listening.clusterPort as number, nodeId: listening.nodeId as string });
}

async function metrics(d: StartedDaemon): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`);
  return res.text();
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Connects a on node `da` and b on node `db` with the same code; resolves once one byte crossed. */
async function crossPair(da: StartedDaemon, db: StartedDaemon, c: string, channel: 'video' | 'audio' = 'video'): Promise<{ a: Socket; b: Socket }> {
  const port = (d: StartedDaemon): number => (channel === 'video' ? d.videoPort : d.audioPort);
  const a = await connectClient(port(da), c);
  // The first must be registered in the directory before the second looks (one Redis round trip).
  await new Promise((r) => setTimeout(r, 300));
  const b = await connectClient(port(db), c);
  a.write('x');
  await readExactly(b, 1, 15_000);
  b.write('y');
  await readExactly(a, 1, 15_000);
  return { a, b };
}

async function assertExchange(a: Socket, b: Socket, bytes = 1_000_000): Promise<void> {
  const r = await exchange(a, b, bytes, bytes);
  assert.equal(r.gotAB, r.sentAB, 'a -> b arrived whole and unchanged');
  assert.equal(r.gotBA, r.sentBA, 'b -> a arrived whole and unchanged');
}

/** True when nothing arrives on `s` for `ms` (it is not paired). */
async function staysUnpaired(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onData = (): void => { cleanup(); resolve(false); };
    const t = setTimeout(() => { cleanup(); resolve(true); }, ms);
    const cleanup = (): void => { clearTimeout(t); s.off('data', onData); };
    s.on('data', onData);
    s.resume();
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-cluster-'));
  secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`);
  redis = await startRedis();
});

after(async () => {
  for (const d of started) await d.stop('SIGKILL');
  await redis?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('three nodes: pairs whose sides reach different nodes relay SHA-checked data both ways; Redis never holds a code', { timeout: 120_000 }, async () => {
  const [n1, n2, n3] = [await node(), await node(), await node()];
  const pairs = [
    await crossPair(n1, n2, code('cross-v')),
    await crossPair(n2, n3, code('cross-a'), 'audio'),
    await crossPair(n3, n1, code('cross-v2')),
  ];
  await Promise.all(pairs.map(({ a, b }) => assertExchange(a, b)));
  // A waiter's entry: a hash, never the code (nor its hex).
  const waitingCode = code('secret-session-name');
  const w = await connectClient(n1.videoPort, waitingCode);
  await new Promise((r) => setTimeout(r, 300));
  const dump = redis.cli('--scan').split('\n').filter(Boolean);
  assert.ok(dump.some((k) => k.includes(':wait:video:')), `the waiter is in the directory: ${dump.join(', ')}`);
  const everything = dump.join('\n') + dump.map((k) => (k.includes(':wait:') || k.includes(':node:') ? redis.cli('GET', k) : '')).join('\n');
  assert.ok(!everything.includes(waitingCode) && !everything.includes(Buffer.from(waitingCode).toString('hex')), 'no code in Redis');
  w.destroy();
  for (const { a, b } of pairs) { a.destroy(); b.destroy(); }
  const m = await metrics(n2);
  assert.ok(metric(m, 'videochatd_cluster_splices_total') >= 2, m);
  assert.equal(metric(m, 'videochatd_directory_up'), 1);
  for (const n of [n1, n2, n3]) await n.stop();
});

test('a waiter that leaves is forgotten on every node at once', { timeout: 90_000 }, async () => {
  const [n1, n2, n3] = [await node(), await node(), await node()];
  const c = code('leaver');
  const leaver = await connectClient(n1.videoPort, c);
  await new Promise((r) => setTimeout(r, 300));
  leaver.destroy();
  await n1.waitForLine((l) => l.msg === 'waiter ended' && l.reason === 'impatient', 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(redis.cli('--scan', '--pattern', '*:wait:*').split('\n').filter(Boolean), [], 'its entry is gone from Redis');
  const b = await connectClient(n2.videoPort, c);
  assert.ok(await staysUnpaired(b, 1500), 'a newcomer elsewhere is not paired with the one that left');
  const d = await connectClient(n3.videoPort, c);
  d.write('z');
  await readExactly(b, 1, 10_000);
  await assertExchange(b, d, 200_000);
  b.destroy(); d.destroy();
  for (const n of [n1, n2, n3]) await n.stop();
});

test('SIGKILL of a node costs only the pairs it relayed; its waiters are never paired', { timeout: 120_000 }, async () => {
  const [n1, n2, n3] = [await node(), await node(), await node()];
  const viaDead = await crossPair(n1, n2, code('via-dead'));
  const survivor = await crossPair(n2, n3, code('survivor'));
  const c = code('dead-waiter');
  const deadWaiter = await connectClient(n1.videoPort, c);
  await new Promise((r) => setTimeout(r, 300));
  await n1.stop('SIGKILL');
  // The pair relayed by the dead node ends on both sides; the other goes on, whole.
  await waitClosed(viaDead.b, 15_000);
  await assertExchange(survivor.a, survivor.b, 500_000);
  const newcomer = await connectClient(n2.videoPort, c);
  assert.ok(await staysUnpaired(newcomer, 1500), 'the newcomer is not paired with the dead node\'s waiter');
  const third = await connectClient(n3.videoPort, c);
  third.write('q');
  await readExactly(newcomer, 1, 15_000);
  await assertExchange(newcomer, third, 200_000);
  for (const s of [deadWaiter, viaDead.a, survivor.a, survivor.b, newcomer, third]) s.destroy();
  for (const n of [n2, n3]) await n.stop();
});

test('Redis SIGKILL: pairs go on, new sessions pair locally with a warning; after a restart nodes pair across again', { timeout: 150_000 }, async () => {
  const [n1, n2] = [await node(), await node()];
  const live = await crossPair(n1, n2, code('through-outage'));
  const c = code('waits-over-outage');
  await redis.stop('SIGKILL');
  await n1.waitForLine((l) => l.reason === 'W_DIRECTORY_DOWN', 10_000);
  assert.equal(metric(await metrics(n1), 'videochatd_directory_up'), 0);
  await assertExchange(live.a, live.b, 500_000);
  // Local pairing still works.
  const local = await crossPair(n1, n1, code('local-during-outage'));
  await assertExchange(local.a, local.b, 100_000);
  // A client that starts waiting during the outage is offered to the directory once it is back.
  const waiter = await connectClient(n1.videoPort, c);
  await redis.restart();
  await n1.waitForLine((l) => l.reason === 'I_DIRECTORY_BACK', 20_000);
  await n2.waitForLine((l) => l.reason === 'I_DIRECTORY_BACK', 20_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(metric(await metrics(n2), 'videochatd_directory_up'), 1);
  const newcomer = await connectClient(n2.videoPort, c);
  newcomer.write('w');
  await readExactly(waiter, 1, 15_000);
  await assertExchange(waiter, newcomer, 200_000);
  const again = await crossPair(n2, n1, code('after-outage'));
  await assertExchange(again.a, again.b, 200_000);
  for (const s of [live.a, live.b, local.a, local.b, waiter, newcomer, again.a, again.b]) s.destroy();
  for (const n of [n1, n2]) await n.stop();
});

test('a waiter whose entry was taken by a splice that then failed is offered again and still meets its peer', { timeout: 60_000 }, async () => {
  const [n1, n2] = [await node(), await node()];
  const c = code('orphan');
  const waiter = await connectClient(n1.videoPort, c);
  await new Promise((r) => setTimeout(r, 300));
  // What a node that took the entry and then failed to reach n1 leaves behind: no entry.
  const keys = redis.cli('--scan', '--pattern', '*:wait:video:*').split('\n').filter(Boolean);
  assert.equal(keys.length, 1);
  redis.cli('DEL', keys[0]!);
  const newcomer = await connectClient(n2.videoPort, c);
  newcomer.write('o');
  // n1 notices at its next refresh (every 5 s) that the entry is gone and looks again.
  await readExactly(waiter, 1, 20_000);
  await assertExchange(waiter, newcomer, 100_000);
  waiter.destroy(); newcomer.destroy();
  for (const n of [n1, n2]) await n.stop();
});

test('the cluster port refuses whoever lacks the secret, and a waiter there is not taken', { timeout: 60_000 }, async () => {
  const n1 = await node();
  const c = code('guarded');
  const waiter = await connectClient(n1.videoPort, c);
  await new Promise((r) => setTimeout(r, 300));
  // Garbage, an original handshake, and a node with the wrong secret claiming every ticket it can guess.
  for (const payload of [randomBytes(200), Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from('guarded')])]) {
    const s = net.connect({ host: '127.0.0.1', port: n1.clusterPort });
    s.on('error', () => {});
    s.write(payload);
    await waitClosed(s, 10_000);
  }
  const ticketGuess = redis.cli('--scan', '--pattern', '*:wait:video:*').split('\n').filter(Boolean).map((k) => redis.cli('GET', k).trim().split(' ')[1]!);
  await assert.rejects(dialLink({ host: '127.0.0.1', port: n1.clusterPort }, randomBytes(32), { channel: 'video', ticket: ticketGuess[0] ?? 'ab' }), /secret/);
  assert.ok(metric(await metrics(n1), 'videochatd_cluster_link_rejected_total') >= 2);
  // The waiter is still there for its real peer, on another node.
  const n2 = await node();
  const peer = await connectClient(n2.videoPort, c);
  peer.write('p');
  await readExactly(waiter, 1, 15_000);
  waiter.destroy(); peer.destroy();
  for (const n of [n1, n2]) await n.stop();
});

test('videochat connect: a call whose two clients reach different nodes', { timeout: 120_000 }, async () => {
  const [n1, n2] = [await node(), await node()];
  const c = code('real-call');
  const alice = runClient(clientArgs(n1, c, ['--duration', '3']), {}, 90_000);
  await alice.waitFor('waiting', 30_000);
  await new Promise((r) => setTimeout(r, 500));
  const bob = runClient(clientArgs(n2, c, ['--duration', '3']), {}, 90_000);
  const [ea, eb] = await Promise.all([alice.exited, bob.exited]);
  for (const [who, run, exit] of [['alice', alice, ea], ['bob', bob, eb]] as const) {
    const ended = run.events.at(-1)!;
    assert.equal(exit.code, 0, `${who}: ${run.stderr()}`);
    assert.equal(ended.encrypted, true);
    assert.ok(Number(ended.videoFramesReceived) > 10, `${who} received ${String(ended.videoFramesReceived)} frames`);
    assert.ok(Number(ended.audioMsReceived) > 1000, `${who} received ${String(ended.audioMsReceived)} ms`);
  }
  for (const n of [n1, n2]) await n.stop();
});

test('--redis: unreachable at start is one line and exit 4; bad cluster options are usage errors (exit 2)', () => {
  const run = (args: string[]): { status: number | null; stderr: string } => {
    try {
      execFileSync(process.execPath, [VIDEOCHATD_BIN, '--host', '127.0.0.1', '--video-port', '0', '--audio-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
      return { status: 0, stderr: '' };
    } catch (e) {
      const err = e as { status: number | null; stderr: string };
      return { status: err.status, stderr: err.stderr };
    }
  };
  const short = join(dir, 'short');
  writeFileSync(short, 'abc\n');
  const cases: Array<[string[], number, RegExp]> = [
    [['--redis', 'redis://127.0.0.1:1', '--cluster-secret-file', secretFile, '--cluster-port', '0'], 4, /cannot reach redis at redis:\/\/127\.0\.0\.1:1/],
    [['--redis', 'redis://127.0.0.1:1'], 2, /needs --cluster-secret-file/],
    [['--redis', 'http://x', '--cluster-secret-file', secretFile], 2, /redis:\/\/ or rediss:\/\//],
    [['--redis', redis.url, '--cluster-secret-file', short], 2, /at least 16/],
    [['--redis', redis.url, '--cluster-secret-file', join(dir, 'missing')], 2, /ENOENT/],
    [['--cluster-port', '5000'], 2, /needs --redis/],
  ];
  for (const [args, status, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});
