import { Box, Text } from 'ink';
import { bigTextFitting } from './big-text.js';
import { useSpinner } from './use-spinner.js';

/**
 * Before the peer is there: a spinner and the session code, large enough to read out to
 * the other person.
 */
export function WaitingScreen({ session, connecting, width, height }: { session: string; connecting: boolean; width: number; height: number }) {
  const spinner = useSpinner();
  // Spinner line, blank, code, blank, hint: the code gets what is left.
  const big = bigTextFitting(session, width - 2, height - 4);
  return (
    <Box flexDirection="column" width={width} height={height} alignItems="center" justifyContent="center">
      <Text>
        <Text color="cyan">{spinner}</Text> {connecting ? 'Connecting to the relay…' : 'Waiting for the other person to join with session code'}
      </Text>
      <Text> </Text>
      {big ? (
        big.map((row, i) => (
          <Text key={i} color="white" bold>
            {row}
          </Text>
        ))
      ) : (
        <Text bold>{[...session].join(' ')}</Text>
      )}
      <Text> </Text>
      <Text dimColor>They run: videochat connect --session {session}</Text>
    </Box>
  );
}
