import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

/** Used when the stream reports no size. */
export const FALLBACK_SIZE = { columns: 80, rows: 24 } as const;

export interface TerminalSize {
  columns: number;
  rows: number;
}

function read(stream: { columns?: number; rows?: number }): TerminalSize {
  return { columns: stream.columns || FALLBACK_SIZE.columns, rows: stream.rows || FALLBACK_SIZE.rows };
}

/** The size of Ink's stdout in cells, following `resize` events. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState<TerminalSize>(() => read(stdout));
  useEffect(() => {
    const onResize = () => setSize(read(stdout));
    stdout.on('resize', onResize);
    // The size may have changed between the first render and this subscription.
    onResize();
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
