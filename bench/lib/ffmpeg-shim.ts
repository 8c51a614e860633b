/**
 * A stand-in for ffmpeg, given to `videochat connect --ffmpeg` by bench/call.ts, that lets
 * the benchmark measure per-frame capture -> decoded latency of the real client, unchanged:
 *
 * - the video capture (`testsrc2` input) gets a raw RGB input on stdin instead, fed with
 *   stamped frames (bench/lib/stamp.ts) at the same size and rate; its stdout goes straight
 *   to the client;
 * - the video decoder (rgb24 out) gets the client's stdin directly; its stdout passes through
 *   this process, which reads each frame's stamp when the frame's last byte arrives and
 *   appends `clientPid stampMs latencyMs` to $VC_SHIM_LOG; the frame is then forwarded at once
 *   (one extra pipe hop, well under a millisecond on an idle machine);
 * - anything else (audio, `-version`) runs the real ffmpeg untouched.
 *
 * bench/call.ts runs it transpiled to plain JavaScript (see compileShim): started through a
 * TypeScript loader it took seconds on a busy machine, past the client's first-output limit.
 *
 * Environment: VC_SHIM_FFMPEG (the real ffmpeg, default `ffmpeg`), VC_SHIM_LOG (required for
 * the decoder role), VC_SHIM_BACKGROUND (raw RGB24 frames of the capture size to loop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, fstatSync, readFileSync } from 'node:fs';
import { StampReader, backgroundFrames, splitFrames, startStampedSource } from './stamp.js';

const realFfmpeg = process.env.VC_SHIM_FFMPEG ?? 'ffmpeg';
const args = process.argv.slice(2);

function forwardSignals(child: ChildProcess, onStop: () => void = () => undefined): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      onStop();
      // An ffmpeg blocked reading our pipe only notices the signal once the read returns: end it.
      child.stdin?.end();
      child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    onStop();
    process.exitCode = code ?? (signal ? 128 : 1);
    // stdout may still hold forwarded bytes: let it drain, then go.
    process.stdout.end(() => process.exit());
  });
}

function hasFd(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

function runCapture(): void {
  const i = args.findIndex((a) => a.startsWith('testsrc2='));
  const m = /size=(\d+)x(\d+):rate=(\d+(?:\.\d+)?)/.exec(args[i]!);
  if (!m) throw new Error(`ffmpeg-shim: cannot read size/rate from ${args[i]}`);
  const [w, h, fps] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // `-re -f lavfi -i testsrc2=...` becomes a raw input on stdin that we pace ourselves.
  const start = args[i - 4] === '-re' ? i - 4 : i - 3;
  const replaced = [...args.slice(0, start), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', String(fps), '-i', 'pipe:0', ...args.slice(i + 1)];
  // A background file prepared by the benchmark saves an ffmpeg run per start (seconds on a busy machine).
  const bg = process.env.VC_SHIM_BACKGROUND;
  const frames = bg ? splitFrames(readFileSync(bg), w, h) : backgroundFrames(realFfmpeg, w, h, fps);
  // fd 3 (the client's encoder tap, when it asks for one) goes straight to the real ffmpeg.
  const child = spawn(realFfmpeg, replaced, { stdio: ['pipe', 'inherit', 'inherit', ...(hasFd(3) ? ['inherit' as const] : [])] });
  child.stdin!.on('error', () => undefined);
  const stop = startStampedSource(frames, w, h, fps, (frame) => {
    if (!child.stdin!.destroyed) child.stdin!.write(frame);
  });
  forwardSignals(child, stop);
}

function runDecoder(): void {
  const vf = args[args.indexOf('-vf') + 1] ?? '';
  const m = /scale=(\d+):(\d+)/.exec(vf);
  if (!m) throw new Error(`ffmpeg-shim: cannot read the decoder's size from ${vf}`);
  const [w, h] = [Number(m[1]), Number(m[2])];
  const log = process.env.VC_SHIM_LOG;
  if (!log) throw new Error('ffmpeg-shim: VC_SHIM_LOG is not set');
  const client = process.ppid;
  const child = spawn(realFfmpeg, args, { stdio: ['inherit', 'pipe', 'inherit'] });
  const reader = new StampReader(w, h, (latencyMs, stamp) => appendFileSync(log, `${client} ${stamp} ${latencyMs}\n`));
  child.stdout!.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    process.stdout.write(chunk);
  });
  process.stdout.on('error', () => undefined);
  forwardSignals(child);
}

function passThrough(): void {
  const child = spawn(realFfmpeg, args, { stdio: 'inherit' });
  forwardSignals(child);
}

if (args.some((a) => a.startsWith('testsrc2='))) runCapture();
else if (args.includes('pipe:0') && args.includes('rgb24')) runDecoder();
else passThrough();
