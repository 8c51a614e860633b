// Shared by the media tests: timeouts, a tone detector, temp dirs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FFMPEG = process.env.VIDEOCHAT_FFMPEG ?? 'ffmpeg';

/** Rejects after `ms` so a hang fails the test instead of stalling the run. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e as Error); });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vc-media-'));
}

/** Goertzel power of `freqHz` in s16le mono PCM, normalized by sample count. */
export function tonePower(pcm: Buffer, freqHz: number, rateHz = 48_000): number {
  const n = Math.floor(pcm.length / 2);
  const k = 2 * Math.cos((2 * Math.PI * freqHz) / rateHz);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = pcm.readInt16LE(i * 2) / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (n * n);
}

/** True when 1 kHz dominates the other test frequencies by a wide margin. */
export function dominantIs1kHz(pcm: Buffer): boolean {
  const at1k = tonePower(pcm, 1000);
  const others = [300, 500, 700, 1500, 2000, 3000].map((f) => tonePower(pcm, f));
  return at1k > 0.001 && others.every((p) => at1k > 50 * p);
}
