/**
 * What the call screen shows, as a pure reducer over the session's typed events and the
 * user's key actions. Kept apart from React so it is tested as plain data.
 */
import type { CallStats, EndReason, PeerInfo, PeerState } from '../session/events.js';
import { NO_CAMERA_WARNINGS, NO_MIC_WARNINGS } from '../session/local-media.js';
import type { RenderMode } from '../../codec/render/types.js';
import { isScreenKeyAction, screenKeyReducer, type ScreenKeyAction } from './screen-keys.js';

export type CallPhase = 'connecting' | 'waiting' | 'in-call' | 'peer-left' | 'reconnecting' | 'ended';

export interface CallViewState {
  phase: CallPhase;
  session: string;
  peer: PeerInfo | null;
  peerState: PeerState;
  stats: CallStats | null;
  /** Received / sent bitrate over the last stats interval, kbit/s. */
  kbpsIn: number | null;
  kbpsOut: number | null;
  /** When the last stats event came (ms), to turn byte counters into rates. */
  lastStatsAtMs: number | null;
  notice: { code: string; message: string } | null;
  muted: boolean;
  cameraOff: boolean;
  encrypted: boolean;
  renderMode: RenderMode;
  selfView: boolean;
  help: boolean;
  /** The one-time "use headphones" hint is on screen. */
  echoHint: boolean;
  /** The echo hint has been shown once already this call. */
  echoHintDone: boolean;
  peerLeftReason: 'bye' | 'lost' | null;
  reconnectAttempt: number;
  /** When the call gives up reconnecting (ms since the epoch), as the session said. */
  reconnectGiveUpAtMs: number | null;
  ended: { reason: EndReason; exitCode: number; message?: string } | null;
  /** The relay we connect to, from `connecting` (for the peer's command line on the waiting screen). */
  relay: RelayAddress | null;
  /** We have no camera / no microphone at all (none, missing or lost): shown as such, not "on". */
  noCamera: boolean;
  noMic: boolean;
  /** The user chose --insecure: "NOT encrypted" is the plan, not a pending key exchange. */
  insecure: boolean;
}

/** Where the relay is. */
export interface RelayAddress {
  host: string;
  videoPort: number;
  audioPort: number;
}

export type CallAction =
  | { type: 'connecting'; relay?: RelayAddress }
  | { type: 'waiting'; session: string }
  | { type: 'peer-joined'; peer: PeerInfo }
  | { type: 'peer-state'; state: PeerState }
  | { type: 'stats'; stats: CallStats; nowMs: number }
  | { type: 'warning'; code: string; message: string }
  | { type: 'peer-left'; reason: 'bye' | 'lost' }
  | { type: 'reconnecting'; attempt: number; giveUpAtMs?: number }
  | { type: 'reconnected'; peer?: PeerInfo }
  | { type: 'ended'; reason: EndReason; exitCode: number; message?: string }
  | ScreenKeyAction
  | { type: 'dismiss-echo-hint' };

export interface InitialCallView {
  session: string;
  muted: boolean;
  cameraOff: boolean;
  encrypted: boolean;
  renderMode: RenderMode;
  selfView?: boolean;
  /** Show the headphones hint when the peer joins (false when we send no audio). */
  echoHint?: boolean;
  noCamera?: boolean;
  noMic?: boolean;
  insecure?: boolean;
  /** The relay, when known before `connecting` (which may come before the screen listens). */
  relay?: RelayAddress;
}

export function initialCallView(init: InitialCallView): CallViewState {
  return {
    phase: 'connecting',
    session: init.session,
    peer: null,
    peerState: { muted: false, cameraOff: false },
    stats: null,
    kbpsIn: null,
    kbpsOut: null,
    lastStatsAtMs: null,
    notice: null,
    muted: init.muted,
    cameraOff: init.cameraOff,
    encrypted: init.encrypted,
    renderMode: init.renderMode,
    selfView: init.selfView ?? true,
    help: false,
    echoHint: false,
    echoHintDone: init.echoHint === false,
    peerLeftReason: null,
    reconnectAttempt: 0,
    reconnectGiveUpAtMs: null,
    ended: null,
    relay: init.relay ?? null,
    noCamera: init.noCamera ?? false,
    noMic: init.noMic ?? false,
    insecure: init.insecure ?? false,
  };
}

/** Our sound output is gone: nothing to echo, no headphones tip. */
const NO_SOUND_WARNINGS = new Set(['W_AUDIO_OUT']);

/** The peer has no camera: it said so in STATE, or its SETUP had no video. */
export function peerHasNoCamera(state: CallViewState): boolean {
  return state.peerState.noCamera === true || state.peer?.video === null;
}

/** The peer has no microphone: it said so in STATE, or its SETUP had no audio. */
export function peerHasNoMic(state: CallViewState): boolean {
  return state.peerState.noMic === true || state.peer?.audio === null;
}

const BITS_PER_BYTE = 8;

function kbps(bytesNow: number, bytesBefore: number, elapsedMs: number): number | null {
  if (elapsedMs <= 0 || bytesNow < bytesBefore) return null;
  return ((bytesNow - bytesBefore) * BITS_PER_BYTE) / elapsedMs; // bits per ms = kbit/s
}

export function callReducer(state: CallViewState, action: CallAction): CallViewState {
  if (isScreenKeyAction(action)) return screenKeyReducer(state, action);
  switch (action.type) {
    case 'connecting':
      return { ...state, phase: 'connecting', relay: action.relay ?? state.relay };
    case 'waiting':
      // After a lost peer we are waiting for that peer to come back: keep saying so.
      if (state.peer && state.peerLeftReason === 'lost') return { ...state, phase: 'peer-left', session: action.session || state.session };
      return { ...state, phase: 'waiting', session: action.session || state.session };
    case 'peer-joined':
      return {
        ...state,
        phase: 'in-call',
        peer: action.peer,
        peerLeftReason: null,
        echoHint: !state.echoHintDone,
        echoHintDone: true,
      };
    case 'peer-state':
      return { ...state, peerState: { ...action.state } };
    case 'stats': {
      const before = state.stats;
      const elapsed = state.lastStatsAtMs === null ? 0 : action.nowMs - state.lastStatsAtMs;
      return {
        ...state,
        stats: action.stats,
        encrypted: action.stats.encrypted,
        lastStatsAtMs: action.nowMs,
        kbpsIn: before ? kbps(action.stats.bytesReceived, before.bytesReceived, elapsed) : null,
        kbpsOut: before ? kbps(action.stats.bytesSent, before.bytesSent, elapsed) : null,
      };
    }
    case 'warning': {
      const next = { ...state, notice: { code: action.code, message: action.message } };
      if (NO_CAMERA_WARNINGS.has(action.code)) next.noCamera = true;
      if (NO_MIC_WARNINGS.has(action.code)) next.noMic = true;
      if (NO_MIC_WARNINGS.has(action.code) || NO_SOUND_WARNINGS.has(action.code)) {
        // No mic or no speaker: nothing of the peer's voice can come back to them.
        next.echoHint = false;
        next.echoHintDone = true;
      }
      return next;
    }
    case 'peer-left':
      return { ...state, phase: 'peer-left', peerLeftReason: action.reason };
    case 'reconnecting':
      return { ...state, phase: 'reconnecting', reconnectAttempt: action.attempt, reconnectGiveUpAtMs: action.giveUpAtMs ?? null };
    case 'reconnected':
      return action.peer
        ? { ...state, phase: 'in-call', peer: action.peer, peerLeftReason: null }
        : { ...state, phase: state.peer ? 'in-call' : 'waiting' };
    case 'ended':
      return { ...state, phase: 'ended', ended: { reason: action.reason, exitCode: action.exitCode, message: action.message } };
    case 'dismiss-echo-hint':
      return { ...state, echoHint: false };
  }
}

/** The peer picture is on screen (the painter may draw) in this state. */
export function videoIsLive(state: CallViewState): boolean {
  return state.phase === 'in-call' && !state.peerState.cameraOff && !peerHasNoCamera(state) && !state.help;
}

/** Assumed shape of the peer's picture until its HELLO says otherwise (the default 320x240). */
export const DEFAULT_PEER_PICTURE = { width: 4, height: 3 } as const;

function positive(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

/**
 * The peer's picture size, for the aspect ratio: `width`/`height` or a `size: "WxH"` in
 * what it told us (top level or under `video`), else 4:3.
 */
export function peerPictureSize(peer: PeerInfo | null): { width: number; height: number } {
  const places: unknown[] = [peer, peer?.video];
  for (const place of places) {
    if (!place || typeof place !== 'object') continue;
    const p = place as { width?: unknown; height?: unknown; size?: unknown };
    if (positive(p.width) && positive(p.height)) return { width: p.width, height: p.height };
    const m = typeof p.size === 'string' ? /^(\d+)x(\d+)$/.exec(p.size) : null;
    if (m && Number(m[1]) > 0 && Number(m[2]) > 0) return { width: Number(m[1]), height: Number(m[2]) };
  }
  return DEFAULT_PEER_PICTURE;
}
