import type { Timers } from '../../src/cli/session/call-timers.js';

/** A fake clock: timers fire only when the test advances time. */
export class FakeClock implements Timers {
  t = 1_000_000;
  private queue: Array<{ at: number; fn: () => void; id: number }> = [];
  private ids = 0;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.queue.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void { this.queue = this.queue.filter((q) => q.id !== h); }
  /** Timers still waiting to fire. */
  get pending(): number { return this.queue.length; }
  /** Advances to `ms` later, firing due timers in order (and letting their promises settle). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = next.at;
      next.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.t = end;
  }
}
