/**
 * Placement: which handler process relays a pair. Two strategies behind one interface: a pool
 * of pre-forked handlers, each relaying many pairs (placement-pool.ts, the default), and a
 * fresh child per channel pair as the original server did (placement-fork.ts,
 * `--fork-per-pair`). What both share lives here: the pairs handed over and not yet ended,
 * their hand-over deadline, and the events the daemon logs and counts. A handler that dies
 * takes down only its own pairs.
 */
import { EventEmitter } from 'node:events';
import type { ProcessDeath } from '../proc/supervisor.js';
import type { Channel, MemberEndReason, PairEndReason, RoomMessage } from './ipc.js';
import { PAIR_ASSEMBLY_TIMEOUT_MS } from './handler-main-constants.js';
import { HandlerProcess, type PairHandover } from './handler-process.js';
import type { Ticket } from './admission.js';
import type { Socket } from 'node:net';

export type { PairHandover } from './handler-process.js';

/**
 * A pair whose handler has reported neither its start nor its end after this long is ended
 * by the daemon (a handle can be lost on the way: the handler's NACK after a failed receive
 * makes Node retry three times, then give up without telling the sender).
 */
export const HANDOVER_TIMEOUT_MS = PAIR_ASSEMBLY_TIMEOUT_MS + 5000;

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

/** A room member to place: its connection, just past its `vcroom1-` handshake. */
export interface MemberToPlace {
  /** The daemon's id of this connection. */
  memberKey: number;
  channel: Channel;
  /** Session hash of the room code (never the code). */
  session: string;
  /** (channel, code) of its room: members with equal keys share one room. */
  roomKey: string;
  socket: Socket;
  rest: Buffer;
  ticket: Ticket;
  remote: string;
  since: number;
}

/** What the daemon knows of a room: where it lives and who is in it. */
export interface ActiveRoom {
  roomId: number;
  roomKey: string;
  channel: Channel;
  session: string;
  /** Its handler; undefined while none could be chosen yet. */
  handler: HandlerProcess | undefined;
  openedAt: number;
  /** Members handed over (or waiting to be) and not yet ended, by member key. */
  members: Map<number, RoomMemberState>;
  /** Members waiting for the handler to be ready. */
  queued: MemberToPlace[];
  /** Set once its first member went to its handler ('room-opened' was emitted). */
  opened: boolean;
  /** Members the room ever took, and the most at once (for its end line). */
  membersSeen: number;
  peak: number;
}

export interface RoomMemberState {
  member: MemberToPlace;
  memberId: number | null;
  handlerPid: number | undefined;
  timer: NodeJS.Timeout | undefined;
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
  /** Rooms by (channel, code) key, and by id. */
  private readonly rooms = new Map<string, ActiveRoom>();
  private readonly roomsById = new Map<number, ActiveRoom>();
  private nextRoomId = 1;
  private membersActive = 0;
  /** Settings every room gets (--max-room-size, the HELLO timeout). */
  roomSettings = { maxMembers: 8, helloTimeoutMs: 10_000 };

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

  /** The handler of an open room of this session (the other channel's), if any. */
  protected roomHandlerOf(session: string): HandlerProcess | undefined {
    for (const r of this.rooms.values()) if (r.session === session && r.handler) return r.handler;
    return undefined;
  }

  /** Room members handed over (or waiting for their handler) and not yet ended. */
  get activeMembers(): number {
    return this.membersActive;
  }

  /**
   * What the relay would carry against --max-pairs with `pairs` more pairs and `members` more
   * room members: pairs, and room members as half a pair each.
   */
  loadWith(pairs: number, members: number): number {
    return this.activePairs + pairs + Math.ceil((this.membersActive + members) / 2);
  }

  /** Rooms (and their members) per channel, for metrics. */
  roomsByChannel(channel: Channel): { rooms: number; members: number } {
    let rooms = 0;
    let members = 0;
    for (const r of this.rooms.values()) {
      if (r.channel !== channel) continue;
      rooms++;
      members += r.members.size;
    }
    return { rooms, members };
  }

  /** Rooms open right now. */
  get activeRooms(): number {
    return this.rooms.size;
  }

  /** Why a member of this room cannot be taken now ('E_FD_LIMIT'), or null. */
  memberRefusal(roomKey: string, session: string): 'E_FD_LIMIT' | null {
    const room = this.rooms.get(roomKey);
    if (!room) return this.hasRoom(session) ? null : 'E_FD_LIMIT';
    const h = room.handler;
    if (!h || !h.ready) return null;
    return h.hasRoomForMember ? null : 'E_FD_LIMIT';
  }

  /**
   * A room member: to its room's handler; a new room goes to a handler chosen by the
   * strategy (the pool keeps a code's two rooms together, fork-per-pair forks one).
   */
  placeMember(m: MemberToPlace): void {
    if (this.closing) {
      m.socket.destroy();
      m.ticket.release();
      return;
    }
    let room = this.rooms.get(m.roomKey);
    if (!room) {
      const handler = this.roomHandler(m.session);
      if (handler === null) {
        m.socket.destroy();
        m.ticket.release();
        this.emit('pair-refused', { pairId: 0, channel: m.channel, session: m.session, sockets: [m.socket, m.socket], rests: [m.rest, m.rest], pairedAt: m.since, tickets: [m.ticket] });
        return;
      }
      room = { roomId: this.nextRoomId++, roomKey: m.roomKey, channel: m.channel, session: m.session, handler, openedAt: Date.now(), members: new Map(), queued: [], opened: false, membersSeen: 0, peak: 0 };
      this.rooms.set(m.roomKey, room);
      this.roomsById.set(room.roomId, room);
    }
    m.ticket.pair();
    const state: RoomMemberState = { member: m, memberId: null, handlerPid: undefined, timer: undefined };
    room.members.set(m.memberKey, state);
    room.membersSeen++;
    room.peak = Math.max(room.peak, room.members.size);
    this.membersActive++;
    // A client that leaves while its room waits for a handler is gone at once.
    m.socket.once('close', () => {
      if (room.queued.includes(m)) {
        room.queued.splice(room.queued.indexOf(m), 1);
        this.endMember(room, m.memberKey, 'lost');
      }
    });
    room.queued.push(m);
    this.flushRoom(room);
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
    this.endQueuedMembers('shutdown');
    for (const h of this.handlers()) h.send({ type: 'cut' });
  }

  /** Stops every handler (their pairs end). Resolves once all have exited. */
  async close(): Promise<void> {
    this.closing = true;
    for (const pair of this.pending.splice(0)) this.endUnsent(pair, 'shutdown');
    this.endQueuedMembers('shutdown');
    await Promise.all([...this.handlers()].map((h) => h.close()));
    // Pairs whose end was never reported went down with their handler.
    for (const [id, h] of this.pairHandler) this.endPair(id, h, 'shutdown', undefined);
    for (const room of [...this.rooms.values()]) for (const key of [...room.members.keys()]) this.endMember(room, key, 'shutdown');
  }

  /** Reports what a handler and its pairs do; `onDied` runs once its dead pairs are settled. */
  protected watch(h: HandlerProcess, onDied: () => void): void {
    h.on('stalled', (pid, silentMs) => this.emit('handler-stalled', pid, h.slot, silentMs));
    h.on('killed', (pid, silentMs) => this.emit('handler-killed', pid, h.slot, silentMs));
    h.on('stderr', (line, pid) => this.emit('handler-stderr', line, pid));
    h.on('room-message', (msg) => this.onRoomMessage(h, msg));
    h.on('ready', () => {
      for (const room of [...this.rooms.values()]) this.flushRoom(room);
    });
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
      // Its rooms went down with it; no other room or pair did.
      for (const room of [...this.rooms.values()]) {
        if (room.handler !== h) continue;
        for (const m of room.queued.splice(0)) m.socket.destroy();
        for (const key of [...room.members.keys()]) this.endMember(room, key, 'handler-died');
      }
      h.members = 0;
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

  /** Sends a room's waiting members to its handler once it is ready (picking one if it has none). */
  private flushRoom(room: ActiveRoom): void {
    if (room.queued.length === 0) return;
    if (!room.handler) {
      const h = this.roomHandler(room.session);
      if (h === null) {
        for (const m of room.queued.splice(0)) {
          m.socket.destroy();
          this.endMember(room, m.memberKey, 'errory');
        }
        return;
      }
      room.handler = h;
    }
    const h = room.handler;
    if (!h || !h.ready || !h.child) return;
    if (!room.opened) {
      room.opened = true;
      this.emit('room-opened', room);
    }
    for (const m of room.queued.splice(0)) {
      const state = room.members.get(m.memberKey);
      if (!state) continue;
      if (m.socket.destroyed) {
        this.endMember(room, m.memberKey, 'lost');
        continue;
      }
      state.handlerPid = h.child.pid;
      h.members++;
      state.timer = setTimeout(() => {
        state.timer = undefined;
        m.socket.destroy();
        this.endMember(room, m.memberKey, 'errory');
      }, HANDOVER_TIMEOUT_MS);
      state.timer.unref();
      const { roomId } = room;
      h.handOverMember({ roomId, memberKey: m.memberKey, socket: m.socket, rest: m.rest, ...this.roomSettings }, () => this.endMember(room, m.memberKey, 'errory'));
    }
  }

  private onRoomMessage(h: HandlerProcess, msg: RoomMessage): void {
    if (msg.type === 'room-progress') {
      for (const [id, envIn, bytesIn, envOut, misrouted, dropped] of msg.rooms) {
        const room = this.roomsById.get(id);
        if (room) this.emit('room-stats', room.channel, envIn, bytesIn, envOut, misrouted, dropped);
      }
      return;
    }
    const room = this.roomsById.get(msg.roomId);
    if (!room || room.handler !== h) return;
    const state = room.members.get(msg.memberKey);
    if (!state) return;
    if (msg.type === 'member-admitted') {
      clearTimeout(state.timer);
      state.timer = undefined;
      return;
    }
    if (msg.type === 'member-joined') {
      state.memberId = msg.memberId;
      this.emit('member-joined', room, state);
      return;
    }
    state.memberId ??= msg.memberId;
    this.endMember(room, msg.memberKey, msg.reason);
  }

  /** A member is over: its place in its address's limits is free; an empty room is closed. */
  private endMember(room: ActiveRoom, memberKey: number, reason: MemberEndReason): void {
    const state = room.members.get(memberKey);
    if (!state) return;
    clearTimeout(state.timer);
    room.members.delete(memberKey);
    this.membersActive--;
    if (state.handlerPid !== undefined && room.handler && room.handler.members > 0) room.handler.members--;
    state.member.ticket.release();
    this.emit('member-ended', room, state, reason);
    if (room.members.size > 0) return;
    if (this.rooms.get(room.roomKey) === room) this.rooms.delete(room.roomKey);
    this.roomsById.delete(room.roomId);
    this.emit('room-closed', room);
    if (room.handler) this.roomClosed(room.handler);
  }

  private endQueuedMembers(reason: MemberEndReason): void {
    for (const room of [...this.rooms.values()]) {
      for (const m of room.queued.splice(0)) {
        m.socket.destroy();
        this.endMember(room, m.memberKey, reason);
      }
    }
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
