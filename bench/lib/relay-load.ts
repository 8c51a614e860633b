/**
 * Load generator for the relay benchmarks (bench/relay.ts, bench/soak.ts): many pairs of
 * clients on one port, each side streaming a fixed pattern at a set rate, every received
 * byte checked against the pattern, per-pair byte accounting, and optional re-opening of
 * pairs that broke (a soak keeps its pair count while handlers are killed).
 */
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net, { type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeHandshake } from '../../src/codec/handshake.js';
import { tree } from './procs.js';

/** 256 kbit/s each way per client. */
export const LOAD_BYTES_PER_S = 256_000 / 8;
/** Each client writes every LOAD_TICK_MS (10 writes a second). */
export const LOAD_TICK_MS = 100;
/** Pairs opened at once while ramping up. */
export const CONNECT_CONCURRENCY = 50;
/** How long the end of a run waits for bytes in flight to land. */
export const SETTLE_TIMEOUT_MS = 20_000;

/**
 * Daemon flags for load from a single address (the benchmark's clients all come from
 * 127.0.0.1): per-address limits off, pending/waiting/pair caps above the load.
 */
export function raisedLimitArgs(pairs: number): string[] {
  const room = String(Math.max(1000, pairs * 2 + 100));
  return [
    '--max-connections-per-ip', '0',
    '--max-connection-rate-per-ip', '0',
    '--max-pending-handshakes', room,
    '--max-pairs', room,
    '--max-waiting', room,
  ];
}

/** Connects to 127.0.0.1 (or `host`), no Nagle. */
export function connectTo(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => {
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * A private copy of dist/ + bin/ to run the daemon from: other engineers rebuild the shared
 * tree, and a build starts by deleting dist/. Returns the copied bin/videochatd.js.
 */
export function snapshotBin(): string {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'videochatd-bench-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'bin', 'videochatd.js');
}

/** Resident memory in MB of `pid` and all its descendants (the daemon and its handlers). */
export function treeRssMb(pid: number): number {
  return tree(pid).reduce((sum, p) => sum + p.rssBytes, 0) / (1024 * 1024);
}

/** One direction of a pair: what its sender wrote and what its receiver got. */
interface Flow {
  sent: number;
  received: number;
  corrupt: number;
}

/** A pair of clients relayed to each other. */
export interface LoadPair {
  code: string;
  a: Socket;
  b: Socket;
  ab: Flow;
  ba: Flow;
  /** A socket closed before the run ended (e.g. its handler was killed). */
  broken: boolean;
  brokenAtMs: number | undefined;
}

/** Totals over pairs. */
export interface LoadTotals {
  pairs: number;
  sent: number;
  received: number;
  corrupt: number;
}

export interface LoadGeneratorOptions {
  port: number;
  /** Prefix of session codes (pairs are `${prefix}-${n}`). */
  prefix?: string;
  /** Open a fresh pair for every one that breaks, after this delay (undefined: do not). */
  reopenAfterMs?: number;
  bytesPerS?: number;
}

/**
 * Streams a random pattern both ways through every pair; each stream starts at offset 0 of
 * the pattern, so every byte received can be checked.
 */
export class LoadGenerator {
  readonly pairs: LoadPair[] = [];
  reopened = 0;
  private readonly opts: LoadGeneratorOptions;
  private readonly pattern: Buffer;
  private readonly perTick: number;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(opts: LoadGeneratorOptions, pattern: Buffer) {
    this.opts = opts;
    this.pattern = pattern;
    this.perTick = Math.round(((opts.bytesPerS ?? LOAD_BYTES_PER_S) * LOAD_TICK_MS) / 1000);
  }

  /** Opens `count` pairs, CONNECT_CONCURRENCY at a time. */
  async open(count: number): Promise<void> {
    for (let i = 0; i < count; i += CONNECT_CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - i) }, () => this.openOne()));
    }
  }

  /** Pairs whose sockets are both still open. */
  get live(): number {
    return this.pairs.filter((p) => !p.broken).length;
  }

  /** Starts writing every LOAD_TICK_MS. */
  start(): void {
    this.timer = setInterval(() => {
      for (const p of this.pairs) {
        if (p.broken) continue;
        this.write(p.a, p.ab);
        this.write(p.b, p.ba);
      }
    }, LOAD_TICK_MS);
  }

  /** Stops writing and waits (bounded) until every intact pair received what was sent. */
  async stop(settleMs = SETTLE_TIMEOUT_MS): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    const until = Date.now() + settleMs;
    const pending = (): boolean =>
      this.pairs.some((p) => !p.broken && (p.ab.received < p.ab.sent || p.ba.received < p.ba.sent));
    while (pending() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  }

  /** Closes every socket. */
  close(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
  }

  /** Totals over the pairs that stayed intact (`intact`) or over all of them. */
  totals(which: 'intact' | 'broken' | 'all' = 'all'): LoadTotals {
    const t: LoadTotals = { pairs: 0, sent: 0, received: 0, corrupt: 0 };
    for (const p of this.pairs) {
      if ((which === 'intact' && p.broken) || (which === 'broken' && !p.broken)) continue;
      t.pairs++;
      t.sent += p.ab.sent + p.ba.sent;
      t.received += p.ab.received + p.ba.received;
      t.corrupt += p.ab.corrupt + p.ba.corrupt;
    }
    return t;
  }

  private write(s: Socket, flow: Flow): void {
    const off = flow.sent % this.pattern.length;
    const n = Math.min(this.perTick, this.pattern.length - off);
    s.write(this.pattern.subarray(off, off + n));
    flow.sent += n;
  }

  private async openOne(): Promise<void> {
    const code = `${this.opts.prefix ?? 'load'}-${this.next++}`;
    const a = await connectTo(this.opts.port);
    a.write(encodeHandshake(code));
    const b = await connectTo(this.opts.port);
    b.write(encodeHandshake(code));
    const p: LoadPair = {
      code,
      a,
      b,
      ab: { sent: 0, received: 0, corrupt: 0 },
      ba: { sent: 0, received: 0, corrupt: 0 },
      broken: false,
      brokenAtMs: undefined,
    };
    this.check(b, p.ab);
    this.check(a, p.ba);
    const onClose = (): void => this.onBroken(p);
    for (const s of [a, b]) {
      s.on('error', () => {});
      s.once('close', onClose);
    }
    this.pairs.push(p);
  }

  private onBroken(p: LoadPair): void {
    if (p.broken || this.stopped) return;
    p.broken = true;
    p.brokenAtMs = Date.now();
    p.a.destroy();
    p.b.destroy();
    const delay = this.opts.reopenAfterMs;
    if (delay === undefined) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.reopened++;
      this.openOne().catch(() => {});
    }, delay);
  }

  /** Checks each received byte against the pattern at the stream's offset. */
  private check(receiver: Socket, flow: Flow): void {
    const pattern = this.pattern;
    receiver.on('data', (c: Buffer) => {
      let off = 0;
      while (off < c.length) {
        const at = flow.received % pattern.length;
        const n = Math.min(c.length - off, pattern.length - at);
        if (c.compare(pattern, at, at + n, off, off + n) !== 0) flow.corrupt++;
        off += n;
        flow.received += n;
      }
    });
  }
}
