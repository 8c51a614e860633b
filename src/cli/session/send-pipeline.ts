/**
 * The send side of a call: camera and microphone capture (with the self-view and the echo
 * canceller), and what may go out. Nothing is sent unless the session says media may flow
 * (the peer is with us, not muted / camera on); video is never queued: a frame is dropped
 * when the socket is backed up or the path holds too much already (the pure rate controller,
 * video-rate.ts, which also picks what the encoder makes), and H.264 then waits for a keyframe.
 */
import { MessageType, type ReceiverReport } from '../../codec/protocol/index.js';
import type { AudioPacket, VideoFrame } from '../../media/capture.js';
import type { MediaWarning } from '../../media/errors.js';
import type { AudioPlan } from '../../media/audio-path.js';
import type { EchoCanceller } from '../../media/echo.js';
import type { CallOptions } from './call-options.js';
import type { Channel } from './channel.js';
import type { StatsCounter } from './stats.js';
import { LocalCapture } from './local-capture.js';
import { VideoRateControl, type RateLevel } from './video-rate.js';

/** The lowest frame rate rate control thins MJPEG to. */
export const ADAPT_MIN_FPS = 3;

export interface SendPipelineOptions
  extends Pick<CallOptions, 'ffmpeg' | 'videoIn' | 'audioIn' | 'width' | 'height' | 'fps' | 'videoCodec' | 'audioCodec'> {
  audioPlan: AudioPlan;
  /** Test only: our clock runs this far ahead of the wall clock (µs). */
  offsetUs: number;
}

export interface SendHooks {
  /** The channel video (or audio) goes out on, when media may flow on it now; else undefined. */
  videoOut(): Channel | undefined;
  audioOut(): Channel | undefined;
  selfFrame(frame: { width: number; height: number; data: Uint8Array }): void;
  warn(w: MediaWarning): void;
  fail(e: Error): void;
}

export class SendPipeline {
  private readonly capture: LocalCapture;
  /** What the capture encodes and when a frame may go, from the peer's reports. */
  private readonly rate = new VideoRateControl();
  /** MJPEG: frames pass when at least this much time passed since the last one sent. */
  private sendFps: number;
  private lastVideoSentMs = 0;
  /** H.264: send nothing until a keyframe (at the start, after a drop, or when asked). */
  private needKeyframe: boolean;

  constructor(private readonly opts: SendPipelineOptions, private readonly stats: StatsCounter, private readonly hooks: SendHooks) {
    this.sendFps = opts.fps;
    this.needKeyframe = opts.videoCodec === 'h264';
    this.capture = new LocalCapture(opts, {
      video: (f) => this.sendVideo(f), audio: (p) => this.sendAudio(p),
      selfFrame: (f) => hooks.selfFrame(f), warn: (w) => hooks.warn(w), fail: (e) => hooks.fail(e),
    });
  }

  /** Starts the capture (while we wait: the first frames flow the moment the peer joins). */
  start(): void {
    this.capture.start();
  }

  /** Fed by the receive side's sink with what it plays. */
  get echo(): EchoCanceller | undefined {
    return this.capture.echo;
  }

  setCameraOff(off: boolean): void {
    this.capture.setCameraOff(off);
  }

  setSelfView(on: boolean): void {
    this.capture.setSelfView(on);
  }

  /** The peer asked for a keyframe (or must get one: its decoder starts over). */
  keyframeWanted(): void {
    this.needKeyframe = true;
    this.capture.requestKeyframe();
  }

  /** A fresh connection: reports count its bytes from nothing. */
  newPath(): void {
    this.rate.resetPath();
  }

  /** The peer's report (`atMs`: when it was taken, our clock): how long our oldest undelivered byte had been on the way. */
  onReport(ch: Channel, report: ReceiverReport, atMs: number): void {
    const takenMs = Math.min(atMs, Date.now());
    this.rate.onReport({ bytesReceived: report.bytesReceived, pathDelayMs: ch.sendLog.delayAt(report.bytesReceived, takenMs), atMs: takenMs });
  }

  /** Once a second: rate control may move a rung on its ladder (quality, then size, then frame rate). */
  adapt(): void {
    const { sent, dropped } = this.stats.lastSecond();
    const level = this.rate.tick(sent, dropped, Date.now());
    if (level) this.applyRateLevel(level);
  }

  async close(): Promise<void> {
    await this.capture.close();
  }

  private sendVideo(frame: VideoFrame): void {
    const ch = this.hooks.videoOut();
    if (!ch) return;
    const h264 = this.opts.videoCodec === 'h264';
    const nowMs = frame.captureTimeUs / 1000;
    // Adaptation for MJPEG: thin the frame rate in JS (every frame stands alone).
    if (!h264 && this.sendFps < this.opts.fps && nowMs - this.lastVideoSentMs < (1000 / this.sendFps) * 0.9) return;
    if (ch.backedUp || !this.rate.maySend(ch.bytesSent, Date.now())) {
      // Never queue stale video: drop the whole frame; H.264 then waits for a keyframe.
      this.stats.videoDropped(true);
      if (h264) this.needKeyframe = true;
      return;
    }
    if (this.needKeyframe && h264 && !frame.keyframe) {
      // Useless to the peer without the keyframe it depends on; not a congestion drop.
      this.stats.videoDropped(false);
      return;
    }
    if (frame.keyframe) this.needKeyframe = false;
    this.lastVideoSentMs = nowMs;
    ch.send({ type: MessageType.VIDEO, timestampUs: frame.captureTimeUs + this.opts.offsetUs, keyframe: frame.keyframe, data: frame.data });
    this.stats.videoSent();
  }

  private sendAudio(packet: AudioPacket): void {
    const ch = this.hooks.audioOut();
    // Audio is small; a backed-up audio socket means the path is gone: drop, never queue.
    if (!ch || ch.backedUp) return;
    ch.send({ type: MessageType.AUDIO, timestampUs: packet.captureTimeUs + this.opts.offsetUs, data: packet.data });
    this.stats.audioSent(packet.durationMs);
  }

  /** Makes the capture encode at `level`: one encoder restart; MJPEG's frame rate is thinned here instead. */
  private applyRateLevel(level: RateLevel): void {
    const fps = Math.max(ADAPT_MIN_FPS, Math.round(this.opts.fps * level.fpsShare));
    // H.264 frames depend on each other: its encoder changes rate itself; its size stays (a new
    // size is a new stream the peer's decoder must restart for).
    const h264 = this.opts.videoCodec === 'h264';
    const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
    const scaleTo = h264 ? undefined : { width: even(this.opts.width * level.sizeShare), height: even(this.opts.height * level.sizeShare) };
    this.sendFps = h264 ? this.opts.fps : fps;
    void this.capture.video?.setEncoding({ quality: level.quality, scaleTo, ...(h264 ? { fps } : {}) }).catch(() => undefined);
  }
}
