/**
 * Every key binding, in one file: the call screen's table (the input hook dispatches through
 * it and the help overlay is generated from it, so the two cannot disagree) and `play`'s.
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

export interface KeyBinding<A extends string = KeyAction> {
  /** How the key is shown in the help overlay. */
  label: string;
  action: A;
  /** One line of help. */
  help: string;
  matches(input: string, key: KeyModifiers): boolean;
}

const plain = (ch: string) => (input: string, key: KeyModifiers) => !key.ctrl && input === ch;
// In raw mode the terminal sends Ctrl-C to us as a key, not as SIGINT.
const ctrlC = (input: string, key: KeyModifiers): boolean => key.ctrl === true && input === 'c';

export const KEY_BINDINGS: readonly KeyBinding[] = [
  { label: 'q', action: 'hangup', help: 'hang up', matches: plain('q') },
  { label: 'Ctrl-C', action: 'hangup', help: 'hang up', matches: ctrlC },
  { label: 'm', action: 'toggle-mute', help: 'mute / unmute the microphone (the peer is told)', matches: plain('m') },
  { label: 'v', action: 'toggle-camera', help: 'camera off / on (the peer is told)', matches: plain('v') },
  { label: 'r', action: 'cycle-render', help: 'next render mode', matches: plain('r') },
  { label: 'p', action: 'toggle-self-view', help: 'show / hide the self-view', matches: plain('p') },
  { label: '?', action: 'toggle-help', help: 'this help', matches: plain('?') },
  { label: 'Esc', action: 'close-help', help: 'close this help', matches: (_input, key) => key.escape === true },
];

/** What a key does while `play` shows a file. */
export type PlayKeyAction = 'stop';

/** The keys of `play`: all of them stop it (exit 0). */
export const PLAY_KEY_BINDINGS: readonly KeyBinding<PlayKeyAction>[] = [
  { label: 'q', action: 'stop', help: 'stop', matches: (input, key) => !key.ctrl && (input === 'q' || input === 'Q') },
  { label: 'Ctrl-C', action: 'stop', help: 'stop', matches: ctrlC },
  { label: 'Esc', action: 'stop', help: 'stop', matches: (_input, key) => key.escape === true },
];

/** The action bound to a key press in `bindings`, if any. */
export function findAction<A extends string>(bindings: readonly KeyBinding<A>[], input: string, key: KeyModifiers): A | undefined {
  return bindings.find((binding) => binding.matches(input, key))?.action;
}

/** The call screen's action for a key press, if any. */
export function actionForKey(input: string, key: KeyModifiers): KeyAction | undefined {
  return findAction(KEY_BINDINGS, input, key);
}

/**
 * One read of a raw-mode stdin as the key Ink would have made of it: a control byte is its
 * letter with `ctrl`, a lone ESC is `escape`. (The call screen gets its keys from Ink.)
 */
export function keyFromRaw(data: string): { input: string; key: KeyModifiers } {
  if (data === '\x1b') return { input: '', key: { escape: true } };
  const code = data.length === 1 ? data.charCodeAt(0) : -1;
  if (code >= 1 && code <= 26) return { input: String.fromCharCode(code + 96), key: { ctrl: true } };
  return { input: data, key: {} };
}
