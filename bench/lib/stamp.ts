/**
 * Per-frame latency without touching the code under test: the frame source draws the wall
 * clock (ms, mod 2^32) into each raw frame as a block barcode at the moment it hands the
 * frame to the encoder (what a camera does when it delivers a frame), and whoever reads the
 * decoded RGB frame back reads the barcode: latency = read time - stamped time. Both ends run
 * on this machine, so they share one clock (network namespaces do not change the clock).
 *
 * The barcode is 40 blocks (32 time bits + an 8-bit checksum), 8 across and 5 down at the
 * top left, each 1/20 of the width and 1/15 of the height (16x16 pixels at 320x240, aligned
 * with JPEG's 8x8/16x16 blocks), black or white: it survives MJPEG at any sane quality, and
 * a frame whose checksum fails is counted, not guessed.
 */
import { execFileSync } from 'node:child_process';

const BITS_TIME = 32;
const BITS_CHECK = 8;
const BLOCKS_ACROSS = 8;
/** Barcode blocks per frame width / height. */
const BLOCK_FRACTION_W = 20;
const BLOCK_FRACTION_H = 15;
const DARK = 16;
const LIGHT = 235;
const THRESHOLD = 128;
/** Frames of testsrc2 pre-rendered as the moving background (looped). */
export const BACKGROUND_FRAMES = 30;

function blockRect(i: number, w: number, h: number): { x0: number; y0: number; x1: number; y1: number } {
  const bw = w / BLOCK_FRACTION_W;
  const bh = h / BLOCK_FRACTION_H;
  const col = i % BLOCKS_ACROSS;
  const row = Math.floor(i / BLOCKS_ACROSS);
  return { x0: Math.round(col * bw), y0: Math.round(row * bh), x1: Math.round((col + 1) * bw), y1: Math.round((row + 1) * bh) };
}

function checksum(v: number): number {
  return ((v & 0xff) + ((v >>> 8) & 0xff) + ((v >>> 16) & 0xff) + ((v >>> 24) & 0xff) + 0x5a) & 0xff;
}

/** Draws `ms` (mod 2^32) into an RGB24 frame in place. */
export function drawStamp(frame: Buffer, w: number, h: number, ms: number): void {
  const v = ms >>> 0;
  const check = checksum(v);
  for (let i = 0; i < BITS_TIME + BITS_CHECK; i++) {
    const bit = i < BITS_TIME ? (v >>> (BITS_TIME - 1 - i)) & 1 : (check >>> (BITS_CHECK - 1 - (i - BITS_TIME))) & 1;
    const level = bit ? LIGHT : DARK;
    const r = blockRect(i, w, h);
    for (let y = r.y0; y < r.y1; y++) frame.fill(level, (y * w + r.x0) * 3, (y * w + r.x1) * 3);
  }
}

/** Reads the stamp of a decoded RGB24 frame; null when its checksum fails. */
export function readStamp(frame: Uint8Array, w: number, h: number): number | null {
  let v = 0;
  let check = 0;
  for (let i = 0; i < BITS_TIME + BITS_CHECK; i++) {
    const r = blockRect(i, w, h);
    // Sample the middle half of the block: edges bleed under compression and scaling.
    const mx = Math.max(1, Math.floor((r.x1 - r.x0) / 4));
    const my = Math.max(1, Math.floor((r.y1 - r.y0) / 4));
    let sum = 0;
    let n = 0;
    for (let y = r.y0 + my; y < r.y1 - my; y++) {
      for (let x = r.x0 + mx; x < r.x1 - mx; x++) {
        const o = (y * w + x) * 3;
        sum += frame[o]! + frame[o + 1]! + frame[o + 2]!;
        n += 3;
      }
    }
    const bit = n > 0 && sum / n > THRESHOLD ? 1 : 0;
    if (i < BITS_TIME) v = ((v << 1) | bit) >>> 0;
    else check = (check << 1) | bit;
  }
  return checksum(v) === check ? v : null;
}

/** Latency in ms between a stamp and a later wall-clock time (mod 2^32 arithmetic). */
export function stampAgeMs(stamp: number, nowMs: number): number {
  return ((nowMs >>> 0) - stamp + 2 ** 32) % 2 ** 32;
}

/** Pre-renders testsrc2 frames (RGB24) to loop behind the stamp, so the encoder has real work. */
export function backgroundFrames(ffmpeg: string, w: number, h: number, fps: number): Buffer[] {
  const raw = execFileSync(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=${fps}`,
    '-frames:v', String(BACKGROUND_FRAMES), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { maxBuffer: w * h * 3 * BACKGROUND_FRAMES + 1024 });
  return splitFrames(raw, w, h);
}

/** Cuts concatenated RGB24 frames apart. */
export function splitFrames(raw: Buffer, w: number, h: number): Buffer[] {
  const size = w * h * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= raw.length; o += size) frames.push(raw.subarray(o, o + size));
  return frames;
}

/**
 * Writes stamped frames into `write` at `fps`, paced against absolute deadlines (no drift).
 * The frame is stamped just before it is handed over. Returns a stop function.
 */
export function startStampedSource(frames: Buffer[], w: number, h: number, fps: number, write: (frame: Buffer) => void): () => void {
  const periodMs = 1000 / fps;
  const t0 = performance.now();
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const frame = Buffer.from(frames[k % frames.length]!);
    drawStamp(frame, w, h, Date.now());
    write(frame);
    k++;
    timer = setTimeout(tick, Math.max(0, t0 + k * periodMs - performance.now()));
  };
  tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/** Splits a raw RGB24 stream into frames and reports each frame's stamp age when its last byte arrives. */
export class StampReader {
  private readonly frameBytes: number;
  private buf: Buffer;
  private filled = 0;
  /** Frames whose stamp could not be read. */
  unreadable = 0;

  constructor(private readonly w: number, private readonly h: number, private readonly onFrame: (latencyMs: number, stamp: number) => void) {
    this.frameBytes = w * h * 3;
    this.buf = Buffer.alloc(this.frameBytes);
  }

  push(chunk: Buffer): void {
    let o = 0;
    while (o < chunk.length) {
      const n = Math.min(chunk.length - o, this.frameBytes - this.filled);
      chunk.copy(this.buf, this.filled, o, o + n);
      this.filled += n;
      o += n;
      if (this.filled === this.frameBytes) {
        const now = Date.now();
        const stamp = readStamp(this.buf, this.w, this.h);
        if (stamp === null) this.unreadable++;
        else this.onFrame(stampAgeMs(stamp, now), stamp);
        this.filled = 0;
      }
    }
  }
}
