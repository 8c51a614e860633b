/**
 * Per-address abuse limits of the acceptor: how an address is keyed, a token bucket per
 * address for the connection rate, a count of connections held per address, and a throttle
 * so a flood of rejections cannot become a flood of log lines. All pure bookkeeping: the
 * daemon decides what to do with a refusal.
 */
import net from 'node:net';

/** Idle buckets and zero counts are dropped this often, so memory follows live addresses. */
export const LIMITS_PRUNE_INTERVAL_MS = 10_000;
/** Warning lines per second per reason; past this, rejections are only counted. */
export const REJECT_LOG_LINES_PER_S = 10;
/** IPv6 addresses are keyed by this prefix: one customer usually holds a whole /64. */
export const IPV6_KEY_PREFIX_BITS = 64;

/**
 * The key limits are counted under: the IPv4 address (IPv4-mapped IPv6 included), or the
 * /64 prefix of an IPv6 address, written as `2001:db8:1:2::/64`.
 */
export function addressKey(remote: string | undefined): string {
  if (!remote) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(remote)) return remote;
  // Expand `::` so the first four groups can be read.
  const [head = '', tail] = remote.split('%')[0]!.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const prefix = groups.slice(0, IPV6_KEY_PREFIX_BITS / 16).map((g) => (parseInt(g, 16) || 0).toString(16));
  return `${prefix.join(':')}::/${IPV6_KEY_PREFIX_BITS}`;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * A token bucket per key: `ratePerS` tokens per second, holding at most `ratePerS` (a burst
 * of one second). Rate 0 means no limit.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerS: number;

  constructor(ratePerS: number) {
    this.ratePerS = ratePerS;
  }

  /** Takes a token for `key`; false when its bucket is empty (the connection is refused). */
  take(key: string, nowMs = Date.now()): boolean {
    if (this.ratePerS <= 0) return true;
    const b = this.buckets.get(key) ?? { tokens: this.ratePerS, lastMs: nowMs };
    b.tokens = Math.min(this.ratePerS, b.tokens + ((nowMs - b.lastMs) / 1000) * this.ratePerS);
    b.lastMs = nowMs;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets buckets that have refilled: they behave exactly like a new one. */
  prune(nowMs = Date.now()): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((nowMs - b.lastMs) / 1000) * this.ratePerS >= this.ratePerS) this.buckets.delete(key);
    }
  }

  /** Keys tracked right now (for tests). */
  get size(): number {
    return this.buckets.size;
  }
}

/** Connections held per key, against a cap (0 = no cap). */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Counts one more connection for `key`; false (and nothing counted) when at the cap. */
  acquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/**
 * Lets through at most `perSecond` events per key per one-second window; reports how many
 * were held back when the next window opens, so the log says a flood happened and how big.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { startMs: number; shown: number; suppressed: number }>();
  private readonly perSecond: number;

  constructor(perSecond = REJECT_LOG_LINES_PER_S) {
    this.perSecond = perSecond;
  }

  /**
   * `show`: log this event. `suppressedBefore`: events held back in the window that just
   * closed (log them as one summary line).
   */
  admit(key: string, nowMs = Date.now()): { show: boolean; suppressedBefore: number } {
    let w = this.windows.get(key);
    let suppressedBefore = 0;
    if (!w || nowMs - w.startMs >= 1000) {
      suppressedBefore = w?.suppressed ?? 0;
      w = { startMs: nowMs, shown: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.shown < this.perSecond) {
      w.shown++;
      return { show: true, suppressedBefore };
    }
    w.suppressed++;
    return { show: false, suppressedBefore };
  }

  /** Windows that closed with events held back, which no later event has reported yet. */
  flush(nowMs = Date.now()): Array<{ key: string; suppressed: number }> {
    const out: Array<{ key: string; suppressed: number }> = [];
    for (const [key, w] of this.windows) {
      if (nowMs - w.startMs < 1000) continue;
      if (w.suppressed > 0) out.push({ key, suppressed: w.suppressed });
      this.windows.delete(key);
    }
    return out;
  }
}
