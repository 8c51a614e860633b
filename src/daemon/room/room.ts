/**
 * One room of a room-mode relay (docs/rooms.md): members join with a HELLO, and from then
 * on the room reads each envelope's 7-byte header, stamps the sender's id on it and queues
 * it for its recipients. It never looks inside a payload. Each receiver has its own
 * ReceiverQueue, so a slow or flooded member loses its own media, never anyone else's.
 *
 * The room owns its members' sockets once admitted and ends every path in bounded time: a
 * member silent before its HELLO is dropped after `helloTimeoutMs`, a full room answers
 * ROOM_FULL and closes, a member that breaks the framing or floods control is cut.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { HELLO_BYTES } from '../../codec/protocol/constants.js';
import {
  BROADCAST_MEMBER_ID, EnvelopeFlag, EnvelopeParser, LeaveReason, MAX_MEMBER_ID, RELAY_MEMBER_ID,
  encodeDropped, encodeEnvelope, encodeMemberJoined, encodeMemberLeft, encodeRoomFull, encodeWelcome,
  type Envelope, type LeaveReasonCode,
} from '../../codec/room/index.js';
import { ReceiverQueue, type ReceiverQueueOptions } from './receiver-queue.js';

/** Stop handing a member's socket more bytes while this much is still in Node's buffer. */
export const ROOM_WRITE_LOW_WATER_BYTES = 16 * 1024;
/** How often a receiver is told what the relay dropped for it. */
export const ROOM_DROPS_REPORT_INTERVAL_MS = 1000;
/** Non-droppable bytes a member may send per second on average (keys and control are small). */
export const ROOM_CONTROL_BYTES_PER_S = 256 * 1024;
/** ... and at once (a SETUP to each of 31 others fits). */
export const ROOM_CONTROL_BURST_BYTES = 2 * 1024 * 1024;
/**
 * Bytes the kernel may hold unacknowledged for a member (see `backlogOf`) before the room
 * stops handing it more: what is queued then stays in the room's queue, where old media is
 * dropped, instead of in a kernel buffer of up to 4 MiB where nothing is. Above what a
 * healthy link keeps in flight (20 Mbit/s x 100 ms).
 */
export const ROOM_KERNEL_BACKLOG_BYTES = 256 * 1024;
/** A full room's ROOM_FULL gets this long to leave before the socket is destroyed. */
export const ROOM_FULL_LINGER_MS = 1000;
/** Flag bits the relay forwards; the rest are cleared, as the envelope format says. */
const KNOWN_FLAGS = EnvelopeFlag.DROPPABLE | EnvelopeFlag.AUDIO;

/** Why the room let a member go, for logs and metrics. */
export type MemberEndReason = 'left' | 'lost' | 'too-slow' | 'framing' | 'control-flood' | 'hello-timeout' | 'closed';

const LEAVE_CODE: Record<MemberEndReason, LeaveReasonCode> = {
  left: LeaveReason.LEFT,
  lost: LeaveReason.LOST,
  'too-slow': LeaveReason.TOO_SLOW,
  framing: LeaveReason.LOST,
  'control-flood': LeaveReason.LOST,
  'hello-timeout': LeaveReason.LOST,
  closed: LeaveReason.LOST,
};

/** Events of a room. */
export interface RoomEvents {
  'member-joined': [memberId: number, members: number];
  'member-left': [memberId: number, reason: MemberEndReason, members: number];
  /** A member was refused because the room is full. */
  full: [];
  /** A member's socket sent its HELLO and got `memberId` (for an owner that tracks sockets). */
  'socket-joined': [socket: Socket, memberId: number];
  /** The room let a socket go (cut, refused as full); its 'close' follows. */
  'socket-ended': [socket: Socket, reason: MemberEndReason | 'full'];
  /** Nobody is left (or waiting for a HELLO): the owner may forget the room. */
  empty: [];
}

/** Options of a room. */
export interface RoomOptions {
  maxMembers: number;
  helloTimeoutMs: number;
  now?: () => number;
  queue?: Omit<ReceiverQueueOptions, 'now'>;
  controlBytesPerS?: number;
  controlBurstBytes?: number;
  /**
   * Bytes the kernel holds unacknowledged for a socket, as last measured (0 when unknown).
   * Past ROOM_KERNEL_BACKLOG_BYTES the member is not written to until tick() sees it lower.
   */
  backlogOf?: (socket: Socket) => number;
}

/** Counters of a room, for metrics. */
export interface RoomStats {
  envelopesIn: number;
  bytesIn: number;
  envelopesOut: number;
  /** Envelopes addressed to no one in the room (relay, themselves, an unknown id). */
  misrouted: number;
  droppedForReceivers: number;
}

interface Member {
  id: number;
  socket: Socket;
  hello: Buffer | null;
  helloParts: Buffer[];
  helloBytes: number;
  helloTimer: NodeJS.Timeout | undefined;
  parser: EnvelopeParser;
  queue: ReceiverQueue;
  lastDropsReportMs: number;
  controlTokens: number;
  controlTokensAtMs: number;
  gone: boolean;
}

/** A room: members, their queues and the fan-out between them. */
export class Room extends EventEmitter<RoomEvents> {
  private readonly options: Required<Omit<RoomOptions, 'queue' | 'backlogOf'>> & { queue: RoomOptions['queue']; backlogOf: RoomOptions['backlogOf'] };
  private readonly members = new Map<number, Member>();
  private lastId = 0;
  private readonly counters: RoomStats = { envelopesIn: 0, bytesIn: 0, envelopesOut: 0, misrouted: 0, droppedForReceivers: 0 };
  private closed = false;
  /** Sockets told ROOM_FULL, lingering until their FIN or ROOM_FULL_LINGER_MS. */
  private readonly refused = new Set<Socket>();

  constructor(options: RoomOptions) {
    super();
    this.options = {
      maxMembers: options.maxMembers,
      helloTimeoutMs: options.helloTimeoutMs,
      now: options.now ?? (() => performance.now()),
      queue: options.queue,
      controlBytesPerS: options.controlBytesPerS ?? ROOM_CONTROL_BYTES_PER_S,
      controlBurstBytes: options.controlBurstBytes ?? ROOM_CONTROL_BURST_BYTES,
      backlogOf: options.backlogOf,
    };
  }

  /** Members admitted, those still sending their HELLO included. */
  get size(): number {
    return this.members.size;
  }

  /** Members past their HELLO. */
  get joined(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.hello) n++;
    return n;
  }

  get stats(): RoomStats {
    return { ...this.counters };
  }

  /** Bytes held for receivers, for memory accounting. */
  get queuedBytes(): number {
    let n = 0;
    for (const m of this.members.values()) n += m.queue.bytes;
    return n;
  }

  /**
   * Takes a member's socket, just past its relay handshake; `rest` holds what it sent after
   * the handshake. A full room answers ROOM_FULL and closes the socket.
   */
  admit(socket: Socket, rest: Buffer): void {
    socket.on('error', () => {});
    if (this.closed || this.members.size >= this.options.maxMembers) {
      this.emit('full');
      this.emit('socket-ended', socket, 'full');
      // Read and discard what it sends, or its FIN would sit behind unread bytes.
      socket.resume();
      socket.end(encodeEnvelope(RELAY_MEMBER_ID, 0, encodeRoomFull(this.options.maxMembers)));
      this.refused.add(socket);
      const timer = setTimeout(() => socket.destroy(), ROOM_FULL_LINGER_MS);
      socket.on('close', () => {
        clearTimeout(timer);
        this.refused.delete(socket);
      });
      return;
    }
    socket.setNoDelay(true);
    const now = this.options.now();
    const m: Member = {
      id: this.nextId(),
      socket,
      hello: null,
      helloParts: [],
      helloBytes: 0,
      helloTimer: undefined,
      parser: new EnvelopeParser(),
      queue: new ReceiverQueue({ ...this.options.queue, now: this.options.now }),
      lastDropsReportMs: now,
      controlTokens: this.options.controlBurstBytes,
      controlTokensAtMs: now,
      gone: false,
    };
    this.members.set(m.id, m);
    m.helloTimer = setTimeout(() => this.cut(m, 'hello-timeout'), this.options.helloTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(m, chunk));
    socket.on('end', () => this.cut(m, 'left'));
    socket.on('close', () => this.cut(m, 'lost'));
    socket.on('drain', () => this.pump(m));
    if (rest.length > 0) this.onData(m, rest);
  }

  /** The sockets of the members (for the owner's kernel backlog measurement). */
  sockets(): Socket[] {
    return [...this.members.values()].map((m) => m.socket);
  }

  /**
   * Periodic work, after a new backlog measurement: members the kernel has room for again get
   * what is due; those it still has none for lose their expired media, and every member is
   * told what it lost.
   */
  tick(): void {
    for (const m of [...this.members.values()]) {
      if (!m.hello) continue;
      this.pump(m);
      if (!m.gone && this.kernelFull(m)) m.queue.dropExpired();
    }
  }

  /** Ends every member now (shutdown). */
  close(): void {
    this.closed = true;
    for (const m of [...this.members.values()]) this.cut(m, 'closed');
    for (const s of this.refused) s.destroy();
  }

  private nextId(): number {
    for (;;) {
      this.lastId = this.lastId >= MAX_MEMBER_ID ? 1 : this.lastId + 1;
      if (!this.members.has(this.lastId)) return this.lastId;
    }
  }

  private onData(m: Member, chunk: Buffer): void {
    if (m.gone) return;
    let data = chunk;
    if (!m.hello) {
      const take = Math.min(HELLO_BYTES - m.helloBytes, data.length);
      m.helloParts.push(data.subarray(0, take));
      m.helloBytes += take;
      data = data.subarray(take);
      if (m.helloBytes < HELLO_BYTES) return;
      this.join(m, Buffer.concat(m.helloParts));
      if (data.length === 0) return;
    }
    this.counters.bytesIn += data.length;
    try {
      m.parser.parse(data, (envelope) => this.route(m, envelope));
    } catch {
      this.cut(m, 'framing');
    }
  }

  private join(m: Member, hello: Buffer): void {
    clearTimeout(m.helloTimer);
    m.hello = hello;
    m.helloParts = [];
    // WELCOME goes first, straight to the socket: nothing is queued for this member yet.
    m.socket.write(encodeEnvelope(RELAY_MEMBER_ID, 0, encodeWelcome(m.id, this.options.maxMembers)));
    const announcement = encodeEnvelope(RELAY_MEMBER_ID, 0, encodeMemberJoined(m.id, hello));
    for (const other of this.members.values()) {
      if (other === m || !other.hello) continue;
      // Each announcement is queued under the announced member's id, so that it reaches the
      // receiver before anything that member sends it (one FIFO per sender).
      this.enqueue(m, other.id, 0, encodeEnvelope(RELAY_MEMBER_ID, 0, encodeMemberJoined(other.id, other.hello)));
      this.enqueue(other, m.id, 0, announcement);
    }
    this.emit('socket-joined', m.socket, m.id);
    this.emit('member-joined', m.id, this.joined);
  }

  private route(from: Member, envelope: Envelope): void {
    if (from.gone) return;
    this.counters.envelopesIn++;
    const flags = envelope.flags & KNOWN_FLAGS;
    if (!(flags & EnvelopeFlag.DROPPABLE) && !this.takeControlTokens(from, envelope.payload.length)) {
      this.cut(from, 'control-flood');
      return;
    }
    const to = envelope.memberId;
    if (to !== BROADCAST_MEMBER_ID) {
      const target = this.members.get(to);
      if (!target || target === from || !target.hello) {
        this.counters.misrouted++;
        return;
      }
      this.enqueue(target, from.id, flags, encodeEnvelope(from.id, flags, envelope.payload));
      return;
    }
    // One copy, with the sender's id in place of the recipient's, shared by every receiver;
    // made only once someone is there to get it. (A member leaves the map as it goes.)
    let bytes: Buffer | null = null;
    for (const t of this.members.values()) {
      if (t === from || !t.hello) continue;
      bytes ??= encodeEnvelope(from.id, flags, envelope.payload);
      this.enqueue(t, from.id, flags, bytes);
    }
  }

  private takeControlTokens(m: Member, bytes: number): boolean {
    const now = this.options.now();
    m.controlTokens = Math.min(
      this.options.controlBurstBytes,
      m.controlTokens + ((now - m.controlTokensAtMs) / 1000) * this.options.controlBytesPerS,
    );
    m.controlTokensAtMs = now;
    m.controlTokens -= bytes;
    return m.controlTokens >= 0;
  }

  private enqueue(to: Member, senderKey: number, flags: number, bytes: Buffer): void {
    if (to.gone) return;
    if (!to.queue.push(senderKey, flags, bytes)) {
      this.cut(to, 'too-slow');
      return;
    }
    this.pump(to);
  }

  /** Hands the socket what is due while its buffer is low; expired media is dropped on the way. */
  private pump(m: Member): void {
    if (m.gone) return;
    const now = this.options.now();
    if (now - m.lastDropsReportMs >= ROOM_DROPS_REPORT_INTERVAL_MS) {
      m.lastDropsReportMs = now;
      for (const [sender, count] of m.queue.takeDrops()) {
        this.counters.droppedForReceivers += count;
        if (!this.members.has(sender)) continue;
        m.queue.push(RELAY_MEMBER_ID, 0, encodeEnvelope(RELAY_MEMBER_ID, 0, encodeDropped(sender, count)));
      }
    }
    if (this.kernelFull(m)) return;
    while (m.socket.writableLength < ROOM_WRITE_LOW_WATER_BYTES) {
      const bytes = m.queue.next();
      if (!bytes) break;
      this.counters.envelopesOut++;
      m.socket.write(bytes);
    }
  }

  private kernelFull(m: Member): boolean {
    return this.options.backlogOf !== undefined && this.options.backlogOf(m.socket) > ROOM_KERNEL_BACKLOG_BYTES;
  }

  private cut(m: Member, reason: MemberEndReason): void {
    if (m.gone) return;
    m.gone = true;
    clearTimeout(m.helloTimer);
    this.members.delete(m.id);
    this.emit('socket-ended', m.socket, reason);
    m.socket.destroy();
    if (m.hello) {
      const left = encodeEnvelope(RELAY_MEMBER_ID, 0, encodeMemberLeft(m.id, LEAVE_CODE[reason]));
      for (const other of this.members.values()) {
        other.queue.removeSender(m.id);
        if (other.hello) this.enqueue(other, RELAY_MEMBER_ID, 0, left);
      }
      this.emit('member-left', m.id, reason, this.joined);
    }
    if (this.members.size === 0) this.emit('empty');
  }
}
