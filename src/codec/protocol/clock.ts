/**
 * Clock arithmetic for PING/PONG (NTP style). With t0 = our send time, t1 = the peer's
 * receive time, t2 = the peer's send time (both on the peer's clock) and t3 = our receive
 * time:
 *   rtt    = (t3 - t0) - (t2 - t1)
 *   offset = ((t1 - t0) + (t2 - t3)) / 2      (peer clock minus our clock)
 * The offset is exact when the path is symmetric; otherwise its error is at most rtt / 2,
 * which is why the estimator trusts the sample with the smallest RTT.
 */

/** How many recent samples the estimator keeps to pick its minimum-RTT sample from. */
export const CLOCK_WINDOW_SAMPLES = 8;
/** Weight of a new sample in the smoothed RTT (TCP's SRTT uses 1/8). */
export const RTT_SMOOTHING_WEIGHT = 1 / 8;

/** The four timestamps of one PING/PONG exchange, microseconds since the epoch. */
export interface ClockTimes {
  t0Us: number;
  t1Us: number;
  t2Us: number;
  t3Us: number;
}

/** What one exchange says about the path and the clocks. */
export interface ClockSample {
  /** Round trip on the wire, without the peer's processing time. */
  rttMs: number;
  /** Peer clock minus our clock. */
  offsetMs: number;
}

/**
 * RTT and clock offset from one exchange; null when the times are impossible (a negative
 * RTT: a clock stepped during the exchange, or a bogus PONG).
 */
export function clockSample(times: ClockTimes): ClockSample | null {
  const { t0Us, t1Us, t2Us, t3Us } = times;
  const rttUs = t3Us - t0Us - (t2Us - t1Us);
  if (!Number.isFinite(rttUs) || rttUs < 0 || t2Us < t1Us) return null;
  return { rttMs: rttUs / 1000, offsetMs: (t1Us - t0Us + (t2Us - t3Us)) / 2 / 1000 };
}

/**
 * Keeps the last CLOCK_WINDOW_SAMPLES exchanges. The offset comes from the one with the
 * smallest RTT (least queueing, so least asymmetry); the RTT shown is smoothed.
 */
export class ClockEstimator {
  private readonly window: ClockSample[] = [];
  private readonly windowSize: number;
  private smoothed: number | null = null;
  private latest: ClockSample | null = null;

  constructor(windowSize = CLOCK_WINDOW_SAMPLES) {
    this.windowSize = Math.max(1, windowSize);
  }

  /** Adds one exchange; returns its sample, or null when it was rejected as impossible. */
  add(times: ClockTimes): ClockSample | null {
    const sample = clockSample(times);
    if (!sample) return null;
    this.window.push(sample);
    if (this.window.length > this.windowSize) this.window.shift();
    this.latest = sample;
    this.smoothed = this.smoothed === null ? sample.rttMs : this.smoothed + RTT_SMOOTHING_WEIGHT * (sample.rttMs - this.smoothed);
    return sample;
  }

  /** The best sample of the window (smallest RTT), or null before the first PONG. */
  get best(): ClockSample | null {
    let best: ClockSample | null = null;
    for (const s of this.window) if (!best || s.rttMs < best.rttMs) best = s;
    return best;
  }

  /** Peer clock minus our clock in ms, or null while unknown. */
  get offsetMs(): number | null {
    return this.best?.offsetMs ?? null;
  }

  /** Smoothed RTT in ms, or null while unknown. */
  get rttMs(): number | null {
    return this.smoothed;
  }

  /** RTT of the latest accepted exchange in ms, or null while unknown. */
  get latestRttMs(): number | null {
    return this.latest?.rttMs ?? null;
  }

  /** Smallest RTT in the window in ms, or null while unknown. */
  get minRttMs(): number | null {
    return this.best?.rttMs ?? null;
  }

  /** A peer timestamp (µs, peer clock) on our clock; unchanged while the offset is unknown. */
  toLocalUs(peerUs: number): number {
    const offset = this.offsetMs;
    return offset === null ? peerUs : peerUs - offset * 1000;
  }

  /**
   * Peer capture time (µs, peer clock) to `nowUs` (our clock) in ms; null while the offset is
   * unknown. Never below 0: the offset is known only to within about half the RTT, and with
   * latency of a few ms (loopback) that error alone made the figure negative.
   */
  latencyMs(peerCaptureUs: number, nowUs: number): number | null {
    const offset = this.offsetMs;
    return offset === null ? null : Math.max(0, (nowUs - (peerCaptureUs - offset * 1000)) / 1000);
  }
}

/** Wall-clock time in integer microseconds since the epoch (the unit of every wire timestamp). */
export function wallClockUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
