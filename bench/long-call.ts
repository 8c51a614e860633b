/**
 * Long-call memory benchmark (`npm run bench:long-call [-- --minutes N]`; not a test): a
 * daemon and two test-source clients on loopback for N minutes (default 30), printing every
 * minute the resident memory of each client (its node process and each ffmpeg child
 * separately) and of the daemon (all its processes), then a verdict on flatness.
 *
 * Flat means: the last minute's RSS is within LONG_CALL_MAX_GROWTH_RATIO of minute 2's, for
 * each client's node process, each client's whole tree and the daemon's tree. Minute 2, not
 * minute 0: start-up (JIT, heap sizing, ffmpeg buffers) is not a leak. `--write` puts the
 * figures into the "Long call" section of docs/benchmarks.md.
 */
import { startDaemon } from '../test/helpers/relay-client.js';
import { allProcs, label, mib, tree, type ProcInfo } from './lib/procs.js';
import { benchSession, delay, spawnClient, type BenchClient } from './lib/call-run.js';
import { writeSection } from './lib/docs.js';

const DEFAULT_MINUTES = 30;
const SAMPLE_INTERVAL_MS = 60_000;
/** Growth from minute 2 to the last minute above which memory is not called flat. */
const LONG_CALL_MAX_GROWTH_RATIO = 0.1;
/** The minute growth is measured from (start-up is over by then). */
const BASELINE_MINUTE = 2;
const PEER_JOIN_TIMEOUT_MS = 60_000;
/** Time the clients get beyond --duration to hang up and exit before they are killed. */
const EXIT_MARGIN_MS = 60_000;

interface Row {
  minute: number;
  /** Label -> RSS bytes, e.g. `a node`, `a ffmpeg video capture`, `daemon`. */
  rss: Map<string, number>;
}

function parseArgs(argv: string[]): { minutes: number; write: boolean } {
  let minutes = DEFAULT_MINUTES;
  const i = argv.indexOf('--minutes');
  if (i >= 0) minutes = Number(argv[i + 1]);
  if (!Number.isFinite(minutes) || minutes < 1) throw new Error(`--minutes must be a number >= 1, got ${argv[i + 1]}`);
  return { minutes, write: argv.includes('--write') };
}

function clientRss(prefix: string, members: ProcInfo[], into: Map<string, number>): void {
  let total = 0;
  for (const p of members) {
    if (p.comm === 'ip') continue;
    const name = `${prefix} ${label(p)}`;
    into.set(name, (into.get(name) ?? 0) + p.rssBytes);
    total += p.rssBytes;
  }
  into.set(`${prefix} tree`, total);
}

function sample(minute: number, a: BenchClient, b: BenchClient, daemonPid: number): Row {
  const procs = allProcs();
  const rss = new Map<string, number>();
  clientRss('a', tree(a.pid, procs), rss);
  clientRss('b', tree(b.pid, procs), rss);
  const d = tree(daemonPid, procs);
  rss.set('daemon', d.reduce((s, p) => s + p.rssBytes, 0));
  rss.set('daemon processes', d.length);
  return { minute, rss };
}

function formatRow(r: Row, columns: string[]): string {
  return `| ${r.minute} | ${columns.map((c) => (c === 'daemon processes' ? String(r.rss.get(c) ?? '-') : r.rss.has(c) ? mib(r.rss.get(c)!) : '-')).join(' | ')} |`;
}

async function main(): Promise<void> {
  const { minutes, write } = parseArgs(process.argv.slice(2));
  const started = new Date();
  const daemon = await startDaemon(['--log-level', 'warn']);
  const session = benchSession('long');
  const common = {
    host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session,
    extra: ['--duration', String(minutes * 60)], killAfterMs: minutes * 60_000 + PEER_JOIN_TIMEOUT_MS + EXIT_MARGIN_MS,
  };
  const a = spawnClient(common);
  await a.waitFor('waiting', PEER_JOIN_TIMEOUT_MS);
  const b = spawnClient(common);
  await Promise.all([a.waitFor('peer-joined', PEER_JOIN_TIMEOUT_MS), b.waitFor('peer-joined', PEER_JOIN_TIMEOUT_MS)]);
  console.log(`# long call: ${minutes} min, daemon pid ${daemon.pid}, clients ${a.pid} (a) and ${b.pid} (b), started ${started.toISOString()}`);

  const rows: Row[] = [sample(0, a, b, daemon.pid)];
  // Fixed columns: the decoders start only when the peer's first media arrives.
  const roles = ['node', 'ffmpeg video capture', 'ffmpeg audio capture', 'ffmpeg video decode', 'ffmpeg audio decode', 'tree'];
  const columns = [...roles.map((r) => `a ${r}`), ...roles.map((r) => `b ${r}`), 'daemon', 'daemon processes'];
  console.log(`| min | ${columns.join(' | ')} |`);
  console.log(`|---|${columns.map(() => '---').join('|')}|`);
  console.log(formatRow(rows[0]!, columns));
  const t0 = Date.now();
  for (let m = 1; m <= minutes; m++) {
    // Sample a little before the call's own end at the last minute, while everything still runs.
    const at = t0 + m * SAMPLE_INTERVAL_MS - (m === minutes ? 5000 : 0);
    await delay(Math.max(0, at - Date.now()));
    const row = sample(m, a, b, daemon.pid);
    rows.push(row);
    console.log(formatRow(row, columns));
  }
  const [ca, cb] = await Promise.all([a.exited, b.exited]);
  await daemon.stop();

  const ended = (c: BenchClient): Record<string, unknown> | undefined => c.events.find((e) => e.event === 'ended');
  const endA = ended(a);
  const endB = ended(b);
  const base = rows.find((r) => r.minute === Math.min(BASELINE_MINUTE, minutes - 1)) ?? rows[0]!;
  const last = rows[rows.length - 1]!;
  const verdicts: string[] = [];
  let flat = true;
  for (const key of ['a node', 'a tree', 'b node', 'b tree', 'daemon']) {
    const from = base.rss.get(key);
    const to = last.rss.get(key);
    if (from === undefined || to === undefined) continue;
    const growth = (to - from) / from;
    const ok = growth < LONG_CALL_MAX_GROWTH_RATIO;
    flat &&= ok;
    verdicts.push(`${key}: ${mib(from)} -> ${mib(to)} MiB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %) ${ok ? 'flat' : 'GROWING'}`);
  }
  const callLine = `exit codes a=${ca} b=${cb}; frames a sent ${String(endA?.videoFramesSent)} received ${String(endA?.videoFramesReceived)}, ` +
    `b sent ${String(endB?.videoFramesSent)} received ${String(endB?.videoFramesReceived)}`;
  console.log(`\n${callLine}`);
  console.log(`growth minute ${base.minute} -> minute ${last.minute} (limit ${LONG_CALL_MAX_GROWTH_RATIO * 100} %):`);
  for (const v of verdicts) console.log(`  ${v}`);
  console.log(`verdict: ${flat ? 'FLAT' : 'NOT FLAT'}`);

  if (write) {
    const table = [`| min | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`, ...rows.map((r) => formatRow(r, columns))];
    writeSection('Long call', [
      `A ${minutes}-minute call on loopback (test sources, MJPEG + Opus, encrypted), run ${started.toISOString().slice(0, 16)}Z`,
      'by `npm run bench:long-call -- --minutes ' + String(minutes) + ' --write`. RSS in MiB, sampled every minute; `a`/`b` are the',
      'two clients (node and each ffmpeg child listed apart, `tree` = all of them), `daemon` is the acceptor and its handlers.',
      '',
      ...table,
      '',
      `${callLine}.`,
      '',
      `Growth from minute ${base.minute} to minute ${last.minute} (flat = under ${LONG_CALL_MAX_GROWTH_RATIO * 100} %):`,
      '',
      ...verdicts.map((v) => `- ${v}`),
      '',
      `Verdict: **${flat ? 'flat' : 'not flat'}**.`,
    ].join('\n'));
    console.log('wrote docs/benchmarks.md (Long call)');
  }
  process.exitCode = ca === 0 && cb === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
