/**
 * The room's one speaker: every AUDIO_FRAME_MS the mixer (mixer.ts) makes one frame of every
 * member's jitter-buffered sound, which goes to the audio sink; the members' levels (peak of
 * the last MEMBER_LEVEL_INTERVAL_MS, and whether each is speaking) come out beside it for the
 * active-speaker highlight. Runs from the first member's join to the end.
 */
import { AUDIO_FRAME_MS } from '../../media/args.js';
import { AudioSink, type AudioOutSpec, type AudioSinkStats } from '../../media/audio-sink.js';
import type { EchoCanceller } from '../../media/echo.js';
import type { MediaWarning } from '../../media/errors.js';
import type { TimerSet } from '../session/call-timers.js';
import { AudioMixer } from './mixer.js';

/** How often each member's audio level is emitted (`member-level`). */
export const MEMBER_LEVEL_INTERVAL_MS = 100;
/** After a stall of ours, at most this many frames are mixed to catch up: the rest is lost time, not delay. */
const MIX_CATCH_UP_FRAMES = 3;

export interface RoomMixHooks {
  /** The ids of the members in the call now (their levels are emitted). */
  members(): number[];
  level(memberId: number, level: number, speaking: boolean): void;
  warn(w: MediaWarning): void;
}

export class RoomMix {
  private readonly mixer = new AudioMixer();
  private readonly levels = new Map<number, { peak: number; speaking: boolean }>();
  private sink: AudioSink | undefined;
  private started = false;

  constructor(
    private readonly opts: { audioOut: AudioOutSpec; env?: NodeJS.ProcessEnv; echo(): EchoCanceller | undefined },
    private readonly timers: TimerSet, private readonly hooks: RoomMixHooks,
  ) {}

  /** Opens the speaker and starts the mix clock (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const echo = this.opts.echo();
    if (this.opts.audioOut.kind !== 'none') {
      const sink = new AudioSink(this.opts.audioOut, { env: this.opts.env, ...(echo ? { onPlayed: (f: Buffer) => echo.played(f) } : {}) });
      sink.on('warning', (w) => this.hooks.warn(w));
      this.sink = sink;
      sink.start();
    }
    const startMs = performance.now();
    let frames = 0;
    let sinceLevelMs = 0;
    this.timers.every(AUDIO_FRAME_MS, () => {
      const due = Math.floor((performance.now() - startMs) / AUDIO_FRAME_MS);
      if (due - frames > MIX_CATCH_UP_FRAMES) frames = due - MIX_CATCH_UP_FRAMES;
      while (frames < due) {
        frames++;
        this.mixOne();
        sinceLevelMs += AUDIO_FRAME_MS;
      }
      if (sinceLevelMs >= MEMBER_LEVEL_INTERVAL_MS) {
        sinceLevelMs = 0;
        this.emitLevels();
      }
    });
  }

  /** Decoded sound of one member. */
  push(memberId: number, pcm: Buffer): void {
    this.mixer.push(memberId, pcm);
  }

  /** The member's sound is gone (it left, or its audio connection did). */
  remove(memberId: number): void {
    this.mixer.remove(memberId);
  }

  /** The sink's figures; undefined before the first member joined (or without a speaker). */
  sinkStats(): AudioSinkStats | undefined {
    return this.sink?.stats();
  }

  async close(): Promise<void> {
    await this.sink?.close();
  }

  private mixOne(): void {
    const { pcm, levels } = this.mixer.mixFrame();
    this.sink?.push(pcm);
    const present = new Set(this.hooks.members());
    for (const l of levels) {
      if (!present.has(l.memberId)) continue;
      const was = this.levels.get(l.memberId);
      this.levels.set(l.memberId, { peak: Math.max(was?.peak ?? 0, l.level), speaking: l.speaking });
    }
  }

  private emitLevels(): void {
    for (const id of this.hooks.members()) {
      const l = this.levels.get(id) ?? { peak: 0, speaking: false };
      this.hooks.level(id, Math.round(l.peak * 100) / 100, l.speaking);
      l.peak = 0;
      this.levels.set(id, l);
    }
  }
}
