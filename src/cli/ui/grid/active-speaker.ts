/**
 * Who the grid highlights: of the members whose audio counts as speech, the loudest. A new
 * speaker takes over only after the current one has held it SPEAKER_MIN_HOLD_MS (two people
 * talking at once do not make the highlight flicker), and the highlight stays on the last
 * speaker through short pauses, going out SPEAKER_RELEASE_MS after they stopped. Pure: the
 * clock is passed in.
 */
import type { MemberId } from './room-view-events.js';

/** The highlight stays at least this long on a speaker before another may take it. */
export const SPEAKER_MIN_HOLD_MS = 400;
/** After the speaker falls silent, the highlight goes out after this long (unless someone else speaks). */
export const SPEAKER_RELEASE_MS = 2000;

interface Level {
  level: number;
  speaking: boolean;
  atMs: number;
}

export class ActiveSpeaker {
  private readonly levels = new Map<MemberId, Level>();
  /** When each member last reported speech. */
  private readonly lastSpeechMs = new Map<MemberId, number>();
  private activeId: MemberId | null = null;
  private sinceMs = 0;

  get active(): MemberId | null {
    return this.activeId;
  }

  /** A level report; returns true when the active speaker changed. */
  update(id: MemberId, level: number, speaking: boolean, nowMs: number): boolean {
    this.levels.set(id, { level, speaking, atMs: nowMs });
    if (speaking) this.lastSpeechMs.set(id, nowMs);
    return this.decide(nowMs);
  }

  /** The member left: it is no longer a candidate. */
  remove(id: MemberId, nowMs: number): boolean {
    this.levels.delete(id);
    this.lastSpeechMs.delete(id);
    if (this.activeId !== id) return false;
    this.activeId = null;
    this.decide(nowMs);
    return true;
  }

  /** Re-decide without a new report (time passed); true when the active speaker changed. */
  tick(nowMs: number): boolean {
    return this.decide(nowMs);
  }

  private speakingNow(id: MemberId, nowMs: number): boolean {
    const l = this.levels.get(id);
    // A report older than the release time is stale (the member's audio stopped coming).
    return l !== undefined && l.speaking && nowMs - l.atMs <= SPEAKER_RELEASE_MS;
  }

  private decide(nowMs: number): boolean {
    let loudest: MemberId | null = null;
    let loudestLevel = -1;
    for (const [id, l] of this.levels) {
      if (this.speakingNow(id, nowMs) && l.level > loudestLevel) {
        loudest = id;
        loudestLevel = l.level;
      }
    }
    const before = this.activeId;
    if (loudest !== null && loudest !== before) {
      if (before === null || !this.speakingNow(before, nowMs) || nowMs - this.sinceMs >= SPEAKER_MIN_HOLD_MS) {
        this.activeId = loudest;
        this.sinceMs = nowMs;
      }
    } else if (loudest === null && before !== null && nowMs - (this.lastSpeechMs.get(before) ?? 0) > SPEAKER_RELEASE_MS) {
      this.activeId = null;
    }
    return this.activeId !== before;
  }
}
