import { useEffect, useState } from 'react';

/** Braille spinner frames. */
export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
/** Time per spinner frame. */
export const SPINNER_INTERVAL_MS = 120;

/** The current spinner glyph, advancing while mounted. */
export function useSpinner(): string {
  const [index, setIndex] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setIndex((i) => (i + 1) % SPINNER_FRAMES.length), SPINNER_INTERVAL_MS);
    return () => clearInterval(timer);
  }, []);
  return SPINNER_FRAMES[index];
}
