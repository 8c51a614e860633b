/**
 * What we send a room: our camera and microphone captured once (local-capture.ts) and each
 * frame sealed once under our sender key and broadcast to every member that proved the code;
 * video is dropped, never queued, while the socket is backed up. Beside the media: our INTRO
 * and STATE, and keyframe requests from the members, honoured at most every
 * KEYFRAME_REQUEST_MIN_MS (every member may ask).
 */
import type { AudioPacket, VideoFrame } from '../../media/capture.js';
import type { AudioPlan } from '../../media/audio-path.js';
import { AUDIO_FRAME_MS } from '../../media/args.js';
import type { MediaWarning } from '../../media/errors.js';
import type { CallOptions } from '../session/call-options.js';
import { LocalCapture } from '../session/local-capture.js';
import type { StatsCounter } from '../session/stats.js';
import { VERSION } from '../version.js';
import type { RoomLink } from './room-link.js';
import { encodeRoomMedia, encodeRoomMessage, type RoomIntro } from './room-wire.js';

/** Keyframe requests of all members together are honoured at most this often. */
export const KEYFRAME_REQUEST_MIN_MS = 500;

export interface RoomSendOptions extends CallOptions {
  audioPlan: AudioPlan;
  name?: string;
  /** Test only: our clock runs this far ahead of the wall clock (µs). */
  offsetUs: number;
}

export interface RoomSendHooks {
  links(): { video: RoomLink | undefined; audio: RoomLink | undefined };
  /** What may go out now: nothing once ending; no video while the camera is off, no audio while muted. */
  gate(): { ending: boolean; muted: boolean; cameraOff: boolean };
  selfFrame(frame: { width: number; height: number; data: Uint8Array }): void;
  warn(w: MediaWarning): void;
  fail(e: Error): void;
}

export class RoomSend {
  /** Our camera (with its self-view) and microphone. */
  readonly capture: LocalCapture;
  private lastKeyframeAskMs = 0;

  constructor(
    private readonly opts: RoomSendOptions, readonly token: string,
    private readonly stats: StatsCounter, private readonly hooks: RoomSendHooks,
  ) {
    this.capture = new LocalCapture(opts, {
      video: (f) => this.sendVideo(f), audio: (p) => this.sendAudio(p),
      selfFrame: (f) => hooks.selfFrame(f), warn: (w) => hooks.warn(w), fail: (e) => hooks.fail(e),
    });
  }

  /** A member asked for a keyframe. */
  keyframeWanted(): void {
    const now = Date.now();
    if (now - this.lastKeyframeAskMs < KEYFRAME_REQUEST_MIN_MS) return;
    this.lastKeyframeAskMs = now;
    this.capture.requestKeyframe();
  }

  /** Who we are and what we send (to a member that proved the code). */
  intro(): RoomIntro {
    const { videoIn, audioIn, width, height, fps, videoCodec, audioCodec } = this.opts;
    return {
      participant: this.token, client: 'videochat', clientVersion: VERSION, ...(this.opts.name ? { name: this.opts.name } : {}),
      video: videoIn.kind === 'none' ? null : { codec: videoCodec, width, height, fps },
      audio: audioIn.kind === 'none' ? null : { codec: audioCodec, sampleRate: 48_000, channels: 1, frameMs: AUDIO_FRAME_MS },
    };
  }

  stateMessage(): Buffer {
    const { muted, cameraOff } = this.hooks.gate();
    return encodeRoomMessage({ type: 'state', muted, cameraOff: cameraOff || this.opts.videoIn.kind === 'none' });
  }

  private sendVideo(frame: VideoFrame): void {
    const link = this.hooks.links().video;
    const { ending, cameraOff } = this.hooks.gate();
    if (!link || ending || cameraOff || link.confirmed.size === 0) return;
    if (link.backedUp) {
      // Never queue stale video: drop the frame (our uplink is slower than our camera).
      this.stats.videoDropped(true);
      return;
    }
    if (link.member.sendMedia(encodeRoomMedia('video', frame.keyframe, frame.captureTimeUs + this.opts.offsetUs, frame.data), false)) this.stats.videoSent();
  }

  private sendAudio(packet: AudioPacket): void {
    const link = this.hooks.links().audio;
    const { ending, muted } = this.hooks.gate();
    if (!link || ending || muted || link.confirmed.size === 0 || link.backedUp) return;
    if (link.member.sendMedia(encodeRoomMedia('audio', false, packet.captureTimeUs + this.opts.offsetUs, packet.data), true)) this.stats.audioSent(packet.durationMs);
  }
}
