/**
 * The receive side of a call, usable outside one (`play`): encoded video frames and audio
 * packets in, each with a tag the caller chooses; decoded RGB24 frames out, each carrying the
 * tag of the encoded frame it came from (a call tags with the capture time, to measure the
 * latency). Around the decoders: an optional recorder that gets a copy of everything that
 * arrives, and an optional audio sink the decoded sound plays through.
 *
 *   pushVideo ──> recorder copy ──> VideoDecoder ──> 'frame' { width, height, data, tag }
 *   pushAudio ──> recorder copy ──> AudioDecoder ──> AudioSink (speaker, wav)
 *
 * Nothing here knows of sockets, the protocol or the session: the caller feeds what it got
 * and listens to `frame`, `need-keyframe` (H.264 lost its reference: ask the sender for a
 * keyframe), `warning` and `error` (a decoder gave up).
 */
import { EventEmitter } from 'node:events';
import { opusPacketDurationMs } from '../../codec/ogg.js';
import type { AudioCodec as AudioCodecName, VideoCodec as VideoCodecName } from '../../codec/protocol/messages.js';
import { AUDIO_FRAME_BYTES, AUDIO_FRAME_MS } from '../../media/args.js';
import { AudioSink, type AudioOutSpec, type AudioSinkStats } from '../../media/audio-sink.js';
import { AudioDecoder } from '../../media/audio-decode.js';
import { VideoDecoder } from '../../media/decode.js';
import type { MediaError, MediaWarning } from '../../media/errors.js';
import { Recorder } from '../../media/recorder.js';

/** One decoded frame and the tag its encoded frame was pushed with. */
export interface TaggedFrame {
  width: number;
  height: number;
  data: Buffer;
  tag: number | undefined;
}

/**
 * What arrives. A video decoder needs its output size: without one it starts at the first
 * setSize() (the size of the first frame is known only when it arrives).
 */
export interface ReceiveMedia {
  video: { codec: VideoCodecName; width?: number; height?: number } | null;
  audio: { codec: AudioCodecName } | null;
}

export interface ReceivePipelineOptions {
  ffmpeg: string;
  /** MJPEG decoded in this process when it can be (default true). */
  inProcessVideo?: boolean;
  /** Opus decoded in this process (default false: an ffmpeg). */
  inProcessOpus?: boolean;
  /** Where the sound plays; none or absent: decoded audio is dropped. */
  audioOut?: AudioOutSpec;
  /** Environment of the speaker child. */
  env?: NodeJS.ProcessEnv;
  /** Every frame the sink hands to the speaker (the echo canceller's reference). */
  onPlayed?: (frame: Buffer) => void;
  /** A Matroska file that gets a copy of every frame and packet that arrives. */
  record?: string;
  /** Where decoded sound goes instead of a sink of its own (a room's mixer). */
  onPcm?: (pcm: Buffer) => void;
}

export interface ReceivePipelineEvents {
  frame: [TaggedFrame];
  'need-keyframe': [];
  warning: [MediaWarning];
  error: [MediaError];
}

/** Milliseconds of sound in one received packet. */
export function audioPacketMs(codec: AudioCodecName, data: Uint8Array): number {
  return codec === 'pcm' ? (data.length / AUDIO_FRAME_BYTES) * AUDIO_FRAME_MS : opusPacketDurationMs(data);
}

export class ReceivePipeline extends EventEmitter<ReceivePipelineEvents> {
  private media: ReceiveMedia | undefined;
  private video: VideoDecoder | undefined;
  private audio: AudioDecoder | undefined;
  private sink: AudioSink | undefined;
  private recorder: Recorder | undefined;
  private failure: string | undefined;
  private closed = false;

  constructor(private readonly opts: ReceivePipelineOptions) {
    super();
  }

  /** Why the recording stopped early, if it did (a call that ends well then exits 7). */
  get recordFailure(): string | undefined {
    return this.failure;
  }

  /** The sink's buffer and underruns (zero without a sink). */
  sinkStats(): AudioSinkStats {
    return this.sink?.stats() ?? { audioBufferMs: 0, audioUnderruns: 0 };
  }

  /** Starts the decoders for `media`, the sink and the recorder. */
  start(media: ReceiveMedia): void {
    if (this.closed || this.media) return;
    this.startDecoders(media);
    if (this.opts.audioOut && this.opts.audioOut.kind !== 'none') {
      const sink = new AudioSink(this.opts.audioOut, { env: this.opts.env, ...(this.opts.onPlayed ? { onPlayed: this.opts.onPlayed } : {}) });
      sink.on('warning', (w) => this.emit('warning', w));
      this.sink = sink;
      sink.start();
    }
    if (this.opts.record) {
      const rec = new Recorder({ ffmpeg: this.opts.ffmpeg, path: this.opts.record, video: media.video?.codec ?? null, audio: media.audio?.codec ?? null });
      rec.on('warning', (w) => {
        if (w.code === 'W_RECORD_FAILED') this.failure ??= w.message;
        this.emit('warning', w);
      });
      this.recorder = rec;
      rec.start();
    }
  }

  /**
   * The sender came back with other media settings: the decoders start over for them; a
   * recording of other codecs ends here (one Matroska file holds one codec per stream).
   */
  follow(media: ReceiveMedia): void {
    if (this.closed) return;
    const previous = this.media;
    const old = [this.video, this.audio];
    this.video = undefined;
    this.audio = undefined;
    for (const d of old) void d?.close().catch(() => undefined);
    this.startDecoders(media);
    if (this.recorder && (previous?.video?.codec !== media.video?.codec || previous?.audio?.codec !== media.audio?.codec)) {
      const rec = this.recorder;
      this.recorder = undefined;
      void rec.close().catch(() => undefined);
      this.emit('warning', { code: 'W_RECORD_STOPPED', message: 'the peer came back with other codecs; the recording stops here' });
    }
  }

  /** One encoded frame (a whole JPEG or H.264 access unit). False when the decoder dropped it. */
  pushVideo(frame: { data: Uint8Array; keyframe: boolean; tag?: number }): boolean {
    this.recorder?.writeVideo({ data: frame.data, keyframe: frame.keyframe });
    return this.video?.push({ data: frame.data, keyframe: frame.keyframe, ...(frame.tag !== undefined ? { captureUs: frame.tag } : {}) }) ?? false;
  }

  /** One audio packet; returns its duration in ms (computed from the codec when not given). */
  pushAudio(data: Uint8Array, durationMs?: number): number {
    const ms = durationMs ?? audioPacketMs(this.media?.audio?.codec ?? 'opus', data);
    this.recorder?.writeAudio(data, ms);
    this.audio?.push(data, ms);
    return ms;
  }

  /** The size decoded frames come out at; starts a video decoder still waiting for one. */
  setSize(width: number, height: number): void {
    if (this.video) {
      void this.video.setSize(width, height).catch(() => undefined);
      return;
    }
    const spec = this.media?.video;
    if (spec && !this.closed) this.startVideo({ codec: spec.codec, width, height });
  }

  /** Stops everything; the recording is finalized before this resolves. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.video?.close(), this.audio?.close(), this.sink?.close(), this.recorder?.close()]);
  }

  private startDecoders(media: ReceiveMedia): void {
    this.media = media;
    const v = media.video;
    if (v && v.width !== undefined && v.height !== undefined) this.startVideo({ codec: v.codec, width: v.width, height: v.height });
    if (media.audio) {
      const ad = new AudioDecoder({ ffmpeg: this.opts.ffmpeg, codec: media.audio.codec, inProcessOpus: this.opts.inProcessOpus });
      ad.on('pcm', (pcm) => (this.opts.onPcm ? this.opts.onPcm(pcm) : this.sink?.push(pcm)));
      ad.on('warning', (w) => this.emit('warning', w));
      ad.on('error', (e) => this.emit('error', e));
      this.audio = ad;
      ad.start();
    }
  }

  private startVideo(v: { codec: VideoCodecName; width: number; height: number }): void {
    const vd = new VideoDecoder({ ffmpeg: this.opts.ffmpeg, codec: v.codec, width: v.width, height: v.height, inProcess: this.opts.inProcessVideo });
    vd.on('frame', (f) => this.emit('frame', { width: f.width, height: f.height, data: f.data, tag: f.captureUs }));
    vd.on('need-keyframe', () => this.emit('need-keyframe'));
    vd.on('warning', (w) => this.emit('warning', w));
    vd.on('error', (e) => this.emit('error', e));
    this.video = vd;
    vd.start();
  }
}
