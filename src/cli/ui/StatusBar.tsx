import { Box, Text } from 'ink';
import type { CallViewState } from './call-state.js';
import { statusRowOne, statusRowTwo, type Piece } from './status-line.js';

function Pieces({ pieces }: { pieces: Piece[] }) {
  return (
    <>
      {pieces.map((p, i) => (
        <Text key={i} {...(p.color ? { color: p.color } : {})} bold={p.bold === true}>
          {p.text}
        </Text>
      ))}
    </>
  );
}

/** Two rows at the bottom: who and how (line 1), the numbers (line 2); compact when the terminal is narrow. */
export function StatusBar({ state, width }: { state: CallViewState; width: number }) {
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Text wrap="truncate-end">
        <Pieces pieces={statusRowOne(state, width)} />
      </Text>
      <Text wrap="truncate-end" dimColor>
        <Pieces pieces={statusRowTwo(state, width)} />
      </Text>
    </Box>
  );
}
