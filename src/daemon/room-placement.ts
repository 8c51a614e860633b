/**
 * The room side of placement (docs/rooms.md): the rooms of `vcroom1-` members, the handler
 * each lives on, its members handed over (or waiting for their handler) and not yet ended,
 * and their hand-over deadline. The Placement owns one: it gives it the strategy's choice of
 * handler and its own events, which this emits unchanged.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Channel, MemberEndReason, RoomMessage } from './ipc.js';
import { HANDOVER_TIMEOUT_MS } from './handler-main-constants.js';
import type { HandlerProcess } from './handler-process.js';
import type { Ticket } from './admission.js';
import type { PlacementEvents } from './placement.js';

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

/** What the room side asks of the Placement that owns it. */
export interface RoomHost {
  /** The Placement's events: the room ones (and 'pair-refused') are emitted there. */
  events: EventEmitter<PlacementEvents>;
  /**
   * The handler a new room goes to: one that has a descriptor for a member, undefined when
   * none is ready yet (the room waits), null when none has room (the member is refused).
   */
  handlerFor(session: string): HandlerProcess | undefined | null;
  /** A room ended; `h` was its handler. */
  closed(h: HandlerProcess): void;
  /** False when a new pair of this session would find no handler with a descriptor left. */
  hasRoom(session: string): boolean;
  /** True once the Placement is closing: new members are closed at once. */
  stopping(): boolean;
}

/** The rooms and their members: which handler each room is on, and when each member ends. */
export class RoomPlacement {
  /** Rooms by (channel, code) key, and by id. */
  private readonly rooms = new Map<string, ActiveRoom>();
  private readonly roomsById = new Map<number, ActiveRoom>();
  private nextRoomId = 1;
  private membersActive = 0;
  /** Settings every room gets (--max-room-size, the HELLO timeout). */
  settings = { maxMembers: 8, helloTimeoutMs: 10_000 };

  constructor(private readonly host: RoomHost) {}

  /** The handler of an open room of this session (the other channel's), if any. */
  handlerOf(session: string): HandlerProcess | undefined {
    for (const r of this.rooms.values()) if (r.session === session && r.handler) return r.handler;
    return undefined;
  }

  /** Room members handed over (or waiting for their handler) and not yet ended. */
  get activeMembers(): number {
    return this.membersActive;
  }

  /** Rooms open right now. */
  get activeRooms(): number {
    return this.rooms.size;
  }

  /** Rooms (and their members) per channel, for metrics. */
  byChannel(channel: Channel): { rooms: number; members: number } {
    let rooms = 0;
    let members = 0;
    for (const r of this.rooms.values()) {
      if (r.channel !== channel) continue;
      rooms++;
      members += r.members.size;
    }
    return { rooms, members };
  }

  /** Why a member of this room cannot be taken now ('E_FD_LIMIT'), or null. */
  refusal(roomKey: string, session: string): 'E_FD_LIMIT' | null {
    const room = this.rooms.get(roomKey);
    if (!room) return this.host.hasRoom(session) ? null : 'E_FD_LIMIT';
    const h = room.handler;
    if (!h || !h.ready) return null;
    return h.hasRoomForMember ? null : 'E_FD_LIMIT';
  }

  /**
   * A room member: to its room's handler; a new room goes to a handler chosen by the
   * strategy (the pool keeps a code's two rooms together, fork-per-pair forks one).
   */
  place(m: MemberToPlace): void {
    if (this.host.stopping()) {
      m.socket.destroy();
      m.ticket.release();
      return;
    }
    let room = this.rooms.get(m.roomKey);
    if (!room) {
      const handler = this.host.handlerFor(m.session);
      if (handler === null) {
        m.socket.destroy();
        m.ticket.release();
        this.host.events.emit('pair-refused', { pairId: 0, channel: m.channel, session: m.session, sockets: [m.socket, m.socket], rests: [m.rest, m.rest], pairedAt: m.since, tickets: [m.ticket] });
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
    this.flush(room);
  }

  /** A handler is ready: waiting members go to it (or to the one their room now picks). */
  flushAll(): void {
    for (const room of [...this.rooms.values()]) this.flush(room);
  }

  /** `h` died: its rooms went down with it; no other room did. */
  handlerDied(h: HandlerProcess): void {
    for (const room of [...this.rooms.values()]) {
      if (room.handler !== h) continue;
      for (const m of room.queued.splice(0)) m.socket.destroy();
      for (const key of [...room.members.keys()]) this.endMember(room, key, 'handler-died');
    }
    h.members = 0;
  }

  /** Members still waiting for their handler are closed (the drain ended or the relay stops). */
  endQueued(reason: MemberEndReason): void {
    for (const room of [...this.rooms.values()]) {
      for (const m of room.queued.splice(0)) {
        m.socket.destroy();
        this.endMember(room, m.memberKey, reason);
      }
    }
  }

  /** Every member left ends (their handlers have exited). */
  endAll(reason: MemberEndReason): void {
    for (const room of [...this.rooms.values()]) for (const key of [...room.members.keys()]) this.endMember(room, key, reason);
  }

  /** What a handler reports of its rooms: members admitted, joined, ended; room counters. */
  onMessage(h: HandlerProcess, msg: RoomMessage): void {
    const events = this.host.events;
    if (msg.type === 'room-progress') {
      for (const [id, envIn, bytesIn, envOut, misrouted, dropped] of msg.rooms) {
        const room = this.roomsById.get(id);
        if (room) events.emit('room-stats', room.channel, envIn, bytesIn, envOut, misrouted, dropped);
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
      events.emit('member-joined', room, state);
      return;
    }
    state.memberId ??= msg.memberId;
    this.endMember(room, msg.memberKey, msg.reason);
  }

  /** Sends a room's waiting members to its handler once it is ready (picking one if it has none). */
  private flush(room: ActiveRoom): void {
    if (room.queued.length === 0) return;
    if (!room.handler) {
      const h = this.host.handlerFor(room.session);
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
      this.host.events.emit('room-opened', room);
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
      h.handOverMember({ roomId, memberKey: m.memberKey, socket: m.socket, rest: m.rest, ...this.settings }, () => this.endMember(room, m.memberKey, 'errory'));
    }
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
    this.host.events.emit('member-ended', room, state, reason);
    if (room.members.size > 0) return;
    if (this.rooms.get(room.roomKey) === room) this.rooms.delete(room.roomKey);
    this.roomsById.delete(room.roomId);
    this.host.events.emit('room-closed', room);
    if (room.handler) this.host.closed(room.handler);
  }
}
