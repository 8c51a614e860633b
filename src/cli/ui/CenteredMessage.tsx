import { Box, Text } from 'ink';

/** A line of text in the middle of the video area (peer camera off, peer left, …). */
export function CenteredMessage({ text, width, height }: { text: string; width: number; height: number }) {
  return (
    <Box width={width} height={height} alignItems="center" justifyContent="center">
      <Text dimColor>{text}</Text>
    </Box>
  );
}
