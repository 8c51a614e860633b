import { Text } from 'ink';
import type { CallViewState } from './call-state.js';

/** Said once per call when the peer joins: speakers feed the peer's voice back into our mic. */
export const ECHO_HINT =
  'Tip: use headphones. Without them your peer hears themselves through your microphone.';

/** The row above the status bar: the latest warning, else the headphones hint, else blank. */
export function NoticeLine({ state, width }: { state: CallViewState; width: number }) {
  if (state.notice) {
    return (
      <Text wrap="truncate-end" color="yellow">
        {` ! ${state.notice.message}`.slice(0, Math.max(0, width))}
      </Text>
    );
  }
  if (state.echoHint) {
    return (
      <Text wrap="truncate-end" color="cyan">
        {` ${ECHO_HINT}`.slice(0, Math.max(0, width))}
      </Text>
    );
  }
  return <Text> </Text>;
}
