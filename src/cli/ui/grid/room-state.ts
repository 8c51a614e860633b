/**
 * What the group call screen shows around the grid, as a pure reducer over the room
 * session's events and the user's keys. Frames, levels and per-tile labels are not here:
 * they go to the GridPainter directly (an Ink render costs tens of ms; levels come many
 * times a second).
 */
import type { RenderMode } from '../../../codec/render/types.js';
import { isScreenKeyAction, screenKeyReducer, type ScreenKeyAction } from '../screen-keys.js';
import type { MemberId, RoomViewEvents } from './room-view-events.js';

export type RoomPhase = 'connecting' | 'waiting' | 'in-room' | 'ended';

export type RoomStats = RoomViewEvents['stats'][0];

export interface RoomViewState {
  phase: RoomPhase;
  session: string;
  /** Members present, in join order. */
  members: MemberId[];
  /** Names members gave, by String(id) (for the notice when one leaves). */
  names: Record<string, string>;
  stats: RoomStats | null;
  notice: { code: string; message: string } | null;
  muted: boolean;
  cameraOff: boolean;
  noCamera: boolean;
  noMic: boolean;
  encrypted: boolean;
  insecure: boolean;
  renderMode: RenderMode;
  selfView: boolean;
  help: boolean;
  ended: { reason: string; exitCode: number; message?: string } | null;
}

export type RoomAction =
  | { type: 'connecting' }
  | { type: 'waiting'; session: string }
  | { type: 'member-joined'; id: MemberId; name?: string }
  | { type: 'member-left'; id: MemberId; reason: string }
  | { type: 'stats'; stats: RoomStats }
  | { type: 'warning'; code: string; message: string }
  | { type: 'ended'; reason: string; exitCode: number; message?: string }
  | ScreenKeyAction;

export interface InitialRoomView {
  session: string;
  muted: boolean;
  cameraOff: boolean;
  encrypted?: boolean;
  noCamera?: boolean;
  noMic?: boolean;
  insecure?: boolean;
  renderMode: RenderMode;
}

export function initialRoomView(init: InitialRoomView): RoomViewState {
  return {
    phase: 'connecting',
    session: init.session,
    members: [],
    names: {},
    stats: null,
    notice: null,
    muted: init.muted,
    cameraOff: init.cameraOff,
    noCamera: init.noCamera ?? false,
    noMic: init.noMic ?? false,
    encrypted: init.encrypted ?? false,
    insecure: init.insecure ?? false,
    renderMode: init.renderMode,
    selfView: true,
    help: false,
    ended: null,
  };
}

/** How a member's leaving is said in the notice row. */
function leftNotice(name: string, reason: string): string {
  if (reason === 'lost' || reason === '1') return `${name}'s connection was lost`;
  if (reason === 'too-slow' || reason === 'slow' || reason === '2') return `${name} was too slow for the relay and was cut off`;
  return `${name} left`;
}

export function roomReducer(state: RoomViewState, action: RoomAction): RoomViewState {
  if (isScreenKeyAction(action)) return screenKeyReducer(state, action);
  switch (action.type) {
    case 'connecting':
      return state.phase === 'ended' ? state : { ...state, phase: 'connecting' };
    case 'waiting':
      return state.phase === 'ended' ? state : { ...state, phase: state.members.length > 0 ? 'in-room' : 'waiting', session: action.session };
    case 'member-joined':
      if (state.members.includes(action.id) || state.phase === 'ended') return state;
      return {
        ...state,
        phase: 'in-room',
        members: [...state.members, action.id],
        names: action.name ? { ...state.names, [String(action.id)]: action.name } : state.names,
      };
    case 'member-left': {
      if (!state.members.includes(action.id)) return state;
      const members = state.members.filter((id) => id !== action.id);
      const name = state.names[String(action.id)] ?? `member ${String(action.id)}`;
      return {
        ...state,
        members,
        phase: state.phase === 'ended' ? 'ended' : members.length > 0 ? 'in-room' : 'waiting',
        notice: { code: 'member-left', message: leftNotice(name, action.reason) },
      };
    }
    case 'stats':
      return { ...state, stats: action.stats, encrypted: action.stats.encrypted ?? state.encrypted };
    case 'warning':
      return { ...state, notice: { code: action.code, message: action.message } };
    case 'ended':
      return { ...state, phase: 'ended', help: false, ended: { reason: action.reason, exitCode: action.exitCode, ...(action.message ? { message: action.message } : {}) } };
  }
}
