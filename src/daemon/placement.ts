/**
 * Placement: which handler process relays a pair. Two strategies behind one interface: a pool
 * of pre-forked handlers, each relaying many pairs (placement-pool.ts, the default), and a
 * fresh child per channel pair as the original server did (placement-fork.ts,
 * `--fork-per-pair`). What both share lives here: the pairs handed over and not yet ended,
 * their hand-over deadline, and the events the daemon logs and counts. A handler that dies
 * takes down only its own pairs. Rooms are placed beside them by `rooms` (room-placement.ts),
 * on the same handlers, through the same events.
 */
import { EventEmitter } from 'node:events';
import type { ProcessDeath } from '../proc/supervisor.js';
import type { Channel, MemberEndReason, PairEndReason } from './ipc.js';
import { HANDOVER_TIMEOUT_MS } from './handler-main-constants.js';
import { HandlerProcess, type PairHandover } from './handler-process.js';
import type { Ticket } from './admission.js';
import { RoomPlacement, type ActiveRoom, type RoomMemberState } from './room-placement.js';

export type { PairHandover } from './handler-process.js';

/** A pair to place, with the admission tickets its end releases. */
export interface PairToPlace extends PairHandover {
  tickets: readonly Ticket[];
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
  tickets: readonly Ticket[];
}

export interface PlacementEvents {
  'room-opened': [room: ActiveRoom];
  'room-closed': [room: ActiveRoom];
  'member-joined': [room: ActiveRoom, member: RoomMemberState];
  'member-ended': [room: ActiveRoom, member: RoomMemberState, reason: MemberEndReason];
  /** Room counters since the last report: envelopes in, bytes in, envelopes out, misrouted, dropped. */
  'room-stats': [channel: Channel, envelopesIn: number, bytesIn: number, envelopesOut: number, misrouted: number, dropped: number];
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
  'pair-refused': [pair: PairToPlace];
  /** Bytes relayed since the last report, for metrics. */
  bytes: [channel: Channel, bytes: number];
}

/** The handler processes and the pairs they relay: what the daemon sees of either strategy. */
export abstract class Placement extends EventEmitter<PlacementEvents> {
  /** Pairs waiting for a ready handler. */
  protected readonly pending: PairToPlace[] = [];
  private readonly active = new Map<number, ActivePair>();
  private readonly pairHandler = new Map<number, HandlerProcess>();
  /** Pairs handed to a handler that has not yet reported their start or end. */
  private readonly handoverTimers = new Map<number, NodeJS.Timeout>();
  protected closing = false;
  /** The rooms and their members, on the same handlers. */
  readonly rooms = new RoomPlacement({
    events: this,
    handlerFor: (session) => this.roomHandler(session),
    closed: (h) => this.roomClosed(h),
    hasRoom: (session) => this.hasRoom(session),
    stopping: () => this.closing,
  });

  /** Forks what runs from the start (the pool; nothing for fork-per-pair). */
  abstract start(): void;
  /**
   * False when a new pair of this session would find no handler with a descriptor left (it
   * would fail to receive its sockets). True while no handler is ready: the pair waits.
   */
  abstract hasRoom(session: string): boolean;
  /** Hands a pair to a handler (now, or once one is ready). */
  protected abstract place(pair: PairToPlace): void;
  /**
   * The handler a new room goes to: one that has a descriptor for a member, undefined when
   * none is ready yet (the room waits), null when none has room (the member is refused).
   */
  protected abstract roomHandler(session: string): HandlerProcess | undefined | null;
  /** A room ended; `h` was its handler (fork-per-pair closes the room's child). */
  protected roomClosed(_h: HandlerProcess): void {}
  /** The handler processes there are right now. */
  protected abstract handlers(): Iterable<HandlerProcess>;
  /** A pair went to `h` / ended on `h` (the pool keeps a session's pairs together). */
  protected tookPair(_h: HandlerProcess, _pair: PairToPlace): void {}
  protected droppedPair(_h: HandlerProcess, _pair: ActivePair): void {}

  /** Pairs handed over (pending or relaying) and not yet ended. */
  get activePairs(): number {
    return this.active.size + this.pending.length;
  }

  /**
   * What the relay would carry against --max-pairs with `pairs` more pairs and `members` more
   * room members: pairs, and room members as half a pair each.
   */
  loadWith(pairs: number, members: number): number {
    return this.activePairs + pairs + Math.ceil((this.rooms.activeMembers + members) / 2);
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
    for (const h of this.handlers()) if (h.child) n++;
    return n;
  }

  /** Pids of ready handlers. */
  handlerPids(): number[] {
    const pids: number[] = [];
    for (const h of this.handlers()) if (h.ready && h.child?.pid !== undefined) pids.push(h.child.pid);
    return pids;
  }

  /** Hands a pair to a handler (now, or as soon as one is ready). */
  assign(pair: PairToPlace): void {
    if (this.closing) this.endUnsent(pair, 'shutdown');
    else this.place(pair);
  }

  /** Drain timeout reached: every handler closes its pairs now (reason `shutdown`). */
  cut(): void {
    for (const pair of this.pending.splice(0)) this.endUnsent(pair, 'shutdown');
    this.rooms.endQueued('shutdown');
    for (const h of this.handlers()) h.send({ type: 'cut' });
  }

  /** Stops every handler (their pairs end). Resolves once all have exited. */
  async close(): Promise<void> {
    this.closing = true;
    for (const pair of this.pending.splice(0)) this.endUnsent(pair, 'shutdown');
    this.rooms.endQueued('shutdown');
    await Promise.all([...this.handlers()].map((h) => h.close()));
    // Pairs whose end was never reported went down with their handler.
    for (const [id, h] of this.pairHandler) this.endPair(id, h, 'shutdown', undefined);
    this.rooms.endAll('shutdown');
  }

  /** Reports what a handler and its pairs do; `onDied` runs once its dead pairs are settled. */
  protected watch(h: HandlerProcess, onDied: () => void): void {
    h.on('stalled', (pid, silentMs) => this.emit('handler-stalled', pid, h.slot, silentMs));
    h.on('killed', (pid, silentMs) => this.emit('handler-killed', pid, h.slot, silentMs));
    h.on('stderr', (line, pid) => this.emit('handler-stderr', line, pid));
    h.on('room-message', (msg) => this.rooms.onMessage(h, msg));
    h.on('ready', () => this.rooms.flushAll());
    h.on('message', (msg) => {
      if (msg.type === 'pair-started') {
        this.clearHandover(msg.pairId);
        const pair = this.active.get(msg.pairId);
        if (pair) this.emit('pair-started', pair);
        return;
      }
      if (msg.type === 'progress') {
        for (const [id, b01, b10] of msg.pairs) {
          const pair = this.active.get(id);
          if (pair) this.countBytes(pair, b01, b10);
        }
        return;
      }
      const pair = this.active.get(msg.pairId);
      if (pair) this.countBytes(pair, msg.bytes01, msg.bytes10);
      this.endPair(msg.pairId, h, msg.reason, msg.error);
    });
    h.on('died', (death, lost) => {
      this.emit('handler-died', death, h.slot);
      // Its rooms and pairs went down with it; no other room or pair did.
      this.rooms.handlerDied(h);
      for (const id of lost) {
        const idx = this.pending.findIndex((p) => p.pairId === id);
        if (idx >= 0) this.endUnsent(this.pending.splice(idx, 1)[0]!, 'handler-died');
        else this.endPair(id, h, 'handler-died', undefined);
      }
      onDied();
    });
  }

  /** Sends a pair to `h`, or keeps it pending while `h` is not ready. */
  protected send(h: HandlerProcess, pair: PairToPlace): void {
    const child = h.child;
    if (!child || !h.ready) {
      this.pending.push(pair);
      return;
    }
    this.pairHandler.set(pair.pairId, h);
    this.tookPair(h, pair);
    const { pairId, channel, session, pairedAt, tickets } = pair;
    this.active.set(pairId, { pairId, channel, session, handlerPid: child.pid, pairedAt, bytes01: 0, bytes10: 0, tickets });
    const timer = setTimeout(() => {
      this.handoverTimers.delete(pairId);
      if (this.pairHandler.get(pairId) !== h) return;
      h.send({ type: 'abort', pairId });
      this.endPair(pairId, h, 'errory', 'the handler never received the pair');
    }, HANDOVER_TIMEOUT_MS);
    timer.unref();
    this.handoverTimers.set(pairId, timer);
    h.handOver(pair);
  }

  /** No handler has descriptors left for this pair: close it, never relayed. */
  protected refuse(pair: PairToPlace): void {
    for (const s of pair.sockets) s.destroy();
    this.emit('pair-refused', pair);
  }

  private countBytes(pair: ActivePair, bytes01: number, bytes10: number): void {
    this.emit('bytes', pair.channel, bytes01 - pair.bytes01 + (bytes10 - pair.bytes10));
    pair.bytes01 = bytes01;
    pair.bytes10 = bytes10;
  }

  private clearHandover(pairId: number): void {
    const t = this.handoverTimers.get(pairId);
    if (t === undefined) return;
    clearTimeout(t);
    this.handoverTimers.delete(pairId);
  }

  private endPair(pairId: number, h: HandlerProcess, reason: PairEndReason, error: string | undefined): void {
    this.clearHandover(pairId);
    const pair = this.active.get(pairId);
    h.pairs.delete(pairId);
    this.pairHandler.delete(pairId);
    if (!pair) return;
    this.active.delete(pairId);
    this.droppedPair(h, pair);
    this.emit('pair-ended', pair, reason, error);
  }

  /** A pair that never reached a handler: close it here and report it. */
  private endUnsent(pair: PairToPlace, reason: PairEndReason): void {
    for (const s of pair.sockets) s.destroy();
    const { pairId, channel, session, pairedAt, tickets } = pair;
    this.emit('pair-ended', { pairId, channel, session, handlerPid: undefined, pairedAt, bytes01: 0, bytes10: 0, tickets }, reason, undefined);
  }
}
