/**
 * Synchronized output (DEC private mode 2026): the terminal holds the screen while a frame is
 * written and shows it at once, so a half-drawn frame never flickers. Terminals that do not
 * know the mode ignore it.
 */

/** Begin synchronized update: CSI ? 2026 h. */
export const SYNC_BEGIN = Buffer.from('\x1b[?2026h', 'latin1');
/** End synchronized update: CSI ? 2026 l. */
export const SYNC_END = Buffer.from('\x1b[?2026l', 'latin1');

/**
 * One buffer: begin, the frame's bytes, end, ready for a single write. An empty frame stays
 * empty (nothing changed, nothing to write).
 */
export function wrapSynchronized(frameBytes: Uint8Array): Buffer {
  if (frameBytes.length === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(SYNC_BEGIN.length + frameBytes.length + SYNC_END.length);
  SYNC_BEGIN.copy(out, 0);
  out.set(frameBytes, SYNC_BEGIN.length);
  SYNC_END.copy(out, SYNC_BEGIN.length + frameBytes.length);
  return out;
}
