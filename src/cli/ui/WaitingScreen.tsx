import { Box, Text } from 'ink';
import { bigTextFitting } from './big-text.js';
import { useSpinner } from './use-spinner.js';

const LEAD = 'They run: ';

/**
 * Before the peer is there: a spinner, the session code large enough to read out to the
 * other person, and the whole command they run to reach this relay (on its own row when
 * "They run:" and the command do not fit on one; wrapped when even the command does not).
 */
export function WaitingScreen({ session, command, connecting, width, height, waitingText }: {
  session: string; command: string; connecting: boolean; width: number; height: number;
  /** What we wait for (default: the other person of a one-to-one call). */
  waitingText?: string;
}) {
  const spinner = useSpinner();
  const oneLine = LEAD.length + command.length <= width - 2;
  const commandRows = oneLine ? 1 : 1 + Math.ceil(command.length / Math.max(1, width - 2));
  // Spinner line, blank, code, blank, command: the code gets what is left.
  const big = bigTextFitting(session, width - 2, height - 3 - commandRows);
  return (
    <Box flexDirection="column" width={width} height={height} alignItems="center" justifyContent="center">
      <Text>
        <Text color="cyan">{spinner}</Text> {connecting ? 'Connecting to the relay…' : waitingText ?? 'Waiting for the other person to join with session code'}
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
      {oneLine ? (
        <Text>
          <Text dimColor>{LEAD}</Text>
          {command}
        </Text>
      ) : (
        <>
          <Text dimColor>{LEAD.trim()}</Text>
          <Text>{command}</Text>
        </>
      )}
    </Box>
  );
}
