/**
 * The reconnection of one call (docs/resilience.md): after an unexpected close it retries
 * with backoff until the relay answers (or gives up after the give-up time since the relay
 * was last reached), then runs --grace while waiting at the relay for the peer to come back.
 * An interruption stays open until the resumed call has been back, both channels paired, for
 * RECONNECT_STABLE_MS: a drop before that continues it (grace left, backoff, drop count).
 * The clock and the timers are injected, so that a test can drive it with a fake clock.
 */
import { REAL_TIMERS, type Timers } from './call-timers.js';
import { RECONNECT_MAX_UNSETTLED_DROPS, RECONNECT_STABLE_MS, reconnectDelayMs } from './reconnect.js';

export type { Timers } from './call-timers.js';

export interface ReconnectorOptions {
  host: string;
  graceSec: number;
  giveUpMs: number;
  timers?: Timers;
}

/** What one attempt came to: both channels attached, it failed (and why), or the call is ending. */
export type AttemptResult = { ok: true } | { ok: false; error: string } | { ok: 'ended' };

export interface ReconnectorHooks {
  /** Make reconnect attempt `attempt` (1, 2, ... in this interruption). */
  attempt(attempt: number, giveUpAtMs: number): Promise<AttemptResult>;
  /** Back at the relay: `waitingForPeer` when a peer had joined (--grace runs), else the interruption is over. */
  back(downMs: number, waitingForPeer: boolean): void;
  /** The call cannot be restored. */
  giveUp(reason: 'reconnect-failed' | 'peer-lost', message: string): void;
}

interface Interruption {
  sinceMs: number;
  attempt: number;
  peerWasLive: boolean;
  graceLeftMs: number;
  graceRunningSinceMs: number | null;
  graceTimer: unknown;
  droppedAtMs: number;
  drops: number;
  resumedAtMs: number | null;
  settleTimer: unknown;
}

export class Reconnector {
  private readonly t: Timers;
  private current: Interruption | undefined;
  /** Failed attempts since the call was last live: drives the backoff. */
  private backoffStep = 0;
  /** When we last had both sockets to the relay open (the give-up time counts from here). */
  private lastContactMs = 0;
  private attachedAtMs = 0;
  private retryTimer: unknown;
  private stopped = false;

  constructor(private readonly opts: ReconnectorOptions, private readonly hooks: ReconnectorHooks) {
    this.t = opts.timers ?? REAL_TIMERS;
  }

  /** An interruption is open (reconnecting, waiting for the peer, or resumed but not settled). */
  get active(): boolean {
    return this.current !== undefined;
  }

  /** A fresh pair of channels is at the relay. */
  attached(): void {
    this.attachedAtMs = this.lastContactMs = this.t.now();
  }

  /** The connection was lost (both channels already retired): retry, or give up. */
  lost(peerJoined: boolean): void {
    if (this.stopped) return;
    const now = this.t.now();
    const wasUpMs = now - this.attachedAtMs;
    this.lastContactMs = now;
    const it = this.current;
    if (it) {
      this.pauseGrace();
      if (it.resumedAtMs !== null) {
        // Back, but not for long: the time it was back counts against --grace, the backoff
        // goes on. A peer (or path) that drops after every SETUP, or pairs one channel only,
        // cannot keep the call cycling for ever.
        this.clear(it.settleTimer);
        it.settleTimer = undefined;
        it.graceLeftMs -= now - it.resumedAtMs;
        it.resumedAtMs = null;
        it.drops++;
        it.droppedAtMs = now;
        if (it.graceLeftMs <= 0 || it.drops >= RECONNECT_MAX_UNSETTLED_DROPS) {
          this.hooks.giveUp('peer-lost', `the connection to the peer kept dropping (${it.drops} drops in `
            + `${Math.round((now - it.sinceMs) / 1000)} s, never back for ${RECONNECT_STABLE_MS / 1000} s)`);
          return;
        }
      } else if (wasUpMs >= RECONNECT_STABLE_MS) {
        // At the relay, waiting, for a good while: a relay that drops us only now and then.
        this.backoffStep = 0;
      }
    } else {
      this.current = {
        sinceMs: now, attempt: 0, peerWasLive: peerJoined,
        graceLeftMs: this.opts.graceSec * 1000, graceRunningSinceMs: null, graceTimer: undefined,
        droppedAtMs: now, drops: 1, resumedAtMs: null, settleTimer: undefined,
      };
      // A connection that lasted resets the backoff (a settled resume already did).
      if (wasUpMs >= RECONNECT_STABLE_MS) this.backoffStep = 0;
    }
    this.schedule();
  }

  /** The peer is back (the call goes on); returns how long it was out since the latest drop. */
  resumed(): number {
    const it = this.current;
    if (!it) return 0;
    this.pauseGrace();
    it.resumedAtMs = this.t.now();
    return this.t.now() - it.droppedAtMs;
  }

  /**
   * Both channels of the resumed call are paired: RECONNECT_STABLE_MS of that closes the
   * interruption, so the next drop gets a full --grace and starts the backoff over.
   */
  settleWhenStable(): void {
    const it = this.current;
    if (!it || it.resumedAtMs === null || it.settleTimer !== undefined || this.stopped) return;
    it.settleTimer = this.t.setTimeout(() => {
      if (this.current !== it || it.resumedAtMs === null) return;
      this.current = undefined;
      this.backoffStep = 0;
    }, RECONNECT_STABLE_MS);
  }

  /** The call is ending: no more attempts or timers. */
  stop(): void {
    this.stopped = true;
    this.clear(this.retryTimer);
    const it = this.current;
    if (it) {
      this.clear(it.graceTimer);
      this.clear(it.settleTimer);
    }
  }

  private get giveUpAtMs(): number {
    return this.lastContactMs + this.opts.giveUpMs;
  }

  private schedule(): void {
    const untilGiveUp = Math.max(0, this.giveUpAtMs - this.t.now());
    const delayMs = Math.min(reconnectDelayMs(this.backoffStep++), untilGiveUp);
    this.retryTimer = this.t.setTimeout(() => void this.attempt(), delayMs);
  }

  private async attempt(): Promise<void> {
    const it = this.current;
    if (this.stopped || !it) return;
    it.attempt++;
    const result = await this.hooks.attempt(it.attempt, this.giveUpAtMs);
    if (this.stopped || result.ok === 'ended') return;
    if (result.ok === false) {
      const downMs = this.t.now() - this.lastContactMs;
      if (downMs >= this.opts.giveUpMs) {
        this.hooks.giveUp('reconnect-failed', `the relay at ${this.opts.host} stayed unreachable for ${Math.round(downMs / 1000)} s `
          + `(limit ${this.opts.giveUpMs / 1000} s): ${result.error}`);
        return;
      }
      this.schedule();
      return;
    }
    if (!it.peerWasLive) {
      this.current = undefined;
      this.hooks.back(this.t.now() - it.sinceMs, false);
      return;
    }
    this.hooks.back(this.t.now() - it.sinceMs, true);
    this.runGrace();
  }

  /** --grace runs while we are at the relay waiting for the peer (not while the relay is away). */
  private runGrace(): void {
    const it = this.current;
    if (!it || it.graceRunningSinceMs !== null || this.stopped) return;
    it.graceRunningSinceMs = this.t.now();
    it.graceTimer = this.t.setTimeout(() => {
      this.hooks.giveUp('peer-lost', `the peer vanished without saying goodbye and did not come back within ${this.opts.graceSec} s`);
    }, Math.max(0, it.graceLeftMs));
  }

  private pauseGrace(): void {
    const it = this.current;
    if (!it || it.graceRunningSinceMs === null) return;
    it.graceLeftMs -= this.t.now() - it.graceRunningSinceMs;
    it.graceRunningSinceMs = null;
    this.clear(it.graceTimer);
    it.graceTimer = undefined;
  }

  private clear(handle: unknown): void {
    if (handle !== undefined) this.t.clearTimeout(handle);
  }
}
