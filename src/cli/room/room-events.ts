/**
 * The typed events a room session (a group call, `videochat connect --room`) emits. The grid
 * TUI and the NDJSON writer subscribe to these; neither touches a socket. Names and fields
 * are the contract of docs/contract.md (room events): add, never rename. The events a room
 * shares with a one-to-one call (connecting, waiting, warning, stats, ended) keep their
 * one-to-one fields; a room adds `members`.
 */
import type { CallStats, EndReason, SessionEvents } from '../session/events.js';

/** What a member told us about itself (its SETUP, sent over the pairwise channel). */
export interface MemberInfo {
  /** Client name and version, e.g. "videochat". */
  client?: string;
  clientVersion?: string;
  /** The name the member gave itself (`--name`, else the user name); may be absent. */
  name?: string;
  /** What it sends: null when it sends no video (or no audio). */
  video?: { codec: string; width: number; height: number; fps: number } | null;
  audio?: { codec: string; sampleRate: number; channels: number; frameMs: number } | null;
  [key: string]: unknown;
}

/** Per-member figures, in `stats` and `ended`. */
export interface MemberStats {
  /** The member's id in this room (its relay id on the video connection). */
  id: number;
  name?: string;
  videoFramesReceived: number;
  audioMsReceived: number;
  /** One-way delay of its media to us (its capture to our arrival, clock offset corrected by PING/PONG), ms; null while not known. */
  latencyMs: number | null;
  /** Round trip to it (PING/PONG over the relay), ms; null before the first PONG. */
  rttMs?: number | null;
  /** It is still in the room (false: it left; kept for `ended`). */
  present?: boolean;
  /** Nothing from it for --peer-timeout (see `member-state`). */
  stalled?: boolean;
}

/** `stats` of a room: the call's totals plus one entry per member seen. */
export type RoomStats = CallStats & { members: MemberStats[] };

/** How a member left. */
export type MemberLeftReason = 'left' | 'lost' | 'too-slow' | 'refused';

/** Why a room session ended: a call's reasons, `room-full` among them. */
export type RoomEndReason = EndReason;

export interface RoomSessionEvents {
  connecting: SessionEvents['connecting'];
  /** We are in the room (or at the relay), no other member yet. */
  waiting: [{ session: string; memberId?: number; maxMembers?: number }];
  /** A member proved the code on both connections and said who it is. */
  'member-joined': [{ memberId: number; member: MemberInfo }];
  /** A member is gone (or refused after it joined: a wrong code). */
  'member-left': [{ memberId: number; reason: MemberLeftReason }];
  /** A decoded frame of one member, RGB24 at the size asked for (setVideoSize). */
  'member-frame': [{ memberId: number; width: number; height: number; data: Uint8Array }];
  /** Our own captured frame, decoded for the self-view (only when asked for). */
  'self-frame': [{ width: number; height: number; data: Uint8Array }];
  /** A member's audio level (0..1, peak of the last ~100 ms) and whether it is speaking; for the active-speaker highlight. */
  'member-level': [{ memberId: number; level: number; speaking: boolean }];
  /**
   * A member's mute / camera state as it signalled it (emitted when it changes). `stalled`:
   * nothing at all from it for --peer-timeout (frozen, or its path stopped; the relay still
   * counts it in), false again once it is heard.
   */
  'member-state': [{ memberId: number; muted: boolean; cameraOff: boolean; stalled: boolean }];
  /**
   * A room connection dropped without our hang-up: rejoin attempt `attempt` (1, 2, ... per
   * interruption) is being made; `giveUpAtMs`: when (ms since the epoch) the session ends with
   * reconnect-failed if the relay stays away. As a call's.
   */
  reconnecting: SessionEvents['reconnecting'];
  /** Back in the room (new member id: `waiting` follows); `downMs` since the drop. */
  reconnected: [{ downMs: number }];
  stats: [RoomStats];
  warning: [{ code: string; message: string }];
  /** The relay knows no rooms: the session goes on as a one-to-one call (CallSession events from here). */
  'fallback-one-to-one': [{ why: string }];
  ended: [{ reason: RoomEndReason; exitCode: number; message?: string } & RoomStats];
}

/** What the UI may do to a room session. */
export interface RoomControls {
  hangup(why?: string): void;
  setMuted(muted: boolean): void;
  setCameraOff(off: boolean): void;
  setSelfView(on: boolean): void;
  /** The size every member's frames are decoded to (the grid cell). */
  setVideoSize(width: number, height: number): void;
}
