/**
 * When the grid paints: on the next turn of the event loop (frames of several members that
 * arrive together go out in one write), or, when the paint budget says wait, once its time
 * has come; each paint is charged to the budget (at most `maxPaintShare` of wall time) and
 * given a time slice, after which the work left waits for the next paint.
 */
import { PaintBudget } from '../paint-budget.js';

/**
 * One paint renders tiles until this much time has gone, then yields to the event loop; the
 * tiles left wait for the next paint (sixel tiles cost about 10 ms each on a loaded machine:
 * nine in a row would hold audio and sockets up for 100 ms and more).
 */
export const GRID_PAINT_SLICE_MS = 16;

/** What the scheduler paints. */
export interface PaintWork {
  /** Whether anything waits to be painted. */
  pending(): boolean;
  /** Paint what waits; `sliceOver()` turns true once this paint has had its time slice. */
  paint(sliceOver: () => boolean): void;
}

export interface PaintSchedulerOptions {
  /** Largest share of wall time paints may take (0..1; otherwise no limit). */
  maxPaintShare?: number;
  /** Time slice of one paint (default GRID_PAINT_SLICE_MS). */
  paintSliceMs?: number;
}

/** Time spent in paints (render + write), ms, and the longest one. */
export interface PaintTimes {
  paintMsTotal: number;
  paintMsMax: number;
}

export class PaintScheduler {
  private readonly budget: PaintBudget | null;
  private readonly sliceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    private readonly work: PaintWork,
    private readonly times: PaintTimes,
    options: PaintSchedulerOptions,
  ) {
    const share = options.maxPaintShare;
    this.budget = share && share > 0 && share < 1 ? new PaintBudget(share) : null;
    this.sliceMs = options.paintSliceMs ?? GRID_PAINT_SLICE_MS;
  }

  /** Paint soon (at once on the next turn, or when the budget allows); nothing when one is due. */
  schedule(): void {
    if (this.closed || this.timer || this.immediate) return;
    const waitMs = this.budget?.waitMs() ?? 0;
    // setImmediate: frames of several members that arrive together go out in one write.
    if (waitMs > 0) this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, Math.ceil(waitMs));
    else this.immediate = setImmediate(() => { this.immediate = undefined; this.flush(); });
  }

  /** Paint now, in place of the paint that was due. */
  paintNow(): void {
    this.cancel();
    this.flush();
  }

  /** Stop painting; later calls do nothing. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /** One paint, charged to the budget; what its slice left over is scheduled. */
  private flush(): void {
    if (this.closed || !this.work.pending()) return;
    const paint = () => {
      const t0 = performance.now();
      this.work.paint(() => performance.now() - t0 >= this.sliceMs);
      const ms = performance.now() - t0;
      this.times.paintMsTotal += ms;
      this.times.paintMsMax = Math.max(this.times.paintMsMax, ms);
    };
    if (this.budget) this.budget.spend(paint);
    else paint();
    // What the slice left over.
    if (this.work.pending()) this.schedule();
  }
}
