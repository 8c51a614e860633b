/**
 * A stand-in for ffmpeg, given to `videochat connect --ffmpeg` by bench/audio.ts, that lets
 * the benchmark measure audio capture -> played latency of the real client, unchanged:
 *
 * - the audio capture (the `sine` test input) gets a raw s16le input on stdin instead, paced
 *   here in 10 ms blocks against absolute deadlines (a microphone delivering 10 ms periods).
 *   Every CLICK_EVERY_BLOCKS-th block ends with a 4 ms 3 kHz burst (a "click", which Opus
 *   keeps); everything else is silence. The wall-clock ms at which a click's block is handed
 *   to ffmpeg is appended to $VC_SHIM_LOG as `click <ms>`;
 * - anything else (video, decoders, `-version`) runs the real ffmpeg untouched.
 *
 * Environment: VC_SHIM_FFMPEG (the real ffmpeg, default `ffmpeg`), VC_SHIM_LOG (required).
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const RATE = 48_000;
const BLOCK_SAMPLES = 480;
/** One click a second. */
export const CLICK_EVERY_BLOCKS = 100;
const CLICK_SAMPLES = 192;
const CLICK_HZ = 3000;
const CLICK_AMPLITUDE = 0.5 * 32767;

const realFfmpeg = process.env.VC_SHIM_FFMPEG ?? 'ffmpeg';
const args = process.argv.slice(2);

function clickBlock(): Buffer {
  const b = Buffer.alloc(BLOCK_SAMPLES * 2);
  for (let i = 0; i < CLICK_SAMPLES; i++) {
    const s = Math.round(CLICK_AMPLITUDE * Math.sin((2 * Math.PI * CLICK_HZ * i) / RATE));
    b.writeInt16LE(s, (BLOCK_SAMPLES - CLICK_SAMPLES + i) * 2);
  }
  return b;
}

function runCapture(): void {
  const log = process.env.VC_SHIM_LOG;
  if (!log) throw new Error('audio-shim: VC_SHIM_LOG is not set');
  const i = args.findIndex((a) => a.startsWith('sine='));
  const start = args[i - 4] === '-re' ? i - 4 : i - 3;
  const replaced = [...args.slice(0, start), '-f', 's16le', '-ar', String(RATE), '-ac', '1', '-i', 'pipe:0', ...args.slice(i + 1)];
  const child = spawn(realFfmpeg, replaced, { stdio: ['pipe', 'inherit', 'inherit'] });
  child.stdin.on('error', () => undefined);
  const silence = Buffer.alloc(BLOCK_SAMPLES * 2);
  const click = clickBlock();
  const periodMs = (BLOCK_SAMPLES * 1000) / RATE;
  const t0 = performance.now();
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    // Catch up block by block after a stall, as a microphone's driver would deliver them.
    while (t0 + (k + 1) * periodMs <= performance.now()) {
      const isClick = k > 0 && k % CLICK_EVERY_BLOCKS === 0;
      if (!child.stdin.destroyed) child.stdin.write(isClick ? click : silence);
      if (isClick) appendFileSync(log, `click ${Date.now()}\n`);
      k++;
    }
    timer = setTimeout(tick, Math.max(0, t0 + (k + 1) * periodMs - performance.now()));
  };
  tick();
  const stop = (): void => {
    if (timer) clearTimeout(timer);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      stop();
      child.stdin.end();
      child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    stop();
    process.exitCode = code ?? (signal ? 128 : 1);
    process.exit();
  });
}

function passThrough(): void {
  const child = spawn(realFfmpeg, args, { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
    process.exit();
  });
}

if (args.some((a) => a.startsWith('sine='))) runCapture();
else passThrough();
