import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startDaemon, waitClosed, withTimeout } from '../helpers/relay-client.js';
import { exchange, pairOn } from './exchange.js';

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True once /proc has no entry at all for `pid` (exited and reaped). */
function reaped(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return false;
  } catch {
    return true;
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!cond()) await new Promise((r) => setTimeout(r, 50));
    })(),
    timeoutMs,
    what,
  );
}

test('--handlers 2: SIGKILL of one handler mid-transfer leaves the other pair intact and the pool is back to two', async () => {
  const d = await startDaemon(['--handlers', '2', '--metrics-port', '0']);
  try {
    const startedLines = await d.waitForLines((l) => l.msg === 'handler started', 2);
    const pids = startedLines.map((l) => l.handlerPid as number);
    assert.equal(new Set(pids).size, 2, 'two distinct handler pids');

    const p1 = await pairOn(d, 'victim');
    const p2 = await pairOn(d, 'survivor');
    assert.notEqual(p1.handlerPid, p2.handlerPid, 'the least-loaded handler takes the next pair');

    // Paced so both transfers are surely in flight when the handler dies.
    const doomed = exchange(p1.a, p1.b, 16 * 1024 * 1024, 16 * 1024 * 1024, undefined, undefined, 5);
    doomed.catch(() => {});
    const survivor = exchange(p2.a, p2.b, 8 * 1024 * 1024, 8 * 1024 * 1024, undefined, undefined, 5);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p1.handlerPid, 'SIGKILL');

    await Promise.all([waitClosed(p1.a), waitClosed(p1.b)]);
    await assert.rejects(doomed);
    const r = await survivor;
    assert.equal(r.gotAB, r.sentAB);
    assert.equal(r.gotBA, r.sentBA);

    const died = await d.waitForLine((l) => l.msg === 'pair ended' && l.session === p1.session);
    assert.equal(died.reason, 'handler-died');
    await d.waitForLine((l) => l.msg === 'handler died' && l.handlerPid === p1.handlerPid);
    const all = await d.waitForLines((l) => l.msg === 'handler started', 3);
    const replacement = all[2]!.handlerPid as number;
    assert.ok(!pids.includes(replacement));
    assert.ok(alive(replacement) && alive(p2.handlerPid));
    await until(() => reaped(p1.handlerPid), 'the killed handler is reaped');
    const metrics = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
    assert.match(metrics, /^videochatd_handler_restarts_total 1$/m);
    assert.match(metrics, /^videochatd_handlers 2$/m);
    assert.match(metrics, /^videochatd_pairs_ended_total\{channel="video",reason="handler-died"\} 1$/m);

    const p3 = await pairOn(d, 'after-the-crash');
    const r3 = await exchange(p3.a, p3.b, 1_000_000, 1_000_000);
    assert.equal(r3.gotAB, r3.sentAB);
    for (const s of [p2.a, p2.b, p3.a, p3.b]) s.destroy();
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('--fork-per-pair: one child per pair, reaped after; SIGKILL of one touches no other pair', async () => {
  const d = await startDaemon(['--fork-per-pair']);
  try {
    const p1 = await pairOn(d, 'one');
    const p2 = await pairOn(d, 'two');
    assert.notEqual(p1.handlerPid, p2.handlerPid);
    assert.notEqual(p1.handlerPid, d.pid);
    process.kill(p1.handlerPid, 'SIGKILL');
    await Promise.all([waitClosed(p1.a), waitClosed(p1.b)]);
    const r = await exchange(p2.a, p2.b, 4 * 1024 * 1024, 4 * 1024 * 1024);
    assert.equal(r.gotAB, r.sentAB);
    assert.equal(r.gotBA, r.sentBA);
    p2.a.end();
    p2.b.end();
    const ended = await d.waitForLine((l) => l.msg === 'pair ended' && l.session === p2.session);
    assert.equal(ended.reason, 'happy');
    await until(() => reaped(p1.handlerPid) && reaped(p2.handlerPid), 'both per-pair handlers are reaped');
    const killed = await d.waitForLine((l) => l.msg === 'pair ended' && l.session === p1.session);
    assert.equal(killed.reason, 'handler-died');
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('a SIGKILLed daemon takes its handlers with it and clients see their connections close', async () => {
  const d = await startDaemon(['--handlers', '1']);
  const [h] = await d.waitForLines((l) => l.msg === 'handler started', 1);
  const handlerPid = h!.handlerPid as number;
  const p = await pairOn(d, 'orphan');
  const r = await exchange(p.a, p.b, 100_000, 100_000);
  assert.equal(r.gotAB, r.sentAB);
  const res = await d.stop('SIGKILL');
  assert.equal(res.signal, 'SIGKILL');
  await Promise.all([waitClosed(p.a), waitClosed(p.b)]);
  await until(() => !alive(handlerPid), 'the orphaned handler exits');
});
