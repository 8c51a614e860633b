/**
 * The self-view: our own captured frames, decoded for the picture-in-picture. Off until the
 * UI asks for it (`setWanted`), so a headless call decodes nothing; once on, every captured
 * frame is decoded (MJPEG in process when it can, else by a VideoDecoder like the peer's; an
 * H.264 one starts at the next keyframe, at most a GOP away) and comes out as `frame`.
 * While the camera is off, one black frame says so and nothing else comes.
 */
import { EventEmitter } from 'node:events';
import type { VideoCodec } from '../codec/protocol/messages.js';
import { VideoCapture, type VideoCaptureOptions, type VideoFrame } from './capture.js';
import type { MediaWarning } from './errors.js';
import { VideoDecoder, type DecodedFrame } from './decode.js';

export interface SelfViewEvents {
  frame: [DecodedFrame];
  warning: [MediaWarning];
}

export interface SelfViewOptions {
  ffmpeg: string;
  codec: VideoCodec;
  /** Our capture size (frames are decoded at it). */
  width: number;
  height: number;
  /** MJPEG in process (the default) or through ffmpeg. */
  inProcess?: boolean;
}

export class SelfView extends EventEmitter<SelfViewEvents> {
  private decoder: VideoDecoder | undefined;
  private wanted = false;
  private cameraOff = false;
  private readonly size: { width: number; height: number };
  private closed = false;
  /** The decoder failed for good: no new one is started (it would fail the same way). */
  private failed = false;

  constructor(private readonly opts: SelfViewOptions) {
    super();
    this.size = { width: opts.width, height: opts.height };
  }

  /** True while frames are being decoded for the self-view. */
  get active(): boolean {
    return this.wanted && !this.closed;
  }

  /**
   * Turn the self-view on or off. Frames come at our capture size: the painter scales them to
   * the box, and learns our camera's shape from them (a decode size of another shape would
   * move the box, and the box the size).
   */
  setWanted(on: boolean): void {
    if (this.closed) return;
    this.wanted = on;
    if (!on) this.stopDecoder();
  }

  /** Our camera was turned off (a black frame is shown) or on again. */
  setCameraOff(off: boolean): void {
    if (off === this.cameraOff) return;
    this.cameraOff = off;
    if (off && this.active) {
      const { width, height } = this.size;
      this.emit('frame', { width, height, data: Buffer.alloc(width * height * 3) });
    }
  }

  /** A frame our capture produced (every one, sent or not). */
  push(frame: VideoFrame): void {
    if (!this.active || this.cameraOff || this.failed) return;
    if (!this.decoder) {
      const d = new VideoDecoder({ ffmpeg: this.opts.ffmpeg, codec: this.opts.codec, width: this.size.width, height: this.size.height, inProcess: this.opts.inProcess });
      d.on('frame', (f) => {
        if (this.active && !this.cameraOff && this.decoder === d) this.emit('frame', f);
      });
      // The self-view is a nicety: a decoder that fails is a warning, never the end of the call.
      d.on('warning', (w) => this.emit('warning', w));
      d.on('error', (e) => {
        this.emit('warning', { code: 'W_SELF_VIEW', message: `self-view stopped: ${e.message}` });
        this.failed = true;
        this.stopDecoder();
      });
      this.decoder = d;
      d.start();
    }
    this.decoder.push(frame);
  }

  private stopDecoder(): void {
    const d = this.decoder;
    this.decoder = undefined;
    void d?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const d = this.decoder;
    this.decoder = undefined;
    await d?.close();
  }
}

/** Where a call's camera frames go: each is sent and given to the self-view. */
export interface CameraSink {
  send(frame: VideoFrame): void;
  selfFrame(frame: DecodedFrame): void;
  warn(warning: MediaWarning): void;
  fail(err: Error): void;
}

/**
 * The camera and its self-view wired together, the same way for both kinds of call (ours and
 * the original client's): every captured frame is sent, then shown in the self-view. The
 * caller keeps both, then start()s the capture.
 */
export function cameraWithSelfView(
  capture: VideoCaptureOptions,
  self: SelfViewOptions,
  sink: CameraSink,
): { capture: VideoCapture; selfView: SelfView } {
  const vc = new VideoCapture(capture);
  const selfView = new SelfView(self);
  selfView.on('frame', (f) => sink.selfFrame(f));
  selfView.on('warning', (w) => sink.warn(w));
  vc.on('frame', (f) => {
    sink.send(f);
    selfView.push(f);
  });
  vc.on('warning', (w) => sink.warn(w));
  vc.on('error', (e) => sink.fail(e));
  return { capture: vc, selfView };
}
