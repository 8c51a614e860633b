/**
 * The figures of a call: the `stats` event (and the fields of `ended`) put together from the
 * counters, the clock estimate, the audio sink and the channel totals; the smoothed latency;
 * and the REPORT we send the peer, which is the receiving half of the same figures.
 */
import type { ReceiverReport } from '../../codec/protocol/index.js';
import type { CallStats } from './events.js';
import { StatsCounter } from './stats.js';

/** Weight of a new latency sample in the smoothed `latencyMs`. */
export const LATENCY_SMOOTHING_WEIGHT = 0.2;

/** Where the figures that are not counted here come from. */
export interface CallStatsSources {
  rttMs(): number | null;
  /** The audio sink's figures, undefined before the peer joined. */
  sink(): { audioBufferMs: number; audioUnderruns: number } | undefined;
  /** Byte and record totals over every channel of the call. */
  totals(): { bytesSent: number; bytesReceived: number; recordsRejected: number };
  /** The call was sealed end to end (also while reconnecting). */
  encrypted(): boolean;
}

export class CallStatsBuilder {
  /** Frames and audio counted as they go by. */
  readonly counter = new StatsCounter();
  private latencyMs: number | null = null;

  constructor(private readonly sources: CallStatsSources) {}

  /** A decoded frame's capture-to-decoded latency; null while the clock offset is unknown. */
  addLatency(ms: number | null): void {
    if (ms === null) return;
    this.latencyMs = this.latencyMs === null ? ms : this.latencyMs * (1 - LATENCY_SMOOTHING_WEIGHT) + ms * LATENCY_SMOOTHING_WEIGHT;
  }

  /** The stats snapshot (also the fields of `ended`). */
  snapshot(): CallStats {
    const rttMs = this.sources.rttMs();
    return {
      ...this.counter.snapshot(), ...(this.sources.sink() ?? { audioBufferMs: 0, audioUnderruns: 0 }), ...this.sources.totals(),
      rttMs: rttMs === null ? null : round1(rttMs),
      latencyMs: this.latencyMs === null ? null : round1(this.latencyMs),
      encrypted: this.sources.encrypted(),
    };
  }
}

/**
 * What we tell the peer we received. `bytesReceived` is that of the current video connection
 * (what the peer's send log counts), not the call's total.
 */
export function receiverReport(s: CallStats, bytesReceived: number): ReceiverReport {
  return {
    videoFramesReceived: s.videoFramesReceived, videoFramesDropped: s.videoFramesDropped, videoFpsIn: s.videoFpsIn,
    audioMsReceived: s.audioMsReceived, audioBufferMs: s.audioBufferMs, audioUnderruns: s.audioUnderruns,
    bytesReceived, latencyMs: s.latencyMs,
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
