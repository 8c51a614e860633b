/**
 * The reconnection of a room (docs/rooms.md section 5): when a room connection drops without
 * our hang-up, both links are gone and so is everyone in them; the room is joined again, same
 * `vcroom1-` code, with the backoff of a call (session/reconnector.ts, reused as is). A room
 * has no single peer to wait for: being back in the room ends the interruption, and the relay
 * staying away for --grace seconds ends the session with reconnect-failed (exit 9).
 */
import { Reconnector, type AttemptResult, type Timers } from '../session/reconnector.js';

export interface RoomRejoinHooks {
  /** Opens both connections again and wires them; rejects when the relay cannot be reached. */
  open(): Promise<void>;
  /** The session is ending (an attempt that lands then is closed again). */
  ending(): boolean;
  reconnecting(attempt: number, giveUpAtMs: number): void;
  reconnected(downMs: number): void;
  giveUp(message: string): void;
}

export class RoomRejoin {
  private readonly reconnector: Reconnector;

  /** `giveUpSec`: --grace (capped by the test-only give-up override, when that is shorter). */
  constructor(opts: { host: string; giveUpSec: number; timers?: Timers }, private readonly hooks: RoomRejoinHooks) {
    const timers = opts.timers ? { timers: opts.timers } : {};
    this.reconnector = new Reconnector({ host: opts.host, graceSec: 0, giveUpMs: opts.giveUpSec * 1000, ...timers }, {
      attempt: (attempt, giveUpAtMs) => this.attempt(attempt, giveUpAtMs),
      back: (downMs) => hooks.reconnected(downMs),
      giveUp: (_reason, message) => hooks.giveUp(message),
    });
  }

  /** Both connections are at the relay (the first time, or again). */
  attached(): void {
    this.reconnector.attached();
  }

  /** A connection dropped (both are retired already): rejoin with backoff, or give up. */
  lost(): void {
    // No peer to wait for: back in the room is back (no --grace phase at the relay).
    this.reconnector.lost(false);
  }

  get active(): boolean {
    return this.reconnector.active;
  }

  stop(): void {
    this.reconnector.stop();
  }

  private async attempt(attempt: number, giveUpAtMs: number): Promise<AttemptResult> {
    if (this.hooks.ending()) return { ok: 'ended' };
    this.hooks.reconnecting(attempt, giveUpAtMs);
    try {
      await this.hooks.open();
    } catch (err) {
      return this.hooks.ending() ? { ok: 'ended' } : { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (this.hooks.ending()) return { ok: 'ended' };
    this.reconnector.attached();
    return { ok: true };
  }
}
