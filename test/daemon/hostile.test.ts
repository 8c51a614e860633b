/**
 * Hostile clients (issue 11). Each test runs one attack from 127.0.0.2 and up while a good
 * call from 127.0.0.1 streams random bytes both ways; it asserts what an operator and the
 * good call's users would check: the good call loses and corrupts no byte, no handler dies,
 * the daemon's memory stays bounded, the attack is refused with its logged reason, and new
 * calls pair afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHandshake } from '../../src/codec/handshake.js';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { connectFrom, randomCode, reset, rssBytes, startGoodCall } from '../helpers/hostile.js';

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
