/**
 * Group call benchmark (`npm run bench:room [-- --members N] [--duration SEC] [--write]`; not
 * a test): N members (default 8) in one room at 320x240@15 MJPEG through a real videochatd,
 * beside the rival of the same run: N/2 one-to-one calls of the same media through the same
 * relay. Every client is a real `videochat connect --json` process with lavfi test sources
 * (there is no camera here) and no speaker (`--audio-out none`).
 *
 * Measured over the same window in both runs, after every member (or peer) joined and a
 * warm-up:
 * - CPU per client: utime + stime of the client and its ffmpeg children, % of one core;
 * - PSS per client (the tree's summed proportional set size, mean over samples);
 * - relay CPU (videochatd and its handler processes) and throughput: bytes the relay's
 *   processes read and wrote (/proc/PID/io rchar/wchar: sockets and IPC alike) per second;
 * - latency per direction (sender -> receiver): the receiver's own `latencyMs` for that
 *   sender, from its stats lines in the window (`members[].latencyMs` in a room, `latencyMs`
 *   in a call), p50 and p95 over directions' lines;
 * - frames received per direction per second, as a share of the nominal 15 fps.
 *
 * The machine has two cores: 8 clients, each with an ffmpeg capture and one decoder per peer,
 * are more than it has, so absolute figures are what this machine gives, and the comparison
 * of the two runs is the point. `--write` fills the "Group calls" section of docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startDaemon, type StartedDaemon } from '../test/helpers/relay-client.js';
import { benchSession, delay, percentile, spawnClient, type BenchClient, type CallEvent } from './lib/call-run.js';
import { allProcs, mib, tree, TreeCpuMeter, TreeMemoryMeter } from './lib/procs.js';
import { writeSection } from './lib/docs.js';

const FPS = 15;
const DEFAULT_MEMBERS = 8;
const DEFAULT_DURATION_SEC = 20;
/** Not measured after everyone joined: decoders start, first backlog drains. */
const WARMUP_SEC = 5;
const JOIN_TIMEOUT_MS = 90_000;
const SAMPLE_INTERVAL_MS = 500;
const STOP_TIMEOUT_MS = 20_000;

interface RunResult {
  title: string;
  clients: number;
  cpuPctPerClient: number[];
  pssBytesPerClient: number[];
  relayCpuPct: number;
  relayBytesInPerSec: number;
  relayBytesOutPerSec: number;
  latencyP50: number;
  latencyP95: number;
  /** Per direction: frames received per second in the window. */
  fpsPerDirection: number[];
  directions: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** rchar/wchar of a process: every byte it read or wrote through a syscall (sockets included). */
function ioBytes(pid: number): { read: number; written: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const read = Number(/^rchar:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
    const written = Number(/^wchar:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
    return Number.isFinite(read) && Number.isFinite(written) ? { read, written } : null;
  } catch {
    return null;
  }
}

/** Summed I/O of a process tree; each pid's last reading is kept (a handler may go away). */
class TreeIoMeter {
  private readonly last = new Map<number, { read: number; written: number }>();
  private readonly start = new Map<number, { read: number; written: number }>();
  constructor(private readonly root: number) {}
  sample(procs = allProcs()): void {
    for (const p of tree(this.root, procs)) {
      const io = ioBytes(p.pid);
      if (!io) continue;
      if (!this.start.has(p.pid)) this.start.set(p.pid, io);
      this.last.set(p.pid, io);
    }
  }
  resetBaseline(procs = allProcs()): void {
    this.sample(procs);
    for (const [pid, v] of this.last) this.start.set(pid, v);
  }
  used(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const [pid, v] of this.last) {
      const s = this.start.get(pid)!;
      read += v.read - s.read;
      written += v.written - s.written;
    }
    return { read, written };
  }
}

type Stats = CallEvent & {
  latencyMs?: number | null;
  videoFramesReceived?: number;
  members?: Array<{ id: number; latencyMs: number | null; videoFramesReceived: number; present?: boolean }>;
};

/** Per direction (receiver index + sender key): latencies and frame counts seen in the window. */
function directionsOf(clients: BenchClient[], fromMs: number, toMs: number): { latencies: number[]; fps: number[] } {
  const latencies: number[] = [];
  const fps: number[] = [];
  const windowSec = (toMs - fromMs) / 1000;
  for (const c of clients) {
    const lines = c.events.filter((e): e is Stats => e.event === 'stats' && e.ts >= fromMs && e.ts <= toMs);
    if (lines.length < 2) continue;
    const first = lines[0]!;
    const last = lines[lines.length - 1]!;
    const span = (last.ts - first.ts) / 1000 || windowSec;
    if (first.members && last.members && first.members.length > 0) {
      for (const m of last.members) {
        const before = first.members.find((x) => x.id === m.id);
        if (!before) continue;
        fps.push((m.videoFramesReceived - before.videoFramesReceived) / span);
        for (const l of lines) {
          const v = l.members?.find((x) => x.id === m.id)?.latencyMs;
          if (typeof v === 'number') latencies.push(v);
        }
      }
    } else {
      fps.push(((last.videoFramesReceived ?? 0) - (first.videoFramesReceived ?? 0)) / span);
      for (const l of lines) if (typeof l.latencyMs === 'number') latencies.push(l.latencyMs);
    }
  }
  return { latencies, fps };
}

async function measure(title: string, daemon: StartedDaemon, clients: BenchClient[], joined: Promise<unknown>, durationSec: number): Promise<RunResult> {
  await joined;
  await delay(WARMUP_SEC * 1000);
  const cpu = clients.map((c) => new TreeCpuMeter(c.pid));
  const mem = clients.map((c) => new TreeMemoryMeter(c.pid));
  const relayCpu = new TreeCpuMeter(daemon.pid);
  const relayIo = new TreeIoMeter(daemon.pid);
  let procs = allProcs();
  cpu.forEach((m) => m.resetBaseline(procs));
  relayCpu.resetBaseline(procs);
  relayIo.resetBaseline(procs);
  const from = Date.now();
  const until = from + durationSec * 1000;
  while (Date.now() < until) {
    await delay(SAMPLE_INTERVAL_MS);
    procs = allProcs();
    cpu.forEach((m) => m.sample(procs));
    mem.forEach((m) => m.sample(procs));
    relayCpu.sample(procs);
    relayIo.sample(procs);
  }
  const to = Date.now();
  const sec = (to - from) / 1000;
  const io = relayIo.used();
  const dirs = directionsOf(clients, from, to);
  for (const c of clients) {
    const ended = c.events.find((e) => e.event === 'ended');
    if (ended) throw new Error(`${title}: a client ended inside the window (${JSON.stringify(ended)}); stderr: ${c.stderr()}`);
  }
  return {
    title,
    clients: clients.length,
    cpuPctPerClient: cpu.map((m) => (m.used().totalSec / sec) * 100),
    pssBytesPerClient: mem.map((m) => m.result().pssBytes),
    relayCpuPct: (relayCpu.used().totalSec / sec) * 100,
    relayBytesInPerSec: io.read / sec,
    relayBytesOutPerSec: io.written / sec,
    latencyP50: percentile(dirs.latencies, 50),
    latencyP95: percentile(dirs.latencies, 95),
    fpsPerDirection: dirs.fps,
    directions: dirs.fps.length,
  };
}

async function stopAll(clients: BenchClient[]): Promise<void> {
  for (const c of clients) c.child.kill('SIGTERM');
  await Promise.race([Promise.all(clients.map((c) => c.exited)), delay(STOP_TIMEOUT_MS)]);
  for (const c of clients) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
}

async function roomRun(daemon: StartedDaemon, n: number, durationSec: number): Promise<RunResult> {
  const session = benchSession('room');
  const clients: BenchClient[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(spawnClient({
      host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session,
      extra: ['--room', '--name', `m${i}`], killAfterMs: JOIN_TIMEOUT_MS + (WARMUP_SEC + durationSec) * 1000 + 60_000,
    }));
  }
  // Everyone has seen everyone: n - 1 member-joined lines each.
  const joined = Promise.all(clients.map(async (c) => {
    const t0 = Date.now();
    while (c.events.filter((e) => e.event === 'member-joined').length < n - 1) {
      if (Date.now() - t0 > JOIN_TIMEOUT_MS) throw new Error(`room: a member saw ${c.events.filter((e) => e.event === 'member-joined').length} of ${n - 1} others; stderr: ${c.stderr()}`);
      if (c.events.some((e) => e.event === 'ended')) throw new Error(`room: a member ended early: ${JSON.stringify(c.events.at(-1))}; stderr: ${c.stderr()}`);
      await delay(200);
    }
  }));
  try {
    return await measure(`${n} members in one room`, daemon, clients, joined, durationSec);
  } finally {
    await stopAll(clients);
  }
}

async function pairsRun(daemon: StartedDaemon, n: number, durationSec: number): Promise<RunResult> {
  const clients: BenchClient[] = [];
  for (let p = 0; p < n / 2; p++) {
    const session = benchSession(`pair${p}`);
    for (let s = 0; s < 2; s++) {
      clients.push(spawnClient({
        host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session,
        killAfterMs: JOIN_TIMEOUT_MS + (WARMUP_SEC + durationSec) * 1000 + 60_000,
      }));
    }
  }
  const joined = Promise.all(clients.map((c) => c.waitFor('peer-joined', JOIN_TIMEOUT_MS)));
  try {
    return await measure(`${n / 2} one-to-one calls (rival)`, daemon, clients, joined, durationSec);
  } finally {
    await stopAll(clients);
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function row(r: RunResult): string {
  const minFps = Math.min(...r.fpsPerDirection);
  return `| ${r.title} | ${r.clients} | ${fmt(mean(r.cpuPctPerClient))} (max ${fmt(Math.max(...r.cpuPctPerClient))}) | ${mib(mean(r.pssBytesPerClient))} | ` +
    `${fmt(r.relayCpuPct, 1)} | ${fmt(r.relayBytesInPerSec / 1e6, 2)} / ${fmt(r.relayBytesOutPerSec / 1e6, 2)} | ` +
    `${fmt(r.latencyP50)} / ${fmt(r.latencyP95)} | ${r.directions} | ${fmt(mean(r.fpsPerDirection), 1)} (min ${fmt(minFps, 1)}) |`;
}

async function main(): Promise<void> {
  const n = Number(arg('--members') ?? DEFAULT_MEMBERS);
  const durationSec = Number(arg('--duration') ?? DEFAULT_DURATION_SEC);
  if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new Error('--members must be an even number >= 2');
  const daemon = await startDaemon(['--max-room-size', String(Math.max(8, n))]);
  let room: RunResult;
  let pairs: RunResult;
  try {
    pairs = await pairsRun(daemon, n, durationSec);
    await delay(2000);
    room = await roomRun(daemon, n, durationSec);
  } finally {
    await daemon.stop();
  }
  const header = [
    '| run | clients | CPU % of a core per client (mean, max) | PSS MiB per client | relay CPU % | relay MB/s in / out | latency ms p50 / p95 | directions | fps received per direction (mean, min) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const table = [...header, row(room), row(pairs)].join('\n');
  console.log(table);
  if (process.argv.includes('--write')) {
    const body = [
      `\`npm run bench:room -- --members ${n} --duration ${durationSec} --write\` on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${new Date().toISOString().slice(0, 10)}.`,
      `320x240@${FPS} MJPEG + Opus, lavfi test sources, no speaker; every client a real \`videochat connect --json\` process through one real videochatd on loopback.`,
      `The rival is ${n / 2} one-to-one calls of the same media through the same relay: the same ${n} clients, but each decodes one peer instead of ${n - 1}.`,
      'Latency is each receiver\'s own `latencyMs` per sender (capture to arrival), one value per stats line in the window; "directions" counts sender -> receiver pairs.',
      'Relay throughput is what videochatd and its handler processes read and wrote (rchar/wchar), sockets and IPC together.',
      '',
      table,
    ].join('\n');
    writeSection('Group calls (bench:room)', body);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
