/**
 * The audio of a room: every other member's decoded PCM (s16le mono 48 kHz) goes into its own
 * jitter buffer; every 20 ms one frame is taken from each buffer and the frames are summed
 * into one, clipped to the 16-bit range (saturation, never wrap-around). A member whose
 * buffer runs dry contributes silence for that frame and fills up again to the prebuffer
 * before it is heard once more; a member whose buffer grows past its bound (a burst after a
 * stall) loses its oldest sound, so that its delay stays bounded. Pure: no clock, no I/O;
 * the session calls mixFrame() on its own 20 ms clock.
 */
import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE_HZ } from '../../media/args.js';

/** Samples in one mixed frame (20 ms at 48 kHz, mono). */
export const MIX_FRAME_SAMPLES = (AUDIO_SAMPLE_RATE_HZ * AUDIO_FRAME_MS) / 1000;
/** A member is heard once this much of its sound is buffered (at the start, after an underrun). */
export const MIX_PREBUFFER_MS = 60;
/** A member's buffer is cut back to the prebuffer when it passes this. */
export const MIX_MAX_BUFFER_MS = 300;
/** Peak level (0..1) above which a member counts as speaking. */
export const SPEAKING_LEVEL = 0.06;
/** A member stays "speaking" this long after its level last passed SPEAKING_LEVEL (no flicker between words). */
export const SPEAKING_HOLD_MS = 400;

const samplesOf = (ms: number): number => Math.round((AUDIO_SAMPLE_RATE_HZ * ms) / 1000);

/** One member's jitter buffer: a queue of sample chunks. */
class MemberBuffer {
  private chunks: Int16Array[] = [];
  private head = 0;
  private queued = 0;
  /** An odd byte of a chunk that split a sample. */
  private oddByte: number | null = null;
  playing = false;
  underruns = 0;
  droppedSamples = 0;
  lastLoudMs = -Infinity;

  constructor(private readonly prebuffer: number, private readonly max: number) {}

  get bufferedSamples(): number {
    return this.queued;
  }

  push(pcm: Uint8Array): void {
    let bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    if (this.oddByte !== null) {
      bytes = Buffer.concat([Buffer.of(this.oddByte), bytes]);
      this.oddByte = null;
    }
    if (bytes.length % 2 === 1) {
      this.oddByte = bytes[bytes.length - 1]!;
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length === 0) return;
    const samples = new Int16Array(bytes.length / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
    this.chunks.push(samples);
    this.queued += samples.length;
    if (this.queued > this.max) this.skip(this.queued - this.prebuffer);
  }

  /** Adds this member's next frame into `acc`; returns its peak (0..1), 0 when it was silent. */
  addInto(acc: Int32Array): number {
    if (!this.playing) {
      if (this.queued < this.prebuffer) return 0;
      this.playing = true;
    }
    let peak = 0;
    let filled = 0;
    while (filled < acc.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length - this.head, acc.length - filled);
      for (let i = 0; i < take; i++) {
        const s = chunk[this.head + i]!;
        acc[filled + i]! += s;
        const a = s < 0 ? -s : s;
        if (a > peak) peak = a;
      }
      filled += take;
      this.head += take;
      this.queued -= take;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    if (filled < acc.length) {
      // Ran dry: the rest of this frame is silence, and the member prebuffers again.
      this.underruns++;
      this.playing = false;
    }
    return Math.min(1, peak / 32768);
  }

  private skip(n: number): void {
    this.droppedSamples += n;
    this.queued -= n;
    while (n > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const left = chunk.length - this.head;
      if (left <= n) {
        n -= left;
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += n;
        n = 0;
      }
    }
  }
}

/** One member's part of the last mixed frame. */
export interface MemberLevel {
  memberId: number;
  /** Peak of its frame, 0..1 (0 when it was silent or not playing). */
  level: number;
  speaking: boolean;
}

export interface MixerOptions {
  prebufferMs?: number;
  maxBufferMs?: number;
}

/** Per-member figures of the mixer. */
export interface MixerMemberStats {
  bufferedMs: number;
  underruns: number;
  droppedMs: number;
}

export class AudioMixer {
  private readonly members = new Map<number, MemberBuffer>();
  private readonly prebuffer: number;
  private readonly max: number;
  private readonly acc = new Int32Array(MIX_FRAME_SAMPLES);
  /** Frames mixed so far (the mixer's own time, for the speaking hold). */
  private frames = 0;

  constructor(opts: MixerOptions = {}) {
    this.prebuffer = samplesOf(opts.prebufferMs ?? MIX_PREBUFFER_MS);
    this.max = Math.max(this.prebuffer + MIX_FRAME_SAMPLES, samplesOf(opts.maxBufferMs ?? MIX_MAX_BUFFER_MS));
  }

  /** Decoded PCM of one member (s16le mono 48 kHz, any chunk size, even split samples). */
  push(memberId: number, pcm: Uint8Array): void {
    let m = this.members.get(memberId);
    if (!m) {
      m = new MemberBuffer(this.prebuffer, this.max);
      this.members.set(memberId, m);
    }
    m.push(pcm);
  }

  /** A member left: its buffered sound is dropped. */
  remove(memberId: number): void {
    this.members.delete(memberId);
  }

  has(memberId: number): boolean {
    return this.members.has(memberId);
  }

  stats(memberId: number): MixerMemberStats | undefined {
    const m = this.members.get(memberId);
    if (!m) return undefined;
    const ms = (samples: number): number => Math.round((samples * 1000) / AUDIO_SAMPLE_RATE_HZ);
    return { bufferedMs: ms(m.bufferedSamples), underruns: m.underruns, droppedMs: ms(m.droppedSamples) };
  }

  /** The next 20 ms: every member's frame summed and clipped (s16le), and each member's level. */
  mixFrame(): { pcm: Buffer; levels: MemberLevel[] } {
    const acc = this.acc;
    acc.fill(0);
    this.frames++;
    const nowMs = this.frames * AUDIO_FRAME_MS;
    const levels: MemberLevel[] = [];
    for (const [memberId, m] of this.members) {
      const level = m.addInto(acc);
      if (level >= SPEAKING_LEVEL) m.lastLoudMs = nowMs;
      levels.push({ memberId, level, speaking: nowMs - m.lastLoudMs <= SPEAKING_HOLD_MS });
    }
    const pcm = Buffer.allocUnsafe(acc.length * 2);
    for (let i = 0; i < acc.length; i++) {
      const s = acc[i]!;
      pcm.writeInt16LE(s > 32767 ? 32767 : s < -32768 ? -32768 : s, i * 2);
    }
    return { pcm, levels };
  }
}
