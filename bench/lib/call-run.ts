/**
 * Runs `videochat connect` clients as real processes for the call benchmarks: optionally
 * inside a network namespace (`ip netns exec NS`, which execs in place, so the pid we get is
 * the client's own), stdout read as NDJSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readStamp, stampAgeMs } from './stamp.js';

export const VIDEOCHAT_BIN = fileURLToPath(new URL('../../bin/videochat.js', import.meta.url));

/** One NDJSON line of `videochat connect --json`. */
export type CallEvent = Record<string, unknown> & { event: string; ts: number };

export interface BenchClient {
  child: ChildProcess;
  pid: number;
  events: CallEvent[];
  stderr: () => string;
  /** Resolves with the first event named `name` (past or future). */
  waitFor: (name: string, timeoutMs: number) => Promise<CallEvent>;
  exited: Promise<number | null>;
  /** With `frameTap`: every decoded frame the client handed to its UI, its stamp and age then. */
  frames: Array<{ stampMs: number; latencyMs: number }>;
  /** Tapped frames whose stamp could not be read. */
  unreadableFrames: () => number;
}

export interface ClientSpawnOptions {
  host: string;
  videoPort: number;
  audioPort: number;
  session: string;
  /** Extra connect options (e.g. `--duration 30`, `--ffmpeg shim`). */
  extra?: string[];
  /** Run inside this network namespace. */
  netns?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long whatever happens (the benchmark must stop by itself). */
  killAfterMs: number;
  /**
   * Read the client's decoded frames on fd 3 (its TEST-ONLY frame tap,
   * src/cli/session/test-hooks.ts) and the stamp in each as it arrives.
   */
  frameTap?: boolean;
}

/**
 * Reads the frame tap (u16 width, u16 height, RGB24, ...) and each frame's stamp when its last
 * byte arrives. The stamp's age then is capture -> decoded and handed to the UI.
 */
export class FrameTapReader {
  private head = Buffer.alloc(4);
  private headFill = 0;
  private frame: Buffer | null = null;
  private fill = 0;
  private w = 0;
  private h = 0;
  unreadable = 0;

  constructor(private readonly onFrame: (stamp: number, latencyMs: number) => void) {}

  push(chunk: Buffer): void {
    let o = 0;
    while (o < chunk.length) {
      if (!this.frame) {
        const n = Math.min(4 - this.headFill, chunk.length - o);
        chunk.copy(this.head, this.headFill, o, o + n);
        this.headFill += n;
        o += n;
        if (this.headFill < 4) return;
        this.w = this.head.readUInt16BE(0);
        this.h = this.head.readUInt16BE(2);
        this.frame = Buffer.alloc(this.w * this.h * 3);
        this.fill = 0;
        this.headFill = 0;
        continue;
      }
      const n = Math.min(this.frame.length - this.fill, chunk.length - o);
      chunk.copy(this.frame, this.fill, o, o + n);
      this.fill += n;
      o += n;
      if (this.fill === this.frame.length) {
        const now = Date.now();
        const stamp = readStamp(this.frame, this.w, this.h);
        if (stamp === null) this.unreadable++;
        else this.onFrame(stamp, stampAgeMs(stamp, now));
        this.frame = null;
      }
    }
  }
}

/** Spawns one test-source client (`--video-in test --audio-in test --audio-out none --json`). */
export function spawnClient(o: ClientSpawnOptions): BenchClient {
  const args = [
    VIDEOCHAT_BIN, 'connect', '--host', o.host, '--video-port', String(o.videoPort), '--audio-port', String(o.audioPort),
    '--session', o.session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', ...(o.extra ?? []),
  ];
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...(o.frameTap ? ['pipe' as const] : [])];
  const env = { ...process.env, ...o.env, ...(o.frameTap ? { VIDEOCHAT_TEST_FRAME_FD: '3' } : {}) };
  const child = o.netns
    ? spawn('ip', ['netns', 'exec', o.netns, process.execPath, ...args], { stdio, env })
    : spawn(process.execPath, args, { stdio, env });
  const frames: Array<{ stampMs: number; latencyMs: number }> = [];
  const tap = new FrameTapReader((stampMs, latencyMs) => frames.push({ stampMs, latencyMs }));
  (child.stdio[3] as Readable | null | undefined)?.on('data', (c: Buffer) => tap.push(c));
  const events: CallEvent[] = [];
  const waiters: Array<{ name: string; resolve: (e: CallEvent) => void }> = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let e: CallEvent;
      try {
        e = JSON.parse(line) as CallEvent;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) {
        if (w.name !== e.event) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    // Keep the tail only: a long call must not grow the benchmark's own memory.
    err = (err + s).slice(-8192);
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    clearTimeout(killTimer);
    resolve(code);
  }));
  const waitFor = (name: string, ms: number): Promise<CallEvent> => {
    const seen = events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no '${name}' event within ${ms} ms; stderr: ${err}`)), ms);
      waiters.push({ name, resolve: (e) => { clearTimeout(t); resolve(e); } });
    });
  };
  return { child, pid: child.pid!, events, stderr: () => err, waitFor, exited, frames, unreadableFrames: () => tap.unreadable };
}

/** A session code unique to this run. */
export function benchSession(tag: string): string {
  return `bench-${tag}-${process.pid}-${Date.now().toString(36)}-walnut-orbit`;
}

/** The p-th percentile (0..100) of `xs` by nearest rank; NaN when empty. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
