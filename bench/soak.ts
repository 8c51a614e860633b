/**
 * Relay soak: `npm run soak [-- --minutes 10 --pairs 1000 --handlers 4 --kill-every 120 --write-docs]`.
 * Holds PAIRS concurrent pairs at 256 kbit/s each way through videochatd (pool mode) for
 * MINUTES, checking every byte; samples the daemon's RSS (all its processes) every minute;
 * SIGKILLs a random handler about every KILL_EVERY seconds. Pairs that break are opened
 * again (clients reconnect), so the count holds. At the end:
 *   - pairs that never broke: zero bytes lost, zero wrong bytes;
 *   - the pairs that broke are exactly the killed handlers' pairs (the daemon's
 *     `handler-died` pair lines name the killed pid; nothing else ended otherwise);
 *   - RSS flat: the last minute within RSS_GROWTH_MAX of the first minute's.
 * Prints a table and a `verdict:` line (exit 1 on FAIL); --write-docs replaces the "Soak"
 * section of docs/benchmarks.md. Needs `npm run build` first. Load comes from 127.0.0.1,
 * so the daemon runs with the per-address limits raised (raisedLimitArgs).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDaemon, type LogLine } from '../test/helpers/relay-client.js';
import { writeSection } from './lib/docs.js';
import { tree } from './lib/procs.js';
import { LOAD_BYTES_PER_S, LoadGenerator, raisedLimitArgs, snapshotBin, treeRssMb, type LoadTotals } from './lib/relay-load.js';
import { numberArg } from './lib/args.js';

/** Largest RSS growth from the first minute to the last that still counts as flat. */
const RSS_GROWTH_MAX = 0.25;
/** A killed handler's pairs must all be reported within this long. */
const DEATH_REPORT_TIMEOUT_MS = 30_000;
/** Broken pairs are opened again after this long (a client's reconnect). */
const REOPEN_AFTER_MS = 1000;
/** How often the worker reports its counts. */
const STATS_INTERVAL_MS = 5000;
/** Kill times are spread by this fraction either side of --kill-every, so they do not align with samples. */
const KILL_JITTER = 0.2;


interface WorkerStats {
  type: 'stats';
  live: number;
  broken: number;
  reopened: number;
}

interface WorkerResult {
  type: 'result';
  intact: LoadTotals;
  broken: LoadTotals;
  live: number;
  reopened: number;
}

type WorkerMessage = { type: 'connected' } | WorkerStats | WorkerResult;

// ---------- worker: the clients, in their own process so they do not share the daemon's CPU accounting ----------

async function worker(port: number, pairs: number): Promise<void> {
  const gen = new LoadGenerator({ port, prefix: 'soak', reopenAfterMs: REOPEN_AFTER_MS }, randomBytes(LOAD_BYTES_PER_S * 2));
  await gen.open(pairs);
  process.send?.({ type: 'connected' } satisfies WorkerMessage);
  gen.start();
  const stats = setInterval(() => {
    const broken = gen.pairs.length - gen.live;
    process.send?.({ type: 'stats', live: gen.live, broken, reopened: gen.reopened } satisfies WorkerMessage);
  }, STATS_INTERVAL_MS);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  clearInterval(stats);
  await gen.stop();
  const result: WorkerResult = { type: 'result', intact: gen.totals('intact'), broken: gen.totals('broken'), live: gen.live, reopened: gen.reopened };
  process.send?.(result);
  gen.close();
  process.disconnect();
}

// ---------- main ----------

interface Sample {
  minute: number;
  rssMb: number;
  /** The acceptor alone (it lives the whole run; handlers come and go). */
  acceptorMb: number;
  handlerMbs: number[];
  livePairs: number;
  handlers: number;
  load1: number;
}

interface Kill {
  atS: number;
  pid: number;
  /** Pairs the daemon had started on it and not yet ended, at the kill. */
  pairsOnIt: number;
  /** `pair ended` lines with reason handler-died and this pid. */
  reported: number;
}

function handlerPids(daemonPid: number): number[] {
  return tree(daemonPid)
    .filter((p) => p.pid !== daemonPid && p.cmdline.includes('handler-main'))
    .map((p) => p.pid);
}

async function main(): Promise<void> {
  const minutes = numberArg('minutes', 10);
  const pairs = numberArg('pairs', 1000);
  const handlers = numberArg('handlers', 4);
  const killEveryS = numberArg('kill-every', 120);
  if (!existsSync(fileURLToPath(new URL('../dist/daemon/main.js', import.meta.url)))) throw new Error('run `npm run build` first');

  const bin = snapshotBin();
  const d = await startDaemon(['--log-level', 'info', '--handlers', String(handlers), ...raisedLimitArgs(pairs)], undefined, bin);
  const log = (s: string): void => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}`);
  log(`daemon pid ${d.pid}, ${handlers} handlers; opening ${pairs} pairs`);

  const w = fork(fileURLToPath(import.meta.url), ['--soak-worker', String(d.videoPort), String(pairs)], { execArgv: process.execArgv });
  let stats: WorkerStats = { type: 'stats', live: 0, broken: 0, reopened: 0 };
  let result: WorkerResult | undefined;
  let connected = false;
  w.on('message', (m: WorkerMessage) => {
    if (m.type === 'connected') connected = true;
    else if (m.type === 'stats') stats = m;
    else result = m;
  });
  const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`soak: timed out waiting for ${what}`);
      if (w.exitCode !== null) throw new Error(`soak: worker exited (${w.exitCode}) waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until(() => connected, 300_000, 'the pairs to connect');

  const ended = (pid: number, reason?: string): number =>
    d.lines.filter((l: LogLine) => l.msg === 'pair ended' && l.handlerPid === pid && (reason === undefined || l.reason === reason)).length;
  const started = (pid: number): number => d.lines.filter((l: LogLine) => l.msg === 'pair started' && l.handlerPid === pid).length;

  const t0 = Date.now();
  const samples: Sample[] = [];
  const sample = (minute: number): void => {
    const procs = tree(d.pid);
    const mb = (bytes: number): number => bytes / (1024 * 1024);
    const s: Sample = {
      minute,
      rssMb: treeRssMb(d.pid),
      acceptorMb: mb(procs.find((p) => p.pid === d.pid)?.rssBytes ?? 0),
      handlerMbs: procs.filter((p) => p.cmdline.includes('handler-main')).map((p) => mb(p.rssBytes)),
      livePairs: stats.live || pairs, handlers: handlerPids(d.pid).length, load1: loadavg()[0] ?? 0 };
    samples.push(s);
    log(`minute ${minute}: RSS ${s.rssMb.toFixed(0)} MB (acceptor ${s.acceptorMb.toFixed(0)}, handlers ${s.handlerMbs.map((x) => x.toFixed(0)).join('/')}), ${s.livePairs} live pairs, ${stats.broken} broken so far, ${s.handlers} handlers, load ${s.load1.toFixed(2)}`);
  };
  sample(0);
  const kills: Kill[] = [];
  const endAt = t0 + minutes * 60_000;
  let nextSample = t0 + 60_000;
  const nextKillDelay = (): number => killEveryS * 1000 * (1 - KILL_JITTER + Math.random() * 2 * KILL_JITTER);
  let nextKill = t0 + nextKillDelay();
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, 250));
    const now = Date.now();
    if (now >= nextSample) {
      sample(Math.round((now - t0) / 60_000));
      nextSample += 60_000;
    }
    // No kill in the last 30 s: its pairs' replacements should get to run before the end.
    if (now >= nextKill && endAt - now > 30_000) {
      const pids = handlerPids(d.pid);
      const pid = pids[Math.floor(Math.random() * pids.length)];
      if (pid !== undefined) {
        const pairsOnIt = started(pid) - ended(pid);
        process.kill(pid, 'SIGKILL');
        kills.push({ atS: Math.round((now - t0) / 1000), pid, pairsOnIt, reported: 0 });
        log(`SIGKILL handler ${pid} (${pairsOnIt} pairs on it)`);
      }
      nextKill = now + nextKillDelay();
    }
  }
  if (samples[samples.length - 1]!.minute < minutes) sample(minutes);

  // Every kill's pairs reported?
  for (const k of kills) {
    await until(() => ended(k.pid, 'handler-died') >= k.pairsOnIt, DEATH_REPORT_TIMEOUT_MS, `handler ${k.pid}'s pairs`).catch(() => {});
    k.reported = ended(k.pid, 'handler-died');
  }
  // Counted before the worker closes its sockets (those end as happy).
  const otherEnds = d.lines.filter((l) => l.msg === 'pair ended' && l.reason !== 'handler-died').length;
  const handlerDiedEnds = d.lines.filter((l) => l.msg === 'pair ended' && l.reason === 'handler-died').length;
  w.send({ type: 'stop' });
  await until(() => result !== undefined, 120_000, 'the worker result');
  const r = result!;
  await d.stop();

  const first = samples.find((s) => s.minute >= 1) ?? samples[0]!;
  const last = samples[samples.length - 1]!;
  const growth = (last.rssMb - first.rssMb) / first.rssMb;
  const maxLoad = Math.max(...samples.map((s) => s.load1));
  const problems: string[] = [];
  const intactLost = r.intact.sent - r.intact.received;
  if (intactLost !== 0) problems.push(`${intactLost} bytes lost on pairs that never broke`);
  if (r.intact.corrupt + r.broken.corrupt !== 0) problems.push(`${r.intact.corrupt + r.broken.corrupt} chunks with wrong bytes`);
  if (r.broken.pairs !== handlerDiedEnds) problems.push(`${r.broken.pairs} pairs broke but ${handlerDiedEnds} ended as handler-died`);
  // More can be reported than were started: a pair handed over but not yet started dies too.
  for (const k of kills) if (k.reported < k.pairsOnIt) problems.push(`handler ${k.pid}: ${k.pairsOnIt} pairs on it, ${k.reported} reported handler-died`);
  if (otherEnds !== 0) problems.push(`${otherEnds} pairs ended during the run for a reason other than handler-died`);
  if (growth > RSS_GROWTH_MAX) problems.push(`RSS grew ${(growth * 100).toFixed(0)}% (minute ${first.minute} -> ${last.minute})`);
  if (r.live < pairs) problems.push(`only ${r.live} of ${pairs} pairs live at the end`);

  const out: string[] = [];
  const p = (s = ''): void => {
    out.push(s);
    console.log(s);
  };
  p(`Measured by \`npm run soak\` (bench/soak.ts) on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), shared with other work; clients on the same machine.`);
  p(`${pairs} pairs (${pairs * 2} client sockets) at 256 kbit/s each way for ${minutes} min, pool mode with ${handlers} handlers; a random handler SIGKILLed about every ${killEveryS} s; broken pairs reconnect after ${REOPEN_AFTER_MS / 1000} s.`);
  p();
  p('| minute | daemon RSS, all processes | acceptor | handlers | live pairs | load average (1 min) |');
  p('|---|---|---|---|---|---|');
  for (const s of samples) {
    p(`| ${s.minute} | ${s.rssMb.toFixed(0)} MB | ${s.acceptorMb.toFixed(0)} MB | ${s.handlerMbs.map((x) => x.toFixed(0)).join(' / ')} MB | ${s.livePairs} | ${s.load1.toFixed(2)} |`);
  }
  p();
  p('| figure | value |');
  p('|---|---|');
  p(`| RSS minute ${first.minute} -> ${last.minute} | ${first.rssMb.toFixed(0)} -> ${last.rssMb.toFixed(0)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%) |`);
  p(`| handlers killed | ${kills.length} (${kills.map((k) => `${k.atS} s: ${k.pairsOnIt} pairs`).join('; ') || 'none'}) |`);
  p(`| pairs broken / ended as handler-died | ${r.broken.pairs} / ${handlerDiedEnds} |`);
  p(`| pairs ended for any other reason during the run | ${otherEnds} |`);
  p(`| pairs reopened | ${r.reopened} |`);
  p(`| pairs that never broke | ${r.intact.pairs} |`);
  p(`| their bytes sent / received / lost | ${r.intact.sent} / ${r.intact.received} / ${intactLost} |`);
  p(`| chunks with wrong bytes (all pairs) | ${r.intact.corrupt + r.broken.corrupt} |`);
  p(`| load average (1 min), max | ${maxLoad.toFixed(2)} |`);
  p();
  p(`verdict: ${problems.length === 0 ? 'PASS' : `FAIL (${problems.join('; ')})`}`);
  if (process.argv.includes('--write-docs')) {
    writeSection('Soak', out.join('\n'));
    console.log('wrote the Soak section of docs/benchmarks.md');
  }
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (process.argv[2] === '--soak-worker') {
  await worker(Number(process.argv[3]), Number(process.argv[4]));
} else {
  await main();
}
