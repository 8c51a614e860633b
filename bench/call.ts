/**
 * Call benchmark (`npm run bench:call [-- --duration SEC] [--write]`; not a test): a
 * 320x240@15 MJPEG call on loopback through the relay, beside a plain ffmpeg -> TCP -> ffmpeg
 * pipeline of the same size, codec and quality (the rival), then both again through a
 * 1 Mbit/s bottleneck (network namespace + veth + tbf).
 *
 * Latency is measured per frame, the same way for both, without touching the client: the
 * frame source stamps the wall clock into each raw frame when it hands it to the encoder, and
 * the decoded RGB frame's stamp is read when its last byte leaves the decoder
 * (bench/lib/stamp.ts). For the client this is done by an ffmpeg stand-in passed with
 * `--ffmpeg` (bench/lib/ffmpeg-shim.ts). The client's own `latencyMs` (stats, once a second,
 * an average that starts when the frame leaves the capture ffmpeg) is reported beside it.
 *
 * CPU per client = utime + stime of the client and its ffmpeg children over the measured
 * window (the shim's own node processes are left out: they stand in for the camera), as a
 * percentage of one core. A plain run with `--video-in test` (lavfi testsrc2, no shim) gives
 * the CPU and bytes/s of the client as users run it. `--write` fills the "Call" section of
 * docs/benchmarks.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { startDaemon, type StartedDaemon } from '../test/helpers/relay-client.js';
import { DEFAULT_VIDEO_QUALITY, mjpegQscale } from '../src/media/args.js';
import { benchSession, delay, percentile, spawnClient, type BenchClient, type CallEvent } from './lib/call-run.js';
import { allProcs, label, TreeCpuMeter, TreeMemoryMeter } from './lib/procs.js';
import { StampReader, backgroundFrames, startStampedSource } from './lib/stamp.js';
import { BOTTLENECK_RATE, HOST_ADDR, NETNS_NAME, bottleneckDescription, setupBottleneck, teardownBottleneck } from './lib/netns.js';
import { writeSection } from './lib/docs.js';
import { shimLauncher } from './lib/shim.js';

/** What a run sends: picture size, frame rate and codec. */
interface Shape {
  width: number;
  height: number;
  fps: number;
  codec: 'mjpeg' | 'h264';
}
const DEFAULT_SHAPE: Shape = { width: 320, height: 240, fps: 15, codec: 'mjpeg' };
/** `--matrix`: the other shapes of issue 12, each ours (stamped) beside the tuned rival, on loopback. */
const MATRIX: Shape[] = [
  { width: 320, height: 240, fps: 30, codec: 'mjpeg' },
  { width: 640, height: 480, fps: 15, codec: 'mjpeg' },
  { width: 320, height: 240, fps: 15, codec: 'h264' },
];
const FPS = DEFAULT_SHAPE.fps;
const shapeName = (s: Shape): string => `${s.codec === 'h264' ? 'H.264' : 'MJPEG'} ${s.width}x${s.height}@${s.fps}`;
/** Length of the measured window of each run. */
const DEFAULT_DURATION_SEC = 30;
/** At least this long after the call starts is not measured (process start-up, first backlog). */
const WARMUP_SEC = 5;
/** Warm-up ends early only after this many stats lines in a row show video flowing both ways... */
const WARMUP_STEADY_LINES = 3;
/** ...at this share of the nominal frame rate (unthrottled runs; a throttled one waits WARMUP_MAX_SEC). */
const WARMUP_STEADY_FPS_RATIO = 0.8;
/** Longest warm-up: on a busy machine starting node and ffmpeg processes takes seconds. */
const WARMUP_MAX_SEC = 20;
const CPU_SAMPLE_INTERVAL_MS = 500;
const PEER_JOIN_TIMEOUT_MS = 60_000;
const EXIT_MARGIN_MS = 30_000;
/** Targets of issue 3. */
const TARGET_P50_MS = 100;
const TARGET_P95_MS = 150;
const TARGET_P95_THROTTLED_MS = 400;
const TARGET_CPU_PCT = 25;
/**
 * Our stamped 320x240@15 stream needs ~0.7 Mbit/s, so it fits through 1 Mbit/s and nothing
 * adapts there: the tighter second bottleneck shows the sender's frame rate adaptation.
 */
const TIGHT_RATE = '400kbit';

interface Side {
  /** Per-frame capture -> decoded latency of frames this side decoded (ms). */
  frameLatencyMs: number[];
  /** The client's own stats latencyMs, one per stats line in the window. */
  statsLatencyMs: number[];
  cpuPct: number;
  cpuBreakdown: string;
  /** Mean PSS and RSS of the client's tree (shim processes left out), and PSS per member. */
  pssMiB: number;
  rssMiB: number;
  pssBreakdown: string;
  bytesSentPerSec: number;
  fpsIn: number[];
  fpsOut: number[];
  dropped: number;
}

interface CallResult {
  name: string;
  a: Side;
  b: Side;
  /** Per second of the call: a's fps out, b's fps in, a->b median latency, and back. */
  timeline: string[];
  /** Seconds from the peers joining to the start of the measured window. */
  warmupSec: number;
  /** Both clients exited 0 (a call that broke is run again once). */
  ok: boolean;
}

interface RivalResult {
  name: string;
  frameLatencyMs: number[];
  senderCpuPct: number;
  receiverCpuPct: number;
  bytesPerSec: number;
  framesDecoded: number;
  fpsIn: number;
  unreadable: number;
}

function parseArgs(argv: string[]): { durationSec: number; write: boolean; skipThrottled: boolean; onlyThrottled: boolean; matrix: boolean } {
  let durationSec = DEFAULT_DURATION_SEC;
  const i = argv.indexOf('--duration');
  if (i >= 0) durationSec = Number(argv[i + 1]);
  if (!Number.isFinite(durationSec) || durationSec < 5) throw new Error('--duration must be >= 5 (seconds measured per run)');
  return {
    durationSec, write: argv.includes('--write'), skipThrottled: argv.includes('--no-throttle'), onlyThrottled: argv.includes('--only-throttled'),
    matrix: argv.includes('--matrix'),
  };
}

function statsIn(c: BenchClient, fromMs: number, toMs: number): CallEvent[] {
  return c.events.filter((e) => e.event === 'stats' && e.ts >= fromMs && e.ts <= toMs);
}

function num(e: CallEvent | undefined, k: string): number {
  const v = e?.[k];
  return typeof v === 'number' ? v : NaN;
}

/** Tapped frames (the client's own frame tap) whose stamp lies in the window. */
function frameLatencies(c: BenchClient, fromMs: number, toMs: number): Array<{ stampMs: number; latencyMs: number }> {
  const from = fromMs >>> 0;
  const span = toMs - fromMs;
  const out: Array<{ stampMs: number; latencyMs: number }> = [];
  for (const f of c.frames) {
    const offset = (f.stampMs - from + 2 ** 32) % 2 ** 32;
    if (offset <= span) out.push({ stampMs: fromMs + offset, latencyMs: f.latencyMs });
  }
  return out;
}

async function ourCall(name: string, daemon: StartedDaemon, durationSec: number, opts: {
  shim?: string; log?: string; background?: string; throttled: boolean; shape?: Shape; decoder?: 'in-process' | 'ffmpeg';
}): Promise<CallResult> {
  const session = benchSession(name.replace(/\W+/g, '-'));
  const shape = opts.shape ?? DEFAULT_SHAPE;
  // The call is ended by SIGINT (a hang-up) after the window; --duration is only a backstop.
  const backstopSec = WARMUP_MAX_SEC + durationSec + EXIT_MARGIN_MS / 1000;
  const extra = [
    '--duration', String(backstopSec), '--size', `${shape.width}x${shape.height}`, '--fps', String(shape.fps), '--video-codec', shape.codec,
    ...(opts.shim ? ['--ffmpeg', opts.shim] : []),
  ];
  const env = {
    ...(opts.log ? { VC_SHIM_LOG: opts.log, VC_SHIM_BACKGROUND: opts.background } : {}),
    ...(opts.decoder === 'ffmpeg' ? { VIDEOCHAT_TEST_VIDEO_DECODER: 'ffmpeg' } : {}),
  };
  const killAfterMs = backstopSec * 1000 + PEER_JOIN_TIMEOUT_MS + EXIT_MARGIN_MS;
  // Stamped runs read the decoded frames from the client's frame tap (whichever decoder it uses).
  const base = { videoPort: daemon.videoPort, audioPort: daemon.audioPort, session, extra, env, killAfterMs, frameTap: !!opts.log };
  // a sits behind the bottleneck when throttled; b is on loopback beside the relay.
  const a = spawnClient({ ...base, host: opts.throttled ? HOST_ADDR : '127.0.0.1', netns: opts.throttled ? NETNS_NAME : undefined });
  await a.waitFor('waiting', PEER_JOIN_TIMEOUT_MS);
  const b = spawnClient({ ...base, host: '127.0.0.1' });
  try {
    await Promise.all([a.waitFor('peer-joined', PEER_JOIN_TIMEOUT_MS), b.waitFor('peer-joined', PEER_JOIN_TIMEOUT_MS)]);
  } catch (err) {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; b's events: ${b.events.map((e) => e.event).join(',')}; b stderr: ${b.stderr()}`);
  }
  const joinedMs = Date.now();
  const notShim = (p: { cmdline: string; comm: string; pid: number; ppid: number; cpuSec: number; rssBytes: number }): boolean => label(p) !== 'shim';
  const meters = { a: new TreeCpuMeter(a.pid, notShim), b: new TreeCpuMeter(b.pid, notShim) };
  const memory = { a: new TreeMemoryMeter(a.pid, notShim), b: new TreeMemoryMeter(b.pid, notShim) };
  let samples = 0;
  await delay(WARMUP_SEC * 1000);
  const steady = (c: BenchClient): boolean => {
    const last = c.events.filter((e) => e.event === 'stats').slice(-WARMUP_STEADY_LINES);
    return last.length === WARMUP_STEADY_LINES && last.every((e) => num(e, 'videoFpsIn') >= shape.fps * WARMUP_STEADY_FPS_RATIO);
  };
  while (Date.now() < joinedMs + WARMUP_MAX_SEC * 1000 && !(steady(a) && steady(b))) await delay(CPU_SAMPLE_INTERVAL_MS);
  const fromMs = Date.now();
  let procs = allProcs();
  meters.a.resetBaseline(procs);
  meters.b.resetBaseline(procs);
  const untilMs = fromMs + durationSec * 1000;
  while (Date.now() < untilMs) {
    await delay(CPU_SAMPLE_INTERVAL_MS);
    procs = allProcs();
    meters.a.sample(procs);
    meters.b.sample(procs);
    // smaps_rollup is slower to read than stat: every fourth sample (2 s) is enough for memory.
    if (samples++ % 4 === 0) {
      memory.a.sample(procs);
      memory.b.sample(procs);
    }
  }
  const toMs = Date.now();
  const wallSec = (toMs - fromMs) / 1000;
  a.child.kill('SIGINT');
  const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
  if (codeA !== 0 || codeB !== 0) console.error(`warning: ${name}: exit codes a=${codeA} b=${codeB}; a stderr: ${a.stderr().slice(-500)}; b stderr: ${b.stderr().slice(-500)}`);

  const side = (c: BenchClient, meter: TreeCpuMeter, mem: TreeMemoryMeter): Side => {
    const stats = statsIn(c, fromMs, toMs);
    const first = stats[0];
    const last = stats[stats.length - 1];
    const used = meter.used();
    const memRes = mem.result();
    const ended = c.events.find((e) => e.event === 'ended');
    return {
      frameLatencyMs: opts.log ? frameLatencies(c, fromMs, toMs).map((x) => x.latencyMs) : [],
      statsLatencyMs: stats.map((e) => num(e, 'latencyMs')).filter((x) => Number.isFinite(x)),
      cpuPct: (used.totalSec / wallSec) * 100,
      pssMiB: memRes.pssBytes / 2 ** 20,
      rssMiB: memRes.rssBytes / 2 ** 20,
      pssBreakdown: [...memRes.pssByLabel].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(1)}`).join(', '),
      cpuBreakdown: [...used.byLabel].filter(([, s]) => s > 0).sort((x, y) => y[1] - x[1])
        .map(([k, s]) => `${k} ${((s / wallSec) * 100).toFixed(1)}`).join(', '),
      bytesSentPerSec: first && last && last.ts > first.ts ? ((num(last, 'bytesSent') - num(first, 'bytesSent')) * 1000) / (last.ts - first.ts) : NaN,
      fpsIn: stats.map((e) => num(e, 'videoFpsIn')),
      fpsOut: stats.map((e) => num(e, 'videoFpsOut')),
      dropped: num(ended, 'videoFramesDropped'),
    };
  };
  const result: CallResult = { name, a: side(a, meters.a, memory.a), b: side(b, meters.b, memory.b), timeline: [], warmupSec: (fromMs - joinedMs) / 1000, ok: codeA === 0 && codeB === 0 };
  // Per second from the call's start: what a sends and b shows, and the way back.
  const statsA = a.events.filter((e) => e.event === 'stats');
  const statsB = b.events.filter((e) => e.event === 'stats');
  const framesA = opts.log ? frameLatencies(a, joinedMs, toMs) : [];
  const framesB = opts.log ? frameLatencies(b, joinedMs, toMs) : [];
  const medianIn = (frames: Array<{ stampMs: number; latencyMs: number }>, s: number): string => {
    const xs = frames.filter((f) => f.stampMs >= joinedMs + s * 1000 && f.stampMs < joinedMs + (s + 1) * 1000).map((f) => f.latencyMs);
    return xs.length ? String(percentile(xs, 50)) : '-';
  };
  for (let s = 0; s < Math.min(statsA.length, statsB.length); s++) {
    result.timeline.push(`| ${s + 1} | ${num(statsA[s], 'videoFpsOut')} | ${num(statsB[s], 'videoFpsIn')} | ${medianIn(framesB, s)} | ` +
      `${num(statsB[s], 'videoFpsOut')} | ${num(statsA[s], 'videoFpsIn')} | ${medianIn(framesA, s)} | ${num(statsA[s], 'videoFramesDropped')} | ${num(statsB[s], 'videoFramesDropped')} |`);
  }
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Bytes received so far on the TCP connection accepted on `port` (the rival's receiver), from `ss`. */
function receivedOnPort(port: number): number {
  try {
    const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 5000 });
    const m = /bytes_received:(\d+)/.exec(out);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** The rival: ffmpeg (raw stamped frames in, MJPEG over TCP out) -> ffmpeg (MJPEG in, RGB out). */
async function rival(name: string, durationSec: number, frames: Buffer[], opts: { tuned: boolean; throttled: boolean; shape?: Shape }): Promise<RivalResult> {
  const port = await freePort();
  const { width: WIDTH, height: HEIGHT, fps: RATE, codec } = opts.shape ?? DEFAULT_SHAPE;
  const quiet = ['-hide_banner', '-loglevel', 'error', '-nostats'];
  // The plain pipeline is what anyone would type. The tuned one holds no frame anywhere (as our
  // client): one encoder thread, JPEGs sent as multipart parts that carry their length (the
  // byte-stream JPEG demuxers wait for the next frame), one thread for the decoder and its output.
  // H.264 (tuned only) goes in FLV, which ends each frame with its tag, as our capture does.
  const wire = codec === 'h264' ? 'flv' : opts.tuned ? 'mpjpeg' : 'mjpeg';
  const input = opts.tuned ? ['-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay', '-threads', '1', '-f', wire] : ['-f', wire];
  const output = opts.tuned ? ['-threads', '1'] : [];
  const encoder = codec === 'h264'
    ? ['-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-x264-params', 'sliced-threads=0']
    : ['-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', String(mjpegQscale(DEFAULT_VIDEO_QUALITY))];
  const receiver = spawn('ffmpeg', [...quiet, ...input, '-i', `tcp://0.0.0.0:${port}?listen=1`, ...output, '-an', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lat: Array<{ at: number; latencyMs: number }> = [];
  const reader = new StampReader(WIDTH, HEIGHT, (latencyMs) => lat.push({ at: Date.now(), latencyMs }));
  receiver.stdout!.on('data', (c: Buffer) => reader.push(c));
  let errText = '';
  receiver.stderr!.on('data', (s: Buffer) => { errText = (errText + s.toString()).slice(-2000); });
  await delay(1000);
  const senderArgs = [...quiet, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-r', String(RATE), '-i', 'pipe:0',
    '-an', ...encoder, ...output, '-flush_packets', '1', '-f', wire,
    `tcp://${opts.throttled ? HOST_ADDR : '127.0.0.1'}:${port}`];
  const sender: ChildProcess = opts.throttled
    ? spawn('ip', ['netns', 'exec', NETNS_NAME, 'ffmpeg', ...senderArgs], { stdio: ['pipe', 'ignore', 'pipe'] })
    : spawn('ffmpeg', senderArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
  sender.stdin!.on('error', () => undefined);
  sender.stderr!.on('data', (s: Buffer) => { errText = (errText + s.toString()).slice(-2000); });
  // The source writes without waiting, like a camera: when the path backs up, frames queue.
  const stop = startStampedSource(frames, WIDTH, HEIGHT, RATE, (f) => { if (!sender.stdin!.destroyed) sender.stdin!.write(f); });
  await delay(WARMUP_SEC * 1000);
  const fromMs = Date.now();
  const cpu = { s: new TreeCpuMeter(sender.pid!), r: new TreeCpuMeter(receiver.pid!) };
  let procs = allProcs();
  cpu.s.resetBaseline(procs);
  cpu.r.resetBaseline(procs);
  const w0 = receivedOnPort(port);
  while (Date.now() < fromMs + durationSec * 1000) {
    await delay(CPU_SAMPLE_INTERVAL_MS);
    procs = allProcs();
    cpu.s.sample(procs);
    cpu.r.sample(procs);
  }
  const toMs = Date.now();
  const w1 = receivedOnPort(port);
  stop();
  sender.kill('SIGKILL');
  receiver.kill('SIGKILL');
  const wallSec = (toMs - fromMs) / 1000;
  const inWindow = lat.filter((x) => x.at >= fromMs && x.at <= toMs);
  if (inWindow.length === 0) console.error(`warning: ${name}: no frame decoded; ffmpeg said: ${errText}`);
  return {
    name,
    frameLatencyMs: inWindow.map((x) => x.latencyMs),
    senderCpuPct: (cpu.s.used().totalSec / wallSec) * 100,
    receiverCpuPct: (cpu.r.used().totalSec / wallSec) * 100,
    bytesPerSec: (w1 - w0) / wallSec,
    framesDecoded: inWindow.length,
    fpsIn: inWindow.length / wallSec,
    unreadable: reader.unreadable,
  };
}

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const kbps = (bytesPerSec: number): string => (Number.isFinite(bytesPerSec) ? `${((bytesPerSec * 8) / 1000).toFixed(0)} kbit/s` : '-');
const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);

function latencyCells(xs: number[]): string {
  return `${f0(percentile(xs, 50))} | ${f0(percentile(xs, 95))} | ${xs.length}`;
}

function callRows(r: CallResult): string[] {
  const row = (who: string, s: Side, dir: string): string =>
    `| ${r.name} | ${who} (${dir}) | ${latencyCells(s.frameLatencyMs)} | ${f0(percentile(s.statsLatencyMs, 50))} / ${f0(percentile(s.statsLatencyMs, 95))} | ` +
    `${f1(s.cpuPct)} | ${f0(s.pssMiB)} / ${f0(s.rssMiB)} | ${kbps(s.bytesSentPerSec)} | ${f1(mean(s.fpsIn))} | ${Number.isFinite(s.dropped) ? s.dropped : '-'} |`;
  return [row('a', r.a, 'b->a'), row('b', r.b, 'a->b')];
}

function rivalRow(r: RivalResult): string {
  return `| ${r.name} | receiver | ${latencyCells(r.frameLatencyMs)} | - | ${f1(r.senderCpuPct)} + ${f1(r.receiverCpuPct)} | - | ${kbps(r.bytesPerSec)} | ` +
    `${f1(r.fpsIn)} | ${r.unreadable} unreadable |`;
}

/**
 * What the figures mean: from the runs above and from stamped bare ffmpeg chains (issue 12);
 * kept here so that `--write` does not drop it. Figures quoted from single runs on a shared,
 * loaded 2-core machine.
 */
const ANALYSIS = [
  '### Where the latency goes',
  '',
  'The ~270 ms loopback figure of earlier runs was not a limit of ffmpeg 5.1\'s command line (as this section used to',
  'say); two things held frames, and both are gone (commit bb7dc84):',
  '',
  '- **Frame-threaded encoders.** ffmpeg\'s MJPEG and x264 encoders run frame threads by default and hold one or two',
  '  frames before the first packet comes out. An output `-threads 1` on the capture takes capture -> encoded from',
  '  68 ms (one frame at 15 fps) to ~1 ms. Filters cost nothing; `-fflags nobuffer` on the capture input makes it worse',
  '  (two frames held, frames lost). x264 also runs `zerolatency` (no lookahead, no B-frames).',
  '- **The decoder\'s input and output.** Every byte-stream JPEG demuxer (`mjpeg`, `jpeg_pipe`, `image2pipe`) ends a',
  '  frame only when the next one starts, and the rawvideo output is frame-threaded too. Fed `-f mpjpeg` (each JPEG a',
  '  multipart part with a Content-Length) and with `-threads 1` after `-i` (before it, it reaches only the decoder):',
  '  134 ms -> 1 ms. MJPEG is now decoded in process anyway (below); ffmpeg, the fallback, is fed this way.',
  '',
  'Before and after, loopback, stamped frames, 15 s per run (`--no-throttle --duration 15`), each beside the rival in',
  'the same run:',
  '',
  '| run | p50 ms | p95 ms |',
  '|---|---|---|',
  '| before: ours (capture and decoder frame-threaded, `jpeg_pipe`) | 270 | 274 |',
  '| before: rival, plain | 287 | 345 |',
  '| before: rival, tuned as ours was then | 268 | 314 |',
  '| after: ours, MJPEG 320x240@15 | 3 | 7-9 |',
  '| after: ours, MJPEG 320x240@30 | 3 | 6-7 |',
  '| after: ours, MJPEG 640x480@15 | 7-8 | 13 |',
  '| after: ours, H.264 320x240@15 | 3 | 6 |',
  '| after: rival, plain | 203 | 287 |',
  '| after: rival, tuned (holds no frame either: `-threads 1`, `-f mpjpeg`) | 2 | 12 |',
  '',
  'The relay, the encryption and the sockets are in the noise (RTT ~1 ms on loopback). What remains on loopback is',
  'encode + decode + a few pipe and socket hops; the rival, two ffmpeg processes and one TCP hop, is ~1 ms faster.',
  '',
  '### latencyMs',
  '',
  'The client\'s `latencyMs` (stats, REPORT) now counts from the moment the raw frame entered the encoder: the last',
  'filter before the encoder prints each frame\'s number to a pipe (fd 3) as the frame passes, and the client pairs',
  'that moment with the encoded frame of the same number (src/media/capture.ts, EncoderTap). It used to start when',
  'the encoded frame left ffmpeg, so whatever the capture held was missing (135 ms against a true 270 ms, above).',
  'Checked against the stamps in every run here ("stats latencyMs p50 minus stamped p50"): within 0.1-2.2 ms on',
  'loopback and 1.5-4.3 ms at 1 Mbit/s; at 0.4 Mbit/s the two differ more (20-37 ms) because `latencyMs` is a',
  'moving average (0.8/0.2) sampled once a second while the per-frame figure is a median over frames.',
  '',
  '### Decoding in process',
  '',
  'MJPEG is decoded in the client (wasm libjpeg-turbo, `@jsquash/jpeg`; resized in JS), ffmpeg only when that cannot',
  'load. `node --import tsx bench/decode.ts --duration 15`, 320x240@15, each case a fresh node process (tsx loaded,',
  'so node\'s own figure is higher than the client\'s):',
  '',
  '| case | CPU % of a core | tree PSS MiB | tree RSS MiB |',
  '|---|---|---|---|',
  '| idle node | 0.5 | 32.0 | 71.0 |',
  '| ffmpeg decoder, peer only | 2.2 | 107.1 (node 60.2 + ffmpeg 46.9) | 150.0 |',
  '| in process, peer only | 2.2 | 70.2 | 110.6 |',
  '| ffmpeg decoders, peer + self-view | 2.9 | 111.1 | 203.6 |',
  '| in process, peer + self-view | 3.0 | 72.2 | 113.0 |',
  '',
  'CPU is the same; memory is lower by ~37 MiB PSS. In a headless call (the table above: "tree PSS / RSS", mean of',
  'samples, shim processes left out) the gain is smaller, because the decoder ffmpeg shares its libraries with the',
  'three other ffmpeg processes of the client: 89-91 MiB PSS in process against 80-89 MiB with the ffmpeg decoder in',
  'one noisy run (node\'s own PSS moves by 15 MiB with garbage collection), but RSS 234-236 against 270-279 MiB and',
  'one process fewer. In the TUI the self-view decodes our own frames too, which with ffmpeg is a fifth process.',
  'The issue-12 goals, whole client tree PSS <= 120 MiB and CPU <= 12 % of a core at 320x240@15, hold in these runs',
  '(PSS 80-91 MiB, CPU 8.7-8.9 %); what remains are the capture ffmpeg and the two audio ffmpeg processes (Opus in',
  'process is issue 18).',
  '',
  '### Congestion',
  '',
  '- **Before** (fps-only adaptation, 350 ms path-delay threshold), same bench at 0.4 Mbit/s: p50 171 ms, p95 423 ms',
  '  (a->b) and 578 ms (b->a), 6.6 fps in; the rival queues 5-9 s.',
  '- **Now** (src/cli/session/video-rate.ts): a frame is held back while the peer\'s reports show a byte that waited',
  '  past 200 ms, or while what is on the way would take longer than that at the best rate the peer received at in the',
  '  last 3 s: the queue is bounded in time at any link speed. Congestion steps the encoder down a ladder, quality',
  '  first (70 -> 50 -> 35), then size (3/4, 1/2), the frame rate last; one encoder restart per step, at most one step',
  '  down per 1.5 s, one up after 4 s clean (doubling after a bounce).',
];

/** Runs one of our calls, and once more if it broke (on a busy machine a process may miss its start-up limit). */
async function ourCallRetried(...args: Parameters<typeof ourCall>): Promise<CallResult> {
  const first = await ourCall(...args).catch((err: unknown) => {
    console.error(`warning: ${args[0]}: ${(err as Error).message}; running it again`);
    return null;
  });
  if (first?.ok) return first;
  if (first) console.error(`warning: ${args[0]}: the call broke; running it again`);
  return ourCall(...args);
}

async function main(): Promise<void> {
  const { durationSec, write, skipThrottled, onlyThrottled, matrix } = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load0 = os.loadavg()[0]!;
  const dir = mkdtempSync(join(os.tmpdir(), 'vcbench-'));
  const shim = shimLauncher(dir);
  const frames = backgroundFrames('ffmpeg', DEFAULT_SHAPE.width, DEFAULT_SHAPE.height, FPS);
  const background = join(dir, 'background.rgb');
  writeFileSync(background, Buffer.concat(frames));
  const daemon = await startDaemon(['--log-level', 'warn']);
  const calls: CallResult[] = [];
  const rivals: RivalResult[] = [];
  let throttleNote = '';
  try {
    if (!onlyThrottled) {
      console.error('# our call, loopback, --video-in test (CPU and bytes as users run it)');
      calls.push(await ourCallRetried('ours, loopback, testsrc2', daemon, durationSec, { throttled: false }));
      console.error('# our call, loopback, --video-in test, MJPEG decoded by ffmpeg (the fallback), for CPU and memory');
      calls.push(await ourCallRetried('ours, loopback, testsrc2, ffmpeg decoder', daemon, durationSec, { throttled: false, decoder: 'ffmpeg' }));
      console.error('# our call, loopback, stamped frames (per-frame latency)');
      calls.push(await ourCallRetried('ours, loopback, stamped', daemon, durationSec, { shim, log: join(dir, 'lat-loop.log'), background, throttled: false }));
      console.error('# our call, loopback, stamped frames, MJPEG decoded by ffmpeg');
      calls.push(await ourCallRetried('ours, loopback, stamped, ffmpeg decoder', daemon, durationSec, {
        shim, log: join(dir, 'lat-loop-ffmpeg.log'), background, throttled: false, decoder: 'ffmpeg',
      }));
      console.error('# rival, loopback, plain receiver');
      rivals.push(await rival('rival, loopback, plain', durationSec, frames, { tuned: false, throttled: false }));
      console.error('# rival, loopback, tuned receiver');
      rivals.push(await rival('rival, loopback, tuned', durationSec, frames, { tuned: true, throttled: false }));
    }
    if (matrix) {
      for (const shape of MATRIX) {
        const name = shapeName(shape);
        const bgFrames = backgroundFrames('ffmpeg', shape.width, shape.height, shape.fps);
        const bg = join(dir, `background-${shape.width}x${shape.height}.rgb`);
        writeFileSync(bg, Buffer.concat(bgFrames));
        console.error(`# our call, loopback, stamped, ${name}`);
        calls.push(await ourCallRetried(`ours, loopback, stamped, ${name}`, daemon, durationSec, {
          shim, log: join(dir, `lat-${shape.codec}-${shape.width}-${shape.fps}.log`), background: bg, throttled: false, shape,
        }));
        console.error(`# rival, loopback, tuned, ${name}`);
        rivals.push(await rival(`rival, loopback, tuned, ${name}`, durationSec, bgFrames, { tuned: true, throttled: false, shape }));
      }
    }
    if (!skipThrottled) {
      for (const [rate, label] of [[BOTTLENECK_RATE, '1 Mbit/s'], [TIGHT_RATE, '0.4 Mbit/s']] as const) {
        try {
          setupBottleneck(rate);
          console.error(`# our call, a behind ${bottleneckDescription(rate)}`);
          calls.push(await ourCallRetried(`ours, ${label}`, daemon, durationSec, { shim, log: join(dir, `lat-${rate}.log`), background, throttled: true }));
          console.error('# rival, sender behind the bottleneck');
          rivals.push(await rival(`rival, ${label}, tuned`, durationSec, frames, { tuned: true, throttled: true }));
        } catch (err) {
          throttleNote += `${label} runs failed or skipped: ${(err as Error).message}\n`;
          console.error(throttleNote);
        } finally {
          teardownBottleneck();
        }
      }
    }
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const load1 = os.loadavg()[0]!;

  const header = [
    '| run | side (direction decoded) | p50 ms | p95 ms | frames | stats latencyMs p50 / p95 | CPU % of a core | tree PSS / RSS MiB | bytes/s sent | fps in | dropped |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const table = [...header, ...calls.flatMap(callRows), ...rivals.map(rivalRow)];
  const timelines = calls.filter((c) => c.name.includes('Mbit')).flatMap((c) => [
    '', `${c.name}, per second of the call (fps from the clients' stats, latency = median of the frames stamped in that second):`, '',
    '| s | a fps out | b fps in | a->b p50 ms | b fps out | a fps in | b->a p50 ms | a dropped | b dropped |',
    '|---|---|---|---|---|---|---|---|---|',
    ...c.timeline,
  ]);
  const stamped = calls.find((c) => c.name.includes('stamped'));
  const verdict: string[] = [];
  if (stamped) {
    const all = [...stamped.a.frameLatencyMs, ...stamped.b.frameLatencyMs];
    verdict.push(`loopback p50 ${f0(percentile(all, 50))} ms (target ${TARGET_P50_MS}), p95 ${f0(percentile(all, 95))} ms (target ${TARGET_P95_MS})`);
  }
  for (const c of calls.filter((x) => x.a.frameLatencyMs.length && x.a.statsLatencyMs.length)) {
    // The client's own figure against the stamps, per side (issue 12: within 5 ms).
    const gap = (s: Side): string => f1(percentile(s.statsLatencyMs, 50) - percentile(s.frameLatencyMs, 50));
    verdict.push(`${c.name}: stats latencyMs p50 minus stamped p50: a ${gap(c.a)} ms, b ${gap(c.b)} ms`);
  }
  for (const m of calls.filter((c) => c.name.includes('stamped, '))) {
    const all = [...m.a.frameLatencyMs, ...m.b.frameLatencyMs];
    verdict.push(`${m.name}: p50 ${f0(percentile(all, 50))} ms, p95 ${f0(percentile(all, 95))} ms`);
  }
  for (const t of calls.filter((c) => c.name.includes('Mbit'))) {
    const all = [...t.a.frameLatencyMs, ...t.b.frameLatencyMs];
    verdict.push(`${t.name}: p50 ${f0(percentile(all, 50))} ms, p95 ${f0(percentile(all, 95))} ms (target ${TARGET_P95_THROTTLED_MS} at 1 Mbit/s); ` +
      `a->b p95 ${f0(percentile(t.b.frameLatencyMs, 95))}, b->a p95 ${f0(percentile(t.a.frameLatencyMs, 95))}; fps in at b ${f1(mean(t.b.fpsIn))}, at a ${f1(mean(t.a.fpsIn))}`);
  }
  const plain = calls.find((c) => c.name.includes('testsrc2'));
  if (plain) verdict.push(`CPU per client ${f1(plain.a.cpuPct)} % and ${f1(plain.b.cpuPct)} % of one core (target ${TARGET_CPU_PCT}); a: ${plain.a.cpuBreakdown}; b: ${plain.b.cpuBreakdown}`);
  for (const c of calls.filter((x) => x.name.includes('testsrc2'))) {
    verdict.push(`${c.name}: client tree PSS ${f1(c.a.pssMiB)} and ${f1(c.b.pssMiB)} MiB (RSS ${f1(c.a.rssMiB)}, ${f1(c.b.rssMiB)}); a: ${c.a.pssBreakdown}`);
  }
  if (stamped) verdict.push(`CPU with stamped frames (no lavfi generation): a ${stamped.a.cpuBreakdown}; b ${stamped.b.cpuBreakdown}`);
  const warmups = calls.map((c) => c.warmupSec.toFixed(0)).join(', ');
  const context = `${durationSec} s measured per run, after a warm-up (${WARMUP_SEC} s for the rival; ${warmups} s for our calls, until video flowed steadily, at most ${WARMUP_MAX_SEC} s), load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after, on ${os.cpus().length} cores`;

  console.log(table.join('\n'));
  if (timelines.length) console.log(timelines.join('\n'));
  console.log(`\n${verdict.join('\n')}\n${context}${throttleNote ? `\n${throttleNote}` : ''}`);

  if (write) {
    writeSection('Call', [
      `Run ${startedAt.toISOString().slice(0, 16)}Z by \`npm run bench:call -- --write\`: ${context}.`,
      `320x240@${FPS}, MJPEG q:v ${mjpegQscale(DEFAULT_VIDEO_QUALITY)} (quality ${DEFAULT_VIDEO_QUALITY}), Opus audio on the side, encrypted; a daemon on loopback.`,
      'Latency is per frame, capture -> decoded: the source stamps the wall clock into each raw frame as it hands it to the',
      'encoder and the stamp is read back from the decoded RGB frame (bench/lib/stamp.ts; for the client, through an ffmpeg',
      'stand-in given with `--ffmpeg`). "stats latencyMs" is the client\'s own figure (an average, from the frame leaving the',
      'capture ffmpeg). The rival is ffmpeg -> TCP -> ffmpeg with the same stamped frames, size, codec and quality; its CPU is',
      'sender + receiver, its bytes/s what the receiver got over TCP. "plain" is what anyone would type (`-f mjpeg`);',
      `"tuned" holds no frame: \`-threads 1\` on the encoder and the decoder's output, JPEGs sent as \`-f mpjpeg\`. The throttled runs put client a (or the rival's sender) behind ${bottleneckDescription('<rate>')};`,
      'b and the relay stay on the host side, so each direction of the call crosses the bottleneck once (a->b: a\'s own socket',
      'backs up; b->a: the relay\'s socket to a backs up, and b sees it only through TCP back-pressure).',
      '',
      ...table,
      ...timelines,
      '',
      ...verdict.map((v) => `- ${v}`),
      ...(throttleNote ? [`- ${throttleNote.trim()}`] : []),
      '',
      ...ANALYSIS,
    ].join('\n'));
    console.log('wrote docs/benchmarks.md (Call)');
  }
}

main().catch((err: unknown) => {
  teardownBottleneck();
  console.error(err);
  process.exit(1);
});
