/**
 * How long our bytes wait on the path to the peer. We note when each chunk left (cumulative
 * byte count and time); the peer reports how many bytes of this connection it has received
 * and when. The oldest byte it had not received by then was sent at a time we know, so its
 * age at the report is the queueing delay on the whole path — our kernel buffer, the relay,
 * a slow link — which our own socket's backlog cannot show (a queue at the relay's side
 * never backs up our socket).
 */

/** How much history to keep: a queue older than this is reported as this old. */
export const SEND_LOG_HISTORY_MS = 15_000;

export class SendLog {
  /** [time ms, cumulative bytes sent after this write], oldest first. */
  private readonly entries: Array<[number, number]> = [];

  /** Records that `totalBytes` have now been written in all (monotonic). */
  wrote(totalBytes: number, nowMs: number): void {
    this.entries.push([nowMs, totalBytes]);
    const horizon = nowMs - SEND_LOG_HISTORY_MS;
    let drop = 0;
    // Keep one entry older than the horizon so that a very old unacknowledged byte still has a time.
    while (drop + 1 < this.entries.length && this.entries[drop + 1][0] < horizon) drop++;
    if (drop > 0) this.entries.splice(0, drop);
  }

  /**
   * Queueing delay in ms at `atMs` given that the peer had received `peerBytes` by then:
   * 0 when everything written before `atMs` had arrived, else the age of the oldest byte
   * still on the way.
   */
  delayAt(peerBytes: number, atMs: number): number {
    let sentByThen = 0;
    let oldestPendingAt: number | null = null;
    for (const [t, total] of this.entries) {
      if (t > atMs) break;
      sentByThen = total;
      if (oldestPendingAt === null && total > peerBytes) oldestPendingAt = t;
    }
    if (sentByThen <= peerBytes || oldestPendingAt === null) return 0;
    return Math.max(0, atMs - oldestPendingAt);
  }
}
