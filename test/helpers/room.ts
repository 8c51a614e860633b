/**
 * A synthetic room for echo-canceller tests and benchmarks. Far and near speech are real
 * speech from espeak-ng when it is installed (two voices, two texts), else ffmpeg-made
 * speech-like signals (pink noise in syllable-rate bursts, a different seed each). What the
 * far end says is what our sink plays; our "microphone" hears the near speech plus that
 * playback through the room: delayed, attenuated and reverberated by ffmpeg filters
 * (adelay, aecho with four reflections, a loudspeaker's band: highpass 150 Hz, lowpass 7 kHz).
 * All 48 kHz mono s16.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RATE = 48_000;
const FFMPEG = process.env.VIDEOCHAT_FFMPEG ?? 'ffmpeg';
const FAR_TEXT = 'The quick brown fox jumps over the lazy dog. Every serious call tool removes the echo of what the speaker plays. '
  + 'We measure the echo return loss enhancement after two seconds, while the far end keeps talking about the weather, the trains and the price of coffee.';
const NEAR_TEXT = 'Hello, can you hear me now? I am speaking from the near end of the call, and my voice must survive the canceller '
  + 'while both of us talk at once. One two three four five six seven eight nine ten.';

export function hasEspeak(): boolean {
  return spawnSync('espeak-ng', ['--version'], { stdio: 'ignore' }).status === 0;
}

function toInt16(b: Buffer): Int16Array {
  const copy = Buffer.from(b);
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length >> 1);
}

function ffmpegRaw(args: string[]): Int16Array {
  return toInt16(execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args, '-ac', '1', '-ar', String(RATE), '-f', 's16le', 'pipe:1'], { maxBuffer: 1 << 28 }));
}

/** `seconds` of speech (or a speech-like stand-in), voice 0 = far, 1 = near. */
export function speech(voice: 0 | 1, seconds: number): Int16Array {
  let raw: Int16Array;
  if (hasEspeak()) {
    const dir = mkdtempSync(join(tmpdir(), 'vc-room-'));
    try {
      const wav = join(dir, 's.wav');
      execFileSync('espeak-ng', ['-v', voice === 0 ? 'en-us' : 'en-gb+f3', '-s', voice === 0 ? '160' : '150', '-w', wav, voice === 0 ? FAR_TEXT : NEAR_TEXT]);
      raw = ffmpegRaw(['-i', wav, '-af', 'volume=0.9']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    // Pink noise gated at syllable rate (4-5 Hz) with pauses: speech-like in spectrum and rhythm.
    const rate = voice === 0 ? 4.3 : 5.1;
    raw = ffmpegRaw(['-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.3:seed=${voice + 7}:duration=${seconds}`,
      '-af', `volume='max(0,sin(2*PI*${rate}*t))*gt(sin(2*PI*0.3*t+${voice}),-0.5)':eval=frame,lowpass=f=4000`]);
  }
  const out = new Int16Array(seconds * RATE);
  // Loop to length.
  for (let i = 0; i < out.length; i++) out[i] = raw[i % raw.length]!;
  return out;
}

/** The far signal as the microphone hears it from the loudspeaker, `delayMs` later. */
export function throughRoom(far: Int16Array, delayMs: number): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'vc-room-'));
  try {
    const src = join(dir, 'far.raw');
    execFileSync('sh', ['-c', 'cat > "$0"', src], { input: Buffer.from(far.buffer, far.byteOffset, far.byteLength) });
    const echo = ffmpegRaw(['-f', 's16le', '-ar', String(RATE), '-ac', '1', '-i', src,
      '-af', `adelay=${delayMs},aecho=0.8:0.7:23|41|67|97:0.35|0.25|0.15|0.1,volume=0.5,highpass=f=150,lowpass=f=7000`]);
    return echo.subarray(0, far.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** a + b, clipped. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.min(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, a[i]! + b[i]!));
  return out;
}

/** Zeroes `x` outside [fromSec, toSec). */
export function window(x: Int16Array, fromSec: number, toSec: number): Int16Array {
  const out = new Int16Array(x.length);
  const a = Math.round(fromSec * RATE);
  const b = Math.min(x.length, Math.round(toSec * RATE));
  out.set(x.subarray(a, b), a);
  return out;
}

function energy(x: Int16Array, a: number, b: number): number {
  let e = 0;
  for (let i = a; i < b; i++) e += x[i]! * x[i]!;
  return e;
}

/**
 * Echo return loss enhancement over [fromSec, toSec) where the near end is silent: echo
 * energy in the mic over energy in the output, in dB. `lag` = the canceller's own delay in
 * samples (its output is compared with the input that lag earlier).
 */
export function erleDb(echo: Int16Array, out: Int16Array, fromSec: number, toSec: number, lag = 0): number {
  const a = Math.round(fromSec * RATE);
  const b = Math.min(echo.length, out.length - lag, Math.round(toSec * RATE));
  const e = energy(echo, a, b);
  let r = 0;
  for (let i = a; i < b; i++) r += out[i + lag]! * out[i + lag]!;
  return 10 * Math.log10(e / Math.max(r, 1));
}

/** ERLE in consecutive windows of `stepSec` (for plots); NaN where there is (almost) no echo. */
export function erleSeries(echo: Int16Array, out: Int16Array, stepSec: number, lag = 0): number[] {
  const step = Math.round(stepSec * RATE);
  const series: number[] = [];
  for (let a = 0; a + step <= Math.min(echo.length, out.length - lag); a += step) {
    const e = energy(echo, a, a + step);
    series.push(e < 1e4 * step ? NaN : erleDb(echo, out, a / RATE, (a + step) / RATE, lag));
  }
  return series;
}

/** The lag (0..maxLag samples) at which `out` correlates best with `ref` over [fromSec, toSec). */
export function bestLag(ref: Int16Array, out: Int16Array, fromSec: number, toSec: number, maxLag = RATE / 20): number {
  const a = Math.round(fromSec * RATE);
  const b = Math.round(toSec * RATE);
  let best = -Infinity;
  let bestAt = 0;
  for (let lag = 0; lag <= maxLag; lag += 8) {
    let c = 0;
    for (let i = a; i < b && i + lag < out.length; i += 2) c += ref[i]! * out[i + lag]!;
    if (c > best) {
      best = c;
      bestAt = lag;
    }
  }
  // Refine around the coarse peak.
  for (let lag = Math.max(0, bestAt - 8); lag <= bestAt + 8; lag++) {
    let c = 0;
    for (let i = a; i < b && i + lag < out.length; i += 2) c += ref[i]! * out[i + lag]!;
    if (c > best) {
      best = c;
      bestAt = lag;
    }
  }
  return bestAt;
}

/**
 * How much of the near speech is in the output over [fromSec, toSec), in dB: the least-squares
 * gain of `near` in `out` at `lag` (0 dB = all of it, -6 dB = half its amplitude).
 */
export function nearKeptDb(near: Int16Array, out: Int16Array, fromSec: number, toSec: number, lag: number): number {
  const a = Math.round(fromSec * RATE);
  const b = Math.min(near.length, out.length - lag, Math.round(toSec * RATE));
  let on = 0;
  let nn = 0;
  for (let i = a; i < b; i++) {
    on += out[i + lag]! * near[i]!;
    nn += near[i]! * near[i]!;
  }
  return 20 * Math.log10(Math.max(on / nn, 1e-6));
}

/** Reads a raw s16le file. */
export function readRaw(path: string): Int16Array {
  return toInt16(readFileSync(path));
}

/**
 * Runs a canceller over the room in 20 ms steps as a call does: the sink plays far frame k
 * (`played`), then the mic frame k is processed. `process` = null: no canceller (output = mic).
 */
export function runRoom(far: Int16Array, mic: Int16Array, canceller: { played(f: Buffer): void; process(f: Buffer): Buffer } | null): Int16Array {
  const frame = RATE / 50;
  const n = Math.floor(Math.min(far.length, mic.length) / frame);
  const out = new Int16Array(n * frame);
  for (let k = 0; k < n; k++) {
    const f = Buffer.from(far.buffer, far.byteOffset + k * frame * 2, frame * 2);
    const m = Buffer.from(mic.buffer, mic.byteOffset + k * frame * 2, frame * 2);
    if (!canceller) {
      out.set(mic.subarray(k * frame, (k + 1) * frame), k * frame);
      continue;
    }
    canceller.played(Buffer.from(f));
    const o = canceller.process(Buffer.from(m));
    out.set(new Int16Array(o.buffer, o.byteOffset, frame), k * frame);
  }
  return out;
}
