import { useInput } from 'ink';
import { actionForKey, type KeyAction } from './keys.js';

/** Turns key presses into actions through the one table in keys.ts. */
export function useKeyBindings(onAction: (action: KeyAction) => void, isActive = true): void {
  useInput(
    (input, key) => {
      const action = actionForKey(input, key);
      if (action) onAction(action);
    },
    { isActive },
  );
}
