import { Box, Text } from 'ink';
import { KEY_BINDINGS } from './keys.js';

/** Label column width of the help table. */
const KEY_LABEL_COLS = 8;

/** The key table, generated from keys.ts so that it is never out of date. */
export function HelpOverlay({ width, height }: { width: number; height: number }) {
  return (
    <Box width={width} height={height} alignItems="center" justifyContent="center">
      <Box flexDirection="column" borderStyle="round" paddingX={2}>
        <Text bold>Keys</Text>
        {KEY_BINDINGS.map((binding) => (
          <Text key={binding.label}>
            <Text color="cyan">{binding.label.padEnd(KEY_LABEL_COLS)}</Text>
            {binding.help}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
