/**
 * The video decoder: encoded frames in on stdin of one long-lived, supervised ffmpeg, raw
 * RGB24 frames out on stdout (audio: audio-decode.ts). MJPEG is decoded in this process instead
 * when the wasm decoder loads (jpeg-wasm.ts: fewer processes, less memory; ffmpeg stays the
 * fallback).
 *
 * Latency: a raw H.264 stream gives ffmpeg's parser no frame end until the next frame
 * starts, so every frame is followed by an access unit delimiter (AUD_NAL): the parser
 * sees the end at once. MJPEG goes in as multipart parts that carry their length
 * (args.ts, mpjpegPart): ffmpeg's JPEG byte-stream demuxers wait for the next frame. A
 * decoder that cannot keep up has frames dropped at its stdin (never queued); for H.264 it
 * then waits for the next keyframe and emits `need-keyframe` so the session can ask the peer
 * for one.
 */
import type { ChildProcess } from 'node:child_process';
import { AUD_NAL } from '../codec/h264.js';
import { describeDeath, type Supervisor } from '../proc/supervisor.js';
import { mpjpegPart, videoDecoderArgs } from './args.js';
import type { VideoCodec } from '../codec/protocol/messages.js';
import { MediaError, type MediaWarning } from './errors.js';
import { MEDIA_MAX_RESTARTS, SupervisedMedia, restartWarning } from './ffmpeg-process.js';
import { loadJpegDecoder, type JpegDecodeFn } from './jpeg-wasm.js';
import { jpegFrameHeader } from '../codec/jpeg-info.js';
import { RawFrameSplitter } from '../codec/raw-frames.js';
import { resampleRgbaToRgb } from '../codec/resample.js';

/** MJPEG frames held while the in-process decoder loads (the newest are kept). */
const WASM_LOAD_QUEUE_FRAMES = 4;
/** In-process decodes in flight before a new frame is dropped (they finish in about a millisecond). */
const WASM_MAX_IN_FLIGHT = 2;

/** Encoded bytes allowed to wait in a decoder's stdin before frames are dropped. */
export const DECODER_MAX_QUEUED_BYTES = 512 * 1024;
/** Largest decoded frame we accept to produce (guards a bad setSize). */
export const MAX_DECODED_PIXELS = 3840 * 2160;

/** A decoded RGB24 frame, `data.length === width * height * 3`. */
export interface DecodedFrame {
  width: number;
  height: number;
  data: Buffer;
  /** The `captureUs` its encoded frame was pushed with, if any. */
  captureUs?: number;
}

export interface VideoDecoderEvents {
  frame: [DecodedFrame];
  /** H.264: frames are being ignored until a keyframe arrives; ask the peer for one. */
  'need-keyframe': [];
  warning: [MediaWarning];
  error: [MediaError];
}

export interface VideoDecoderOptions {
  ffmpeg: string;
  codec: VideoCodec;
  width: number;
  height: number;
  /**
   * MJPEG: decode in this process (wasm libjpeg-turbo) when it loads, else with ffmpeg.
   * Default true; false always uses ffmpeg. H.264 always uses ffmpeg.
   */
  inProcess?: boolean;
}

/** Which decoder a VideoDecoder ended up with. */
export type VideoDecoderBackend = 'in-process' | 'ffmpeg';

/** Encoded video frames -> RGB24 frames at a size that can change (restart-based). */
export class VideoDecoder extends SupervisedMedia<VideoDecoderEvents> {
  private readonly ffmpeg: string;
  private readonly codec: VideoCodec;
  private width: number;
  private height: number;
  /** Processes launched so far; each numbers its frames' source. */
  private launches = 0;
  /** The newest process that produced output: an older one (being stopped) is not heard any more. */
  private newestOutput = 0;
  private waitingForKeyframe: boolean;
  private closed = false;
  /** Frames dropped because the decoder was backed up or waiting for a keyframe. */
  droppedFrames = 0;
  /** In-process MJPEG: undefined while loading (or not tried), null when it cannot be had. */
  private wasm: JpegDecodeFn | null | undefined;
  private wantWasm: boolean;
  private loadQueue: Array<{ data: Uint8Array; captureUs?: number }> = [];
  private inFlight = 0;
  /** In-process decodes finish in order: each waits for the one before. */
  private chain: Promise<void> = Promise.resolve();
  /** Capture times of the frames written to the current ffmpeg process. */
  private launchTimes: Array<number | undefined> = [];

  constructor(opts: VideoDecoderOptions) {
    super();
    this.ffmpeg = opts.ffmpeg;
    this.codec = opts.codec;
    this.width = opts.width;
    this.height = opts.height;
    this.waitingForKeyframe = opts.codec === 'h264';
    this.wantWasm = opts.codec === 'mjpeg' && opts.inProcess !== false;
    checkSize(opts.width, opts.height);
  }

  /** The decoder in use: in-process once it has loaded, else (or until then) ffmpeg. */
  get backend(): VideoDecoderBackend {
    return this.wasm ? 'in-process' : 'ffmpeg';
  }

  /** Resolves once the decoder is chosen (in-process loaded, or ffmpeg started). */
  async ready(): Promise<VideoDecoderBackend> {
    this.start();
    if (this.wantWasm) await loadJpegDecoder();
    return this.backend;
  }

  /** Current output size. */
  get size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  /** Starts the decoder (also done by the first push): loads the in-process one, or spawns ffmpeg. */
  start(): this {
    if (this.closed) return this;
    if (this.wantWasm) {
      if (this.wasm === undefined && this.loadQueue.length === 0 && !this.loadStarted) this.loadWasm();
      return this;
    }
    if (!this.sup) this.launch();
    return this;
  }

  private loadStarted = false;

  private loadWasm(): void {
    this.loadStarted = true;
    void loadJpegDecoder().then((fn) => {
      if (this.closed) return;
      this.wasm = fn;
      const queued = this.loadQueue;
      this.loadQueue = [];
      if (!fn) {
        // No in-process decoder here: ffmpeg does it, starting with what waited.
        this.wantWasm = false;
        this.launch();
      }
      for (const f of queued) this.push({ data: f.data, keyframe: true, captureUs: f.captureUs });
    });
  }

  /** One JPEG through the in-process decoder, scaled to the current size, in order. */
  private decodeInProcess(fn: JpegDecodeFn, jpeg: Uint8Array, captureUs: number | undefined): boolean {
    // Decoding runs on our event loop: only what a sender of ours produces (sequential, at most
    // 4K) is taken, so a hostile peer cannot stall the call with a frame of a thousand scans.
    const size = jpegFrameHeader(jpeg);
    if (!size || !size.sequential || size.width * size.height > MAX_DECODED_PIXELS || this.inFlight >= WASM_MAX_IN_FLIGHT) {
      this.droppedFrames++;
      return false;
    }
    this.inFlight++;
    const decoded = fn(jpeg);
    this.chain = this.chain.then(async () => {
      try {
        const img = await decoded;
        if (this.closed) return;
        const { width, height } = this;
        const data = resampleRgbaToRgb(img.data, img.width, img.height, width, height);
        this.emit('frame', { width, height, data: Buffer.from(data), ...(captureUs !== undefined ? { captureUs } : {}) });
      } catch {
        // A damaged frame: dropped, like a frame ffmpeg cannot decode.
        this.droppedFrames++;
      } finally {
        this.inFlight--;
      }
    });
    return true;
  }

  private launch(): void {
    const width = this.width;
    const height = this.height;
    const generation = ++this.launches;
    this.superviseFfmpeg({
      name: `ffmpeg-${this.codec}-decoder`,
      ffmpeg: this.ffmpeg,
      args: () => videoDecoderArgs(this.codec, width, height),
      stdio: ['pipe', 'pipe', 'pipe'],
      restart: { maxRestarts: MEDIA_MAX_RESTARTS, afterFailedStart: true },
      stop: (child) => child.stdin?.end(),
      killAfterMs: 1000,
    }, {
      spawn: (child, sup) => this.wire(child, sup, generation, { width, height }),
      died: (death) => this.emit('warning', restartWarning('W_DECODER_RESTART', death)),
      gaveUp: (death) => this.emit('error', new MediaError('E_DECODE_FAILED', `video decoding failed: ${describeDeath(death)}`)),
    });
  }

  /** A new ffmpeg of launch `generation`: frames of `size` cut from its stdout, each with its capture time. */
  private wire(child: ChildProcess, sup: Supervisor, generation: number, size: { width: number; height: number }): void {
    const { width, height } = size;
    const splitter = new RawFrameSplitter(width * height * 3);
    // A new process knows no reference frames.
    if (this.codec === 'h264') this.waitingForKeyframe = true;
    // Capture times of the frames written to this process, in order: ffmpeg keeps the order.
    const times: Array<number | undefined> = [];
    this.launchTimes = times;
    child.stdout?.on('data', (chunk: Buffer) => {
      sup.markStarted();
      // Once the replacement speaks, the old size's leftovers would only step back in time.
      if (generation < this.newestOutput) return;
      this.newestOutput = generation;
      for (const data of splitter.push(chunk)) {
        // Frames of an old size (before setSize) are still correct: they carry their own size.
        const captureUs = times.shift();
        this.emit('frame', { width, height, data: Buffer.from(data), ...(captureUs !== undefined ? { captureUs } : {}) });
      }
    });
  }

  /**
   * Feeds one encoded frame (a whole JPEG or H.264 access unit). Returns false when it was
   * dropped (decoder backed up, or H.264 waiting for a keyframe).
   */
  push(frame: { data: Uint8Array; keyframe: boolean; captureUs?: number }): boolean {
    if (this.closed) return false;
    if (this.wantWasm) {
      if (this.wasm) return this.decodeInProcess(this.wasm, frame.data, frame.captureUs);
      this.start();
      this.loadQueue.push({ data: frame.data, captureUs: frame.captureUs });
      if (this.loadQueue.length > WASM_LOAD_QUEUE_FRAMES) {
        this.loadQueue.shift();
        this.droppedFrames++;
      }
      return true;
    }
    if (!this.sup) this.launch();
    const stdin = this.sup?.child?.stdin;
    if (!stdin || !stdin.writable || stdin.writableLength > DECODER_MAX_QUEUED_BYTES) {
      this.drop();
      return false;
    }
    if (this.waitingForKeyframe) {
      if (!frame.keyframe) {
        this.droppedFrames++;
        return false;
      }
      this.waitingForKeyframe = false;
    }
    this.launchTimes.push(frame.captureUs);
    if (this.codec === 'h264') {
      stdin.write(frame.data);
      stdin.write(AUD_NAL);
    } else {
      for (const b of mpjpegPart(frame.data)) stdin.write(b);
    }
    return true;
  }

  private drop(): void {
    this.droppedFrames++;
    if (this.codec === 'h264' && !this.waitingForKeyframe) {
      this.waitingForKeyframe = true;
      this.emit('need-keyframe');
    }
  }

  /**
   * Changes the output size: a new ffmpeg with the new scale starts at once and takes every
   * frame pushed from now on (H.264 then waits for a keyframe); the old one is stopped in the
   * background, its last frames (of the old size, which they carry) still delivered until the
   * new one has output. Starting the new one only after the old one exited left the picture
   * frozen for the whole stop (up to its kill timeout) plus a start, and a push in between
   * launched a second, unsupervised decoder.
   */
  async setSize(width: number, height: number): Promise<void> {
    checkSize(width, height);
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    // In process: the next frame comes at the new size; nothing to restart.
    if (this.wantWasm) return;
    const old = this.sup;
    this.sup = undefined;
    if (!this.closed) {
      this.launch();
      if (this.codec === 'h264') this.emit('need-keyframe');
    }
    await this.retire(old);
  }

  /** Stops the decoder. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.loadQueue = [];
    await this.chain;
    await this.retire();
  }
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2 || width * height > MAX_DECODED_PIXELS) {
    throw new RangeError(`bad decode size ${width}x${height}`);
  }
}
