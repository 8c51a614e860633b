/**
 * The typed events a call session emits. The Ink UI and the NDJSON writer subscribe to
 * these; neither touches a socket. Names and fields are the contract of
 * docs/contract.md: add, never rename.
 */

/** Every stats field of the contract; `null` while not known yet. */
export interface CallStats {
  videoFramesSent: number;
  videoFramesReceived: number;
  videoFramesDropped: number;
  videoFpsIn: number;
  videoFpsOut: number;
  audioMsSent: number;
  audioMsReceived: number;
  audioBufferMs: number;
  audioUnderruns: number;
  bytesSent: number;
  bytesReceived: number;
  rttMs: number | null;
  latencyMs: number | null;
  encrypted: boolean;
  /** Sealed records rejected as altered or replayed (added to the contract's fields). */
  recordsRejected?: number;
}

export type EndReason =
  | 'hangup'
  | 'usage'
  | 'relay-unreachable'
  | 'no-peer'
  | 'peer-lost'
  | 'protocol'
  | 'media'
  | 'key-confirmation'
  | 'reconnect-failed'
  /** `--room` only: the room was full (src/cli/room). */
  | 'room-full';

/** Exit status for each `ended.reason`: the table is in src/cli/exit-codes.ts. */
export { EXIT_CODES } from '../exit-codes.js';

/** What the peer told us about itself in its HELLO / setup messages. */
export interface PeerInfo {
  client?: string;
  version?: number;
  [key: string]: unknown;
}

/** The peer's media state as it signalled it. */
export interface PeerState {
  muted: boolean;
  cameraOff: boolean;
  /** The peer has no camera at all (added to the contract's fields). */
  noCamera?: boolean;
  /** The peer has no microphone at all. */
  noMic?: boolean;
}

export interface SessionEvents {
  /** echoCanceller: the canceller's name when one will run, else null (and echoWhyNot says why). Optional for sessions without one. */
  connecting: [{ host: string; videoPort: number; audioPort: number; echoCanceller?: string | null; echoWhyNot?: string }];
  waiting: [{ session: string }];
  'peer-joined': [{ peer: PeerInfo }];
  stats: [CallStats];
  warning: [{ code: string; message: string }];
  'peer-left': [{ reason: 'bye' | 'lost' }];
  'peer-state': [PeerState];
  /**
   * One reconnect attempt is being made (1, 2, ...; counted per interruption). `giveUpAtMs`:
   * when (ms since the epoch) the call ends with reconnect-failed if the relay stays away.
   */
  reconnecting: [{ attempt: number; giveUpAtMs?: number }];
  /**
   * The call is back: the peer's SETUP arrived on fresh channels (`peer` is what it said), or,
   * when no peer had joined yet, we are back at the relay waiting. `downMs`: how long it was out.
   */
  reconnected: [{ downMs: number; peer?: PeerInfo }];
  /** A decoded peer video frame, RGB24 at the size the renderer asked for. */
  'video-frame': [{ width: number; height: number; data: Uint8Array }];
  /** Our own captured frame, decoded for the self-view (only when asked for). */
  'self-frame': [{ width: number; height: number; data: Uint8Array }];
  ended: [{ reason: EndReason; exitCode: number; message?: string } & CallStats];
}
