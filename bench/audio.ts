/**
 * Audio latency, capture -> played, of the real client, measured with a stamped signal:
 * `npm run bench:audio [-- --duration 20] [--write]`.
 *
 * Peer A captures through bench/lib/audio-shim.ts (its `--ffmpeg`): silence with a click once
 * a second, each click's wall-clock hand-over to ffmpeg logged. Peer B plays through the real
 * `speaker` child into the ALSA file device of test/fixtures/asoundrc. We watch that file grow
 * and find each click again: latency = when the click reached ALSA - when it was captured.
 *
 * The file device writes a byte only once a whole ALSA buffer of newer audio has been written
 * after it (alsa-lib's pcm_file keeps `buffer_size` frames back; `speaker` asks for 0.5 s =
 * 48000 bytes): the file's size at any moment is what was written to ALSA minus 48000 bytes.
 * So the byte at position p was handed to ALSA when the file first reached p - 48000 bytes,
 * whatever the pace of the writes (the sink skips time after a stall of its event loop). On a real
 * card `speaker` starts playing after the first frame, so what ALSA holds is what the sink
 * has written ahead of the device: one 20 ms frame, half of it on average (not added here).
 *
 * Both peers run on this machine, so capture and playback share one clock.
 */
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startDaemon } from '../test/helpers/relay-client.js';
import { benchSession, delay, percentile, spawnClient } from './lib/call-run.js';
import { writeSection } from './lib/docs.js';

const LIB_DIR = fileURLToPath(new URL('./lib/', import.meta.url));
const ASOUNDRC = fileURLToPath(new URL('../test/fixtures/asoundrc', import.meta.url));
/** What the file device holds back: speaker's ALSA buffer, 0.5 s of 48 kHz s16 (see the header). */
export const FILE_DEVICE_HOLD_BYTES = 48_000;
/** A click is where |sample| first exceeds this after at least REFRACTORY_MS of quiet. */
const ONSET_LEVEL = 0.12 * 32768;
const REFRACTORY_SAMPLES = 48_000 / 2;
/** Seconds skipped at the start (connection, jitter buffer filling). */
const WARMUP_SEC = 3;

interface Run {
  name: string;
  latencies: number[];
  clicks: number;
  audioBufferMs: number[];
}

function shimLauncher(dir: string): string {
  const src = readFileSync(join(LIB_DIR, 'audio-shim.ts'), 'utf8');
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  writeFileSync(join(dir, 'audio-shim.js'), out.outputText);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const path = join(dir, 'ffmpeg');
  writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'audio-shim.js')}" "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Follows a growing raw s16le file: its size over time, and the byte position of each onset. */
function followOnsets(path: string): { onsets: number[]; sizes: Array<[number, number]>; stop: () => void } {
  const onsets: number[] = [];
  const sizes: Array<[number, number]> = [];
  let fd = -1;
  let offset = 0;
  let sampleIndex = 0;
  let lastLoud = -REFRACTORY_SAMPLES;
  let rest = Buffer.alloc(0);
  const buf = Buffer.alloc(1 << 16);
  const poll = (): void => {
    if (fd < 0) {
      try {
        fd = openSync(path, 'r');
      } catch {
        return;
      }
    }
    const now = Date.now();
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      sizes.push([now, offset]);
      const data = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
      const whole = data.length - (data.length % 2);
      for (let o = 0; o < whole; o += 2, sampleIndex++) {
        if (Math.abs(data.readInt16LE(o)) < ONSET_LEVEL) continue;
        if (sampleIndex - lastLoud >= REFRACTORY_SAMPLES) onsets.push(sampleIndex * 2);
        lastLoud = sampleIndex;
      }
      rest = Buffer.from(data.subarray(whole));
    }
  };
  const timer = setInterval(poll, 2);
  return {
    onsets,
    sizes,
    stop: () => {
      clearInterval(timer);
      poll();
      if (fd >= 0) closeSync(fd);
    },
  };
}

async function run(name: string, durationSec: number, shim: string, dir: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const daemon = await startDaemon(['--log-level', 'warn']);
  const log = join(dir, `${name.replace(/\W+/g, '-')}.log`);
  const out = join(dir, `${name.replace(/\W+/g, '-')}.raw`);
  writeFileSync(log, '');
  const session = benchSession('audio');
  const common = { host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session, killAfterMs: (durationSec + 40) * 1000 };
  const follower = followOnsets(out);
  const a = spawnClient({ ...common, extra: ['--video-in', 'none', '--ffmpeg', shim, '--duration', String(durationSec + 2), ...extra], env: { ...env, VC_SHIM_LOG: log } });
  const b = spawnClient({
    ...common,
    extra: ['--video-in', 'none', '--audio-in', 'none', '--audio-out', 'speaker:tofile', '--duration', String(durationSec + 4), ...extra],
    env: { ...env, ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out },
  });
  try {
    await b.waitFor('peer-joined', 30_000);
    const exitA = await a.exited;
    const exitB = await b.exited;
    if (exitA !== 0 || exitB !== 0) throw new Error(`clients exited ${exitA}/${exitB}: ${a.stderr()} ${b.stderr()}`);
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await daemon.stop();
  }
  await delay(50);
  follower.stop();
  const clicks = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('click ')).map((l) => Number(l.slice(6)));
  const firstMs = clicks[0]! + WARMUP_SEC * 1000;
  // When each onset was handed to ALSA: when the file first reached its position - the hold.
  const handedMs = follower.onsets.map((p) => follower.sizes.find(([, size]) => size >= p + 2 - FILE_DEVICE_HOLD_BYTES)?.[0] ?? NaN);
  const latencies: number[] = [];
  // Each click's onset is the first one after it, within a second (clicks are a second apart).
  for (const c of clicks) {
    if (c < firstMs) continue;
    const t = handedMs.find((h) => h >= c && h < c + 1000);
    if (t !== undefined) latencies.push(t - c);
  }
  const audioBufferMs = b.events.filter((e) => e.event === 'stats' && e.ts >= firstMs).map((e) => Number(e.audioBufferMs));
  if (process.env.BENCH_AUDIO_DEBUG) console.error(name, JSON.stringify(latencies), b.events.filter((e) => e.event === "stats").map((e) => `${e.audioBufferMs}/${e.audioUnderruns}`).join(" "));
  return { name, latencies, clicks: clicks.filter((c) => c >= firstMs).length, audioBufferMs };
}

function row(r: Run): string {
  const l = r.latencies;
  const jb = r.audioBufferMs.length ? `${percentile(r.audioBufferMs, 50)}` : 'n/a';
  return `| ${r.name} | ${l.length}/${r.clicks} | ${percentile(l, 50)} | ${percentile(l, 95)} | ${Math.min(...l)} | ${Math.max(...l)} | ${jb} |`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const di = argv.indexOf('--duration');
  const durationSec = di >= 0 ? Number(argv[di + 1]) : 20;
  const labelIdx = argv.indexOf('--label');
  const label = labelIdx >= 0 ? argv[labelIdx + 1]! : 'ours';
  const dir = mkdtempSync(join(os.tmpdir(), 'vcbench-audio-'));
  const shim = shimLauncher(dir);
  const rows: string[] = [];
  const load0 = os.loadavg()[0]!;
  try {
    for (const [name, extra, env] of [
      [`${label}: Opus in-process (default)`, [], {}],
      [`${label}: --audio-codec pcm`, ['--audio-codec', 'pcm'], {}],
      ['rival: Opus through ffmpeg in Ogg both ways (old path)', [], { VIDEOCHAT_NO_INPROCESS_OPUS: '1' }],
    ] as Array<[string, string[], NodeJS.ProcessEnv]>) {
      console.error(`# ${name}`);
      const r = await run(name, durationSec, shim, dir, extra, env);
      rows.push(row(r));
      console.error(rows.at(-1));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const notes = [
    '`npm run bench:audio`: peer A captures silence with a click a second (bench/lib/audio-shim.ts stands in',
    "for the mic's ffmpeg input and logs when each click is handed over); peer B plays through the real",
    '`speaker` child into the ALSA file device; latency = when the click reached ALSA - when it was captured.',
    "The file device keeps one ALSA buffer (speaker's 0.5 s) unwritten, so a byte at position p was handed",
    'to ALSA when the file first reached p - 48000 bytes. On a real card add what ALSA holds: speaker starts',
    'playing at the first frame, so about one 20 ms frame, 10 ms on average. Both peers on this machine',
    '(one clock), over loopback through videochatd. The rival is the old path in the same run.',
    '',
    'Where it goes (in-process Opus): framing 20 ms packets (0-20 ms, the mic delivers 10 ms blocks), Opus',
    "look-ahead ~6.5 ms, the jitter buffer's target (20-60 ms, starts at 40, -10 ms per 10 s without an",
    "underrun) plus the phase of the 20 ms playout clock. Held audio found and removed: ffmpeg's Ogg path",
    'both ways (~20 ms: the old path row); frames written to the speaker child during its ~0.5 s start',
    '(they went to ALSA at once and stayed as delay for the whole call on a real card: the sink now waits',
    "for the child's `ready`); a 500 ms stdin queue to the child (now 60 ms); a 100 ms catch-up after",
    'event-loop stalls (40 ms: on a card what is caught up stays buffered); audio standing above the',
    "jitter target after a burst (now let go after a second); lavfi's 21 ms test-tone blocks (10 ms).",
    'Before these changes (same bench, first commit of issue 18, which still assumed a fixed 500 ms file',
    'device delay): Opus p50 92 ms / p95 107 ms, pcm 89 / 104, jitter buffer at 60 ms.',
    '',
  ];
  const table = [
    ...notes,
    `Measured ${new Date().toISOString().slice(0, 16)}Z, ${durationSec} s per run, load ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)}.`,
    '',
    '| run | clicks found | p50 ms | p95 ms | min | max | jitter buffer p50 ms |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(table);
  if (argv.includes('--write')) writeSection('Audio latency, capture -> played (bench:audio)', table);
}

await main();
