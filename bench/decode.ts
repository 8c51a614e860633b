/**
 * Peer-video decoding, in process (wasm libjpeg-turbo) against the ffmpeg decoder it replaces
 * (`node --import tsx bench/decode.ts [--duration SEC]`; not a test). Each case runs in a fresh
 * node process that decodes the same 320x240 MJPEG stream (testsrc2, quality 70) at 15 fps
 * for the window, as the client does in a call: one decoder (headless: the peer only), or two
 * (the TUI: the peer and our own self-view). Reported: CPU of the process tree (node and any
 * ffmpeg child) as % of one core, and its PSS and RSS (mean of samples), beside an idle node
 * process that loads the same modules and decodes nothing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VideoDecoder } from '../src/media/decode.js';
import { MjpegSplitter } from '../src/codec/mjpeg.js';
import { mjpegQscale, DEFAULT_VIDEO_QUALITY } from '../src/media/args.js';
import { allProcs, TreeCpuMeter, TreeMemoryMeter } from './lib/procs.js';

const W = 320;
const H = 240;
const FPS = 15;
const CASES = ['idle', 'ffmpeg x1', 'in-process x1', 'ffmpeg x2', 'in-process x2'] as const;
type Case = (typeof CASES)[number];

function frames(): Buffer[] {
  const mjpeg = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`,
    '-frames:v', '60', '-q:v', String(mjpegQscale(DEFAULT_VIDEO_QUALITY)), '-f', 'mjpeg', 'pipe:1'], { maxBuffer: 64 << 20 });
  return new MjpegSplitter().push(mjpeg);
}

async function child(which: Case, seconds: number): Promise<void> {
  const jpegs = frames();
  const n = which.endsWith('x2') ? 2 : which === 'idle' ? 0 : 1;
  const decoders = Array.from({ length: n }, () => new VideoDecoder({ ffmpeg: 'ffmpeg', codec: 'mjpeg', width: W, height: H, inProcess: which.startsWith('in-process') }));
  let decoded = 0;
  for (const d of decoders) {
    d.on('frame', () => decoded++);
    await d.ready();
  }
  let k = 0;
  const timer = setInterval(() => { for (const d of decoders) d.push({ data: jpegs[k % jpegs.length]!, keyframe: true }); k++; }, 1000 / FPS);
  process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  await Promise.all(decoders.map((d) => d.close()));
  process.stdout.write(`decoded ${decoded} of ${k * n}\n`);
}

async function measure(which: Case, seconds: number): Promise<string> {
  const self = fileURLToPath(import.meta.url);
  const c = spawn(process.execPath, ['--import', 'tsx', self, '--child', which, '--duration', String(seconds + 3)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 50));
  // Let start-up settle (module loading, the first frames) before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  const cpu = new TreeCpuMeter(c.pid!);
  const mem = new TreeMemoryMeter(c.pid!);
  cpu.resetBaseline(allProcs());
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const procs = allProcs();
    cpu.sample(procs);
    mem.sample(procs);
  }
  const wall = (Date.now() - t0) / 1000;
  const used = cpu.used();
  const m = mem.result();
  await new Promise((r) => c.on('exit', r));
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const parts = [...m.pssByLabel].map(([k, v]) => `${k} ${mib(v)}`).join(', ');
  return `| ${which} | ${((used.totalSec / wall) * 100).toFixed(1)} | ${mib(m.pssBytes)} | ${mib(m.rssBytes)} | ${parts} | ${out.split('\n').find((l) => l.startsWith('decoded')) ?? ''} |`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const d = argv.indexOf('--duration');
  const seconds = d >= 0 ? Number(argv[d + 1]) : 20;
  const c = argv.indexOf('--child');
  if (c >= 0) return child(argv[c + 1] as Case, seconds);
  const rows = ['| case | CPU % of a core | PSS MiB | RSS MiB | PSS by process | frames |', '|---|---|---|---|---|---|'];
  for (const which of CASES) {
    console.error(`# ${which}`);
    rows.push(await measure(which, seconds));
  }
  console.log(rows.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
