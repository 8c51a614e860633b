/**
 * Handler processes, supervised through src/proc/supervisor.ts. Default: a pool of
 * pre-forked handlers, each relaying many pairs; the video and audio pairs of one session go
 * to the same handler. `--fork-per-pair`: a fresh child per channel pair, as the original
 * server did. A handler that dies takes down only its own pairs; the pool forks a
 * replacement.
 */
import { EventEmitter } from 'node:events';
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { Supervisor, type ProcessDeath } from '../proc/supervisor.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_KILL_MS, HEARTBEAT_STALL_MS, type Channel, type FromHandler, type PairEndReason, type ToHandler } from './ipc.js';
import { openFds, pairCapacity, readNofile } from './fd-limits.js';
import { PAIR_ASSEMBLY_TIMEOUT_MS } from './handler-main-constants.js';

/** Restarts of one pool slot allowed per HANDLER_RESTART_WINDOW_MS before it gives up. */
export const HANDLER_MAX_RESTARTS = 20;
export const HANDLER_RESTART_WINDOW_MS = 60_000;
export const HANDLER_RESTART_INITIAL_DELAY_MS = 100;
/** Time a handler gets to exit after its IPC channel is closed, before SIGKILL. */
export const HANDLER_STOP_KILL_AFTER_MS = 2000;
/**
 * A pair whose handler has reported neither its start nor its end after this long is ended
 * by the pool (a handle can be lost on the way: the handler's NACK after a failed receive
 * makes Node retry three times, then give up without telling the sender).
 */
export const HANDOVER_TIMEOUT_MS = PAIR_ASSEMBLY_TIMEOUT_MS + 5000;

/** A pair about to be handed to a handler. */
export interface PairHandover {
  pairId: number;
  channel: Channel;
  /** Session hash (never the raw code). */
  session: string;
  /** [the client that waited, the client that completed the pair] */
  sockets: [Socket, Socket];
  /** Bytes each client sent past its handshake, already read by the daemon. */
  rests: [Buffer, Buffer];
  /** When the pair formed (ms since the epoch): usage durations count from here. */
  pairedAt: number;
}

/** What the daemon knows of a pair given to a handler. */
export interface ActivePair {
  pairId: number;
  channel: Channel;
  session: string;
  handlerPid: number | undefined;
  pairedAt: number;
  bytes01: number;
  bytes10: number;
}

export interface HandlerPoolEvents {
  'handler-started': [pid: number, slot: number | null];
  'handler-died': [death: ProcessDeath, slot: number | null];
  'handler-restarting': [slot: number, attempt: number, delayMs: number];
  'handler-gave-up': [death: ProcessDeath, slot: number];
  'handler-stderr': [line: string, pid: number | undefined];
  /** A handler stopped answering pings (stalled) or answers again. */
  'handler-stalled': [pid: number | undefined, slot: number | null, silentMs: number];
  'handler-recovered': [pid: number | undefined, slot: number | null];
  /** A handler silent for HEARTBEAT_KILL_MS was killed. */
  'handler-killed': [pid: number | undefined, slot: number | null, silentMs: number];
  'pair-started': [pair: ActivePair];
  'pair-ended': [pair: ActivePair, reason: PairEndReason, error: string | undefined];
  /** A pair no handler had descriptors for: closed, never relayed, no 'pair-ended'. */
  'pair-refused': [pair: PairHandover];
  /** Bytes relayed since the last report, for metrics. */
  bytes: [channel: Channel, bytes: number];
}

export interface HandlerPoolOptions {
  handlers: number;
  forkPerPair: boolean;
}

interface Handler {
  slot: number | null;
  supervisor: Supervisor;
  child: ChildProcess | undefined;
  ready: boolean;
  pairs: Set<number>;
  /** Pairs this handler can hold within its descriptor limit (measured when it is ready). */
  capacity: number;
  /**
   * Pings sent since it last sent anything. Counted, not timed: after the acceptor itself was
   * stopped (SIGSTOP, a paused VM, a long stall) the wall clock said every handler had been
   * silent, and on waking it took them all for stalled (at 20 s it would have killed them,
   * and every call with them); it only knows of the pings it actually sent.
   */
  unanswered: number;
  /** Silent for HEARTBEAT_STALL_MS: no new pairs until it answers. */
  stalled: boolean;
}

/** Ready and answering its pings: may get new pairs. */
function usable(h: Handler): boolean {
  return h.ready && !h.stalled;
}

function handlerEntry(): string {
  // Under tsx (tests importing src/) the sibling is .ts; in dist/ it is .js.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./handler-main${ext}`, import.meta.url).pathname;
}

/**
 * Stops the daemon's own reading of a socket and returns the bytes its stream had already
 * buffered, so the handler can be given every byte. Node's `send(msg, socket)` swaps the
 * handle's read callback for a no-op until the child acknowledges the handle, so a handle
 * still reading would silently drop whatever arrives in between: stop it at the source and
 * let the kernel hold the bytes for the child.
 */
function detachForHandover(socket: Socket): Buffer {
  socket.pause();
  const extra: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) extra.push(chunk);
  // read() may restart the handle's reading; stopping it must come last, in the same tick.
  // `_handle` is internal but has been stable since Node 0.x; there is no public readStop.
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  // Late events on the parent's now handle-less socket must not crash the daemon.
  socket.on('error', () => {});
  return extra.length === 0 ? Buffer.alloc(0) : Buffer.concat(extra);
}

/** The set of handler processes and the pairs they relay. */
export class HandlerPool extends EventEmitter<HandlerPoolEvents> {
  private readonly opts: HandlerPoolOptions;
  private readonly slots: Handler[] = [];
  private readonly perPair = new Set<Handler>();
  private readonly pending: PairHandover[] = [];
  private readonly active = new Map<number, ActivePair>();
  private readonly pairHandler = new Map<number, Handler>();
  /** session hash -> handler slot and how many of its pairs are there (affinity). */
  private readonly sessionSlot = new Map<string, { slot: number; pairs: number }>();
  /** Pairs handed to a handler that has not yet reported their start or end. */
  private readonly handoverTimers = new Map<number, NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private pingSeq = 0;
  private closing = false;

  constructor(opts: HandlerPoolOptions) {
    super();
    this.opts = opts;
  }

  /** Pairs handed over (pending or relaying) and not yet ended. */
  get activePairs(): number {
    return this.active.size + this.pending.length;
  }

  /** Active pairs per channel, for metrics. */
  activeByChannel(channel: Channel): number {
    let n = 0;
    for (const p of this.active.values()) if (p.channel === channel) n++;
    for (const p of this.pending) if (p.channel === channel) n++;
    return n;
  }

  /** Running handler processes. */
  get handlerCount(): number {
    let n = 0;
    for (const h of [...this.slots, ...this.perPair]) if (h.child) n++;
    return n;
  }

  /** Pids of ready handlers (pool slots first). */
  handlerPids(): number[] {
    const pids: number[] = [];
    for (const h of [...this.slots, ...this.perPair]) if (h.ready && h.child?.pid !== undefined) pids.push(h.child.pid);
    return pids;
  }

  /**
   * False when every ready pool handler is at its descriptor capacity: a new pair would make
   * a handler fail to receive its sockets. (True while no handler is ready: the pair waits.)
   */
  hasRoom(session: string): boolean {
    if (this.opts.forkPerPair) return true;
    if (!this.slots.some(usable)) return true;
    return this.pickSlot(session) !== undefined;
  }

  /** Forks the pool (nothing in fork-per-pair mode). */
  start(): void {
    if (this.opts.forkPerPair) return;
    for (let i = 0; i < this.opts.handlers; i++) this.slots.push(this.createHandler(i));
    for (const h of this.slots) h.supervisor.start();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /**
   * Pings every ready handler. One silent for HEARTBEAT_STALL_MS (stopped, or stuck in a
   * loop) gets no new pairs; one silent for HEARTBEAT_KILL_MS is killed, and the supervisor
   * forks its replacement (its pairs end as handler-died).
   */
  private beat(): void {
    const seq = ++this.pingSeq;
    for (const h of [...this.slots, ...this.perPair]) {
      if (!h.ready || !h.child) continue;
      const silent = h.unanswered * HEARTBEAT_INTERVAL_MS;
      if (silent >= HEARTBEAT_KILL_MS) {
        this.emit('handler-killed', h.child.pid, h.slot, silent);
        h.ready = false;
        h.child.kill('SIGKILL');
        continue;
      }
      if (silent >= HEARTBEAT_STALL_MS && !h.stalled) {
        h.stalled = true;
        this.emit('handler-stalled', h.child.pid, h.slot, silent);
      }
      this.sendTo(h, { type: 'ping', seq });
      h.unanswered++;
    }
  }

  /** Hands a pair to a handler (now, or as soon as one is ready). */
  assign(pair: PairHandover): void {
    if (this.closing) {
      this.endUnsent(pair, 'shutdown');
      return;
    }
    if (this.opts.forkPerPair) {
      const h = this.createHandler(null);
      this.perPair.add(h);
      this.pending.push(pair);
      h.pairs.add(pair.pairId);
      h.supervisor.start();
      return;
    }
    const target = this.pickSlot(pair.session);
    if (!target) {
      if (this.slots.some(usable)) this.refuse(pair);
      else this.pending.push(pair);
      return;
    }
    this.sendPair(target, pair);
  }

  /** No handler has descriptors left for this pair: close it, never relayed. */
  private refuse(pair: PairHandover): void {
    for (const s of pair.sockets) s.destroy();
    this.emit('pair-refused', pair);
  }

  /** Drain timeout reached: every handler closes its pairs now (reason `shutdown`). */
  cut(): void {
    for (const pair of this.pending.splice(0)) this.endUnsent(pair, 'shutdown');
    for (const h of [...this.slots, ...this.perPair]) this.sendTo(h, { type: 'cut' });
  }

  /** Stops every handler (their pairs end). Resolves once all have exited. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const pair of this.pending.splice(0)) this.endUnsent(pair, 'shutdown');
    await Promise.all([...this.slots, ...this.perPair].map((h) => h.supervisor.close()));
    // Pairs whose end was never reported went down with their handler.
    for (const [id, h] of this.pairHandler) this.endPair(id, h, 'shutdown', undefined);
  }

  private createHandler(slot: number | null): Handler {
    const args = slot === null ? ['--single-pair'] : [];
    const supervisor = new Supervisor({
      name: slot === null ? 'handler' : `handler-${slot}`,
      startupGraceMs: Infinity,
      killAfterMs: HANDLER_STOP_KILL_AFTER_MS,
      // Closing the IPC channel is the handler's signal to leave; SIGKILL follows if it does not.
      stop: (child) => {
        if (child.connected) child.disconnect();
        else child.kill('SIGTERM');
      },
      ...(slot === null
        ? {}
        : {
            restart: {
              maxRestarts: HANDLER_MAX_RESTARTS,
              windowMs: HANDLER_RESTART_WINDOW_MS,
              initialDelayMs: HANDLER_RESTART_INITIAL_DELAY_MS,
              afterFailedStart: true,
            },
          }),
      spawn: () =>
        fork(handlerEntry(), args, {
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        }),
    });
    const h: Handler = { slot, supervisor, child: undefined, ready: false, pairs: new Set(), capacity: Infinity, unanswered: 0, stalled: false };
    supervisor.on('spawn', (child) => {
      h.child = child;
      h.ready = false;
      h.stalled = false;
      h.unanswered = 0;
      child.on('message', (msg: FromHandler) => this.onMessage(h, child, msg));
      // A write to a handler that just died must not take the daemon down.
      child.on('error', () => {});
    });
    supervisor.on('stderr', (line) => this.emit('handler-stderr', line, h.child?.pid));
    supervisor.on('died', (death) => this.onDied(h, death));
    supervisor.on('restarting', (attempt, delayMs) => {
      if (slot !== null) this.emit('handler-restarting', slot, attempt, delayMs);
    });
    supervisor.on('gave-up', (death) => {
      if (slot !== null) this.emit('handler-gave-up', death, slot);
      else this.perPair.delete(h);
    });
    return h;
  }

  private onMessage(h: Handler, child: ChildProcess, msg: FromHandler): void {
    // (A dead child's last messages may still arrive after its replacement spawned.)
    if (h.child === child) h.unanswered = 0;
    if (h.child === child && h.stalled) {
      h.stalled = false;
      this.emit('handler-recovered', child.pid, h.slot);
      if (h.slot !== null) this.flushPending();
    }
    switch (msg.type) {
      case 'pong':
        break;
      case 'ready': {
        h.ready = true;
        if (child.pid !== undefined) {
          const limit = readNofile(child.pid);
          const baseline = openFds(child.pid);
          h.capacity = limit && baseline !== null ? pairCapacity(limit.soft, baseline) : Infinity;
        }
        h.supervisor.markStarted();
        if (child.pid !== undefined) this.emit('handler-started', child.pid, h.slot);
        if (h.slot === null) {
          const [pairId] = h.pairs;
          const idx = this.pending.findIndex((p) => p.pairId === pairId);
          if (idx >= 0) this.sendPair(h, this.pending.splice(idx, 1)[0]!);
        } else {
          this.flushPending();
        }
        break;
      }
      case 'pair-started': {
        this.clearHandover(msg.pairId);
        const pair = this.active.get(msg.pairId);
        if (pair) this.emit('pair-started', pair);
        break;
      }
      case 'progress':
        for (const [id, b01, b10] of msg.pairs) {
          const pair = this.active.get(id);
          if (!pair) continue;
          this.emit('bytes', pair.channel, b01 - pair.bytes01 + (b10 - pair.bytes10));
          pair.bytes01 = b01;
          pair.bytes10 = b10;
        }
        break;
      case 'pair-ended': {
        const pair = this.active.get(msg.pairId);
        if (pair) {
          this.emit('bytes', pair.channel, msg.bytes01 - pair.bytes01 + (msg.bytes10 - pair.bytes10));
          pair.bytes01 = msg.bytes01;
          pair.bytes10 = msg.bytes10;
        }
        this.endPair(msg.pairId, h, msg.reason, msg.error);
        break;
      }
    }
  }

  /** Pairs that waited for a usable handler go to one now. */
  private flushPending(): void {
    if (this.opts.forkPerPair) return;
    for (const pair of this.pending.splice(0)) {
      const target = this.pickSlot(pair.session);
      if (target) this.sendPair(target, pair);
      else if (this.slots.some(usable)) this.refuse(pair);
      else this.pending.push(pair);
    }
  }

  private onDied(h: Handler, death: ProcessDeath): void {
    const child = h.child;
    h.ready = false;
    h.child = undefined;
    // The pairs the dead process held. Taken now: by the time its channel has drained, the
    // slot's replacement may already hold new pairs of its own in `h.pairs`.
    const lost = [...h.pairs];
    // 'exit' can overtake the last IPC messages (a per-pair handler reports its pair's end
    // and exits): settle the pairs only once the channel has delivered everything.
    if (child?.connected) child.once('disconnect', () => this.settleDeath(h, death, lost));
    else this.settleDeath(h, death, lost);
  }

  private settleDeath(h: Handler, death: ProcessDeath, lost: number[]): void {
    this.emit('handler-died', death, h.slot);
    for (const id of lost) {
      const idx = this.pending.findIndex((p) => p.pairId === id);
      if (idx >= 0) this.endUnsent(this.pending.splice(idx, 1)[0]!, 'handler-died');
      else this.endPair(id, h, 'handler-died', undefined);
    }
    if (h.slot === null) this.perPair.delete(h);
  }

  private pickSlot(session: string): Handler | undefined {
    const affinity = this.sessionSlot.get(session);
    if (affinity) {
      const h = this.slots[affinity.slot];
      if (h && usable(h) && h.pairs.size < h.capacity) return h;
    }
    let best: Handler | undefined;
    for (const h of this.slots) if (usable(h) && h.pairs.size < h.capacity && (!best || h.pairs.size < best.pairs.size)) best = h;
    return best;
  }

  private sendPair(h: Handler, pair: PairHandover): void {
    const child = h.child;
    if (!child || !h.ready) {
      this.pending.push(pair);
      return;
    }
    h.pairs.add(pair.pairId);
    this.pairHandler.set(pair.pairId, h);
    if (h.slot !== null) {
      const a = this.sessionSlot.get(pair.session);
      if (a && a.slot === h.slot) a.pairs++;
      else this.sessionSlot.set(pair.session, { slot: h.slot, pairs: 1 });
    }
    this.active.set(pair.pairId, {
      pairId: pair.pairId,
      channel: pair.channel,
      session: pair.session,
      handlerPid: child.pid,
      pairedAt: pair.pairedAt,
      bytes01: 0,
      bytes10: 0,
    });
    const timer = setTimeout(() => {
      this.handoverTimers.delete(pair.pairId);
      if (this.pairHandler.get(pair.pairId) !== h) return;
      this.sendTo(h, { type: 'abort', pairId: pair.pairId });
      this.endPair(pair.pairId, h, 'errory', 'the handler never received the pair');
    }, HANDOVER_TIMEOUT_MS);
    timer.unref();
    this.handoverTimers.set(pair.pairId, timer);
    for (const side of [0, 1] as const) {
      const socket = pair.sockets[side];
      const rest = Buffer.concat([pair.rests[side], detachForHandover(socket)]);
      const msg: ToHandler = { type: 'side', pairId: pair.pairId, side, rest, remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}` };
      try {
        child.send(msg, socket, { keepOpen: false }, (err) => {
          if (err) {
            socket.destroy();
            this.sendTo(h, { type: 'abort', pairId: pair.pairId });
          }
        });
      } catch {
        socket.destroy();
      }
    }
  }

  private sendTo(h: Handler, msg: ToHandler): void {
    const child = h.child;
    if (!child?.connected) return;
    try {
      child.send(msg);
    } catch {
      // The handler is dying; its 'died' event settles its pairs.
    }
  }

  private clearHandover(pairId: number): void {
    const t = this.handoverTimers.get(pairId);
    if (t === undefined) return;
    clearTimeout(t);
    this.handoverTimers.delete(pairId);
  }

  private endPair(pairId: number, h: Handler, reason: PairEndReason, error: string | undefined): void {
    this.clearHandover(pairId);
    const pair = this.active.get(pairId);
    h.pairs.delete(pairId);
    this.pairHandler.delete(pairId);
    if (!pair) return;
    this.active.delete(pairId);
    const a = this.sessionSlot.get(pair.session);
    if (a && a.slot === h.slot && --a.pairs <= 0) this.sessionSlot.delete(pair.session);
    this.emit('pair-ended', pair, reason, error);
  }

  /** A pair that never reached a handler: close it here and report it. */
  private endUnsent(pair: PairHandover, reason: PairEndReason): void {
    for (const s of pair.sockets) s.destroy();
    const ended: ActivePair = {
      pairId: pair.pairId,
      channel: pair.channel,
      session: pair.session,
      handlerPid: undefined,
      pairedAt: pair.pairedAt,
      bytes01: 0,
      bytes10: 0,
    };
    this.emit('pair-ended', ended, reason, undefined);
  }
}
