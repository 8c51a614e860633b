/**
 * The room side of routing (docs/rooms.md): a connection whose handshake carries a `vcroom1-`
 * code skips the waiting room. Its code is checked, it is counted against --max-pairs and its
 * address's pending handshakes (its HELLO is still to come), and it is handed to its room's
 * handler through `placement.rooms`, never waiting in the acceptor.
 */
import type { Socket } from 'node:net';
import type { HandshakeResult } from '../codec/handshake.js';
import { ROOM_CODE_PREFIX } from '../codec/room/constants.js';
import { remoteOf, type Admission, type Ticket } from './admission.js';
import type { Channel } from './ipc.js';
import type { SessionHasher } from './logger.js';
import type { Placement } from './placement.js';
import type { Telemetry } from './telemetry.js';

const ROOM_PREFIX_BYTES = Buffer.from(ROOM_CODE_PREFIX, 'ascii');
/** A room code: the prefix, then a rendezvous id (64 lower-case hex characters). */
const ROOM_CODE_RE = /^[0-9a-f]{64}$/;

/** 'room': a well-formed room code; 'bad': the reserved prefix with anything else; null: not a room code. */
export function roomCodeKind(code: Buffer): 'room' | 'bad' | null {
  if (code.length < ROOM_PREFIX_BYTES.length || !code.subarray(0, ROOM_PREFIX_BYTES.length).equals(ROOM_PREFIX_BYTES)) return null;
  return ROOM_CODE_RE.test(code.subarray(ROOM_PREFIX_BYTES.length).toString('latin1')) ? 'room' : 'bad';
}

export interface RoomRoutingOptions {
  maxPairs: number;
  maxRoomSize: number;
  handshakeTimeoutMs: number;
}

/** What the router works with: the daemon's other rooms, and whether it is shutting down. */
export interface RoomRoutingParts {
  admission: Admission;
  placement: Placement;
  telemetry: Telemetry;
  hasher: SessionHasher;
  stopping: () => boolean;
}

/** Routes `vcroom1-` connections to their rooms; everything else is left to the waiting room. */
export class RoomRouter {
  private readonly opts: RoomRoutingOptions;
  private readonly parts: RoomRoutingParts;
  private nextMemberKey = 1;

  constructor(opts: RoomRoutingOptions, parts: RoomRoutingParts) {
    this.opts = opts;
    this.parts = parts;
    parts.placement.rooms.settings = { maxMembers: opts.maxRoomSize, helloTimeoutMs: opts.handshakeTimeoutMs };
    // A member's HELLO arrived: its handshake is complete.
    parts.placement.on('member-joined', (_room, m) => m.member.ticket.handshakeDone());
  }

  /**
   * Takes a connection whose handshake was read if its code has the room prefix (a malformed
   * room code is turned away). False when it is not a room code: it goes to the waiting room.
   */
  route(channel: Channel, socket: Socket, hs: HandshakeResult, ticket: Ticket): boolean {
    const kind = roomCodeKind(hs.code);
    if (kind === null) return false;
    if (kind === 'bad') this.parts.admission.reject(channel, socket, 'E_HANDSHAKE_ROOM_CODE');
    else this.join(channel, socket, hs, ticket);
    return true;
  }

  /**
   * The member goes to its room (one per code and port) in a handler process. It counts as
   * half a pair against --max-pairs and holds its place in its address's limits until its
   * connection ends.
   */
  private join(channel: Channel, socket: Socket, hs: HandshakeResult, ticket: Ticket): void {
    const { admission, placement } = this.parts;
    // Hold what it sends in the socket (then the kernel) until the handler takes it.
    socket.pause();
    if (this.parts.stopping()) return void socket.destroy();
    const session = this.parts.hasher.hash(hs.code);
    const roomKey = `${channel}:${hs.code.toString('latin1')}`;
    if (placement.loadWith(0, 1) > this.opts.maxPairs) return admission.reject(channel, socket, 'E_TOO_MANY_PAIRS');
    const refusal = placement.rooms.refusal(roomKey, session);
    if (refusal) {
      this.parts.telemetry.fdExhausted('handler');
      return admission.reject(channel, socket, refusal);
    }
    const pending = admission.holdHello(ticket);
    if (pending) return admission.reject(channel, socket, pending);
    placement.rooms.place({ memberKey: this.nextMemberKey++, channel, session, roomKey, socket, rest: hs.rest, ticket, remote: remoteOf(socket), since: Date.now() });
  }
}
