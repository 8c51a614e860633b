import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connectClient, readExactly, startDaemon, waitClosed } from '../helpers/relay-client.js';
import { exchange } from './exchange.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: stops accepting, closes waiters, lets the pair in flight finish, exits 0`, async () => {
    const d = await startDaemon(['--handlers', '1', '--drain-timeout', '60', '--log-level', 'debug']);
    const a = await connectClient(d.videoPort, 'in-flight');
    const b = await connectClient(d.videoPort, 'in-flight');
    a.write('ping');
    await readExactly(b, 4);
    const waiter = await connectClient(d.audioPort, 'alone');
    // The audio one: the video client's own line (it waited for b) is there already.
    await d.waitForLine((l) => l.msg === 'waiting for a peer' && l.channel === 'audio');

    const exited = d.stop(signal, 90_000);
    await d.waitForLine((l) => l.msg === 'shutting down');
    // The line is printed once the listeners are closed: no waiting needed before this check.
    assert.equal(await refused(d.videoPort), true, `no new connections after ${signal}`);
    await waitClosed(waiter);
    const w = await d.waitForLine((l) => l.msg === 'waiter ended');
    assert.equal(w.reason, 'shutdown');

    // The pair keeps relaying after the signal, byte-exact.
    const r = await exchange(a, b, 4 * 1024 * 1024, 4 * 1024 * 1024);
    assert.equal(r.gotAB, r.sentAB);
    assert.equal(r.gotBA, r.sentBA);
    a.end();
    b.end();
    const res = await exited;
    assert.equal(res.code, 0);
    const ended = d.lines.find((l) => l.msg === 'pair ended');
    assert.equal(ended?.reason, 'happy');
  });
}

test('drain timeout: an idle pair is cut with reason shutdown and the daemon exits 0', async () => {
  const d = await startDaemon(['--handlers', '1', '--drain-timeout', '1']);
  const a = await connectClient(d.videoPort, 'idle');
  const b = await connectClient(d.videoPort, 'idle');
  b.write('hi');
  await readExactly(a, 2);
  await d.waitForLine((l) => l.msg === 'pair started');
  const exited = d.stop('SIGTERM', 30_000);
  await Promise.all([waitClosed(a), waitClosed(b)]);
  const res = await exited;
  assert.equal(res.code, 0);
  const ended = d.lines.find((l) => l.msg === 'pair ended');
  assert.equal(ended?.reason, 'shutdown');
  assert.equal(ended?.bytesBtoA, 2);
});

test('--wait-timeout closes a lonely waiter', async () => {
  const d = await startDaemon(['--handlers', '1', '--wait-timeout', '0.5']);
  try {
    const s = await connectClient(d.videoPort, 'nobody-comes');
    await waitClosed(s);
    const w = await d.waitForLine((l) => l.msg === 'waiter ended');
    assert.equal(w.reason, 'lonely');
    assert.equal(w.kind, 'waiter');
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('--max-waiting and --max-pairs turn clients away without harming others', async () => {
  const d = await startDaemon(['--handlers', '1', '--max-waiting', '1', '--max-pairs', '1', '--log-level', 'debug']);
  try {
    const w1 = await connectClient(d.videoPort, 'w1');
    await d.waitForLine((l) => l.msg === 'waiting for a peer');
    const w2 = await connectClient(d.audioPort, 'w2');
    await waitClosed(w2);
    assert.equal((await d.waitForLine((l) => l.msg === 'connection rejected')).reason, 'E_TOO_MANY_WAITING');
    const w1b = await connectClient(d.videoPort, 'w1');
    w1.write('ok');
    assert.equal((await readExactly(w1b, 2)).toString(), 'ok');
    const x = await connectClient(d.audioPort, 'x');
    await d.waitForLine((l) => l.msg === 'waiting for a peer' && l.channel === 'audio');
    const y = await connectClient(d.audioPort, 'x');
    await waitClosed(y);
    assert.ok(d.lines.some((l) => l.msg === 'connection rejected' && l.reason === 'E_TOO_MANY_PAIRS'));
    assert.equal(x.destroyed, false, 'the waiter stays waiting');
    for (const s of [w1, w1b, x]) s.destroy();
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});
