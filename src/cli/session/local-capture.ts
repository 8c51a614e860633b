/**
 * Our camera and microphone, captured once for a call or a room: the camera with its
 * self-view, the microphone through the echo canceller when the audio plan has one. Encoded
 * frames and packets go to the caller's hooks; what may be sent of them is the caller's call.
 */
import { AudioCapture, type AudioPacket, type VideoCapture, type VideoFrame } from '../../media/capture.js';
import type { AudioPlan } from '../../media/audio-path.js';
import { EchoCanceller } from '../../media/echo.js';
import type { MediaWarning } from '../../media/errors.js';
import { loadJpegDecoder } from '../../media/jpeg-wasm.js';
import { cameraWithSelfView, type SelfView } from '../../media/self-view.js';
import type { CallOptions } from './call-options.js';
import { inProcessDecodeAllowed } from './test-hooks.js';

export interface LocalCaptureOptions
  extends Pick<CallOptions, 'ffmpeg' | 'videoIn' | 'audioIn' | 'width' | 'height' | 'fps' | 'videoCodec' | 'audioCodec'> {
  audioPlan: AudioPlan;
}

export interface LocalCaptureHooks {
  video(frame: VideoFrame): void;
  audio(packet: AudioPacket): void;
  selfFrame(frame: { width: number; height: number; data: Uint8Array }): void;
  warn(w: MediaWarning): void;
  fail(e: Error): void;
}

export class LocalCapture {
  /** The camera's capture, once started (none with `--video-in none`). */
  video: VideoCapture | undefined;
  private mic: AudioCapture | undefined;
  private selfView: SelfView | undefined;
  /** Fed with what the speaker plays (its reference), when the audio plan has a canceller. */
  echo: EchoCanceller | undefined;

  constructor(private readonly opts: LocalCaptureOptions, private readonly hooks: LocalCaptureHooks) {}

  /** Starts the camera and the microphone that the options name. */
  start(): void {
    const { ffmpeg, width, height, fps, videoCodec } = this.opts;
    // Load the in-process JPEG decoder now, not when the first frames of a peer arrive.
    if (inProcessDecodeAllowed()) void loadJpegDecoder();
    if (this.opts.videoIn.kind !== 'none') {
      const { capture, selfView } = cameraWithSelfView(
        { ffmpeg, source: this.opts.videoIn, width, height, fps, codec: videoCodec },
        { ffmpeg, codec: videoCodec, width, height, inProcess: inProcessDecodeAllowed() },
        { send: (f) => this.hooks.video(f), selfFrame: (f) => this.hooks.selfFrame(f), warn: (w) => this.hooks.warn(w), fail: (e) => this.hooks.fail(e) },
      );
      this.video = capture;
      this.selfView = selfView;
      capture.start();
    }
    if (this.opts.audioIn.kind !== 'none') {
      if (this.opts.audioPlan.echoCanceller) this.echo ??= new EchoCanceller();
      const mic = new AudioCapture({
        ffmpeg, source: this.opts.audioIn, codec: this.opts.audioCodec, inProcessOpus: this.opts.audioPlan.inProcessOpus, echo: this.echo ?? null,
      });
      mic.on('packet', (p) => this.hooks.audio(p));
      mic.on('warning', (w) => this.hooks.warn(w));
      mic.on('error', (e) => this.hooks.fail(e));
      this.mic = mic;
      mic.start();
    }
  }

  setCameraOff(off: boolean): void {
    this.selfView?.setCameraOff(off);
  }

  setSelfView(on: boolean): void {
    this.selfView?.setWanted(on);
  }

  requestKeyframe(): void {
    this.video?.requestKeyframe();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.video?.close(), this.mic?.close(), this.selfView?.close()]);
  }
}
