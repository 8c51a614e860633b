import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import type { CallViewState } from './call-state.js';
import { secondsUntil } from './format.js';

/** How often the give-up countdown is redrawn. */
const COUNTDOWN_TICK_MS = 1000;

/**
 * While reconnecting: what was lost (the relay, or the connection to the peer, which look
 * alike from here), the attempt, and how long until the call gives up (exit 9).
 */
export function ReconnectingMessage({ state, width, height }: { state: CallViewState; width: number; height: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), COUNTDOWN_TICK_MS);
    return () => clearInterval(timer);
  }, []);
  const r = state.relay;
  const where = r ? ` at ${r.host}` : '';
  const what = state.peer
    ? `The connection dropped (the relay${where} or the peer went away).`
    : `Lost the connection to the relay${where}.`;
  const until = state.reconnectGiveUpAtMs === null ? '' : `; giving up in ${secondsUntil(state.reconnectGiveUpAtMs, now)} s`;
  return (
    <Box width={width} height={height} flexDirection="column" alignItems="center" justifyContent="center">
      <Text dimColor>{what}</Text>
      <Text dimColor>{`Reconnecting (attempt ${state.reconnectAttempt})${until}…`}</Text>
    </Box>
  );
}
