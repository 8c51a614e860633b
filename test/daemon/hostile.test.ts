/**
 * Hostile clients (issue 11). Each test runs one attack from 127.0.0.2 and up while a good
 * call from 127.0.0.1 streams random bytes both ways; it asserts what an operator and the
 * good call's users would check: the good call loses and corrupts no byte, no handler dies,
 * the daemon's memory stays bounded, the attack is refused with its logged reason, and new
 * calls pair afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { encodeHandshake } from '../../src/codec/handshake.js';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { connectFrom, metric, randomCode, reset, rssBytes, startGoodCall } from '../helpers/hostile.js';

const TEST_TIMEOUT_MS = 120_000;
/** The daemon's resident memory during any attack here (it idles at ~60 MiB). */
const DAEMON_RSS_BOUND_BYTES = 200 * 1024 * 1024;

async function withDaemon(args: string[], body: (d: StartedDaemon) => Promise<void>): Promise<void> {
  const d = await startDaemon(['--handlers', '1', '--metrics-port', '0', ...args]);
  try {
    await body(d);
    assert.equal(d.child.exitCode, null, 'the daemon is still up');
    assert.equal(d.lines.filter((l) => l.msg === 'handler died').length, 0, `no handler died: ${JSON.stringify(d.lines.filter((l) => l.msg === 'handler died'))}`);
  } catch (err) {
    await d.stop('SIGKILL');
    throw err;
  }
  const res = await d.stop();
  assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}`);
}

/** Runs `attack` from each address until `ms` have passed; returns how many rounds ran. */
async function during(ms: number, addresses: string[], attack: (addr: string, round: number) => Promise<void>): Promise<number> {
  const stop = Date.now() + ms;
  let rounds = 0;
  await Promise.all(addresses.map(async (addr) => {
    while (Date.now() < stop) {
      await attack(addr, rounds++).catch(() => {});
    }
  }));
  return rounds;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('pair, then RST a few ms later, from three addresses: no handler dies, the good call on the same handler is intact', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    let maxRss = 0;
    const rounds = await during(8000, ['127.0.0.2', '127.0.0.3', '127.0.0.4'], async (addr, round) => {
      const hs = encodeHandshake(randomCode());
      const x = await connectFrom(d.videoPort, addr, hs);
      const y = await connectFrom(d.videoPort, addr, hs);
      // Reset at every stage: before the handover, between the two sides, after the start.
      await sleep(round % 9);
      reset(round % 2 ? x : y);
      await sleep(round % 4);
      reset(round % 2 ? y : x);
      if (round % 20 === 0) maxRss = Math.max(maxRss, rssBytes(d.pid));
      await sleep(5);
    });
    assert.ok(rounds >= 100, `${rounds} rounds`);
    assert.equal(call.broken, null, `the good call was cut: ${call.broken}`);
    assert.ok(maxRss < DAEMON_RSS_BOUND_BYTES, `daemon RSS ${maxRss}`);
    await call.finish();
    // The handler survived: its pairs ended with a reason, and a new call pairs.
    await d.waitForLine((l) => l.msg === 'pair ended' && l.reason === 'errory');
    const again = await startGoodCall(d.videoPort, 'after-the-resets');
    await again.finish();
  });
});

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < until, what);
    await sleep(100);
  }
}

test('out of file descriptors (RLIMIT_NOFILE 96): pairs past the limit are refused with E_FD_LIMIT, none leaks, the daemon and the good call live on', { timeout: TEST_TIMEOUT_MS }, async () => {
  const d = await startDaemon(['--handlers', '1', '--metrics-port', '0', '--max-connection-rate-per-ip', '0', '--max-connections-per-ip', '70'], undefined, undefined, { nofile: 96 });
  try {
    await d.waitForLine((l) => l.code === 'W_FD_LIMIT', 5000);
    const call = await startGoodCall(d.videoPort);
    for (let wave = 0; wave < 2; wave++) {
      const socks: Socket[] = [];
      for (let i = 0; i < 35; i++) {
        const hs = encodeHandshake(`fd-${wave}-${i}`);
        for (let k = 0; k < 2; k++) {
          const s = await connectFrom(d.videoPort, '127.0.0.2', hs).catch(() => null);
          if (!s) continue;
          s.on('error', () => {});
          s.resume();
          socks.push(s);
        }
      }
      // Traffic on every hostile pair that was placed.
      const t = setInterval(() => { for (const s of socks) if (!s.destroyed && s.writableLength < 65536) s.write(Buffer.alloc(1024)); }, 20);
      await sleep(1500);
      clearInterval(t);
      for (const s of socks) s.destroy();
      // Every pair and waiter of the flood is released: the good call is the only pair left.
      await eventually('the flood is released', async () => (await metric(d, 'videochatd_active_pairs', 'channel="video"')) === 1 && (await metric(d, 'videochatd_waiting', 'channel="video"')) === 0);
    }
    assert.ok((await metric(d, 'videochatd_fd_exhausted_total', 'where="handler"')) + (await metric(d, 'videochatd_fd_exhausted_total', 'where="accept"')) > 0, 'the limit was hit');
    assert.ok(d.lines.some((l) => l.reason === 'E_FD_LIMIT' || l.reason === 'W_FD_EXHAUSTED'), 'and logged with its reason');
    assert.equal(call.broken, null, `the good call was cut: ${call.broken}`);
    await call.finish();
    // The flooder's address counts were released: it pairs again, up to its cap.
    const again = await startGoodCall(d.videoPort, 'after-the-fd-flood');
    await again.finish();
    const x = await connectFrom(d.videoPort, '127.0.0.2', encodeHandshake('flooder-again'));
    const y = await connectFrom(d.videoPort, '127.0.0.2', encodeHandshake('flooder-again'));
    x.write('ok');
    y.resume();
    await eventually('the flooder pairs again', () => y.bytesRead >= 2, 5000);
    x.destroy();
    y.destroy();
    assert.doesNotMatch(d.stderr(), /SentHandleNotReceived|ERR_INTERNAL_ASSERTION|\n\s+at /, 'no handle lost, no stack trace');
    assert.equal(d.child.exitCode, null, 'the daemon is still up');
    assert.equal(d.lines.filter((l) => l.msg === 'handler died').length, 0, 'no handler died');
  } finally {
    await d.stop();
  }
});

test('waiters that fill --max-buffer-bytes and leave (FIN or RST) are forgotten at once: their slots and address counts are free again', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cap = 20;
  await withDaemon(['--max-waiting', String(cap + 1), '--max-buffer-bytes', '4096', '--max-connections-per-ip', String(cap), '--max-connection-rate-per-ip', '0', '--wait-timeout', '600'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    // All of it fits in the two kernels' buffers, so a close sends its FIN at once (see docs/operations.md: a client
    // that closes with bytes still unsent is an open connection until its kernel gives up).
    const payload = Buffer.alloc(160 * 1024, 7);
    for (let wave = 0; wave < 3; wave++) {
      const socks = await Promise.all(Array.from({ length: cap }, (_, i) => connectFrom(d.videoPort, '127.0.0.3', Buffer.concat([encodeHandshake(`stuff-${wave}-${i}`), payload]))));
      for (const s of socks) s.on('error', () => {});
      await d.waitForLines((l) => l.msg === 'buffer limit reached' && /127\.0\.0\.3:/.test(String(l.remote)), cap * (wave + 1));
      assert.equal(await metric(d, 'videochatd_waiting', 'channel="video"'), cap);
      socks.forEach((s, i) => (i % 2 ? reset(s) : s.destroy()));
      // Within a few seconds, not --wait-timeout (600 s): else the next wave is refused.
      await eventually('the departed waiters are forgotten', async () => (await metric(d, 'videochatd_waiting', 'channel="video"')) === 0, 8000);
    }
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_TOO_MANY_WAITING"'), 0);
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_IP_CONN_LIMIT"'), 0);
    assert.ok((await metric(d, 'videochatd_waiters_ended_total', 'channel="video",reason="impatient"')) >= 3 * cap);
    await call.finish();
  });
});
