/**
 * Camera and microphone capture: one long-lived, supervised ffmpeg per source, whose
 * stdout is split into encoded frames (MJPEG, or H.264 access units) or Opus/PCM packets.
 *
 * Failure policy: a camera or mic that cannot be opened (failed start, or no device at
 * all) is a `warning` (W_NO_CAMERA / W_NO_MIC) and the capture ends; the call goes on
 * without it. A later crash restarts ffmpeg with backoff, each time with a warning that
 * quotes ffmpeg's last stderr line; when the restart budget is spent, or a `test`/FILE
 * source fails, `error` carries a FatalError (E_CAPTURE_FAILED, exit 7).
 *
 * Video capture timestamps are the wall clock (µs) when the raw frame was handed to the
 * encoder: the last filter before it prints each frame's number to fd 3 at that moment
 * (args.ts, ENCODER_TAP_FILTER), so whatever ffmpeg holds after that (encoder threads,
 * muxer, pipe) counts in `latencyMs`. A frame whose line is not in yet (both pipes read in the
 * same turn) falls back to the time its last byte left ffmpeg. Audio: when the packet left.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { MjpegSplitter } from '../codec/mjpeg.js';
import { FlvH264Demuxer } from '../codec/h264.js';
import { OggReader, isOpusHeader, opusPacketDurationMs } from '../codec/ogg.js';
import { wallClockUs } from '../codec/protocol/clock.js';
import type { AudioCodec } from '../codec/protocol/messages.js';
import { describeDeath, type ProcessDeath, type Supervisor } from '../proc/supervisor.js';
import {
  AUDIO_FRAME_BYTES, AUDIO_FRAME_MS, DEFAULT_KEYFRAME_INTERVAL_MS, ENCODER_TAP_FD, audioCaptureArgs, videoCaptureArgs,
  type AudioSource, type PlatformOptions, type VideoCaptureParams, type VideoSource,
} from './args.js';
import type { EchoCanceller } from './echo.js';
import { MediaError, type MediaWarning } from './errors.js';
import { EncoderTap } from './encoder-tap.js';
import { OpusFrameEncoder } from './opus.js';
import { MEDIA_MAX_RESTARTS, SupervisedMedia, restartWarning } from './ffmpeg-process.js';

/** A source that has produced nothing for this long after spawning is a failed start. */
export const FIRST_OUTPUT_TIMEOUT_MS = 10_000;

/** One encoded video frame. H.264 keyframes carry SPS/PPS in front. */
export interface VideoFrame {
  data: Buffer;
  keyframe: boolean;
  /** Wall clock (µs since the epoch) when the raw frame entered the encoder (see the file comment). */
  captureTimeUs: number;
}

/** One encoded audio packet: Opus (one 20 ms packet) or s16le PCM (exactly 20 ms). */
export interface AudioPacket {
  data: Buffer;
  durationMs: number;
  captureTimeUs: number;
}

interface CaptureEvents {
  /** ffmpeg produced its first output. */
  started: [];
  warning: [MediaWarning];
  error: [MediaError];
  /** The capture stopped for good (closed, missing device, or error). */
  ended: [];
}

export interface VideoCaptureEvents extends CaptureEvents {
  frame: [VideoFrame];
}
export interface AudioCaptureEvents extends CaptureEvents {
  packet: [AudioPacket];
}

/** True when this Linux machine has a video device node (no node: no camera, don't try). */
export function hasVideoDevice(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux') return true;
  try {
    return readdirSync('/dev').some((n) => n.startsWith('video'));
  } catch {
    return false;
  }
}

/** True when a PulseAudio server looks reachable (then the mic uses pulse, else ALSA). */
export function hasPulse(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.PULSE_SERVER) return true;
  const runtime = env.XDG_RUNTIME_DIR;
  if (!runtime) return false;
  try {
    return readdirSync(`${runtime}/pulse`).includes('native');
  } catch {
    return false;
  }
}

type Kind = 'video' | 'audio';

/** What the two captures share: supervision, warnings, the missing-device rule. */
abstract class CaptureBase<E extends Record<keyof E, unknown[]>> extends SupervisedMedia<E> {
  private ended = false;
  /** The device delivered data at least once (so a later failure is a loss, not an absence). */
  private everProduced = false;
  private firstOutputTimer: NodeJS.Timeout | undefined;

  protected constructor(
    private readonly kind: Kind,
    protected readonly ffmpeg: string,
    private readonly isDevice: boolean,
  ) {
    super();
  }

  protected abstract args(): string[];
  protected abstract resetParser(): void;
  protected abstract onData(chunk: Buffer): void;
  /** Extra pipes after stderr (video: the encoder tap on fd 3), and what reads them. */
  protected extraPipes = 0;
  protected onSpawn(_child: ChildProcess): void {}

  private get label(): string {
    return this.kind === 'video' ? 'camera' : 'mic';
  }

  /** Spawns ffmpeg. Wire listeners first: a missing device is reported from here. */
  start(): this {
    if (this.sup || this.ended) return this;
    this.launch();
    return this;
  }

  protected launch(): void {
    this.superviseFfmpeg({
      name: `ffmpeg-${this.kind}-capture`,
      ffmpeg: this.ffmpeg,
      args: () => this.args(),
      stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(this.extraPipes).fill('pipe')],
      startupGraceMs: Infinity,
      restart: { maxRestarts: MEDIA_MAX_RESTARTS },
      // ffmpeg finishes cleanly on SIGINT (q on stdin is not available: stdin is ignored).
      stop: (child) => child.kill('SIGINT'),
      killAfterMs: 2000,
    }, {
      spawn: (child, sup) => this.wire(child, sup),
      died: (death) => {
        if (this.firstOutputTimer) clearTimeout(this.firstOutputTimer);
        if (!death.failedStart) this.emitWarning(restartWarning('W_CAPTURE_RESTART', death));
      },
      gaveUp: (death) => this.onGaveUp(death),
    });
  }

  /** A new ffmpeg: fresh parsers, its output read, and a deadline for the first of it. */
  private wire(child: ChildProcess, sup: Supervisor): void {
    this.resetParser();
    this.onSpawn(child);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!sup.started) {
        sup.markStarted();
        if (this.firstOutputTimer) clearTimeout(this.firstOutputTimer);
        this.everProduced = true;
        this.emitCommon('started');
      }
      this.onData(chunk);
    });
    this.firstOutputTimer = setTimeout(() => child.kill('SIGKILL'), FIRST_OUTPUT_TIMEOUT_MS);
    this.firstOutputTimer.unref();
  }

  private onGaveUp(death: ProcessDeath): void {
    if (death.failedStart && this.isDevice && this.everProduced) {
      // It worked, then died and will not come back (unplugged, taken by another program).
      this.warn(this.kind === 'video' ? 'W_CAMERA_LOST' : 'W_MIC_LOST', `${this.label} lost, going on without it: ${describeDeath(death)}`);
    } else if (death.failedStart && this.isDevice) {
      this.warn(this.kind === 'video' ? 'W_NO_CAMERA' : 'W_NO_MIC', `no ${this.label}, going on without it: ${describeDeath(death)}`);
    } else {
      const err = new MediaError('E_CAPTURE_FAILED', `${this.kind} capture failed: ${describeDeath(death)}`);
      this.emitError(err);
    }
    this.end();
  }

  /** Reports a missing device without spawning anything. */
  protected missingDevice(why: string): void {
    this.ended = true;
    setImmediate(() => {
      this.warn(this.kind === 'video' ? 'W_NO_CAMERA' : 'W_NO_MIC', `no ${this.label}, going on without it: ${why}`);
      this.emitCommon('ended');
    });
  }

  /** Emits an event every capture has; the generic map cannot prove those keys exist. */
  private emitCommon(event: 'started' | 'ended'): void {
    EventEmitter.prototype.emit.call(this, event);
  }

  protected warn(code: string, message: string): void {
    this.emitWarning({ code, message });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emitCommon('ended');
  }

  /** Restarts ffmpeg with new parameters (what setFps/setQuality use). */
  protected async relaunch(): Promise<void> {
    const old = this.sup;
    if (!old || this.ended) return;
    this.sup = undefined;
    await this.retire(old);
    if (!this.ended) this.launch();
  }

  /** Stops ffmpeg. Idempotent; resolves when it has exited. */
  async close(): Promise<void> {
    if (this.firstOutputTimer) clearTimeout(this.firstOutputTimer);
    await this.retire();
    this.end();
  }
}

export interface VideoCaptureOptions extends VideoCaptureParams, PlatformOptions {
  ffmpeg: string;
  source: VideoSource;
}

/**
 * Encoded video from a camera, the test pattern or a looping file.
 *
 * Keyframes (H.264): the GOP is one second of frames, so a keyframe is never more than a
 * second away. ffmpeg cannot be told "keyframe now" while it runs (and a restart takes
 * ~0.5 s), so `requestKeyframe()` only tells when the next one is due.
 */
export class VideoCapture extends CaptureBase<VideoCaptureEvents> {
  private params: VideoCaptureParams;
  private readonly source: VideoSource;
  private readonly platformOpts: PlatformOptions;
  private mjpeg = new MjpegSplitter();
  private flv = new FlvH264Demuxer();
  private lastKeyframeAtMs = 0;
  private readonly tap = new EncoderTap();
  protected override extraPipes = 1;

  constructor(opts: VideoCaptureOptions) {
    super('video', opts.ffmpeg, opts.source.kind === 'camera');
    this.source = opts.source;
    this.params = { width: opts.width, height: opts.height, fps: opts.fps, codec: opts.codec, quality: opts.quality, gopFrames: opts.gopFrames };
    this.platformOpts = { platform: opts.platform, pulse: opts.pulse };
  }

  override start(): this {
    if (this.source.kind === 'camera' && !this.source.device && !hasVideoDevice(this.platformOpts.platform)) {
      this.missingDevice('no /dev/video* device');
      return this;
    }
    return super.start();
  }

  /** Current capture parameters. */
  get settings(): Readonly<VideoCaptureParams> {
    return this.params;
  }

  protected args(): string[] {
    return videoCaptureArgs(this.source, this.params, this.platformOpts);
  }

  protected resetParser(): void {
    this.mjpeg = new MjpegSplitter();
    this.flv = new FlvH264Demuxer();
    this.tap.reset();
  }

  protected override onSpawn(child: ChildProcess): void {
    const pipe = child.stdio[ENCODER_TAP_FD] as Readable | null | undefined;
    pipe?.on('data', (chunk: Buffer) => this.tap.push(chunk, wallClockUs()));
  }

  protected onData(chunk: Buffer): void {
    const at = wallClockUs();
    if (this.params.codec === 'mjpeg') {
      for (const data of this.mjpeg.push(chunk)) this.emit('frame', { data, keyframe: true, captureTimeUs: this.tap.next(at) });
      return;
    }
    for (const au of this.flv.push(chunk)) {
      if (au.keyframe) this.lastKeyframeAtMs = at / 1000;
      this.emit('frame', { data: au.data, keyframe: au.keyframe, captureTimeUs: this.tap.next(at) });
    }
  }

  /**
   * The ms until the next keyframe; asks ffmpeg nothing (a running ffmpeg 5.1 cannot be told
   * "keyframe now", see the class comment). MJPEG: every frame is one (0).
   */
  requestKeyframe(): number {
    if (this.params.codec === 'mjpeg') return 0;
    const gopMs = this.params.gopFrames ? (this.params.gopFrames * 1000) / this.params.fps : DEFAULT_KEYFRAME_INTERVAL_MS;
    const since = Date.now() - this.lastKeyframeAtMs;
    return Math.max(0, Math.round(gopMs - (since % gopMs)));
  }

  /** Changes the frame rate. Restart-based: frames pause for ~0.5 s. */
  setFps(fps: number): Promise<void> {
    if (fps === this.params.fps) return Promise.resolve();
    this.params = { ...this.params, fps };
    return this.relaunch();
  }

  /**
   * Changes what is encoded, all at once (one restart): quality, the encoded size (undefined:
   * the capture size), the frame rate. Frames pause while ffmpeg restarts.
   */
  setEncoding(e: { quality: number; scaleTo?: { width: number; height: number }; fps?: number }): Promise<void> {
    const next: VideoCaptureParams = { ...this.params, quality: e.quality, fps: e.fps ?? this.params.fps };
    if (e.scaleTo && (e.scaleTo.width !== this.params.width || e.scaleTo.height !== this.params.height)) next.scaleTo = e.scaleTo;
    else delete next.scaleTo;
    const same = next.quality === this.params.quality && next.fps === this.params.fps
      && next.scaleTo?.width === this.params.scaleTo?.width && next.scaleTo?.height === this.params.scaleTo?.height;
    if (same) return Promise.resolve();
    this.params = next;
    return this.relaunch();
  }

  /** Changes picture quality (1..100). Restart-based: frames pause for ~0.5 s. */
  setQuality(quality: number): Promise<void> {
    if (quality === this.params.quality) return Promise.resolve();
    this.params = { ...this.params, quality };
    return this.relaunch();
  }
}

export interface AudioCaptureOptions extends PlatformOptions {
  ffmpeg: string;
  source: AudioSource;
  codec: AudioCodec;
  /**
   * Encode Opus in-process (ffmpeg then hands over raw PCM): default when `@discordjs/opus`
   * loads. Needed for the echo canceller, which works on the PCM before it is encoded.
   */
  inProcessOpus?: boolean;
  /** Takes the speaker's echo out of every 20 ms frame before it is encoded. */
  echo?: EchoCanceller | null;
}

/**
 * Audio from a mic, the 1 kHz test tone or a looping file: one `packet` per 20 ms.
 * In-process (the default when possible): ffmpeg -> raw PCM -> 20 ms frames -> echo
 * canceller -> Opus encoder here. Else ffmpeg encodes Opus into Ogg pages, cut apart here.
 */
export class AudioCapture extends CaptureBase<AudioCaptureEvents> {
  private readonly source: AudioSource;
  private readonly codec: AudioCodec;
  private readonly platformOpts: PlatformOptions;
  private readonly encoder: OpusFrameEncoder | null;
  private readonly echo: EchoCanceller | null;
  private ogg = new OggReader();
  private pcmRest: Buffer = Buffer.alloc(0);

  constructor(opts: AudioCaptureOptions) {
    super('audio', opts.ffmpeg, opts.source.kind === 'mic');
    this.source = opts.source;
    this.codec = opts.codec;
    this.encoder = opts.codec === 'opus' && opts.inProcessOpus ? new OpusFrameEncoder() : null;
    this.echo = opts.echo ?? null;
    // Decide pulse vs ALSA once, so that restarts keep the same backend.
    this.platformOpts = { platform: opts.platform, pulse: opts.pulse ?? hasPulse() };
  }

  /** True when ffmpeg hands over raw PCM and frames are processed here. */
  get inProcess(): boolean {
    return this.codec === 'pcm' || this.encoder !== null;
  }

  protected args(): string[] {
    return audioCaptureArgs(this.source, this.inProcess ? 'pcm' : this.codec, this.platformOpts);
  }

  protected resetParser(): void {
    this.ogg = new OggReader();
    this.pcmRest = Buffer.alloc(0);
  }

  protected onData(chunk: Buffer): void {
    const at = wallClockUs();
    if (!this.inProcess) {
      for (const p of this.ogg.push(chunk)) {
        if (isOpusHeader(p.data)) continue;
        this.emit('packet', { data: p.data, durationMs: opusPacketDurationMs(p.data), captureTimeUs: at });
      }
      return;
    }
    let buf = this.pcmRest.length ? Buffer.concat([this.pcmRest, chunk]) : chunk;
    while (buf.length >= AUDIO_FRAME_BYTES) {
      let frame: Buffer = Buffer.from(buf.subarray(0, AUDIO_FRAME_BYTES));
      buf = buf.subarray(AUDIO_FRAME_BYTES);
      if (this.echo) frame = this.echo.process(frame);
      const data = this.encoder ? this.encoder.encode(frame) : frame;
      this.emit('packet', { data, durationMs: AUDIO_FRAME_MS, captureTimeUs: at });
    }
    this.pcmRest = Buffer.from(buf);
  }
}
