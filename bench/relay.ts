/**
 * Relay benchmark: videochatd against socat (`socat -b 65536 TCP-LISTEN:a TCP-LISTEN:b`).
 *   1. throughput of one pair, 200 MB each way, both directions at once, digests checked;
 *   2. added latency (p50/p99) of 1 KB ping-pong, against a direct connection;
 *   3. pool mode: 1,000 pairs at 256 kbit/s each way for 30 s: daemon RSS over all its
 *      processes, bytes lost, and ping-pong latency under that load.
 * Not a test: prints a table and writes nothing unless --write-docs is given (then it
 * replaces the "Relay" section of docs/benchmarks.md). Needs `npm run build` first.
 * Env: BENCH_MB (default 200), BENCH_PAIRS (1000), BENCH_SECONDS (30), BENCH_PINGS (2000).
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { encodeHandshake } from '../src/codec/handshake.js';
import { startDaemon, type StartedDaemon } from '../test/helpers/relay-client.js';
import { connectTo as connect, LOAD_BYTES_PER_S, LoadGenerator, raisedLimitArgs, snapshotBin, treeRssMb, type LoadTotals } from './lib/relay-load.js';

const MB = 1024 * 1024;
const THROUGHPUT_BYTES = Number(process.env.BENCH_MB ?? 200) * MB;
const LOAD_PAIRS = Number(process.env.BENCH_PAIRS ?? 1000);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PINGS = Number(process.env.BENCH_PINGS ?? 2000);
const PING_BYTES = 1024;
const WRITE_CHUNK_BYTES = 64 * 1024;

// ---------- helpers ----------

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A connected pair through some relay: `open()` returns [a, b] ready to exchange bytes. */
interface Rival {
  name: string;
  open(code: string): Promise<[Socket, Socket]>;
  close(): Promise<void>;
}

let daemonBin = '';

async function videochatdRival(extra: string[] = []): Promise<Rival & { d: StartedDaemon }> {
  const d = await startDaemon(['--log-level', 'warn', ...extra], undefined, daemonBin);
  return {
    name: 'videochatd',
    d,
    async open(code) {
      const a = await connect(d.videoPort);
      a.write(encodeHandshake(code));
      const b = await connect(d.videoPort);
      b.write(encodeHandshake(code));
      // Wait until bytes flow (the pair reached a handler).
      a.write(Buffer.from([7]));
      await new Promise<void>((r) => b.once('data', () => r()));
      return [a, b];
    },
    async close() {
      await d.stop();
    },
  };
}

async function socatRival(): Promise<Rival> {
  let proc: ChildProcess | undefined;
  return {
    name: 'socat',
    async open() {
      const pa = await freePort();
      const pb = await freePort();
      proc = spawn('socat', ['-b', '65536', `TCP-LISTEN:${pa},bind=127.0.0.1,reuseaddr`, `TCP-LISTEN:${pb},bind=127.0.0.1,reuseaddr`], {
        stdio: 'ignore',
      });
      const retry = async (port: number): Promise<Socket> => {
        for (let i = 0; i < 200; i++) {
          try {
            return await connect(port);
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
        throw new Error(`socat did not listen on ${port}`);
      };
      const a = await retry(pa);
      const b = await retry(pb);
      a.write(Buffer.from([7]));
      await new Promise<void>((r) => b.once('data', () => r()));
      return [a, b];
    },
    async close() {
      proc?.kill('SIGTERM');
    },
  };
}

async function directRival(): Promise<Rival> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name: 'direct',
    async open() {
      const accepted = new Promise<Socket>((r) => server.once('connection', r));
      const a = await connect(port);
      const b = await accepted;
      b.setNoDelay(true);
      return [a, b];
    },
    async close() {
      server.close();
    },
  };
}

/** Streams `payload` into `s`, with backpressure. */
async function pump(s: Socket, payload: Buffer): Promise<void> {
  for (let off = 0; off < payload.length; off += WRITE_CHUNK_BYTES) {
    if (!s.write(payload.subarray(off, off + WRITE_CHUNK_BYTES))) await new Promise((r) => s.once('drain', r));
  }
}

function receive(s: Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    let got = 0;
    s.on('data', (c: Buffer) => {
      h.update(c);
      got += c.length;
      if (got === n) resolve(h.digest('hex'));
      else if (got > n) reject(new Error('too many bytes'));
    });
    s.once('close', () => got < n && reject(new Error(`closed after ${got}/${n}`)));
  });
}

async function throughput(r: Rival, ab: Buffer, ba: Buffer, sums: [string, string]): Promise<number> {
  const [a, b] = await r.open('throughput');
  const t0 = performance.now();
  const gotB = receive(b, ab.length);
  const gotA = receive(a, ba.length);
  await Promise.all([pump(a, ab), pump(b, ba), gotB, gotA]);
  const secs = (performance.now() - t0) / 1000;
  if ((await gotB) !== sums[0] || (await gotA) !== sums[1]) throw new Error(`${r.name}: digest mismatch`);
  a.destroy();
  b.destroy();
  return (ab.length + ba.length) / MB / secs;
}

/** 1 KB ping-pong: a sends, b echoes, a times the round trip. Returns sorted RTTs in ms. */
async function pingPong(a: Socket, b: Socket, count: number): Promise<number[]> {
  b.on('data', (c: Buffer) => b.write(c));
  const rtts: number[] = [];
  const msg = randomBytes(PING_BYTES);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    let got = 0;
    await new Promise<void>((resolve) => {
      const onData = (c: Buffer): void => {
        got += c.length;
        if (got >= PING_BYTES) {
          a.off('data', onData);
          resolve();
        }
      };
      a.on('data', onData);
      a.write(msg);
    });
    rtts.push(performance.now() - t0);
  }
  b.removeAllListeners('data');
  return rtts.sort((x, y) => x - y);
}

// ---------- load worker (a child process, so its event loop does not skew the latency probe) ----------

async function loadWorker(port: number, pairs: number, seconds: number): Promise<void> {
  const gen = new LoadGenerator({ port }, randomBytes(LOAD_BYTES_PER_S * 2));
  await gen.open(pairs);
  process.send?.({ type: 'connected' });
  gen.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  // Let the last bytes land.
  await gen.stop();
  const result: LoadTotals = gen.totals();
  process.send?.({ type: 'result', result });
  gen.close();
  process.disconnect();
}

// ---------- main ----------

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../dist/daemon/main.js', import.meta.url)))) {
    throw new Error('run `npm run build` first');
  }
  daemonBin = snapshotBin();
  const out: string[] = [];
  const log = (s: string): void => {
    console.log(s);
    out.push(s);
  };
  log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), socat -b 65536. Clients run on the same machine.`);
  log('');

  // 1. Throughput.
  const ab = randomBytes(THROUGHPUT_BYTES);
  const ba = randomBytes(THROUGHPUT_BYTES);
  const sums: [string, string] = [createHash('md5').update(ab).digest('hex'), createHash('md5').update(ba).digest('hex')];
  const tp: Record<string, number[]> = { socat: [], videochatd: [] };
  for (let round = 0; round < 3; round++) {
    const s = await socatRival();
    tp.socat!.push(await throughput(s, ab, ba, sums));
    await s.close();
    const v = await videochatdRival();
    tp.videochatd!.push(await throughput(v, ab, ba, sums));
    await v.close();
  }
  const best = (xs: number[]): number => Math.max(...xs);
  log(`### Throughput: one pair, ${THROUGHPUT_BYTES / MB} MB each way at once, digests checked (best of 3)`);
  log('');
  log('| relay | MB/s (both directions) | runs | vs socat |');
  log('|---|---|---|---|');
  for (const name of ['socat', 'videochatd']) {
    log(`| ${name} | ${best(tp[name]!).toFixed(0)} | ${tp[name]!.map((x) => x.toFixed(0)).join(', ')} | ${(best(tp[name]!) / best(tp.socat!)).toFixed(2)}x |`);
  }
  log('');

  // 2. Latency, idle.
  const lat: Record<string, number[]> = {};
  for (const make of [directRival, socatRival, () => videochatdRival()]) {
    const r = await make();
    const [a, b] = await r.open('latency');
    await new Promise((res) => setTimeout(res, 50));
    lat[r.name] = await pingPong(a, b, PINGS);
    a.destroy();
    b.destroy();
    await r.close();
  }
  const d50 = percentile(lat.direct!, 50);
  const d99 = percentile(lat.direct!, 99);
  log(`### Latency: 1 KB ping-pong round trip, ${PINGS} rounds, idle`);
  log('');
  log('| path | p50 ms | p99 ms | added p50 ms | added p99 ms |');
  log('|---|---|---|---|---|');
  for (const name of ['direct', 'socat', 'videochatd']) {
    const p50 = percentile(lat[name]!, 50);
    const p99 = percentile(lat[name]!, 99);
    log(`| ${name} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ${(p50 - d50).toFixed(3)} | ${(p99 - d99).toFixed(3)} |`);
  }
  log('');

  // 3. Load: pool mode.
  // All load comes from 127.0.0.1: raise the per-address limits it would otherwise hit.
  const v = await videochatdRival(raisedLimitArgs(LOAD_PAIRS));
  const rssIdle = treeRssMb(v.d.pid);
  const worker = fork(fileURLToPath(import.meta.url), ['--load-worker', String(v.d.videoPort), String(LOAD_PAIRS), String(LOAD_SECONDS)], {
    execArgv: process.execArgv,
  });
  const messages: { type: string; result?: LoadTotals }[] = [];
  worker.on('message', (m: { type: string; result?: LoadTotals }) => messages.push(m));
  const waitMsg = async (type: string, ms: number): Promise<{ type: string; result?: LoadTotals }> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const m = messages.find((x) => x.type === type);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`load worker: no ${type} within ${ms} ms`);
  };
  await waitMsg('connected', 120_000);
  let rssMax = 0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, treeRssMb(v.d.pid))), 1000);
  // Latency probe while the load runs (after it ramps up).
  await new Promise((r) => setTimeout(r, 2000));
  const [pa, pb] = await v.open('probe');
  const loaded = await pingPong(pa, pb, Math.min(PINGS, Math.max(100, (LOAD_SECONDS - 6) * 50)));
  pa.destroy();
  pb.destroy();
  const res = (await waitMsg('result', (LOAD_SECONDS + 60) * 1000)).result!;
  clearInterval(rssTimer);
  rssMax = Math.max(rssMax, treeRssMb(v.d.pid));
  const pids = String(v.d.lines.find((l) => l.msg === 'listening')?.handlers ?? '?');
  await v.close();
  log(`### Load: ${res.pairs} pairs (${res.pairs * 2} sockets) at 256 kbit/s each way for ${LOAD_SECONDS} s, pool mode (${pids} handlers)`);
  log('');
  log('| figure | value |');
  log('|---|---|');
  log(`| daemon RSS, all processes, idle | ${rssIdle.toFixed(0)} MB |`);
  log(`| daemon RSS, all processes, max under load | ${rssMax.toFixed(0)} MB |`);
  log(`| bytes sent / received | ${res.sent} / ${res.received} |`);
  log(`| bytes lost | ${res.sent - res.received} |`);
  log(`| chunks with wrong bytes | ${res.corrupt} |`);
  log(`| 1 KB ping-pong under load p50 / p99 | ${percentile(loaded, 50).toFixed(3)} / ${percentile(loaded, 99).toFixed(3)} ms |`);
  log(`| added vs idle direct p50 / p99 | ${(percentile(loaded, 50) - d50).toFixed(3)} / ${(percentile(loaded, 99) - d99).toFixed(3)} ms |`);
  log('');

  if (process.argv.includes('--write-docs')) {
    const path = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
    const doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
    const body = `## Relay\n\nMeasured by \`npm run bench:relay\` (bench/relay.ts) on ${new Date().toISOString().slice(0, 10)}.\n\n${out.join('\n')}\n`;
    const next = /^## Relay\n[\s\S]*?(?=^## |(?![\s\S]))/m.test(doc)
      ? doc.replace(/^## Relay\n[\s\S]*?(?=^## |(?![\s\S]))/m, body + '\n')
      : `${doc.trimEnd()}\n\n${body}`;
    writeFileSync(path, next);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[2] === '--load-worker') {
  await loadWorker(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
