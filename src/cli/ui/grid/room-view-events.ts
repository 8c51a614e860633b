/**
 * What the grid screen needs from a room session: the events it listens to and the controls
 * it calls. Structural on purpose: the room session (`videochat connect --room`) is built
 * apart from the grid, and any EventEmitter that emits these shapes drives the grid. The
 * field names follow the contract additions of issue 17 (`member-joined` / `member-left`
 * with a member id, a `members` array in `stats`).
 */
import type { EventEmitter } from 'node:events';
import type { CallStats } from '../../session/events.js';

/** A member's id in the room (the relay's u16). */
export type MemberId = number | string;

/** What a member said about itself (its setup), as far as the grid shows it. */
export interface RoomMemberInfo {
  name?: string;
  muted?: boolean;
  cameraOff?: boolean;
  noCamera?: boolean;
  noMic?: boolean;
  [key: string]: unknown;
}

/** One member's numbers in `stats`. */
export interface RoomMemberStats {
  id: MemberId;
  name?: string;
  videoFramesReceived: number;
  audioMsReceived: number;
  latencyMs: number | null;
}

export interface RoomFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The events, as argument tuples (EventEmitter<T> style). */
export interface RoomViewEvents {
  connecting: [{ host: string; videoPort: number; audioPort: number } | undefined];
  waiting: [{ session: string }];
  'member-joined': [{ memberId: MemberId; member: RoomMemberInfo }];
  /** reason: 'left', 'lost', 'too-slow', 'refused'. */
  'member-left': [{ memberId: MemberId; reason: string }];
  /** A member's media state changed (mute, camera), when the session signals it. */
  'member-state': [{ memberId: MemberId; muted?: boolean; cameraOff?: boolean; noCamera?: boolean; noMic?: boolean }];
  'member-frame': [{ memberId: MemberId } & RoomFrame];
  'self-frame': [RoomFrame];
  /** Audio level 0..1 of a member's decoded audio and whether it counts as speech. */
  'member-level': [{ memberId: MemberId; level: number; speaking: boolean }];
  stats: [Partial<CallStats> & { members?: RoomMemberStats[] }];
  warning: [{ code: string; message: string }];
  ended: [{ reason: string; exitCode: number; message?: string }];
}

/**
 * Anything with `on` / `off`: an EventEmitter of any event map satisfies it, so the real
 * session's typed emitter is accepted as it is.
 */
export interface RoomEventSource {
  // Listeners take the payloads of RoomViewEvents; EventEmitter's own overloads are not
  // assignable between different event maps, hence the loose signature here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** What the grid may ask of the room session. */
export interface RoomControls {
  readonly session: string;
  readonly muted: boolean;
  readonly cameraOff: boolean;
  readonly noCamera?: boolean;
  readonly noMic?: boolean;
  readonly encrypted?: boolean;
  hangup(): void;
  setMuted(muted: boolean): void;
  setCameraOff(off: boolean): void;
  /** The pixel size every member's video decoder should output (all tiles are one size). */
  setVideoSize?(width: number, height: number): void;
  /** Ask the members for keyframes (after the tile size changed). */
  requestKeyframe?(): void;
  /** Start or stop decoding our own camera for the self-view tile. */
  setSelfView?(on: boolean): void;
}

/** Subscribe typed handlers to a loose source; returns the unsubscribe. */
export function subscribeRoom(source: RoomEventSource, handlers: { [K in keyof RoomViewEvents]?: (...args: RoomViewEvents[K]) => void }): () => void {
  const entries = Object.entries(handlers) as Array<[string, (...args: unknown[]) => void]>;
  for (const [event, handler] of entries) source.on(event, handler);
  return () => {
    for (const [event, handler] of entries) source.off(event, handler);
  };
}

/** A typed emitter of the grid's events (the fake session in tests extends it). */
export type RoomViewEmitter = EventEmitter<RoomViewEvents>;
