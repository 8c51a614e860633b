/** Warnings that can come in bursts (a record rejected on the path) are passed on at most so often. */

/** The same warning code is emitted at most this often. */
export const WARNING_THROTTLE_MS = 5000;

export class WarningThrottle {
  private readonly lastAt = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now, private readonly intervalMs = WARNING_THROTTLE_MS) {}

  /** True when a warning of `code` may go out now (and it is counted as gone out). */
  pass(code: string): boolean {
    const now = this.now();
    const last = this.lastAt.get(code);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastAt.set(code, now);
    return true;
  }
}
