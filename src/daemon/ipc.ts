/**
 * Messages between the daemon and its handler processes (IPC with 'advanced'
 * serialization, so Buffers travel as bytes). One socket handle per message: a pair
 * travels as two `side` messages, the first carrying the pair's metadata.
 */

/** Which of the two listening ports a pair came from. */
export type Channel = 'video' | 'audio';

/** Why a pair ended (docs/contract.md: a closed list). */
export type PairEndReason = 'happy' | 'errory' | 'handler-died' | 'shutdown';

/** Daemon -> handler: one socket of a pair, with the bytes already read past its handshake. */
export interface SideMessage {
  type: 'side';
  pairId: number;
  /** 0 = the client that waited, 1 = the client that completed the pair. */
  side: 0 | 1;
  rest: Uint8Array;
  /** `address:port` of the client as the acceptor saw it: the handler checks the handle it got is that one. */
  remote?: string;
}

/** Daemon -> handler: a pair whose second socket could not be sent; drop what arrived. */
export interface AbortMessage {
  type: 'abort';
  pairId: number;
}

/** Daemon -> handler: close every pair now (drain timeout reached). */
export interface CutMessage {
  type: 'cut';
}

/** Daemon -> handler: are you there? (answered with a pong carrying the same seq). */
export interface PingMessage {
  type: 'ping';
  seq: number;
}

/**
 * Daemon -> handler: a member of a room (its handshake carried a `vcroom1-` code), with the
 * bytes already read past its handshake. The handler keeps one Room per `roomId`.
 */
export interface MemberMessage {
  type: 'member';
  roomId: number;
  /** The daemon's id of this connection (not the member id the room gives it). */
  memberKey: number;
  rest: Uint8Array;
  /** `address:port` of the client as the acceptor saw it (checked like a pair's side). */
  remote?: string;
  /** --max-room-size. */
  maxMembers: number;
  /** How long the member has to send its HELLO (--handshake-timeout). */
  helloTimeoutMs: number;
}

export type ToHandler = SideMessage | AbortMessage | CutMessage | PingMessage | MemberMessage;

/** Handler -> daemon: ready to take pairs. */
export interface ReadyMessage {
  type: 'ready';
}

/** Handler -> daemon: both sockets arrived and relaying began. */
export interface PairStartedMessage {
  type: 'pair-started';
  pairId: number;
}

/** Handler -> daemon: a pair is over; bytes counted per direction. */
export interface PairEndedMessage {
  type: 'pair-ended';
  pairId: number;
  reason: PairEndReason;
  /** Bytes from side 0 to side 1 (including the bytes read past the handshake). */
  bytes01: number;
  bytes10: number;
  error?: string;
}

/** Handler -> daemon: cumulative bytes of pairs that moved bytes since the last report. */
export interface ProgressMessage {
  type: 'progress';
  /** [pairId, bytes01, bytes10] */
  pairs: [number, number, number][];
}

/** Handler -> daemon: the answer to a ping. */
export interface PongMessage {
  type: 'pong';
  seq: number;
}

/** Why a room member's connection ended (a closed list: metrics label `reason`). */
export type MemberEndReason =
  | 'left'
  | 'lost'
  | 'too-slow'
  | 'framing'
  | 'control-flood'
  | 'hello-timeout'
  | 'full'
  | 'shutdown'
  | 'handler-died'
  | 'errory';

export const MEMBER_END_REASONS: readonly MemberEndReason[] = ['left', 'lost', 'too-slow', 'framing', 'control-flood', 'hello-timeout', 'full', 'shutdown', 'handler-died', 'errory'];

/** Handler -> daemon: a member's socket arrived and its room took it. */
export interface MemberAdmittedMessage {
  type: 'member-admitted';
  roomId: number;
  memberKey: number;
}

/** Handler -> daemon: a member sent its HELLO and got its member id. */
export interface MemberJoinedMessage {
  type: 'member-joined';
  roomId: number;
  memberKey: number;
  memberId: number;
}

/** Handler -> daemon: a member's socket is closed. */
export interface MemberEndedMessage {
  type: 'member-ended';
  roomId: number;
  memberKey: number;
  reason: MemberEndReason;
  memberId: number | null;
}

/**
 * Handler -> daemon: what its rooms did since the last report (deltas):
 * [roomId, envelopesIn, bytesIn, envelopesOut, misrouted, droppedForReceivers].
 */
export interface RoomProgressMessage {
  type: 'room-progress';
  rooms: [number, number, number, number, number, number][];
}

export type RoomMessage = MemberAdmittedMessage | MemberJoinedMessage | MemberEndedMessage | RoomProgressMessage;

export type FromHandler = ReadyMessage | PairStartedMessage | PairEndedMessage | ProgressMessage | PongMessage | RoomMessage;

/** How often the daemon pings each handler. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** A handler silent this long gets no new pairs (until it answers again). */
export const HEARTBEAT_STALL_MS = 3000;
/** A handler silent this long is killed (SIGKILL) and, in the pool, replaced. */
export const HEARTBEAT_KILL_MS = 20_000;

/** How often a handler reports bytes moved (for metrics and handler-died usage lines). */
export const PROGRESS_INTERVAL_MS = 1000;
