/**
 * Test helper, reused by other test files: start the built `videochatd` on port 0 and wait
 * for its `listening` line; connect clients that send the original handshake; read exact
 * byte counts with timeouts. Needs `npm run build` first (it runs bin/videochatd.js).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net, { type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeHandshake } from '../../src/codec/handshake.js';

/** Path of the daemon's bin script. */
export const VIDEOCHATD_BIN = fileURLToPath(new URL('../../bin/videochatd.js', import.meta.url));

/** How long startDaemon waits for the listening line. */
export const DAEMON_START_TIMEOUT_MS = 20_000;

/** One parsed JSON log line of the daemon. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface StartedDaemon {
  videoPort: number;
  audioPort: number;
  metricsPort: number | null;
  pid: number;
  child: ChildProcess;
  /** Every JSON line printed so far (stdout), oldest first. */
  lines: LogLine[];
  /** Everything printed on stderr so far. */
  stderr: () => string;
  /** Resolves with the first line (past or future) matching `pred`. */
  waitForLine: (pred: (l: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  /** Resolves once `count` lines match `pred`. */
  waitForLines: (pred: (l: LogLine) => boolean, count: number, timeoutMs?: number) => Promise<LogLine[]>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code/signal. SIGKILL after `killAfterMs`. */
  stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node bin/videochatd.js --video-port 0 --audio-port 0 ...args` and waits for
 * `listening`. `bin` lets a caller run another copy (the benchmark runs a snapshot of dist/).
 */
export async function startDaemon(
  args: string[] = [],
  timeoutMs = DAEMON_START_TIMEOUT_MS,
  bin = VIDEOCHATD_BIN,
  opts: { nofile?: number } = {},
): Promise<StartedDaemon> {
  const argv = [bin, '--video-port', '0', '--audio-port', '0', ...args];
  // `nofile`: soft and hard RLIMIT_NOFILE, as `ulimit -n N` would set them (util-linux prlimit execs node: same pid).
  const child = opts.nofile === undefined
    ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('prlimit', [`--nofile=${opts.nofile}:${opts.nofile}`, '--', process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const watchers = new Set<() => void>();
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ msg: '(not json)', raw: p });
      }
    }
    for (const w of [...watchers]) w();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const w of [...watchers]) w();
      resolve({ code, signal });
    }),
  );

  const waitForLines = (pred: (l: LogLine) => boolean, count: number, ms = DAEMON_START_TIMEOUT_MS): Promise<LogLine[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.filter(pred);
        if (found.length >= count) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`daemon exited before the expected log line; stderr: ${stderr.trim()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${count} log line(s); last lines: ${JSON.stringify(lines.slice(-5))}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });
  const waitForLine = async (pred: (l: LogLine) => boolean, ms?: number): Promise<LogLine> => (await waitForLines(pred, 1, ms))[0]!;

  const listening = await waitForLine((l) => l.msg === 'listening', timeoutMs).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    videoPort: listening.videoPort as number,
    audioPort: listening.audioPort as number,
    metricsPort: (listening.metricsPort as number | null) ?? null,
    pid: listening.pid as number,
    child,
    lines,
    stderr: () => stderr,
    waitForLine,
    waitForLines,
    stop: async (signal = 'SIGTERM', killAfterMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface ConnectOptions {
  host?: string;
  /** Bytes to send in the same write as the handshake. */
  firstData?: Buffer;
  /** Write the handshake one byte per write (with a short pause between). */
  dribble?: boolean;
  timeoutMs?: number;
  /** Keep our sending side open after the peer's EOF (as C clients and `nc` do). */
  allowHalfOpen?: boolean;
}

/** Connects to `port` and sends the original handshake for `code`. */
export async function connectClient(port: number, code: string | Buffer, opts: ConnectOptions = {}): Promise<Socket> {
  const socket = net.connect({ port, host: opts.host ?? '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  socket.setNoDelay(true);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    opts.timeoutMs ?? 10_000,
    `connect to ${port}`,
  );
  const hs = encodeHandshake(code);
  if (opts.dribble) {
    for (const b of hs) {
      socket.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 5));
    }
    if (opts.firstData) socket.write(opts.firstData);
  } else {
    socket.write(opts.firstData ? Buffer.concat([hs, opts.firstData]) : hs);
  }
  return socket;
}

/** Reads exactly `n` bytes (rejects on close/timeout). Leaves the socket paused afterwards. */
export function readExactly(socket: Socket, n: number, timeoutMs = 30_000): Promise<Buffer> {
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const onData = (c: Buffer): void => {
        chunks.push(c);
        got += c.length;
        if (got >= n) {
          cleanup();
          const all = Buffer.concat(chunks);
          if (all.length > n) socket.unshift(all.subarray(n));
          resolve(all.subarray(0, n));
        }
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error(`socket closed after ${got} of ${n} bytes`));
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('end', onClose);
        socket.pause();
      };
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.once('end', onClose);
      socket.resume();
    }),
    timeoutMs,
    `reading ${n} bytes`,
  );
}

/** Resolves when the socket is closed by the other end (or rejects after the timeout). */
export function waitClosed(socket: Socket, timeoutMs = 15_000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => {
      socket.on('error', () => {});
      socket.once('close', () => resolve());
      socket.resume();
    }),
    timeoutMs,
    'waiting for the socket to close',
  );
}

/** Rejects with a clear message if `p` has not settled after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Two ports free right now on loopback (for a relay that must come back on the same ports). */
export async function freePorts(): Promise<{ videoPort: number; audioPort: number }> {
  const one = (): Promise<{ port: number; srv: net.Server }> => new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => resolve({ port: (srv.address() as net.AddressInfo).port, srv }));
  });
  const [v, a] = [await one(), await one()];
  await Promise.all([v, a].map(({ srv }) => new Promise((r) => srv.close(r))));
  return { videoPort: v.port, audioPort: a.port };
}

/** A started videochatd on these ports, logging warnings only. */
export function daemonOn(ports: { videoPort: number; audioPort: number }): Promise<StartedDaemon> {
  return startDaemon(['--video-port', String(ports.videoPort), '--audio-port', String(ports.audioPort), '--log-level', 'warn']);
}
