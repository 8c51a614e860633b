/**
 * The timers of one call, all in one set so that the end of the call clears every one of
 * them. The clock is injected (Timers), so that a test can drive a call's watchdogs with a
 * fake one; intervals are chained timeouts, which a fake clock needs nothing more for.
 */

/** A clock and its timeouts: the real ones, or a test's fake. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** How often we PING the peer (RTT, clock offset). */
export const PING_INTERVAL_MS = 1000;
/** How often `stats` is emitted. */
export const STATS_INTERVAL_MS = 1000;
/** How often we tell the peer what we received (REPORT): its sender measures the path delay from it. */
export const REPORT_INTERVAL_MS = 200;

export class TimerSet {
  private readonly handles = new Set<unknown>();
  private cleared = false;

  constructor(readonly clock: Timers = REAL_TIMERS) {}

  /** Runs `fn` once, `ms` from now, unless the set is cleared first. */
  after(ms: number, fn: () => void): void {
    if (this.cleared) return;
    const handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
  }

  /** Runs `fn` every `ms` until the set is cleared (also from inside `fn`). */
  every(ms: number, fn: () => void): void {
    const tick = (): void => {
      this.after(ms, tick);
      fn();
    };
    this.after(ms, tick);
  }

  /** Cancels every pending timer; later after()/every() calls do nothing. */
  clear(): void {
    this.cleared = true;
    for (const h of this.handles) this.clock.clearTimeout(h);
    this.handles.clear();
  }
}
