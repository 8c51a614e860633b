// Shared by the call tests: run `videochat connect` as a real process and read its NDJSON.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const VIDEOCHAT_BIN = fileURLToPath(new URL('../../bin/videochat.js', import.meta.url));
export const ASOUNDRC = fileURLToPath(new URL('../fixtures/asoundrc', import.meta.url));

export type EventLine = Record<string, unknown> & { event: string; ts: number };

export interface ClientRun {
  child: ChildProcess;
  /** NDJSON events parsed so far. */
  events: EventLine[];
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first event named `name` (past or future). */
  waitFor: (name: string, timeoutMs?: number) => Promise<EventLine>;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node bin/videochat.js ...args`; stdout is parsed as NDJSON. */
export function runClient(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, opts: { detached?: boolean } = {}): ClientRun {
  const child = spawn(process.execPath, [VIDEOCHAT_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    // Its own process group: a test can signal it and its children together, as a terminal does.
    ...(opts.detached ? { detached: true } : {}),
  });
  let out = '';
  let err = '';
  let partial = '';
  const events: EventLine[] = [];
  const waiters: Array<{ name: string; resolve: (e: EventLine) => void }> = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as EventLine;
      events.push(e);
      for (const w of [...waiters]) {
        if (w.name === e.event) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => { err += chunk; });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      resolve({ code, signal });
    });
  });
  const waitFor = (name: string, ms = 30_000): Promise<EventLine> => {
    const seen = events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no '${name}' event within ${ms} ms; stderr: ${err}`)), ms);
      waiters.push({ name, resolve: (e) => { clearTimeout(t); resolve(e); } });
    });
  };
  return { child, events, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** Arguments for a test-source client against a daemon. */
export function clientArgs(ports: { videoPort: number; audioPort: number }, session: string, extra: string[] = []): string[] {
  return [
    'connect', '--host', '127.0.0.1', '--video-port', String(ports.videoPort), '--audio-port', String(ports.audioPort),
    '--session', session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json', ...extra,
  ];
}

/** Decodes any image or video frame to packed RGB24 at `w`x`h` with ffmpeg. */
export function decodeRgb(path: string, w: number, h: number, seekSec?: number): Buffer {
  return execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', ...(seekSec !== undefined ? ['-ss', String(seekSec)] : []), '-i', path,
    '-frames:v', '1', '-vf', `scale=${w}:${h}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Extracts mono 48 kHz s16le PCM from a media file. */
export function decodePcm(path: string): Buffer {
  return execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-vn', '-f', 's16le', '-ac', '1', '-ar', '48000', 'pipe:1'],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** PSNR in dB between two equally sized 8-bit buffers. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: sizes differ (${a.length} vs ${b.length})`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
