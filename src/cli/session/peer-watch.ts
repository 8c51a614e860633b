/**
 * The watchdogs on a peer (--peer-timeout): one that paired and then stalled in the key
 * exchange, and one that went silent on a live call. Neither decides what follows: they say
 * `stalled` or `silent` with the reason, and the lifecycle reducer takes it from there. The
 * clock comes with the TimerSet, so a test drives both with a fake one.
 */
import type { TimerSet } from './call-timers.js';

/** How often the peer's silence is checked against --peer-timeout. */
export const PEER_LIVENESS_CHECK_MS = 250;

/** What the watchdogs read of a channel. */
export interface WatchedChannel {
  readonly name: 'video' | 'audio';
  /** When the last whole message arrived (ms, on the clock of the TimerSet). */
  readonly lastMessageMs: number;
  readonly isClosed: boolean;
  /** Keys confirmed both ways. */
  readonly ready: boolean;
}

export interface PeerWatchHooks {
  /** The channels of the current pair. */
  channels(): { video: WatchedChannel | undefined; audio: WatchedChannel | undefined };
  /** The peer's SETUP arrived on the current pair: the call is live. */
  live(): boolean;
  ending(): boolean;
  /** The peer stopped in the middle of the key exchange. */
  stalled(why: string): void;
  /** A live peer sent nothing for the timeout. */
  silent(why: string): void;
  /** Runs `fn` after the reads already waiting (default setImmediate). */
  defer?(fn: () => void): void;
}

export class PeerWatch {
  /** Since when the peer is with us on the current channels (silence counts from here). */
  private liveSinceMs = 0;

  /** `timeoutMs`: --peer-timeout in ms, 0 = off. */
  constructor(private readonly timeoutMs: number, private readonly timers: TimerSet, private readonly hooks: PeerWatchHooks) {}

  /**
   * A live peer answers its HELLO at once: KEY_CONFIRM, then (on video) SETUP. A peer that
   * paired and then sent nothing of that for --peer-timeout froze or stalled mid-exchange:
   * lost, like one that crashed there (exit 5 before it ever joined; otherwise reconnect,
   * and --grace goes on).
   */
  helloFrom(ch: WatchedChannel): void {
    const { timeoutMs } = this;
    if (timeoutMs === 0) return;
    this.timers.after(timeoutMs, () => {
      const { video, audio } = this.hooks.channels();
      if (this.hooks.ending() || (ch !== video && ch !== audio) || ch.isClosed) return;
      if (ch.ready && (ch !== video || this.hooks.live())) return;
      this.hooks.stalled(`the peer stalled during the key exchange: nothing more on the ${ch.name} connection for ${timeoutMs / 1000} s after its HELLO (--peer-timeout)`);
    });
  }

  /** The peer joined: from now on its silence is watched. */
  joined(): void {
    this.resumed();
    this.timers.every(PEER_LIVENESS_CHECK_MS, () => this.check());
  }

  /** The peer is back on fresh channels: its silence counts from now. */
  resumed(): void {
    this.liveSinceMs = this.timers.clock.now();
  }

  /**
   * A live peer sends something at least every second (PING, REPORT, media). Silence past
   * --peer-timeout (a frozen peer, a relay that stopped forwarding, a record that never
   * completes) is a lost peer, handled as a connection that closed without goodbye.
   */
  private check(recheck = false): void {
    const { timeoutMs } = this;
    if (timeoutMs === 0 || !this.hooks.live()) return;
    const now = this.timers.clock.now();
    const { video, audio } = this.hooks.channels();
    // Per channel: a peer stuck in one record on video while audio flows is lost just the same.
    const silent = [video, audio]
      .map((ch) => ({ ch, ms: ch ? now - Math.max(ch.lastMessageMs, this.liveSinceMs) : 0 }))
      .find(({ ms }) => ms >= timeoutMs);
    if (!silent?.ch) return;
    // Timers run before I/O in an event-loop turn: after a stall of our own (CPU starved,
    // a suspended laptop) what the peer sent may be waiting, unread. Decide after the reads.
    if (!recheck) {
      (this.hooks.defer ?? setImmediate)(() => this.check(true));
      return;
    }
    this.hooks.silent(`nothing from the peer on the ${silent.ch.name} connection for ${Math.round(silent.ms / 100) / 10} s (--peer-timeout ${timeoutMs / 1000})`);
  }
}
