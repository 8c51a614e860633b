/**
 * Sender-side video rate control: what the capture encodes (quality, picture size, frame rate)
 * and whether a frame may be sent now. Pure: the session feeds it the peer's receiver reports,
 * what it sent and the clock; it answers with levels and send decisions.
 *
 * The queue is bounded in time, not bytes: a frame is not sent while what is already on the
 * way would take longer than VIDEO_MAX_QUEUE_MS to arrive (bytes the peer has not yet
 * received, over the rate it has been receiving them), or while the peer's last report showed
 * bytes that had waited longer than that. So at any link speed at most that much video waits.
 *
 * Congestion steps down a ladder that spends picture quality first, then picture size, and
 * the frame rate only last (motion matters more in a conversation than detail): each step
 * restarts the encoder, so steps down are at most one per STEP_DOWN_HOLD_MS (the queue must
 * drain to show whether the step was enough), and steps up come only after UP_AFTER_CLEAN_MS
 * without congestion, with that wait doubling (to UP_MAX_WAIT_MS) each time a step up had to
 * be taken back within BOUNCE_MS.
 */

/** One rung: MJPEG/H.264 quality 1..100, picture size as a share of the capture size, frame-rate share. */
export interface RateLevel {
  quality: number;
  sizeShare: number;
  fpsShare: number;
}

/** From the best (what the call starts with) to the thinnest. */
export const RATE_LADDER: readonly RateLevel[] = [
  { quality: 70, sizeShare: 1, fpsShare: 1 },
  { quality: 50, sizeShare: 1, fpsShare: 1 },
  { quality: 35, sizeShare: 1, fpsShare: 1 },
  { quality: 35, sizeShare: 0.75, fpsShare: 1 },
  { quality: 30, sizeShare: 0.5, fpsShare: 1 },
  { quality: 30, sizeShare: 0.5, fpsShare: 0.6 },
  { quality: 25, sizeShare: 0.5, fpsShare: 0.4 },
];

/** Most video allowed on the way to the peer, in time. */
export const VIDEO_MAX_QUEUE_MS = 200;
/** Congested: the path held video longer than this (reports) ... */
export const CONGESTED_DELAY_MS = 150;
/** ... or more than this share of the frames of one second had to be held back. */
export const CONGESTED_DROP_RATIO = 0.2;
/** Receive-rate samples this recent count towards the path's rate. */
export const RATE_WINDOW_MS = 3000;
/** Clean: the path held nothing longer than this. */
export const CLEAN_DELAY_MS = 40;
export const STEP_DOWN_HOLD_MS = 1500;
export const UP_AFTER_CLEAN_MS = 4000;
export const UP_MAX_WAIT_MS = 32_000;
export const BOUNCE_MS = 5000;
/** Without a fresh report for this long while bytes are outstanding, the path counts as stuck. */
export const REPORT_STALE_MS = 2000;
/** Outstanding bytes that count as "much" when reports stop. */
export const STUCK_OUTSTANDING_BYTES = 64 * 1024;

export interface RateReport {
  /** Bytes of this connection the peer had received. */
  bytesReceived: number;
  /** How long the oldest byte it had not received had been on the way (our send log). */
  pathDelayMs: number;
  /** When the report arrived (ms, our clock). */
  atMs: number;
}

export class VideoRateControl {
  /** Index into RATE_LADDER. */
  level = 0;
  private report: RateReport | undefined;
  /** Bytes per ms the path can carry (max of recent receive rates), or null before two reports. */
  private rate: number | null = null;
  private samples: Array<[number, number]> = [];
  private lastChangeMs = -Infinity;
  private lastDownMs = -Infinity;
  private cleanSinceMs: number | null = null;
  private upWaitMs = UP_AFTER_CLEAN_MS;
  private lastUpMs = -Infinity;
  private maxDelayThisSecond = 0;

  constructor(private readonly maxLevel = RATE_LADDER.length - 1) {}

  get current(): RateLevel {
    return RATE_LADDER[this.level]!;
  }

  /** A fresh channel (reconnect): forget what we knew of the path, keep the level. */
  resetPath(): void {
    this.report = undefined;
    this.rate = null;
    this.samples = [];
  }

  onReport(r: RateReport): void {
    const prev = this.report;
    if (prev && r.atMs > prev.atMs && r.bytesReceived >= prev.bytesReceived) {
      // The rate the link can carry is the best the peer has received at lately (a max filter,
      // as BBR's): a path that is not full delivers less than it could, and an average of
      // such samples would hold frames back on a link with room to spare.
      this.samples.push([r.atMs, (r.bytesReceived - prev.bytesReceived) / (r.atMs - prev.atMs)]);
      while (this.samples.length > 1 && this.samples[0]![0] < r.atMs - RATE_WINDOW_MS) this.samples.shift();
      this.rate = Math.max(...this.samples.map(([, v]) => v));
    }
    this.report = r;
    this.maxDelayThisSecond = Math.max(this.maxDelayThisSecond, r.pathDelayMs);
  }

  /**
   * May a frame go now? `bytesSent`: all bytes written on the channel so far. False when what
   * is on the way already takes VIDEO_MAX_QUEUE_MS or more to arrive.
   */
  maySend(bytesSent: number, nowMs: number): boolean {
    const r = this.report;
    if (!r) return true;
    if (r.pathDelayMs > VIDEO_MAX_QUEUE_MS) return false;
    const outstanding = bytesSent - r.bytesReceived;
    if (nowMs - r.atMs > REPORT_STALE_MS && outstanding > STUCK_OUTSTANDING_BYTES) return false;
    if (this.rate !== null && this.rate > 0) {
      // What the peer should have received since the report, at the rate it has been receiving.
      const left = outstanding - this.rate * Math.max(0, nowMs - r.atMs);
      if (left / this.rate > VIDEO_MAX_QUEUE_MS) return false;
    }
    return true;
  }

  /**
   * Once a second: `sent`/`held` frames of the last second. Returns the new level when it
   * changed (the encoder must follow), else null.
   */
  tick(sent: number, held: number, nowMs: number): RateLevel | null {
    const delay = Math.max(this.maxDelayThisSecond, this.report?.pathDelayMs ?? 0);
    this.maxDelayThisSecond = 0;
    const total = sent + held;
    const congested = delay > CONGESTED_DELAY_MS || (total > 0 && held / total > CONGESTED_DROP_RATIO);
    if (congested) {
      this.cleanSinceMs = null;
      if (nowMs - this.lastUpMs < BOUNCE_MS) this.upWaitMs = Math.min(UP_MAX_WAIT_MS, this.upWaitMs * 2);
      if (this.level < this.maxLevel && nowMs - this.lastDownMs >= STEP_DOWN_HOLD_MS) {
        this.lastDownMs = nowMs;
        // Far over: two rungs at once.
        const steps = delay > 4 * CONGESTED_DELAY_MS || (total > 0 && held / total > 0.6) ? 2 : 1;
        return this.move(Math.min(this.maxLevel, this.level + steps), nowMs);
      }
      return null;
    }
    if (delay <= CLEAN_DELAY_MS) this.cleanSinceMs ??= nowMs;
    else this.cleanSinceMs = null;
    if (this.level > 0 && this.cleanSinceMs !== null && nowMs - this.cleanSinceMs >= this.upWaitMs && nowMs - this.lastChangeMs >= this.upWaitMs) {
      this.lastUpMs = nowMs;
      this.cleanSinceMs = nowMs;
      return this.move(this.level - 1, nowMs);
    }
    if (this.cleanSinceMs !== null && nowMs - this.lastUpMs > 2 * UP_MAX_WAIT_MS) this.upWaitMs = UP_AFTER_CLEAN_MS;
    return null;
  }

  private move(level: number, nowMs: number): RateLevel {
    this.level = level;
    this.lastChangeMs = nowMs;
    return this.current;
  }
}
