import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  connectClient,
  readExactly,
  startDaemon,
  waitClosed,
  withTimeout,
  type StartedDaemon,
} from '../helpers/relay-client.js';
import { digestOf, exchange, pairOn, sha256 } from './exchange.js';

let d: StartedDaemon;

before(async () => {
  d = await startDaemon(['--handlers', '2', '--metrics-port', '0', '--handshake-timeout', '2', '--log-level', 'debug']);
});

after(async () => {
  const res = await d.stop();
  assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}`);
});

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

test('original-format handshakes pair on both ports and relay large payloads byte-exact both ways at once', async () => {
  const code = 'ABC123';
  const va = await connectClient(d.videoPort, code);
  const aa = await connectClient(d.audioPort, code);
  await d.waitForLine((l) => l.msg === 'waiting for a peer' && l.channel === 'audio');
  const vb = await connectClient(d.videoPort, code);
  const ab = await connectClient(d.audioPort, code);
  const [video, audio] = await Promise.all([
    exchange(va, vb, 24 * 1024 * 1024, 16 * 1024 * 1024),
    exchange(aa, ab, 4 * 1024 * 1024, 4 * 1024 * 1024),
  ]);
  assert.equal(video.gotAB, video.sentAB);
  assert.equal(video.gotBA, video.sentBA);
  assert.equal(audio.gotAB, audio.sentAB);
  assert.equal(audio.gotBA, audio.sentBA);
  const started = await d.waitForLines((l) => l.msg === 'pair started', 2);
  const v = started.find((l) => l.channel === 'video')!;
  const a = started.find((l) => l.channel === 'audio')!;
  assert.equal(v.session, a.session, 'both channels of a session carry the same hash');
  assert.equal(v.handlerPid, a.handlerPid, 'video and audio pairs of one session share a handler');
  assert.notEqual(v.session, code);
  for (const s of [va, vb, aa, ab]) s.end();
  const ended = await d.waitForLines((l) => l.msg === 'pair ended' && l.session === v.session, 2);
  const vEnd = ended.find((l) => l.channel === 'video')!;
  assert.equal(vEnd.reason, 'happy');
  assert.equal(vEnd.bytesAtoB, 24 * 1024 * 1024);
  assert.equal(vEnd.bytesBtoA, 16 * 1024 * 1024);
  assert.equal(typeof vEnd.durationMs, 'number');
  assert.ok(!JSON.stringify(d.lines).includes(code), 'the raw session code never appears in the log');
});

test('handshake and data in one write, and a handshake dribbled one byte at a time, lose nothing', async () => {
  const preA = randomBytes(200_000);
  const preB = randomBytes(777);
  const a = await connectClient(d.videoPort, 'glued', { firstData: preA });
  const b = await connectClient(d.videoPort, 'glued', { dribble: true, firstData: preB });
  const r = await exchange(a, b, 1_000_000, 3_000_000, preA, preB);
  assert.equal(r.gotAB, r.sentAB);
  assert.equal(r.gotBA, r.sentBA);
  a.destroy();
  b.destroy();
});

test('bad handshakes are dropped with stable reasons while a good pair runs unharmed', async () => {
  const a = await connectClient(d.videoPort, 'good-pair');
  const b = await connectClient(d.videoPort, 'good-pair');
  const running = exchange(a, b, 8 * 1024 * 1024, 8 * 1024 * 1024);

  const header = (n: number): Buffer => {
    const h = Buffer.alloc(4);
    h.writeInt32LE(n);
    return h;
  };
  const bad: { name: string; bytes: Buffer; end?: boolean; reason: string }[] = [
    { name: 'length 0', bytes: header(0), reason: 'E_HANDSHAKE_LENGTH' },
    { name: 'length -1', bytes: header(-1), reason: 'E_HANDSHAKE_LENGTH' },
    { name: 'length 1025', bytes: header(1025), reason: 'E_HANDSHAKE_LENGTH' },
    { name: 'length 2^31-1', bytes: header(2 ** 31 - 1), reason: 'E_HANDSHAKE_LENGTH' },
    { name: 'truncated', bytes: Buffer.concat([header(10), Buffer.from('abc')]), end: true, reason: 'E_HANDSHAKE_TRUNCATED' },
    { name: 'truncated prefix', bytes: Buffer.from([5, 0]), end: true, reason: 'E_HANDSHAKE_TRUNCATED' },
    { name: 'silent', bytes: Buffer.alloc(0), reason: 'E_HANDSHAKE_TIMEOUT' },
    // 0xff.. as little-endian int32 is negative: garbage with a known verdict.
    { name: 'garbage', bytes: Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(5000)]), reason: 'E_HANDSHAKE_LENGTH' },
  ];
  const before = d.lines.filter((l) => l.msg === 'handshake failed').length;
  await Promise.all(
    bad.map(async (c) => {
      const s = await rawConnect(c.name.startsWith('length 1025') ? d.audioPort : d.videoPort);
      if (c.bytes.length > 0) s.write(c.bytes);
      if (c.end) s.end();
      await waitClosed(s, 15_000);
    }),
  );
  const failures = (await d.waitForLines((l) => l.msg === 'handshake failed', before + bad.length)).slice(before);
  const reasons = failures.map((l) => l.reason as string).sort();
  assert.deepEqual(reasons, bad.map((c) => c.reason).sort());
  assert.ok(failures.every((l) => l.level === 40), 'handshake failures are warnings');

  const r = await running;
  assert.equal(r.gotAB, r.sentAB);
  assert.equal(r.gotBA, r.sentBA);
  a.destroy();
  b.destroy();

  const res = await withTimeout(fetch(`http://127.0.0.1:${d.metricsPort}/metrics`), 10_000, 'metrics');
  const text = await res.text();
  assert.match(text, /videochatd_handshake_failures_total\{reason="E_HANDSHAKE_TIMEOUT"\} 1/);
  assert.match(text, /videochatd_handshake_failures_total\{reason="E_HANDSHAKE_LENGTH"\} 5/);
  assert.match(text, /videochatd_connections_total\{channel="video"\} \d+/);
  assert.match(text, /videochatd_handlers 2/);
});

test('a waiter that leaves is removed at once; two new clients with that code pair with each other', async () => {
  const waitingBefore = d.lines.filter((l) => l.msg === 'waiting for a peer').length;
  const gone = await connectClient(d.videoPort, 'left-early');
  await d.waitForLines((l) => l.msg === 'waiting for a peer', waitingBefore + 1);
  gone.destroy();
  const impatient = await d.waitForLine((l) => l.msg === 'waiter ended' && l.reason === 'impatient');
  assert.equal(impatient.channel, 'video');
  assert.equal(impatient.kind, 'waiter');
  const a = await connectClient(d.videoPort, 'left-early');
  const b = await connectClient(d.videoPort, 'left-early');
  a.write('hello from a');
  assert.equal((await readExactly(b, 12)).toString(), 'hello from a');
  b.write('hi a');
  assert.equal((await readExactly(a, 4)).toString(), 'hi a');
  // After a pair forms, a third client with the code waits anew (and pairs with a fourth).
  const c = await connectClient(d.videoPort, 'left-early');
  const e = await connectClient(d.videoPort, 'left-early');
  c.write('third');
  assert.equal((await readExactly(e, 5)).toString(), 'third');
  for (const s of [a, b, c, e]) s.destroy();
});

test('metrics count bytes relayed and active pairs', async () => {
  const a = await connectClient(d.audioPort, 'metrics');
  const b = await connectClient(d.audioPort, 'metrics');
  const r = await exchange(a, b, 100_000, 50_000);
  assert.equal(r.gotAB, r.sentAB);
  const text = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
  assert.match(text, /videochatd_active_pairs\{channel="audio"\} 1/);
  a.destroy();
  b.destroy();
  await d.waitForLine((l) => l.msg === 'pair ended' && l.channel === 'audio' && (l.bytesAtoB as number) === 100_000);
  // Bytes are reported by handlers; the final report comes with the pair's end.
  const after = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
  const m = /videochatd_bytes_relayed_total\{channel="audio"\} (\d+)/.exec(after);
  assert.ok(m && Number(m[1]) >= 150_000, `audio bytes relayed: ${m?.[1]}`);
});

/** Resident memory of `pid` in bytes (VmRSS from /proc). */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Writes `chunk` over and over until the socket has not drained for `stallMs` (the writer is
 * held back) or `limitBytes` were accepted. Returns the bytes the socket took (written minus
 * what Node still holds) and whether it stalled.
 */
async function writeUntilStalled(s: net.Socket, chunk: Buffer, limitBytes: number, stallMs: number): Promise<{ accepted: number; stalled: boolean; sent: Buffer[] }> {
  const sent: Buffer[] = [];
  let written = 0;
  while (written < limitBytes) {
    sent.push(chunk);
    written += chunk.length;
    if (!s.write(chunk)) {
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          s.off('drain', onDrain);
          resolve(false);
        }, stallMs);
        const onDrain = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        s.once('drain', onDrain);
      });
      if (!drained) return { accepted: written - s.writableLength, stalled: true, sent };
    }
  }
  return { accepted: written - s.writableLength, stalled: false, sent };
}

test('backpressure: a reader that stops holds its writer back, the handler buffers a bounded amount, the other direction flows, and nothing is lost when it reads again', async () => {
  const { a, b, handlerPid } = await pairOn(d, 'slow-reader'); // b is paused from here on: it reads nothing
  const rssBefore = rssBytes(handlerPid);

  // a offers up to 512 MB; without backpressure the handler would have to hold it all.
  const offer = 512 * 1024 * 1024;
  const chunk = randomBytes(256 * 1024);
  const w = await writeUntilStalled(a, chunk, offer, 1500);
  const rssStalled = rssBytes(handlerPid);
  assert.ok(w.stalled, `the writer was never held back (${w.accepted} bytes accepted)`);
  // What left a: kernel buffers of both hops (loopback autotuning) plus the handler's bounded
  // queue. Measured here: about 7 MB; the bound leaves room for other kernels' buffer sizes.
  assert.ok(w.accepted < 64 * 1024 * 1024, `accepted ${w.accepted} bytes before stalling`);
  assert.ok(rssStalled - rssBefore < 32 * 1024 * 1024, `handler RSS grew by ${rssStalled - rssBefore} bytes while the reader was stopped`);

  // The other direction of the same pair is not blocked by the stalled one.
  const back = randomBytes(2 * 1024 * 1024);
  const gotBack = digestOf(a, back.length);
  b.write(back);
  assert.equal((await gotBack).digest, sha256(back));

  // b reads again: every byte a wrote arrives, in order.
  const all = Buffer.concat(w.sent);
  assert.equal((await digestOf(b, all.length, 120_000)).digest, sha256(all));
  a.destroy();
  b.destroy();
  console.log(`backpressure: accepted ${(w.accepted / 1048576).toFixed(1)} MB before the stall; handler RSS +${((rssStalled - rssBefore) / 1048576).toFixed(1)} MB`);
});

/** Resolves with the socket's 'end' (EOF from the relay); rejects if it closes or errors first. */
function endOf(s: net.Socket): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      s.once('end', () => resolve());
      s.once('close', () => reject(new Error('closed without EOF')));
    }),
    60_000,
    'EOF',
  );
}

test('half-close: a client that shuts down its sending side still gets everything its peer sends afterwards, then EOF', async () => {
  const { a, b } = await pairOn(d, 'half-close', { allowHalfOpen: true });
  const request = randomBytes(1024 * 1024);
  const answer = randomBytes(3 * 1024 * 1024);
  const gotRequest = digestOf(b, request.length);
  const bSawEof = endOf(b);
  a.end(request); // a is done sending; it still reads
  assert.equal((await gotRequest).digest, sha256(request));
  await bSawEof;
  // Only now does b answer: every byte must reach a, followed by EOF.
  const gotAnswer = digestOf(a, answer.length);
  const aSawEof = endOf(a);
  b.end(answer);
  assert.equal((await gotAnswer).digest, sha256(answer));
  await aSawEof;
  const ended = await d.waitForLine((l) => l.msg === 'pair ended' && l.bytesAtoB === 1 + request.length);
  assert.equal(ended.reason, 'happy');
  assert.equal(ended.bytesBtoA, answer.length);
  a.destroy();
  b.destroy();
});

test('a hang-up while the peer still streams is a happy end, and bytes queued for a slow reader still land', async () => {
  const { a, b } = await pairOn(d, 'hang-up', { channel: 'audio' });
  // a writes 3 MB and leaves (close, not half-close) while b is not reading yet. 3 MB fits the
  // buffers on the way (the backpressure test measures ~7 MB), so a can finish writing.
  const last = randomBytes(3 * 1024 * 1024);
  await new Promise<void>((resolve) => a.end(last, () => resolve()));
  a.destroy();
  await new Promise((r) => setTimeout(r, 200));
  // b goes on streaming towards a, which is gone: a's kernel answers with resets.
  const streaming = setInterval(() => {
    if (!b.destroyed && !b.writableEnded) b.write(randomBytes(16 * 1024));
  }, 5);
  b.on('error', () => {});
  await new Promise((r) => setTimeout(r, 1000));
  const got = await digestOf(b, last.length);
  clearInterval(streaming);
  assert.equal(got.digest, sha256(last), 'what a sent before leaving reaches b in full');
  b.destroy();
  const ended = await d.waitForLine((l) => l.msg === 'pair ended' && l.bytesAtoB === 1 + last.length);
  assert.equal(ended.reason, 'happy');
  assert.equal(ended.error, undefined);
});

test('relayed connections carry TCP keepalive (60 s idle), set at accept and kept through the hand-over to the handler', async (t) => {
  const ss = spawnSync('ss', ['-V'], { encoding: 'utf8' });
  if (ss.status !== 0) {
    t.skip('ss (iproute2) is not installed');
    return;
  }
  const { a, b, handlerPid } = await pairOn(d, 'keepalive');
  const ours = new Set([a.localPort, b.localPort]);
  const rows = spawnSync('ss', ['-tnoHp', 'state', 'established', `( sport = :${d.videoPort} )`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((row) => [...ours].some((port) => row.includes(`:${port} `)));
  assert.equal(rows.length, 2, `the pair's two relay-side sockets:\n${rows.join('\n')}`);
  for (const row of rows) {
    assert.match(row, new RegExp(`pid=${handlerPid},`), 'held by the handler');
    const timer = /timer:\(keepalive,(\d+)sec/.exec(row);
    assert.ok(timer, `keepalive timer on: ${row}`);
    assert.ok(Number(timer[1]) > 0 && Number(timer[1]) <= 60, row);
  }
  a.destroy();
  b.destroy();
});
