/**
 * The echo canceller's cost and effect: `npm run bench:echo [-- --duration 20] [--write]`.
 *
 * 1. CPU of a call's client tree (node + its ffmpeg and speaker children) on the side that
 *    plays and captures (--audio-in test, --audio-out speaker:tofile into the ALSA file
 *    device), audio only, in the same run: in-process Opus with the canceller (the default),
 *    without it (--no-echo-cancel), and the old path (ffmpeg encodes and decodes Opus in
 *    Ogg, VIDEOCHAT_NO_INPROCESS_OPUS=1) as the rival.
 * 2. ERLE over time in the synthetic room of the tests (test/helpers/room.ts), echo 40, 100
 *    150, 250 and 350 ms late, in half-second windows: docs/echo-erle.svg, figures beside it.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { startDaemon } from '../test/helpers/relay-client.js';
import { RATE, erleDb, erleSeries, runRoom, speech, throughRoom } from '../test/helpers/room.js';
import { EchoCanceller, echoCancellerStatus } from '../src/media/echo.js';
import { benchSession, delay, spawnClient } from './lib/call-run.js';
import { writeSection } from './lib/docs.js';
import { TreeCpuMeter, allProcs, tree } from './lib/procs.js';

const ASOUNDRC = fileURLToPath(new URL('../test/fixtures/asoundrc', import.meta.url));
const SVG = fileURLToPath(new URL('../docs/echo-erle.svg', import.meta.url));
const WARMUP_SEC = 4;

interface CpuRow {
  name: string;
  cpuPct: number;
  processes: number;
}

async function cpuRun(name: string, durationSec: number, extra: string[], env: NodeJS.ProcessEnv): Promise<CpuRow> {
  const daemon = await startDaemon(['--log-level', 'warn']);
  const dir = mkdtempSync(join(os.tmpdir(), 'vcbench-echo-'));
  const session = benchSession('echo');
  const common = { host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session, killAfterMs: (durationSec + 40) * 1000 };
  const a = spawnClient({ ...common, extra: ['--video-in', 'none', '--duration', String(durationSec + WARMUP_SEC + 2)], env });
  const b = spawnClient({
    ...common,
    extra: ['--video-in', 'none', '--audio-out', 'speaker:tofile', '--duration', String(durationSec + WARMUP_SEC + 2), ...extra],
    env: { ...env, ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: join(dir, 'out.raw') },
  });
  try {
    await b.waitFor('peer-joined', 30_000);
    await delay(WARMUP_SEC * 1000);
    const meter = new TreeCpuMeter(b.pid);
    meter.resetBaseline();
    const processes = tree(b.pid, allProcs()).length;
    const t0 = performance.now();
    while (performance.now() - t0 < durationSec * 1000) {
      await delay(250);
      meter.sample();
    }
    const elapsed = (performance.now() - t0) / 1000;
    await Promise.all([a.exited, b.exited]);
    return { name, cpuPct: (100 * meter.used().totalSec) / elapsed, processes };
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ErleRun {
  delayMs: number;
  series: number[];
  after2s: number;
  usPerFrame: number;
}

function erleRuns(): ErleRun[] {
  const seconds = 17;
  const far = speech(0, seconds);
  return [40, 100, 150, 250, 350].map((delayMs) => {
    const echo = throughRoom(far, delayMs);
    const aec = new EchoCanceller();
    const t0 = performance.now();
    const out = runRoom(far, echo, aec);
    const usPerFrame = ((performance.now() - t0) * 1000) / (out.length / (RATE / 50));
    return { delayMs, series: erleSeries(echo, out, 0.5), after2s: erleDb(echo, out, 2, seconds), usPerFrame };
  });
}

function svg(runs: ErleRun[]): string {
  const W = 640;
  const H = 260;
  const left = 44;
  const bottom = 30;
  const maxDb = 60;
  const maxSec = 17;
  const x = (sec: number): number => left + ((W - left - 10) * sec) / maxSec;
  const y = (db: number): number => H - bottom - ((H - bottom - 10) * Math.max(0, Math.min(maxDb, db))) / maxDb;
  const colors = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let db = 0; db <= maxDb; db += 10) {
    parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(db)}" y2="${y(db)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(db) + 4}" text-anchor="end">${db}</text>`);
  }
  for (let s = 0; s <= maxSec; s += 2) parts.push(`<text x="${x(s)}" y="${H - bottom + 14}" text-anchor="middle">${s}</text>`);
  parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(25)}" y2="${y(25)}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${W - 12}" y="${y(25) - 4}" text-anchor="end" fill="#666">25 dB goal</text>`,
    `<text x="${(W + left) / 2}" y="${H - 4}" text-anchor="middle">seconds of far-end speech</text>`,
    `<text x="12" y="${(H - bottom) / 2}" transform="rotate(-90 12 ${(H - bottom) / 2})" text-anchor="middle">ERLE, dB (0.5 s windows)</text>`);
  runs.forEach((r, i) => {
    const pts = r.series.map((v, k) => (Number.isFinite(v) ? `${x((k + 0.5) * 0.5).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean).join(' ');
    parts.push(`<polyline fill="none" stroke="${colors[i]}" stroke-width="1.8" points="${pts}"/>`,
      `<text x="${left + 10 + i * 115}" y="20" fill="${colors[i]}">echo ${r.delayMs} ms late</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const di = argv.indexOf('--duration');
  const durationSec = di >= 0 ? Number(argv[di + 1]) : 20;
  const status = echoCancellerStatus();
  if (!status.name) throw new Error(`no echo canceller built: ${status.why}`);
  const load0 = os.loadavg()[0]!;
  const cpu: CpuRow[] = [];
  for (const [name, extra, env] of [
    ['in-process Opus + echo canceller (default)', [], {}],
    ['in-process Opus, --no-echo-cancel', ['--no-echo-cancel'], {}],
    ['rival: ffmpeg Opus in Ogg both ways (old path)', [], { VIDEOCHAT_NO_INPROCESS_OPUS: '1' }],
  ] as Array<[string, string[], NodeJS.ProcessEnv]>) {
    console.error(`# ${name}`);
    cpu.push(await cpuRun(name, durationSec, extra, env));
    console.error(cpu.at(-1));
  }
  const runs = erleRuns();
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '-');
  const body = [
    '`npm run bench:echo`. The canceller was chosen by measurement in this room (48 kHz, echo 40 and',
    '150 ms late, a throwaway build of each): speexdsp 1.2.1 (MDF, 200 ms filter, its preprocessor',
    'suppressing the residual echo) converged slowly, ERLE 5-17 dB in the first 2 s and >= 25 dB only after',
    '~10 s at 40 ms, 11-15 dB at 150 ms (300 ms filter: ~10 s to 25 dB), 325 µs per 10 ms frame (3.3 % of',
    'a core), but kept double-talk near speech at -0.5 dB; webrtc-audio-processing 0.3 (AEC, extended',
    'filter, delay-agnostic) reached 25-30 dB within the first second, 72 µs per 10 ms frame (0.7 %), near',
    'speech in double talk -2..-6 dB at low suppression (-5..-10 at high), 8 ms of delay. WebRTC it is.',
    '',
    `Measured ${new Date().toISOString().slice(0, 16)}Z, load ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)} (2 cores shared).`,
    '',
    `CPU of the client tree that plays and captures, audio only, ${durationSec} s after ${WARMUP_SEC} s of warm-up (% of one core):`,
    '',
    '| path | CPU % | processes |',
    '|---|---|---|',
    ...cpu.map((r) => `| ${r.name} | ${r.cpuPct.toFixed(1)} | ${r.processes} |`),
    '',
    `ERLE in the synthetic room (test/helpers/room.ts, ${status.name}):`,
    '',
    '| echo delay | ERLE after 2 s (energy over 2-17 s) | per 0.5 s window (dB) | µs per 20 ms frame (canceller, delay estimate and the harness copies) |',
    '|---|---|---|---|',
    ...runs.map((r) => `| ${r.delayMs} ms | ${r.after2s.toFixed(1)} dB | ${r.series.map(fmt).join(' ')} | ${r.usPerFrame.toFixed(0)} |`),
    '',
    '![ERLE over time](echo-erle.svg)',
  ].join('\n');
  writeFileSync(SVG, svg(runs));
  console.log(body);
  if (argv.includes('--write')) writeSection('Echo canceller (bench:echo)', body);
}

await main();
