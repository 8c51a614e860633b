/**
 * Every key binding of the call screen, in one table. The input hook dispatches through it
 * and the help overlay is generated from it, so the two cannot disagree.
 */

/** What a key does. */
export type KeyAction =
  | 'hangup'
  | 'toggle-mute'
  | 'toggle-camera'
  | 'cycle-render'
  | 'toggle-self-view'
  | 'toggle-help'
  | 'close-help';

/** The parts of Ink's key object a binding looks at. */
export interface KeyModifiers {
  ctrl?: boolean;
  escape?: boolean;
}

export interface KeyBinding {
  /** How the key is shown in the help overlay. */
  label: string;
  action: KeyAction;
  /** One line of help. */
  help: string;
  matches(input: string, key: KeyModifiers): boolean;
}

const plain = (ch: string) => (input: string, key: KeyModifiers) => !key.ctrl && input === ch;

export const KEY_BINDINGS: readonly KeyBinding[] = [
  { label: 'q', action: 'hangup', help: 'hang up', matches: plain('q') },
  // In raw mode the terminal sends Ctrl-C to us as a key, not as SIGINT.
  { label: 'Ctrl-C', action: 'hangup', help: 'hang up', matches: (input, key) => key.ctrl === true && input === 'c' },
  { label: 'm', action: 'toggle-mute', help: 'mute / unmute the microphone (the peer is told)', matches: plain('m') },
  { label: 'v', action: 'toggle-camera', help: 'camera off / on (the peer is told)', matches: plain('v') },
  { label: 'r', action: 'cycle-render', help: 'next render mode', matches: plain('r') },
  { label: 'p', action: 'toggle-self-view', help: 'show / hide the self-view', matches: plain('p') },
  { label: '?', action: 'toggle-help', help: 'this help', matches: plain('?') },
  { label: 'Esc', action: 'close-help', help: 'close this help', matches: (_input, key) => key.escape === true },
];

/** The action bound to a key press, if any. */
export function actionForKey(input: string, key: KeyModifiers): KeyAction | undefined {
  return KEY_BINDINGS.find((binding) => binding.matches(input, key))?.action;
}
