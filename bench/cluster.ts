/**
 * One node vs three nodes sharing a Redis directory (`--redis`), on this machine, in one run:
 * N pairs (default 3,000) of original-handshake clients on the video port; with three nodes
 * two thirds of the pairs have their sides on different nodes (spliced). Measured: pairing
 * time (second client's handshake -> first byte from its peer) p50/p99, bulk throughput with
 * every byte checked, RSS per node, bytes lost, and the round-trip a splice adds (1-byte
 * ping-pong on idle pairs, local vs spliced). Writes docs/benchmarks.md, "Several nodes".
 *   npm run bench:cluster [-- --pairs 3000 --bytes 65536 --no-write]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { encodeHandshake } from '../src/codec/handshake.js';
import { connectTo, raisedLimitArgs, snapshotBin, treeRssMb } from './lib/relay-load.js';
import { percentile } from './lib/call-run.js';
import { writeSection } from './lib/docs.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PAIRS = flag('pairs', 3000);
const BULK_BYTES = flag('bytes', 64 * 1024);
const PING_PAIRS = 100;
const PINGS = 20;
const CONCURRENCY = 50;

interface Node { child: ChildProcess; videoPort: number; pid: number }

async function startNode(bin: string, extra: string[]): Promise<Node> {
  const child = spawn(process.execPath, [bin, '--host', '127.0.0.1', '--video-port', '0', '--audio-port', '0', '--log-level', 'warn',
    ...raisedLimitArgs(PAIRS * 2), ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        const j = JSON.parse(line) as { videoPort: number; pid: number };
        resolve({ child, videoPort: j.videoPort, pid: j.pid });
      }
    });
    child.once('exit', (c) => reject(new Error(`node exited ${c}`)));
  });
}

function readN(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', onData);
        s.off('close', onClose);
        const all = Buffer.concat(chunks);
        if (all.length > n) s.unshift(all.subarray(n));
        resolve(all.subarray(0, n));
      }
    };
    const onClose = (): void => reject(new Error(`closed after ${got}/${n}`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

interface Pair { a: Socket; b: Socket; crosses: boolean; pairMs: number }

async function openPairs(nodes: Node[], tag: string): Promise<Pair[]> {
  const pairs: Pair[] = [];
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const code = Buffer.from(`${tag}-${i}-${randomBytes(4).toString('hex')}`);
    const na = i % nodes.length;
    // With three nodes: two pairs in three cross (i % 3 == 0 or 1), one stays on its node.
    const nb = nodes.length === 1 ? 0 : (na + (i % 3 === 2 ? 0 : 1)) % nodes.length;
    const a = await connectTo(nodes[na]!.videoPort);
    a.write(Buffer.concat([encodeHandshake(code), Buffer.from('A')]));
    // Let the first side be registered (the directory is one Redis round trip away).
    await new Promise((r) => setTimeout(r, nodes.length === 1 ? 0 : 20));
    const b = await connectTo(nodes[nb]!.videoPort);
    const t0 = performance.now();
    b.write(Buffer.concat([encodeHandshake(code), Buffer.from('B')]));
    await Promise.all([readN(b, 1), readN(a, 1)]);
    pairs.push({ a, b, crosses: na !== nb, pairMs: performance.now() - t0 });
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PAIRS) await one(next++);
  }));
  return pairs;
}

/** Every pair sends BULK_BYTES each way at once; returns MB/s and bytes lost or wrong. */
async function bulk(pairs: Pair[]): Promise<{ mbPerS: number; lost: number }> {
  const payload = randomBytes(BULK_BYTES);
  const t0 = performance.now();
  let lost = 0;
  await Promise.all(pairs.flatMap(({ a, b }) => [[a, b], [b, a]] as const).map(async ([from, to]) => {
    const got = readN(to, BULK_BYTES).catch(() => Buffer.alloc(0));
    from.write(payload);
    const r = await got;
    // A direction that did not arrive whole and unchanged counts in full.
    if (!r.equals(payload)) lost += BULK_BYTES;
  }));
  const sec = (performance.now() - t0) / 1000;
  return { mbPerS: (pairs.length * 2 * BULK_BYTES) / sec / 1e6, lost };
}

async function pingRtt(pairs: Pair[]): Promise<number[]> {
  const out: number[] = [];
  for (const { a, b } of pairs) {
    b.on('data', (d: Buffer) => b.write(d));
    for (let k = 0; k < PINGS; k++) {
      const t0 = performance.now();
      const got = readN(a, 1);
      a.write('p');
      await got;
      out.push(performance.now() - t0);
    }
    b.removeAllListeners('data');
  }
  return out;
}

async function scenario(label: string, nodes: Node[]): Promise<Record<string, string | number>> {
  const pairs = await openPairs(nodes, label);
  const crossing = pairs.filter((p) => p.crosses);
  const pairMs = pairs.map((p) => p.pairMs);
  const { mbPerS, lost } = await bulk(pairs);
  const rss = nodes.map((n) => treeRssMb(n.pid));
  const localRtt = await pingRtt(pairs.filter((p) => !p.crosses).slice(0, PING_PAIRS));
  const crossRtt = await pingRtt(crossing.slice(0, PING_PAIRS));
  for (const p of pairs) { p.a.destroy(); p.b.destroy(); }
  return {
    scenario: label,
    pairs: pairs.length,
    crossing: crossing.length,
    pairP50: percentile(pairMs, 50), pairP99: percentile(pairMs, 99),
    mbPerS, lost,
    rss: rss.map((r) => r.toFixed(0)).join(' / '),
    localRttP50: percentile(localRtt, 50), localRttP99: percentile(localRtt, 99),
    crossRttP50: crossRtt.length ? percentile(crossRtt, 50) : NaN, crossRttP99: crossRtt.length ? percentile(crossRtt, 99) : NaN,
  };
}

function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const bin = snapshotBin();
  const dir = mkdtempSync(join(tmpdir(), 'vc-bench-cluster-'));
  const secret = join(dir, 'secret');
  writeFileSync(secret, randomBytes(32).toString('hex'));
  const redisPort = 20000 + Math.floor(Math.random() * 20000);
  const redis = startRedis(redisPort);
  await new Promise((r) => setTimeout(r, 500));
  const load = loadavg()[0]!.toFixed(2);
  const results: Array<Record<string, string | number>> = [];
  try {
    const single = [await startNode(bin, ['--handlers', '2'])];
    results.push(await scenario('1 node', single));
    for (const n of single) n.child.kill('SIGKILL');
    const cluster = [];
    for (let i = 0; i < 3; i++) {
      cluster.push(await startNode(bin, ['--handlers', '1', '--redis', `redis://127.0.0.1:${redisPort}`, '--cluster-secret-file', secret, '--cluster-port', '0']));
    }
    results.push(await scenario('3 nodes', cluster));
    for (const n of cluster) n.child.kill('SIGKILL');
  } finally {
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (n: string | number | undefined): string => (typeof n === 'number' ? (Number.isNaN(n) ? '–' : n.toFixed(n < 10 ? 2 : 1)) : String(n));
  const rows = results.map((r) => `| ${r.scenario} | ${r.pairs} | ${r.crossing} | ${f(r.pairP50)} / ${f(r.pairP99)} | ${f(r.mbPerS)} | ${r.lost} | ${r.rss} | ${f(r.localRttP50)} / ${f(r.localRttP99)} | ${f(r.crossRttP50)} / ${f(r.crossRttP99)} |`);
  const body = [
    `\`npm run bench:cluster\`, ${new Date().toISOString().slice(0, 10)}, this machine (2 cores; load ${load} at the start),`,
    `one run: ${PAIRS} pairs of original-handshake clients on the video port, ${CONCURRENCY} opened at a time;`,
    `1 node with 2 handlers vs 3 nodes with 1 handler each on one Redis (all on this machine, so the`,
    'three nodes share the same two cores). Pairing: second side\'s handshake -> first byte from its peer.',
    `Throughput: every pair sends ${BULK_BYTES / 1024} KiB each way at once, every byte compared. RTT: 1-byte`,
    `ping-pong, ${PINGS} per pair on ${PING_PAIRS} idle pairs, local pairs vs spliced ones.`,
    '',
    '| scenario | pairs | across nodes | pairing ms p50 / p99 | MB/s | bytes lost | RSS MB per node | RTT ms local p50 / p99 | RTT ms spliced p50 / p99 |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(body);
  if (!args.includes('--no-write')) writeSection('Several nodes (bench/cluster.ts)', body);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
