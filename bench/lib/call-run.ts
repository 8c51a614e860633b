/**
 * Runs `videochat connect` clients as real processes for the call benchmarks: optionally
 * inside a network namespace (`ip netns exec NS`, which execs in place, so the pid we get is
 * the client's own), stdout read as NDJSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
}

/** Spawns one test-source client (`--video-in test --audio-in test --audio-out none --json`). */
export function spawnClient(o: ClientSpawnOptions): BenchClient {
  const args = [
    VIDEOCHAT_BIN, 'connect', '--host', o.host, '--video-port', String(o.videoPort), '--audio-port', String(o.audioPort),
    '--session', o.session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', ...(o.extra ?? []),
  ];
  const child = o.netns
    ? spawn('ip', ['netns', 'exec', o.netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
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
  return { child, pid: child.pid!, events, stderr: () => err, waitFor, exited };
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
