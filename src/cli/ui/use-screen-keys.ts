import { useCallback } from 'react';
import type { RenderMode } from '../../codec/render/types.js';
import type { KeyAction } from './keys.js';
import { useKeyBindings } from './use-key-bindings.js';
import { useAutoDismiss } from './use-auto-dismiss.js';
import { handleScreenKey, type ScreenKeyAction, type ScreenKeyControls, type ScreenKeyState } from './screen-keys.js';

/** How long a warning stays in the notice row. */
export const NOTICE_VISIBLE_MS = 6000;

/**
 * The keys of a call screen (one-to-one or grid) and the notice row's timeout: key actions
 * go to the session's controls and the screen's state; a notice goes after NOTICE_VISIBLE_MS.
 */
export function useScreenKeys(
  state: ScreenKeyState,
  dispatch: (a: ScreenKeyAction) => void,
  controls: ScreenKeyControls,
  modes: readonly RenderMode[],
  onHangup: () => void,
): void {
  const onAction = useCallback(
    (action: KeyAction) => handleScreenKey(action, state, dispatch, controls, modes, onHangup),
    [state, dispatch, controls, modes, onHangup],
  );
  useKeyBindings(onAction);
  useAutoDismiss(state.notice, NOTICE_VISIBLE_MS, useCallback(() => dispatch({ type: 'dismiss-notice' }), [dispatch]));
}
