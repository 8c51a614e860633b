import { Box, Text } from 'ink';
import type { CallViewState } from './call-state.js';
import { describePeer, formatFps, formatKbps, formatMs } from './format.js';

const SEPARATOR = ' │ ';

/** Two rows at the bottom: who and how (line 1), the numbers (line 2). */
export function StatusBar({ state, width }: { state: CallViewState; width: number }) {
  const stats = state.stats;
  const peerColor = state.phase === 'in-call' ? (state.peerState.muted || state.peerState.cameraOff ? 'yellow' : 'green') : 'yellow';
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Text wrap="truncate-end">
        <Text bold> {state.session || '…'}</Text>
        {SEPARATOR}
        <Text color={peerColor}>{describePeer(state)}</Text>
        {SEPARATOR}
        {state.encrypted ? <Text color="green">encrypted</Text> : <Text color="red">NOT encrypted</Text>}
        {SEPARATOR}
        {state.renderMode}
        {SEPARATOR}
        {state.muted ? <Text color="red">mic muted</Text> : 'mic on'}
        {SEPARATOR}
        {state.cameraOff ? <Text color="red">camera off</Text> : 'camera on'}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {` in ${formatFps(stats?.videoFpsIn)} fps ${formatKbps(state.kbpsIn)}`}
        {SEPARATOR}
        {`out ${formatFps(stats?.videoFpsOut)} fps ${formatKbps(state.kbpsOut)}`}
        {SEPARATOR}
        {`rtt ${formatMs(stats?.rttMs)}`}
        {SEPARATOR}
        {`latency ${formatMs(stats?.latencyMs)}`}
        {SEPARATOR}
        {'? help'}
      </Text>
    </Box>
  );
}
