/**
 * Entry point of a handler process, forked by the daemon. It receives the two sockets of
 * each pair by IPC handle passing (plus the bytes the daemon read past each handshake),
 * relays them, and reports starts, ends and bytes. It exits by itself when its IPC channel
 * closes, so no handler relays on after its daemon is gone.
 *
 * argv: `--single-pair` = exit after the one pair it gets (`--fork-per-pair`).
 */
import type { Socket } from 'node:net';
import { PROGRESS_INTERVAL_MS, type FromHandler, type MemberEndReason, type MemberMessage, type PairEndedMessage, type PairEndReason, type ToHandler } from './ipc.js';
import { relayPair, type Relay } from './relay.js';
import { Room, ROOM_KERNEL_BACKLOG_BYTES, type MemberEndReason as RoomEndReason, type RoomStats } from './room/room.js';
import { connectionKey, unacknowledgedBytes } from './tcp-state.js';

import { PAIR_ASSEMBLY_TIMEOUT_MS } from './handler-main-constants.js';

export { PAIR_ASSEMBLY_TIMEOUT_MS };

interface Assembling {
  sockets: [Socket | undefined, Socket | undefined];
  rests: [Buffer, Buffer];
  timer: NodeJS.Timeout;
  /** Removes the listeners that watch a side while its partner has not arrived. */
  unwatch: Array<() => void>;
}

const singlePair = process.argv.includes('--single-pair');
const assembling = new Map<number, Assembling>();
const relays = new Map<number, Relay>();
const reported = new Map<number, [number, number]>();
/**
 * Pairs ended before their second side arrived (a side closed or was reset meanwhile, or the
 * daemon aborted): that side is closed on arrival. Forgotten after PAIR_ASSEMBLY_TIMEOUT_MS.
 */
const abandoned = new Map<number, NodeJS.Timeout>();
let servedPairs = 0;

/** Rooms of this handler by the daemon's room id, and what each had reported so far. */
interface HandlerRoom {
  room: Room;
  reported: RoomStats;
}
const rooms = new Map<number, HandlerRoom>();
/**
 * How often the kernel's unacknowledged bytes of room members are read (/proc/net/tcp) and
 * the rooms ticked: a member whose kernel buffer is full is not written to, and loses its
 * expired media in the room's queue instead. Reading the table costs in proportion to every
 * TCP connection of the host (~23 ms for 5000 here), so it is read once a second; while a
 * member is held back, sooner (from 25 ms, doubling back to once a second, so that a member
 * that never reads cannot keep the handler reading the table; each member backs off on its
 * own, so one held for long does not slow the resumption of one held just now).
 */
const ROOM_BACKLOG_POLL_MS = 1000;
const ROOM_BACKLOG_FAST_POLL_MS = 25;
/** Polls in a row that found this member held back. */
const heldPolls = new WeakMap<object, number>();
const backlogs = new WeakMap<object, number>();
const connKeys = new WeakMap<object, string>();
const ZERO_STATS: RoomStats = { envelopesIn: 0, bytesIn: 0, envelopesOut: 0, misrouted: 0, droppedForReceivers: 0 };

function send(msg: FromHandler, then?: () => void): void {
  if (!process.connected) {
    then?.();
    return;
  }
  try {
    process.send?.(msg, undefined, {}, () => then?.());
  } catch {
    then?.();
    // The channel closed under us: 'disconnect' will end the process.
  }
}

function toBuffer(bytes: Uint8Array | undefined): Buffer {
  if (!bytes) return Buffer.alloc(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let exiting = false;

/** In single-pair mode, leave once the pair is over (after its end report is flushed). */
function maybeExit(): void {
  if (exiting || !singlePair || servedPairs === 0 || relays.size > 0 || assembling.size > 0 || rooms.size > 0) return;
  exiting = true;
  process.exit(0);
}

/** Reports a pair's end; in single-pair mode the process leaves once the report is flushed. */
function reportEnd(msg: PairEndedMessage): void {
  send(msg, maybeExit);
}

function start(pairId: number, a: Assembling): void {
  const [s0, s1] = a.sockets;
  if (!s0 || !s1) return;
  assembling.delete(pairId);
  clearTimeout(a.timer);
  for (const off of a.unwatch) off();
  servedPairs++;
  const relay = relayPair(s0, s1, a.rests[0], a.rests[1], (reason: PairEndReason, bytes01, bytes10, error) => {
    relays.delete(pairId);
    reported.delete(pairId);
    reportEnd({ type: 'pair-ended', pairId, reason, bytes01, bytes10, ...(error ? { error: error.message } : {}) });
  });
  relays.set(pairId, relay);
  send({ type: 'pair-started', pairId });
}

function onSide(pairId: number, side: 0 | 1, rest: Buffer, socket: Socket | undefined): void {
  // From the moment it exists, an error on this socket must never reach the process as an
  // uncaught exception: a client that resets its connection before its partner's socket
  // has arrived would otherwise take down every pair of this handler.
  socket?.on('error', () => {});
  const gone = abandoned.get(pairId);
  if (gone) {
    // The pair already ended (its other side left first): this side closes too.
    clearTimeout(gone);
    abandoned.delete(pairId);
    socket?.destroy();
    return;
  }
  let a = assembling.get(pairId);
  if (!a) {
    const timer = setTimeout(() => {
      const stale = assembling.get(pairId);
      if (!stale) return;
      endAssembling(pairId, stale, 'pair never completed');
    }, PAIR_ASSEMBLY_TIMEOUT_MS);
    timer.unref();
    a = { sockets: [undefined, undefined], rests: [Buffer.alloc(0), Buffer.alloc(0)], timer, unwatch: [] };
    assembling.set(pairId, a);
  }
  if (!socket) {
    // The handle did not survive the transfer (the client closed meanwhile).
    onAbort(pairId);
    return;
  }
  // Hold bytes in the kernel until the relay starts; the daemon already stopped reading.
  socket.pause();
  a.sockets[side] = socket;
  a.rests[side] = rest;
  if (a.sockets[0] && a.sockets[1]) {
    start(pairId, a);
    return;
  }
  // Alone for now: if this client leaves (FIN, RST) before its partner arrives, the pair is
  // over at once, and the partner is closed when it comes.
  const entry = a;
  const onGone = (): void => {
    if (assembling.get(pairId) === entry) endAssembling(pairId, entry, 'a client left before the pair started');
  };
  socket.once('close', onGone);
  entry.unwatch.push(() => socket.off('close', onGone));
}

/** Ends a pair still waiting for a side: closes what arrived, reports it, remembers it. */
function endAssembling(pairId: number, a: Assembling, error: string): void {
  assembling.delete(pairId);
  clearTimeout(a.timer);
  for (const off of a.unwatch) off();
  let arrived = 0;
  for (const s of a.sockets) {
    if (!s) continue;
    arrived++;
    s.destroy();
  }
  if (arrived < 2) {
    const t = setTimeout(() => abandoned.delete(pairId), PAIR_ASSEMBLY_TIMEOUT_MS);
    t.unref();
    abandoned.set(pairId, t);
  }
  servedPairs++;
  reportEnd({ type: 'pair-ended', pairId, reason: 'errory', bytes01: 0, bytes10: 0, error });
}

function onAbort(pairId: number): void {
  const a = assembling.get(pairId);
  if (!a) return;
  endAssembling(pairId, a, 'pair aborted by the daemon');
}

/** The room's own words for an end, as the daemon counts them. */
function memberEndReason(reason: RoomEndReason | 'full' | undefined): MemberEndReason {
  if (reason === undefined) return 'lost';
  return reason === 'closed' ? 'shutdown' : reason;
}

/** Deltas of a room's counters since its last report, or null when nothing moved. */
function roomDelta(id: number, r: HandlerRoom): [number, number, number, number, number, number] | null {
  const now = r.room.stats;
  const was = r.reported;
  if (now.envelopesIn === was.envelopesIn && now.envelopesOut === was.envelopesOut && now.droppedForReceivers === was.droppedForReceivers && now.misrouted === was.misrouted) return null;
  r.reported = now;
  return [id, now.envelopesIn - was.envelopesIn, now.bytesIn - was.bytesIn, now.envelopesOut - was.envelopesOut, now.misrouted - was.misrouted, now.droppedForReceivers - was.droppedForReceivers];
}

/** Per room, what the handler knows of each of its sockets: why it ended, its member key and id. */
const roomSockets = new WeakMap<Room, { reasons: WeakMap<object, RoomEndReason | 'full'>; keys: WeakMap<object, number>; ids: WeakMap<object, number> }>();

function openRoom(roomId: number, msg: MemberMessage): HandlerRoom {
  const room = new Room({ maxMembers: msg.maxMembers, helloTimeoutMs: msg.helloTimeoutMs, backlogOf: (socket) => backlogs.get(socket) ?? 0 });
  const entry: HandlerRoom = { room, reported: ZERO_STATS };
  const reasons = new WeakMap<object, RoomEndReason | 'full'>();
  const keys = new WeakMap<object, number>();
  const ids = new WeakMap<object, number>();
  room.on('socket-joined', (socket, memberId) => {
    ids.set(socket, memberId);
    const memberKey = keys.get(socket);
    if (memberKey !== undefined) send({ type: 'member-joined', roomId, memberKey, memberId });
  });
  room.on('socket-ended', (socket, reason) => {
    if (!reasons.has(socket)) reasons.set(socket, reason);
  });
  room.on('empty', () => {
    if (rooms.get(roomId) !== entry) return;
    const delta = roomDelta(roomId, entry);
    if (delta) send({ type: 'room-progress', rooms: [delta] });
    rooms.delete(roomId);
  });
  roomSockets.set(room, { reasons, keys, ids });
  rooms.set(roomId, entry);
  return entry;
}

/** A room member's socket: into its room (opened on its first member). */
function onMember(msg: MemberMessage, socket: Socket | undefined): void {
  const { roomId, memberKey } = msg;
  if (!socket) {
    // The handle did not survive the transfer (the client closed meanwhile).
    send({ type: 'member-ended', roomId, memberKey, reason: 'lost', memberId: null });
    return;
  }
  socket.on('error', () => {});
  const key = connectionKey(socket);
  if (key) connKeys.set(socket, key);
  const entry = rooms.get(roomId) ?? openRoom(roomId, msg);
  const maps = roomSockets.get(entry.room)!;
  maps.keys.set(socket, memberKey);
  socket.once('close', () => {
    const memberId = maps.ids.get(socket) ?? null;
    send({ type: 'member-ended', roomId, memberKey, reason: memberEndReason(maps.reasons.get(socket)), memberId });
  });
  send({ type: 'member-admitted', roomId, memberKey });
  entry.room.admit(socket, toBuffer(msg.rest));
}

process.on('message', (msg: ToHandler, handle?: unknown) => {
  switch (msg.type) {
    case 'member':
      {
        const sock = handle as Socket | undefined;
        if (sock && msg.remote !== undefined) {
          const got = `${sock.remoteAddress ?? ''}:${sock.remotePort ?? ''}`;
          if (got !== msg.remote && sock.remotePort !== undefined) {
            process.stderr.write(`handle mismatch: room ${msg.roomId} member ${msg.memberKey} expected ${msg.remote} got ${got}\n`);
            sock.on('error', () => {});
            sock.destroy();
            onMember(msg, undefined);
            break;
          }
        }
        onMember(msg, sock);
      }
      break;
    case 'side':
      {
        // The handle must be the client the daemon paired (a lost or reordered handle must
        // not splice two strangers' calls together).
        const sock = handle as Socket | undefined;
        if (sock && msg.remote !== undefined) {
          const got = `${sock.remoteAddress ?? ''}:${sock.remotePort ?? ''}`;
          if (got !== msg.remote && sock.remotePort !== undefined) {
            // Never relay a call to a connection it was not meant for: end that pair.
            process.stderr.write(`handle mismatch: pair ${msg.pairId} side ${msg.side} expected ${msg.remote} got ${got}\n`);
            sock.on('error', () => {});
            sock.destroy();
            onSide(msg.pairId, msg.side, toBuffer(msg.rest), undefined);
            break;
          }
        }
        onSide(msg.pairId, msg.side, toBuffer(msg.rest), sock);
      }
      break;
    case 'abort':
      onAbort(msg.pairId);
      break;
    case 'ping':
      send({ type: 'pong', seq: msg.seq });
      break;
    case 'cut':
      for (const r of relays.values()) r.cut();
      for (const id of [...assembling.keys()]) onAbort(id);
      for (const r of [...rooms.values()]) r.room.close();
      break;
  }
});

// The daemon is gone (exited, crashed, SIGKILLed): drop every connection and leave.
process.on('disconnect', () => {
  for (const r of relays.values()) r.destroy('handler-died');
  for (const r of rooms.values()) r.room.close();
  process.exit(0);
});

/** Measures room members' kernel backlogs and ticks the rooms; sooner while one is held back. */
function pollBacklogs(): void {
  let delay = ROOM_BACKLOG_POLL_MS;
  if (rooms.size > 0) {
    const byKey = new Map<string, Socket>();
    for (const r of rooms.values()) {
      for (const sock of r.room.sockets()) {
        const key = connKeys.get(sock);
        if (key) byKey.set(key, sock);
      }
    }
    const measured = byKey.size > 0 ? unacknowledgedBytes(new Set(byKey.keys())) : null;
    for (const [key, sock] of byKey) {
      const bytes = measured?.get(key) ?? 0;
      backlogs.set(sock, bytes);
      if (bytes > ROOM_KERNEL_BACKLOG_BYTES) {
        const polls = (heldPolls.get(sock) ?? 0) + 1;
        heldPolls.set(sock, polls);
        delay = Math.min(delay, ROOM_BACKLOG_FAST_POLL_MS * 2 ** Math.min(polls - 1, 10));
      } else {
        heldPolls.delete(sock);
      }
    }
    for (const r of [...rooms.values()]) r.room.tick();
  }
  setTimeout(pollBacklogs, delay).unref();
}
setTimeout(pollBacklogs, ROOM_BACKLOG_POLL_MS).unref();

const progress = setInterval(() => {
  const pairs: [number, number, number][] = [];
  for (const [id, r] of relays) {
    const last = reported.get(id);
    if (last && last[0] === r.bytes01 && last[1] === r.bytes10) continue;
    reported.set(id, [r.bytes01, r.bytes10]);
    pairs.push([id, r.bytes01, r.bytes10]);
  }
  if (pairs.length > 0) send({ type: 'progress', pairs });
  const deltas: [number, number, number, number, number, number][] = [];
  for (const [id, r] of rooms) {
    const d = roomDelta(id, r);
    if (d) deltas.push(d);
  }
  if (deltas.length > 0) send({ type: 'room-progress', rooms: deltas });
}, PROGRESS_INTERVAL_MS);
progress.unref();

if (!process.send) {
  process.stderr.write('videochatd handler: must be started by videochatd (no IPC channel)\n');
  process.exit(2);
}
send({ type: 'ready' });
