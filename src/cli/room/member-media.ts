/**
 * The receive side of one other member: its video decoded by a ReceivePipeline of its own,
 * its audio decoded by another that hands the sound to the room's mixer instead of a
 * speaker. The two start apart (each with the INTRO of its connection) and end apart (its
 * audio connection may go first); a decoder that gives up is a warning, never the room's end.
 */
import type { AudioCodec, VideoCodec } from '../../codec/protocol/messages.js';
import type { MediaWarning } from '../../media/errors.js';
import { ReceivePipeline, type TaggedFrame } from '../session/receive-pipeline.js';
import { inProcessDecodeAllowed } from '../session/test-hooks.js';

export interface MemberMediaHooks {
  /** The member's id in the room (for warnings). */
  id(): number | null;
  frame(f: TaggedFrame): void;
  /** Its H.264 stream lost its reference: ask it for a keyframe. */
  needKeyframe(): void;
  pcm(pcm: Buffer): void;
  warn(w: MediaWarning): void;
}

export class MemberMedia {
  private video: ReceivePipeline | undefined;
  private audio: ReceivePipeline | undefined;

  constructor(private readonly opts: { ffmpeg: string; inProcessOpus: boolean }, private readonly hooks: MemberMediaHooks) {}

  get hasVideo(): boolean {
    return this.video !== undefined;
  }

  get hasAudio(): boolean {
    return this.audio !== undefined;
  }

  startVideo(spec: { codec: VideoCodec; width: number; height: number }): void {
    if (this.video) return;
    const rp = this.pipeline('video');
    rp.on('frame', (f) => this.hooks.frame(f));
    rp.on('need-keyframe', () => this.hooks.needKeyframe());
    this.video = rp;
    rp.start({ video: spec, audio: null });
  }

  startAudio(codec: AudioCodec): void {
    if (this.audio) return;
    this.audio = this.pipeline('audio');
    this.audio.start({ video: null, audio: { codec } });
  }

  setSize(width: number, height: number): void {
    this.video?.setSize(width, height);
  }

  pushVideo(data: Uint8Array, keyframe: boolean, captureUs: number): void {
    this.video?.pushVideo({ data, keyframe, tag: captureUs });
  }

  pushAudio(data: Uint8Array, ms: number): void {
    this.audio?.pushAudio(data, ms);
  }

  /** Its audio connection is gone: the audio decoder stops, video goes on. */
  closeAudio(): Promise<void> {
    const rp = this.audio;
    this.audio = undefined;
    return rp ? rp.close() : Promise.resolve();
  }

  async close(): Promise<void> {
    const parts = [this.video, this.audio];
    this.video = undefined;
    this.audio = undefined;
    await Promise.allSettled(parts.map((rp) => rp?.close()));
  }

  private pipeline(kind: 'video' | 'audio'): ReceivePipeline {
    const rp = new ReceivePipeline({
      ffmpeg: this.opts.ffmpeg, inProcessVideo: inProcessDecodeAllowed(), inProcessOpus: this.opts.inProcessOpus,
      onPcm: (pcm) => this.hooks.pcm(pcm),
    });
    rp.on('warning', (w) => this.hooks.warn(w));
    rp.on('error', (e) => this.hooks.warn({ code: 'W_MEMBER_DECODE', message: `member ${this.hooks.id()}: ${kind} decoding stopped: ${e.message}` } as MediaWarning));
    return rp;
  }
}
