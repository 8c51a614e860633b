/**
 * Caps the share of wall time spent painting video. Rendering and the write to a terminal
 * are synchronous (Node writes to a TTY in blocking mode; to a pipe it does not), so a write
 * lasts as long as the terminal takes to swallow the frame. Without a cap, a terminal
 * slower than the frame rate is kept busy without a pause: the program starves its other
 * work, and a terminal that repaints only when its input runs dry (xterm with sixel) shows
 * nothing at all. After a paint that took `d` ms, the next one may start `d / share` ms after
 * the first began: the terminal gets the rest of the time to itself.
 */
export class PaintBudget {
  /** No paint before this time (performance.now() ms). */
  private nextAtMs = 0;

  /** `share` in (0, 1): the largest fraction of wall time paints may take. */
  constructor(
    private readonly share: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(share > 0 && share < 1)) throw new RangeError(`paint share must be in (0, 1), got ${share}`);
  }

  /** Milliseconds until the next paint may start (<= 0: now). */
  waitMs(): number {
    return this.nextAtMs - this.now();
  }

  /** Runs `paint` and charges what it took against the budget. */
  spend<T>(paint: () => T): T {
    const startMs = this.now();
    try {
      return paint();
    } finally {
      this.nextAtMs = startMs + (this.now() - startMs) / this.share;
    }
  }
}
