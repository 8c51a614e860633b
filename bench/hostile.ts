/**
 * Hostile campaign (issue 11; not a test): `npm run bench:hostile [-- --minutes 5 --good 100
 * --addresses 200 --bin path/to/videochatd.js --write-docs]`.
 *
 * Runs videochatd with its default limits (plus --metrics-port) and, for MINUTES, mixed
 * hostile traffic from ADDRESSES loopback addresses (127.0.2.1 and up): pairs that reset a few
 * ms after pairing, garbage and oversize handshakes, slow-loris half handshakes, waiters that
 * fill --max-buffer-bytes and reset, pairs that never read, metrics-port floods. Beside it GOOD
 * pairs from 127.0.0.1 stream random bytes both ways, every byte digest-checked at the end.
 * One verdict line: hostile connections, handler deaths, bytes lost or wrong, the daemon's
 * peak RSS (all its processes). Goal: 5 minutes, >= 100,000 hostile connections, 0 handler
 * deaths, 0 bytes lost or wrong, RSS bounded. `--bin` runs another build (a rival: e.g. the
 * daemon before the hardening) in the same way. Needs `npm run build` first.
 */
import net, { type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startDaemon, VIDEOCHATD_BIN } from '../test/helpers/relay-client.js';
import { encodeHandshake } from '../src/codec/handshake.js';
import { writeSection } from './lib/docs.js';
import { childPids, rssBytes } from '../test/helpers/hostile.js';
import { numberArg, stringArg } from './lib/args.js';


const MINUTES = numberArg('minutes', 5);
const GOOD = numberArg('good', 100);
const ADDRESSES = Math.min(250, numberArg('addresses', 200));
const BIN = stringArg('bin') ?? VIDEOCHATD_BIN;
const WRITE_DOCS = process.argv.includes('--write-docs');
/** Each good side writes this much every GOOD_TICK_MS (64 kbit/s each way). */
const GOOD_CHUNK = 800;
const GOOD_TICK_MS = 100;
/** Hostile workers running at once (each loops over the attack kinds on its own address). */
const WORKERS = ADDRESSES;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Counts { [kind: string]: number }
const opened: Counts = {};
let hostileConnections = 0;

function connect(port: number, localAddress: string, first?: Buffer): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => {});
    if (first) s.write(first);
    s.once('connect', () => {
      hostileConnections++;
      resolve(s);
    });
    s.once('close', () => resolve(null));
  });
}

function rst(s: Socket | null): void {
  if (!s || s.destroyed) return;
  if (process.env.NO_RST || (process.env.RST_SAFE && s.writableLength > 0)) {
    s.destroy();
    return;
  }
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

type Attack = (port: number, metricsPort: number, addr: string, n: number) => Promise<void>;

const attacks: Record<string, Attack> = {
  // Pair, then reset a few ms later (the handler-killing attack of item 1).
  'rst-after-pair': async (port, _m, addr, n) => {
    const hs = encodeHandshake(randomBytes(6).toString('hex'));
    const [x, y] = await Promise.all([connect(port, addr, hs), connect(port, addr, hs)]);
    await sleep(n % 9);
    rst(x);
    await sleep(n % 4);
    rst(y);
  },
  garbage: async (port, _m, addr) => {
    const s = await connect(port, addr, randomBytes(64));
    await sleep(20);
    s?.destroy();
  },
  oversize: async (port, _m, addr) => {
    const h = Buffer.alloc(4);
    h.writeInt32LE(1 << 20);
    const s = await connect(port, addr, Buffer.concat([h, randomBytes(2048)]));
    await sleep(20);
    s?.destroy();
  },
  // Two bytes of a length prefix, then nothing until the handshake timeout (or 3 s).
  slowloris: async (port, _m, addr) => {
    const s = await connect(port, addr, Buffer.from([8, 0]));
    await sleep(3000);
    s?.destroy();
  },
  // A waiter that sends far past --max-buffer-bytes, then resets.
  'fill-and-leave': async (port, _m, addr) => {
    const s = await connect(port, addr, Buffer.concat([encodeHandshake(randomBytes(6).toString('hex')), randomBytes(200 * 1024)]));
    await sleep(500);
    rst(s);
  },
  // A pair whose two sides send but never read, held for 2 s.
  'never-read': async (port, _m, addr) => {
    const hs = encodeHandshake(randomBytes(6).toString('hex'));
    const [x, y] = await Promise.all([connect(port, addr, hs), connect(port, addr, hs)]);
    for (const s of [x, y]) {
      s?.pause();
      s?.write(randomBytes(256 * 1024));
    }
    await sleep(2000);
    rst(x);
    rst(y);
  },
  // Idle connections to the metrics port.
  'metrics-flood': async (_p, metricsPort, addr) => {
    const socks = await Promise.all(Array.from({ length: 5 }, () => connect(metricsPort, addr)));
    await sleep(1000);
    for (const s of socks) s?.destroy();
  },
};
const KINDS = Object.keys(attacks).filter((k) => !process.env.HOSTILE_KINDS || process.env.HOSTILE_KINDS.split(",").includes(k));

interface Good {
  a: Socket;
  b: Socket;
  sent: [ReturnType<typeof createHash>, ReturnType<typeof createHash>];
  got: [ReturnType<typeof createHash>, ReturnType<typeof createHash>];
  sentBytes: [number, number];
  gotBytes: [number, number];
  broken: string | null;
}

async function goodPair(port: number, i: number): Promise<Good> {
  const code = `good-${i}-${randomBytes(4).toString('hex')}`;
  const mk = (): Promise<Socket> => new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
    s.write(encodeHandshake(code));
  });
  const a = await mk();
  const b = await mk();
  const g: Good = { a, b, sent: [createHash('sha256'), createHash('sha256')], got: [createHash('sha256'), createHash('sha256')], sentBytes: [0, 0], gotBytes: [0, 0], broken: null };
  [a, b].forEach((s, side) => {
    s.on('data', (c: Buffer) => {
      g.got[side]!.update(c);
      g.gotBytes[side]! += c.length;
    });
    s.on('error', (e) => (g.broken ??= e.message));
    s.on('end', () => (g.broken ??= 'ended'));
  });
  return g;
}

function writeGood(g: Good): void {
  [g.a, g.b].forEach((s, side) => {
    if (s.destroyed || s.writableLength > 64 * 1024) return;
    const c = randomBytes(GOOD_CHUNK);
    g.sent[side]!.update(c);
    g.sentBytes[side]! += c.length;
    s.write(c);
  });
}

async function main(): Promise<void> {
  const d = await startDaemon(['--metrics-port', '0', '--host', '0.0.0.0', '--metrics-host', '127.0.0.1'].filter((_, i, all) => BIN === VIDEOCHATD_BIN || (all[i] !== '--metrics-host' && all[i - 1] !== '--metrics-host')), undefined, BIN);
  const metricsPort = d.metricsPort!;
  const goods: Good[] = [];
  // Within --max-connection-rate-per-ip (50/s, a burst of 50) for 127.0.0.1: 20 pairs a second.
  for (let i = 0; i < GOOD; i++) {
    goods.push(await goodPair(d.videoPort, i));
    if (i % 20 === 19) await sleep(1100);
  }
  await d.waitForLines((l) => l.msg === 'pair started', GOOD, 30_000);
  const early = goods.filter((g) => g.broken).length;
  if (early > 0) throw new Error(`${early} good pairs failed to pair before the attacks`);
  const writer = setInterval(() => goods.forEach(writeGood), GOOD_TICK_MS);
  const until = Date.now() + MINUTES * 60_000;
  let peakRss = 0;
  let daemonDied = false;
  d.child.once('exit', () => (daemonDied = true));
  const sampler = setInterval(() => {
    if (daemonDied) return;
    let rss = 0;
    try {
      rss = rssBytes(d.pid) + childPids(d.pid).reduce((n, p) => n + (() => { try { return rssBytes(p); } catch { return 0; } })(), 0);
    } catch {
      /* exited */
    }
    peakRss = Math.max(peakRss, rss);
  }, 1000);
  const progress = setInterval(() => {
    process.stderr.write(`  ${Math.round((until - Date.now()) / 1000)} s left: ${hostileConnections} hostile connections, ${d.lines.filter((l) => l.msg === 'handler died').length} handler deaths, peak RSS ${Math.round(peakRss / 2 ** 20)} MiB\n`);
  }, 30_000);
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    const addr = `127.0.2.${1 + (w % ADDRESSES)}`;
    let n = w;
    while (Date.now() < until && !daemonDied) {
      const kind = KINDS[n % KINDS.length]!;
      opened[kind] = (opened[kind] ?? 0) + 1;
      await attacks[kind]!(d.videoPort, metricsPort, addr, n).catch(() => {});
      n++;
      await sleep(20);
    }
  }));
  clearInterval(progress);
  clearInterval(writer);
  // Let in-flight good bytes land, then close every good pair and compare.
  await sleep(2000);
  let lost = 0;
  let wrong = 0;
  let broken = 0;
  let relayed = 0;
  await Promise.all(goods.map(async (g) => {
    const deadline = Date.now() + 20_000;
    while ((g.gotBytes[1] < g.sentBytes[0] || g.gotBytes[0] < g.sentBytes[1]) && !g.broken && Date.now() < deadline) await sleep(100);
    if (g.broken) broken++;
    lost += Math.max(0, g.sentBytes[0] - g.gotBytes[1]) + Math.max(0, g.sentBytes[1] - g.gotBytes[0]);
    relayed += g.gotBytes[0] + g.gotBytes[1];
    if (g.got[1].digest('hex') !== g.sent[0].digest('hex') || g.got[0].digest('hex') !== g.sent[1].digest('hex')) wrong++;
    g.a.destroy();
    g.b.destroy();
  }));
  clearInterval(sampler);
  const deaths = d.lines.filter((l) => l.msg === 'handler died').length;
  const rejected: Record<string, number> = {};
  for (const l of d.lines) if (typeof l.reason === 'string' && (l.msg === 'connection rejected' || l.msg === 'handshake failed')) rejected[l.reason] = (rejected[l.reason] ?? 0) + 1;
  const ends: Record<string, number> = {};
  for (const l of d.lines) if (l.msg === 'pair ended') { const k = `${String(l.reason)}${l.error ? `: ${String(l.error)}` : ''}`; ends[k] = (ends[k] ?? 0) + 1; }
  const notable: Record<string, number> = {};
  for (const l of d.lines) if (typeof l.msg === 'string' && (l.level ?? 0) >= 40 && l.msg !== 'connection rejected' && l.msg !== 'handshake failed' && l.msg !== 'rejections not logged') notable[l.msg] = (notable[l.msg] ?? 0) + 1;
  // Good pairs live the whole run; hostile ones a few seconds.
  const goodEnds: Record<string, number> = {};
  for (const l of d.lines) if (l.msg === 'pair ended' && Number(l.durationMs) > 10_000) { const k = `${String(l.reason)}${l.error ? `: ${String(l.error)}` : ''} (${Math.round(Number(l.durationMs) / 1000)} s, ${String(l.bytesAtoB)}/${String(l.bytesBtoA)})`; goodEnds[k] = (goodEnds[k] ?? 0) + 1; }
  const cutWhy: Record<string, number> = {};
  for (const g of goods) if (g.broken) cutWhy[g.broken] = (cutWhy[g.broken] ?? 0) + 1;
  const up = !daemonDied;
  if (up) await d.stop();
  const ok = up && deaths === 0 && lost === 0 && wrong === 0 && broken === 0 && hostileConnections >= 100_000 * (MINUTES / 5);
  const verdict = `verdict: ${ok ? 'PASS' : 'FAIL'}: ${MINUTES} min, ${hostileConnections} hostile connections from ${ADDRESSES} addresses, ${GOOD} good pairs (${broken} cut, ${lost} bytes lost, ${wrong} with wrong bytes, ${(relayed / 1e6).toFixed(1)} MB relayed), ${deaths} handler deaths, daemon ${up ? 'up' : 'DIED'}, peak RSS ${Math.round(peakRss / 2 ** 20)} MiB (all its processes)`;
  const table = ['| attack | rounds |', '|---|---:|', ...KINDS.map((k) => `| ${k} | ${opened[k] ?? 0} |`)].join('\n');
  console.log(table);
  console.log(`logged rejections (lines shown; the rest summarised): ${JSON.stringify(rejected)}`);
  console.log(`pair ends: ${JSON.stringify(ends)}`);
  console.log(`other warnings: ${JSON.stringify(notable)}`);
  if (broken > 0) console.log(`good pairs cut: ${JSON.stringify(cutWhy)}; as the daemon saw them end: ${JSON.stringify(goodEnds)}`);
  console.log(verdict);
  if (WRITE_DOCS) {
    writeSection('Hostile campaign (bench/hostile.ts)', [
      '`npm run bench:hostile` (issue 11): videochatd with its default limits, for the given minutes, mixed hostile',
      `traffic from ${ADDRESSES} loopback addresses (127.0.2.x) beside ${GOOD} good pairs from 127.0.0.1 streaming`,
      '64 kbit/s each way, every byte digest-checked. Rounds per attack kind (a round is one to five connections):',
      '',
      table,
      '',
      '```',
      verdict,
      '```',
    ].join('\n'));
  }
  process.exit(ok ? 0 : 1);
}

void main();
