/**
 * Abuse limits under flood. Each test runs a good call from 127.0.0.1 (two clients relaying
 * random bytes both ways, digests checked at the end) while a bounded flood from another
 * loopback address (127.0.0.2 and up) hits one limit: the flood is refused with the reason
 * logged and counted in the metrics, the good call ends intact, and the daemon stays up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { encodeHandshake } from '../../src/codec/handshake.js';
import {
  readExactly,
  startDaemon,
  waitClosed,
  type LogLine,
  type StartedDaemon,
} from '../helpers/relay-client.js';
import { GOOD_CALL_CHUNK_BYTES, connectFrom, startGoodCall } from '../helpers/hostile.js';

const TEST_TIMEOUT_MS = 90_000;

/** Opens `count` flood connections at once; all must connect (the kernel accepts them). */
async function flood(port: number, localAddress: string, count: number, send?: (i: number) => Buffer | undefined): Promise<Socket[]> {
  const sockets = await Promise.all(Array.from({ length: count }, (_, i) => connectFrom(port, localAddress, send?.(i))));
  for (const s of sockets) s.on('error', () => {});
  return sockets;
}

/** Waits until `n` of `sockets` are closed (by the daemon). */
async function closedCount(sockets: Socket[], n: number, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (const s of sockets) s.resume();
  while (sockets.filter((s) => s.destroyed || s.readableEnded).length < n) {
    if (Date.now() > until) throw new Error(`only ${sockets.filter((s) => s.destroyed || s.readableEnded).length} of ${n} flood sockets were closed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One sample from the daemon's Prometheus endpoint (0 when absent). */
async function metric(d: StartedDaemon, name: string, label: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name}\\{${label}\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function withDaemon(args: string[], body: (d: StartedDaemon) => Promise<void>): Promise<void> {
  const d = await startDaemon(['--handlers', '1', '--metrics-port', '0', ...args]);
  try {
    await body(d);
    // Up, or stopped cleanly by the body itself.
    assert.ok(d.child.signalCode === null && (d.child.exitCode === null || d.child.exitCode === 0), 'the daemon is still up');
  } catch (err) {
    // The body's failure is the news; a good call left running would only stall the drain.
    await d.stop('SIGKILL');
    throw err;
  }
  const res = await d.stop();
  const tail = d.lines.slice(-8).map((l) => JSON.stringify(l)).join('\n');
  assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}; last lines:\n${tail}`);
}

test('handshake timeout: a flood of silent half-handshakes is dropped with E_HANDSHAKE_TIMEOUT; the good call is unharmed', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handshake-timeout', '1', '--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    // Two bytes of a length prefix, then nothing: the slow-loris of this protocol.
    const socks = await flood(d.videoPort, '127.0.0.2', 40, () => Buffer.from([5, 0]));
    await closedCount(socks, socks.length);
    const line = await d.waitForLine((l) => l.msg === 'handshake failed' && l.reason === 'E_HANDSHAKE_TIMEOUT');
    assert.match(String(line.remote), /127\.0\.0\.2:/);
    assert.equal(await metric(d, 'videochatd_handshake_failures_total', 'reason="E_HANDSHAKE_TIMEOUT"'), 40);
    const { bytesEachWay } = await call.finish();
    assert.ok(bytesEachWay > GOOD_CALL_CHUNK_BYTES);
  });
});

test('--max-pending-handshakes: a flood past the cap is refused at once with E_TOO_MANY_PENDING; log lines are throttled, counts exact', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cap = 20;
  await withDaemon(['--max-pending-handshakes', String(cap), '--handshake-timeout', '60', '--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    // From ten addresses, each within its share (1/16 of the table, here 2): the first
    // wave fills the table, the second is refused by the global cap.
    const addrs = Array.from({ length: 10 }, (_, i) => `127.0.0.${20 + i}`);
    const first = (await Promise.all(addrs.map((addr) => flood(d.videoPort, addr, 2)))).flat();
    const socks = [...first, ...(await Promise.all(addrs.map((addr) => flood(d.videoPort, addr, 6)))).flat()];
    await closedCount(socks, socks.length - cap);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(socks.filter((s) => !s.destroyed && !s.readableEnded).length, cap, 'the first ones stay pending');
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_TOO_MANY_PENDING"'), socks.length - cap);
    // A flood of refusals is not a flood of log lines: a few, then a summary with the rest.
    const shown = d.lines.filter((l) => l.msg === 'connection rejected' && l.reason === 'E_TOO_MANY_PENDING').length;
    assert.ok(shown >= 1 && shown <= 20, `${shown} rejection lines`);
    if (shown < socks.length - cap) {
      await d.waitForLine((l) => l.msg === 'rejections not logged' && l.reason === 'E_TOO_MANY_PENDING', 5000);
      const suppressed = d.lines.filter((l) => l.msg === 'rejections not logged' && l.reason === 'E_TOO_MANY_PENDING').reduce((n, l) => n + Number(l.suppressed), 0);
      assert.equal(shown + suppressed, socks.length - cap);
    }
    for (const s of socks) s.destroy();
    await call.finish();
    // Room again once the flood is gone: a new call pairs.
    const again = await startGoodCall(d.videoPort, 'after-the-flood');
    await again.finish();
  });
});

test('--max-waiting: a flood of lonely waiters past the cap is refused with E_TOO_MANY_WAITING', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cap = 10;
  await withDaemon(['--max-waiting', String(cap), '--max-connection-rate-per-ip', '0', '--log-level', 'debug'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    const socks = await flood(d.videoPort, '127.0.0.3', 40, (i) => encodeHandshake(`lonely-${i}`));
    await closedCount(socks, socks.length - cap);
    await d.waitForLines((l) => l.msg === 'waiting for a peer', cap);
    const line = await d.waitForLine((l) => l.msg === 'connection rejected' && l.reason === 'E_TOO_MANY_WAITING');
    assert.match(String(line.remote), /127\.0\.0\.3:/);
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_TOO_MANY_WAITING"'), socks.length - cap);
    for (const s of socks) s.destroy();
    await call.finish();
  });
});

test('--max-connections-per-ip: one address past its cap gets E_IP_CONN_LIMIT while other addresses still pair; the count is released', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cap = 10;
  await withDaemon(['--max-connections-per-ip', String(cap), '--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    const socks = await flood(d.videoPort, '127.0.0.4', 40);
    await closedCount(socks, socks.length - cap);
    const line = await d.waitForLine((l) => l.msg === 'connection rejected' && l.reason === 'E_IP_CONN_LIMIT');
    assert.match(String(line.remote), /127\.0\.0\.4:/);
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_IP_CONN_LIMIT"'), socks.length - cap);
    // During the flood, another address pairs and relays.
    const x = await connectFrom(d.videoPort, '127.0.0.5', encodeHandshake('other-address'));
    const y = await connectFrom(d.videoPort, '127.0.0.5', encodeHandshake('other-address'));
    x.write('still works');
    assert.equal((await readExactly(y, 11)).toString(), 'still works');
    x.destroy();
    y.destroy();
    // The flooder's connections close: its count goes back to zero and it may connect again.
    for (const s of socks) s.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const back = await flood(d.videoPort, '127.0.0.4', cap, (i) => encodeHandshake(`back-${i % (cap / 2)}`));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(back.filter((s) => s.destroyed || s.readableEnded).length, 0, 'nothing refused after the release');
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_IP_CONN_LIMIT"'), socks.length - cap);
    // Paired connections count too: five pairs hold the cap, so one more is refused.
    const extra = await connectFrom(d.videoPort, '127.0.0.4');
    await waitClosed(extra);
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_IP_CONN_LIMIT"'), socks.length - cap + 1);
    for (const s of back) s.destroy();
    await call.finish();
  });
});

test('--max-connection-rate-per-ip: a burst from one address past its bucket gets E_IP_RATE_LIMIT; a new call from another address still pairs', { timeout: TEST_TIMEOUT_MS }, async () => {
  const rate = 5;
  await withDaemon(['--max-connection-rate-per-ip', String(rate)], async (d) => {
    const call = await startGoodCall(d.videoPort);
    const socks = await flood(d.videoPort, '127.0.0.6', 60);
    const rejected = async (): Promise<number> => metric(d, 'videochatd_rejected_total', 'reason="E_IP_RATE_LIMIT"');
    const until = Date.now() + 20_000;
    // A bucket of 5 refilling at 5/s: however slow the machine, most of 60 at once are refused.
    while ((await rejected()) < 30 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await rejected()) >= 30, `${await rejected()} refused`);
    const line = await d.waitForLine((l) => l.msg === 'connection rejected' && l.reason === 'E_IP_RATE_LIMIT');
    assert.match(String(line.remote), /127\.0\.0\.6:/);
    const second = await startGoodCall(d.videoPort, 'second-call');
    await Promise.all([call.finish(), second.finish()]);
    for (const s of socks) s.destroy();
  });
});

test('--max-buffer-bytes: waiters flooding bytes before a peer are no longer read past the cap (E_BUFFER_LIMIT), and lose nothing once paired', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cap = 4096;
  const payload = randomBytes(512 * 1024);
  await withDaemon(['--max-buffer-bytes', String(cap), '--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort);
    const socks = await flood(d.videoPort, '127.0.0.7', 20, (i) => Buffer.concat([encodeHandshake(`stuffer-${i}`), payload]));
    // (The good call may hit the cap too, for its first chunk while it waited: flow control.)
    const fromFlood = (l: LogLine): boolean => l.msg === 'buffer limit reached' && /127\.0\.0\.7:/.test(String(l.remote));
    const lines = await d.waitForLines(fromFlood, socks.length);
    for (const l of lines) assert.equal(l.reason, 'E_BUFFER_LIMIT');
    assert.ok((await metric(d, 'videochatd_buffer_limit_total', 'channel="video"')) >= socks.length);
    // Flow control, not loss: the peer of one of them gets every byte.
    const peer = await connectFrom(d.videoPort, '127.0.0.8', encodeHandshake('stuffer-0'));
    assert.ok((await readExactly(peer, payload.length)).equals(payload));
    peer.destroy();
    // Held bytes: the cap plus at most one read chunk (Node reads up to 64 KiB at a time);
    // after the limit line nothing more is read from that client until it is paired.
    for (const l of lines) assert.ok(Number(l.bytesHeld) < cap + 64 * 1024, `bytesHeld ${String(l.bytesHeld)}`);
    // These clients close with ~400 KiB still unsent on their side (the daemon does not
    // read them): their FIN waits behind it, so to the kernel here they are still connected
    // (documented; a reset or a FIN with nothing unsent is noticed within a second, see
    // hostile.test.ts). The shutdown reports them, its lines throttled and summarised.
    for (const s of socks) s.destroy();
    await call.finish();
    assert.equal(d.child.exitCode, null, 'the daemon is still up');
    assert.equal((await d.stop()).code, 0);
    const ended = d.lines.filter((l) => l.msg === 'waiter ended' && l.reason === 'shutdown');
    const suppressed = d.lines.filter((l) => l.msg === 'waiter lines not logged' && l.reason === 'shutdown').reduce((n, l) => n + Number(l.suppressed), 0);
    assert.ok(ended.length + suppressed >= socks.length - 1, `${ended.length} + ${suppressed} shutdown waiter lines`);
    for (const l of ended) assert.ok(Number(l.bytesHeld) < cap + 64 * 1024, `bytesHeld ${String(l.bytesHeld)}`);
  });
});
