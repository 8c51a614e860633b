/**
 * The figures of a room: a call's `stats` (built by call-stats.ts from the counters, the
 * mix's sink and both connections' totals) with the room's own beside them: one entry per
 * member seen, the worst member's latency and round trip as the room's, the sender epoch,
 * and what the relay dropped for us.
 */
import { CallStatsBuilder } from '../session/call-stats.js';
import type { MemberStats, RoomStats } from './room-events.js';
import type { Participant } from './participants.js';
import type { RoomLink } from './room-link.js';

export interface RoomStatsSources {
  participants(): Iterable<Participant>;
  links(): Array<RoomLink | undefined>;
  sink(): { audioBufferMs: number; audioUnderruns: number } | undefined;
  /** Our sender epoch on the video connection. */
  epoch(): number | null;
}

export class RoomStatsBuilder {
  private readonly call: CallStatsBuilder;
  /** Envelopes the relay dropped on the way to us (its DROPPED notices). */
  droppedByRelay = 0;

  constructor(private readonly sources: RoomStatsSources) {
    this.call = new CallStatsBuilder({
      rttMs: () => worstOf(this.inRoom(), (p) => p.rttMs),
      sink: () => sources.sink(),
      totals: () => {
        const links = sources.links();
        const sum = (k: 'bytesSent' | 'bytesReceived'): number => links.reduce((n, l) => n + (l?.[k] ?? 0), 0);
        return { bytesSent: sum('bytesSent'), bytesReceived: sum('bytesReceived'), recordsRejected: this.mediaRejected() };
      },
      encrypted: () => true,
    });
  }

  /** Frames and audio counted as they go by. */
  get counter(): CallStatsBuilder['counter'] {
    return this.call.counter;
  }

  snapshot(): RoomStats {
    const latencyMs = worstOf(this.inRoom(), (p) => p.latencyMs);
    return {
      ...this.call.snapshot(), latencyMs: latencyMs === null ? null : round1(latencyMs),
      senderEpoch: this.sources.epoch(), mediaRejected: this.mediaRejected(), droppedByRelay: this.droppedByRelay, members: this.members(),
    } as RoomStats;
  }

  private inRoom(): Participant[] {
    return [...this.sources.participants()].filter((p) => p.joined && p.videoId !== null);
  }

  private members(): MemberStats[] {
    return this.inRoom().map((p) => ({
      id: p.videoId!, ...(p.intro?.name ? { name: p.intro.name } : {}),
      videoFramesReceived: p.videoFramesReceived, audioMsReceived: Math.round(p.audioMsReceived),
      latencyMs: p.latencyMs === null ? null : round1(p.latencyMs), rttMs: p.rttMs === null ? null : round1(p.rttMs),
      present: p.present, stalled: p.state?.stalled === true,
    }));
  }

  private mediaRejected(): number {
    return this.sources.links().reduce((n, l) => n + (l?.member.stats.mediaRejected ?? 0), 0);
  }
}

/** The largest figure among the members still present; null when none has one. */
function worstOf(ps: Participant[], figure: (p: Participant) => number | null): number | null {
  let worst: number | null = null;
  for (const p of ps) {
    const v = figure(p);
    if (p.present && v !== null) worst = worst === null ? v : Math.max(worst, v);
  }
  return worst;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
