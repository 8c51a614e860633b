/**
 * The members' STATE and liveness: member-state is emitted when what a member signalled
 * changes, and a joined member silent for --peer-timeout is marked stalled (it stays: the
 * relay alone decides who is in the room) until it is heard again. The one-to-one
 * counterpart, peer-watch.ts, ends a call instead; here a stall is only a state.
 */
import type { TimerSet } from '../session/call-timers.js';
import { PEER_LIVENESS_CHECK_MS } from '../session/peer-watch.js';
import type { MemberState, Participant } from './participants.js';

export interface MemberWatchHooks {
  inCall(): Participant[];
  state(memberId: number, state: MemberState): void;
  warning(code: string, message: string): void;
}

export class MemberWatch {
  /** `timeoutMs`: --peer-timeout in ms, 0 = off. */
  constructor(private readonly timeoutMs: number, private readonly timers: TimerSet, private readonly hooks: MemberWatchHooks) {}

  /** Checks the members' silence from now on. */
  start(): void {
    if (this.timeoutMs > 0) this.timers.every(PEER_LIVENESS_CHECK_MS, () => this.check());
  }

  /** Its STATE message (a member that sends one is not stalled). */
  signalled(p: Participant, muted: boolean, cameraOff: boolean): void {
    this.set(p, { muted, cameraOff, stalled: false });
  }

  /** Something arrived from it. */
  heard(p: Participant): void {
    p.lastHeardMs = this.timers.clock.now();
    if (p.state?.stalled) this.set(p, { ...p.state, stalled: false });
  }

  private set(p: Participant, next: MemberState): void {
    const was = p.state;
    p.state = next;
    if (was && was.muted === next.muted && was.cameraOff === next.cameraOff && was.stalled === next.stalled) return;
    this.hooks.state(p.videoId!, next);
  }

  private check(recheck = false): void {
    const now = this.timers.clock.now();
    const silent = this.hooks.inCall().filter((p) => !p.state?.stalled && now - p.lastHeardMs >= this.timeoutMs);
    if (silent.length === 0) return;
    // After a stall of our own, what they sent may be waiting unread: decide after the reads.
    if (!recheck) return void setImmediate(() => this.check(true));
    for (const p of silent) {
      this.set(p, { muted: p.state?.muted ?? false, cameraOff: p.state?.cameraOff ?? false, stalled: true });
      this.hooks.warning('W_MEMBER_STALLED', `nothing from member ${p.videoId} for ${Math.round((now - p.lastHeardMs) / 100) / 10} s (--peer-timeout); it is still in the room`);
    }
  }
}
