/**
 * What we receive of a room: every member's media counted, its latency measured, and handed
 * to its own decoders (member-media.ts): video frames come out per member at the size the
 * grid asked for, sound goes into the mix (room-mix.ts). A member's decoders start with its
 * INTRO and stop when it (or its audio connection) leaves.
 */
import type { MediaWarning } from '../../media/errors.js';
import { audioPacketMs } from '../session/receive-pipeline.js';
import type { StatsCounter } from '../session/stats.js';
import { MemberMedia } from './member-media.js';
import { noteLatency, type Participant } from './participants.js';
import type { RoomMix } from './room-mix.js';
import { decodeRoomMedia } from './room-wire.js';

export interface RoomReceiveHooks {
  frame(memberId: number, f: { width: number; height: number; data: Uint8Array }): void;
  /** Its H.264 stream lost its reference: ask that member for a keyframe. */
  askKeyframe(memberId: number): void;
  /** Something arrived from it. */
  heard(p: Participant): void;
  warn(w: MediaWarning): void;
  /** Our clock in µs. */
  nowUs(): number;
}

type Size = { width: number; height: number };

export class RoomReceive {
  private decodeSize: Size | null;

  constructor(
    private readonly opts: { ffmpeg: string; inProcessOpus: boolean; decodeSize: Size | null },
    private readonly counter: StatsCounter, private readonly mix: RoomMix, private readonly hooks: RoomReceiveHooks,
  ) {
    this.decodeSize = opts.decodeSize;
  }

  /** The size every member's frames are decoded to from now on (even numbers). */
  setSize(width: number, height: number, members: Iterable<Participant>): void {
    const size = { width: Math.max(2, Math.round(width / 2) * 2), height: Math.max(2, Math.round(height / 2) * 2) };
    this.decodeSize = size;
    for (const p of members) {
      if (p.media?.hasVideo) p.media.setSize(size.width, size.height);
      else if (p.present && p.joined) this.startVideo(p);
    }
  }

  /** Starts its video decoder, if it sends video (at its own size until the grid asks for one). */
  startVideo(p: Participant): void {
    const v = p.intro?.video;
    if (!v || p.media?.hasVideo || !p.present) return;
    this.mediaOf(p).startVideo({ codec: v.codec, ...(this.decodeSize ?? { width: v.width, height: v.height }) });
  }

  startAudio(p: Participant): void {
    const a = p.intro?.audio;
    if (!a || p.media?.hasAudio || !p.present) return;
    this.mediaOf(p).startAudio(a.codec);
  }

  /** A sealed media record of a member that joined, opened: video on the video connection, audio on the audio one. */
  media(conn: 'video' | 'audio', p: Participant, payload: Buffer): void {
    const m = decodeRoomMedia(payload);
    if (!m) return;
    this.hooks.heard(p);
    noteLatency(p, m.timestampUs, this.hooks.nowUs());
    if (m.kind === 'video' && conn === 'video') {
      p.videoFramesReceived++;
      this.counter.videoReceived();
      p.media?.pushVideo(m.data, m.keyframe, m.timestampUs);
    } else if (m.kind === 'audio' && conn === 'audio') {
      const ms = audioPacketMs(p.intro?.audio?.codec ?? 'opus', m.data);
      p.audioMsReceived += ms;
      this.counter.audioReceived(ms);
      p.media?.pushAudio(m.data, ms);
    }
  }

  /** Its audio connection left: its sound stops, its video goes on. */
  audioGone(p: Participant): void {
    this.mix.remove(p.videoId ?? -1);
    void p.media?.closeAudio().catch(() => undefined);
  }

  /** It left the room. */
  memberGone(p: Participant): void {
    if (p.videoId !== null) this.mix.remove(p.videoId);
    void p.media?.close().catch(() => undefined);
  }

  private mediaOf(p: Participant): MemberMedia {
    p.media ??= new MemberMedia({ ffmpeg: this.opts.ffmpeg, inProcessOpus: this.opts.inProcessOpus }, {
      id: () => p.videoId,
      frame: (f) => {
        this.counter.videoDecoded();
        if (p.present) this.hooks.frame(p.videoId!, f);
      },
      needKeyframe: () => {
        if (p.videoId !== null) this.hooks.askKeyframe(p.videoId);
      },
      pcm: (pcm) => {
        if (p.present && p.videoId !== null) this.mix.push(p.videoId, pcm);
      },
      warn: (w) => this.hooks.warn(w),
    });
    return p.media;
  }
}
