/**
 * One small abstraction for every child process we run: pair handlers in the daemon,
 * ffmpeg capture/decode/record processes and the audio sink in the client.
 *
 * It tells a failed start (the child never came up: ENOENT, a bad argument, a device
 * that cannot be opened) from a later death, keeps the last lines of the child's stderr
 * for the report, restarts with exponential backoff when asked to, and closes
 * idempotently.
 */
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';

/** What we know about a child that ended. */
export interface ProcessDeath {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child ended (or failed to spawn) before it was considered started. */
  failedStart: boolean;
  /** The last lines the child wrote to stderr, oldest first. */
  stderrTail: string[];
  uptimeMs: number;
  /** Set when spawning itself failed (e.g. ENOENT). */
  spawnError?: Error;
}

export interface SupervisorEvents {
  /** A (re)spawned child is running. */
  spawn: [child: ChildProcess];
  /** The child is considered started (markStarted() or the startup grace elapsed). */
  started: [child: ChildProcess];
  /** Every line the child writes to stderr (when stderr is piped). */
  stderr: [line: string];
  /** The child ended while we did not ask it to. */
  died: [death: ProcessDeath];
  /** A restart is scheduled after `delayMs`. */
  restarting: [attempt: number, delayMs: number];
  /** No more restarts: failed start without restart, or the restart budget is spent. */
  'gave-up': [death: ProcessDeath];
  /** close() finished: the child is gone and nothing will be restarted. */
  closed: [];
}

export interface SupervisorOptions {
  /** Short name for logs and errors, e.g. `ffmpeg-camera`, `handler`. */
  name: string;
  /** Starts one child. Called again for every restart. */
  spawn: () => ChildProcess;
  /**
   * A child that lives this long is considered started, unless the owner calls
   * markStarted() earlier. Default 1000 ms. Infinity = only markStarted() counts.
   */
  startupGraceMs?: number;
  /** Restart policy; default: no restarts. */
  restart?: {
    /** Restarts allowed within `windowMs` before giving up. */
    maxRestarts: number;
    windowMs?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    /** Restart even after a failed start (default false: a failed start gives up at once). */
    afterFailedStart?: boolean;
  };
  /** How many stderr lines to keep for the death report. Default 20. */
  stderrTailLines?: number;
  /** How to ask the child to stop; default SIGTERM. E.g. end ffmpeg's stdin so it finalizes a file. */
  stop?: (child: ChildProcess) => void;
  /** Time between stop() and SIGKILL. Default 3000 ms. */
  killAfterMs?: number;
}

const DEFAULT_STARTUP_GRACE_MS = 1000;
const DEFAULT_STDERR_TAIL_LINES = 20;
const DEFAULT_KILL_AFTER_MS = 3000;
const DEFAULT_RESTART_WINDOW_MS = 60_000;
const DEFAULT_RESTART_INITIAL_DELAY_MS = 200;
const DEFAULT_RESTART_MAX_DELAY_MS = 5000;

/** Supervises one logical child process (restarted as needed). */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly name: string;
  private readonly opts: SupervisorOptions;
  private current: ChildProcess | undefined;
  private startedAt = 0;
  private isStarted = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartTimes: number[] = [];
  private stderrTail: string[] = [];
  private closing = false;
  private closedPromise: Promise<void> | undefined;

  constructor(opts: SupervisorOptions) {
    super();
    this.name = opts.name;
    this.opts = opts;
  }

  /** The running child, if any. */
  get child(): ChildProcess | undefined {
    return this.current;
  }

  get started(): boolean {
    return this.isStarted;
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Spawns the child. Call once; restarts are the supervisor's job. */
  start(): this {
    if (this.closing || this.current) return this;
    this.launch();
    return this;
  }

  /** Declares the current child started (e.g. it sent a ready message or its first output). */
  markStarted(): void {
    const child = this.current;
    if (!child || this.isStarted) return;
    this.isStarted = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.emit('started', child);
  }

  /** The last stderr lines of the current (or last) child. */
  lastStderr(): string[] {
    return [...this.stderrTail];
  }

  /**
   * Stops the child and any restart. Idempotent: every call returns the same promise,
   * resolved once the child has exited.
   */
  close(): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    const child = this.current;
    this.closedPromise = new Promise<void>((resolve) => {
      const done = (): void => {
        this.emit('closed');
        resolve();
      };
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        done();
        return;
      }
      const killTimer = setTimeout(() => {
        child.kill('SIGKILL');
      }, this.opts.killAfterMs ?? DEFAULT_KILL_AFTER_MS);
      killTimer.unref();
      child.once('exit', () => {
        clearTimeout(killTimer);
        done();
      });
      try {
        if (this.opts.stop) this.opts.stop(child);
        else child.kill('SIGTERM');
      } catch {
        child.kill('SIGKILL');
      }
    });
    return this.closedPromise;
  }

  private launch(): void {
    this.isStarted = false;
    this.stderrTail = [];
    this.startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = this.opts.spawn();
    } catch (err) {
      this.onEnd(undefined, null, null, err as Error);
      return;
    }
    this.current = child;
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
      if (ended) return;
      ended = true;
      this.onEnd(child, code, signal, err);
    };
    child.once('error', (err) => {
      // 'error' without a pid means it never spawned; with a pid, 'exit' follows.
      if (child.pid === undefined) end(null, null, err);
    });
    child.once('exit', (code, signal) => end(code, signal));
    if (child.stderr) {
      let partial = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        const lines = (partial + chunk).split(/\r?\n|\r/);
        partial = lines.pop() ?? '';
        for (const line of lines) this.pushStderr(line);
      });
      child.stderr.on('end', () => {
        if (partial) this.pushStderr(partial);
        partial = '';
      });
    }
    if (child.pid !== undefined) this.emit('spawn', child);
    const grace = this.opts.startupGraceMs ?? DEFAULT_STARTUP_GRACE_MS;
    if (Number.isFinite(grace)) {
      this.graceTimer = setTimeout(() => this.markStarted(), grace);
      this.graceTimer.unref();
    }
  }

  private pushStderr(line: string): void {
    if (line.trim() === '') return;
    this.stderrTail.push(line);
    const max = this.opts.stderrTailLines ?? DEFAULT_STDERR_TAIL_LINES;
    if (this.stderrTail.length > max) this.stderrTail.splice(0, this.stderrTail.length - max);
    this.emit('stderr', line);
  }

  private onEnd(child: ChildProcess | undefined, code: number | null, signal: NodeJS.Signals | null, err?: Error): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.current === child) this.current = undefined;
    if (this.closing) return;
    const death: ProcessDeath = {
      name: this.name,
      pid: child?.pid,
      code,
      signal,
      failedStart: !this.isStarted,
      stderrTail: [...this.stderrTail],
      uptimeMs: Date.now() - this.startedAt,
      ...(err ? { spawnError: err } : {}),
    };
    this.emit('died', death);
    const policy = this.opts.restart;
    if (!policy || (death.failedStart && !policy.afterFailedStart)) {
      this.emit('gave-up', death);
      return;
    }
    const now = Date.now();
    const windowMs = policy.windowMs ?? DEFAULT_RESTART_WINDOW_MS;
    this.restartTimes = this.restartTimes.filter((t) => now - t < windowMs);
    if (this.restartTimes.length >= policy.maxRestarts) {
      this.emit('gave-up', death);
      return;
    }
    const attempt = this.restartTimes.length + 1;
    this.restartTimes.push(now);
    const initial = policy.initialDelayMs ?? DEFAULT_RESTART_INITIAL_DELAY_MS;
    const max = policy.maxDelayMs ?? DEFAULT_RESTART_MAX_DELAY_MS;
    const delayMs = Math.min(max, initial * 2 ** (attempt - 1));
    this.emit('restarting', attempt, delayMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closing) this.launch();
    }, delayMs);
  }
}

/** One line describing a death, for a warning or a fatal error. */
export function describeDeath(death: ProcessDeath): string {
  const how = death.spawnError
    ? `could not start (${death.spawnError.message})`
    : death.signal
      ? `was killed by ${death.signal}`
      : `exited with code ${death.code}`;
  const when = death.failedStart && !death.spawnError ? ' during startup' : '';
  const last = death.stderrTail.length > 0 ? `: ${death.stderrTail[death.stderrTail.length - 1]}` : '';
  return `${death.name} ${how}${when}${last}`;
}
