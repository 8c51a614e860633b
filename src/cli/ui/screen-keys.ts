/**
 * What the one-to-one call screen and the group call grid share about the user's keys: the
 * actions the keys dispatch, the reducer over the part of the view state they change, and
 * the key handler that applies them to the session's controls.
 */
import type { RenderMode } from '../../codec/render/types.js';
import type { KeyAction } from './keys.js';

/** The view state the keys change (both screens' states have these fields). */
export interface ScreenKeyState {
  notice: { code: string; message: string } | null;
  muted: boolean;
  cameraOff: boolean;
  renderMode: RenderMode;
  selfView: boolean;
  help: boolean;
}

export type ScreenKeyAction =
  | { type: 'muted'; muted: boolean }
  | { type: 'camera-off'; off: boolean }
  | { type: 'render-mode'; mode: RenderMode }
  | { type: 'toggle-self-view' }
  | { type: 'toggle-help' }
  | { type: 'close-help' }
  | { type: 'dismiss-notice' };

const SCREEN_KEY_ACTIONS: ReadonlySet<string> = new Set<ScreenKeyAction['type']>([
  'muted', 'camera-off', 'render-mode', 'toggle-self-view', 'toggle-help', 'close-help', 'dismiss-notice',
]);

export function isScreenKeyAction(action: { type: string }): action is ScreenKeyAction {
  return SCREEN_KEY_ACTIONS.has(action.type);
}

export function screenKeyReducer<S extends ScreenKeyState>(state: S, action: ScreenKeyAction): S {
  switch (action.type) {
    case 'muted':
      return { ...state, muted: action.muted };
    case 'camera-off':
      return { ...state, cameraOff: action.off };
    case 'render-mode':
      return { ...state, renderMode: action.mode };
    case 'toggle-self-view':
      return { ...state, selfView: !state.selfView };
    case 'toggle-help':
      return { ...state, help: !state.help };
    case 'close-help':
      return { ...state, help: false };
    case 'dismiss-notice':
      return { ...state, notice: null };
  }
}

/** The controls the keys call (a call session and a room session both have them). */
export interface ScreenKeyControls {
  readonly muted: boolean;
  readonly cameraOff: boolean;
  setMuted(muted: boolean): void;
  setCameraOff(off: boolean): void;
}

/** Applies a key action: to the session's controls and to the screen's state. */
export function handleScreenKey(
  action: KeyAction,
  state: { renderMode: RenderMode },
  dispatch: (a: ScreenKeyAction) => void,
  controls: ScreenKeyControls,
  modes: readonly RenderMode[],
  onHangup: () => void,
): void {
  switch (action) {
    case 'hangup':
      onHangup();
      return;
    // Toggled from the session's own state, not the rendered one: a key that comes before
    // React has re-rendered after the previous press (a loaded machine) reaches a handler
    // holding the old state, and toggled the camera off a second time instead of on.
    case 'toggle-mute': {
      const muted = !controls.muted;
      controls.setMuted(muted);
      dispatch({ type: 'muted', muted });
      return;
    }
    case 'toggle-camera': {
      const off = !controls.cameraOff;
      controls.setCameraOff(off);
      dispatch({ type: 'camera-off', off });
      return;
    }
    case 'cycle-render': {
      if (modes.length === 0) return;
      const index = modes.indexOf(state.renderMode);
      dispatch({ type: 'render-mode', mode: modes[(index + 1) % modes.length] });
      return;
    }
    case 'toggle-self-view':
      dispatch({ type: 'toggle-self-view' });
      return;
    case 'toggle-help':
      dispatch({ type: 'toggle-help' });
      return;
    case 'close-help':
      dispatch({ type: 'close-help' });
      return;
  }
}

/** What both call screens are given besides their session and painter. */
export interface ScreenCommonProps {
  /** The modes `r` cycles through, in order; the first is used when `initialMode` is not among them. */
  modes: readonly RenderMode[];
  initialMode: RenderMode;
  /** The user asked to hang up (q, Ctrl-C). */
  onHangup: () => void;
  /** The call runs with --insecure (by choice: no "encryption pending"). */
  insecure?: boolean;
}

/** The start of a screen's state, from the session's controls and the screen's props. */
export function initialScreenView(
  controls: ScreenKeyControls & { readonly session: string; readonly encrypted?: boolean; readonly noCamera?: boolean; readonly noMic?: boolean },
  props: Pick<ScreenCommonProps, 'initialMode' | 'insecure'>,
) {
  return {
    session: controls.session,
    muted: controls.muted,
    cameraOff: controls.cameraOff,
    encrypted: controls.encrypted === true,
    renderMode: props.initialMode,
    noCamera: controls.noCamera === true,
    noMic: controls.noMic === true,
    insecure: props.insecure === true,
  };
}
