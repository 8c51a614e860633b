/**
 * The receiving half of a call, around its ReceivePipeline: the peer's SETUP picks the
 * decoders (a returning peer with other media settings gets new ones), what arrives is
 * counted, and each decoded frame's latency is measured from the capture time it was tagged
 * with before it is passed on.
 */
import { EventEmitter } from 'node:events';
import type { Setup } from '../../codec/protocol/index.js';
import type { MediaError, MediaWarning } from '../../media/errors.js';
import { receiveMediaFor, sameMedia, type CallOptions } from './call-options.js';
import type { CallStatsBuilder } from './call-stats.js';
import type { EndReason } from './events.js';
import { ReceivePipeline, audioPacketMs } from './receive-pipeline.js';
import { inProcessDecodeAllowed, openFrameTap } from './test-hooks.js';

export interface CallReceiveEvents {
  frame: [{ width: number; height: number; data: Buffer }];
  'need-keyframe': [];
  warning: [MediaWarning];
  error: [MediaError];
}

export interface CallReceiveParts {
  stats: CallStatsBuilder;
  /** Capture (µs, the peer's clock) to now in ms; null while the clock offset is unknown. */
  latencyMs(captureUs: number): number | null;
  inProcessOpus: boolean;
  /** Every frame the speaker plays (the echo canceller's reference). */
  played(frame: Buffer): void;
}

export class CallReceive extends EventEmitter<CallReceiveEvents> {
  private pipeline: ReceivePipeline | undefined;
  private peer: Setup | null = null;
  /** TEST-ONLY: decoded frames out to the benchmark (test-hooks.ts). */
  private readonly frameTap = openFrameTap();

  /** `opts.decodeSize` is read when the decoders start (setSize changes it). */
  constructor(private readonly opts: CallOptions, private readonly parts: CallReceiveParts) {
    super();
  }

  /** How the call ended, said again with the recording in mind: one that ended well with an incomplete file is a media failure (exit 7). */
  verdict(reason: EndReason, message: string | undefined): [EndReason, string | undefined] {
    const failure = this.pipeline?.recordFailure;
    if (reason !== 'hangup' || !failure) return [reason, message];
    return ['media', `the call ended well, but the recording is incomplete: ${failure}`];
  }

  sinkStats(): { audioBufferMs: number; audioUnderruns: number } | undefined {
    return this.pipeline?.sinkStats();
  }

  /** The peer joined with this SETUP: decoders, sink and recorder start. */
  join(setup: Setup): void {
    this.peer = setup;
    const { ffmpeg, audioOut, env, record } = this.opts;
    const pipeline = new ReceivePipeline({
      ffmpeg, inProcessVideo: inProcessDecodeAllowed(), inProcessOpus: this.parts.inProcessOpus,
      audioOut, env, onPlayed: (frame) => this.parts.played(frame), ...(record ? { record } : {}),
    });
    pipeline.on('frame', (f) => this.decoded(f.width, f.height, f.data, f.tag));
    pipeline.on('need-keyframe', () => this.emit('need-keyframe'));
    pipeline.on('warning', (w) => this.emit('warning', w));
    pipeline.on('error', (e) => this.emit('error', e));
    this.pipeline = pipeline;
    pipeline.start(receiveMediaFor(setup, this.opts.decodeSize));
  }

  /** The peer is back with this SETUP: the decoders (and a recording) follow other media settings. */
  resume(setup: Setup): void {
    if (!sameMedia(this.peer, setup)) this.pipeline?.follow(receiveMediaFor(setup, this.opts.decodeSize));
    this.peer = setup;
  }

  video(v: { data: Uint8Array; keyframe: boolean; timestampUs: number }): void {
    this.parts.stats.counter.videoReceived();
    this.pipeline?.pushVideo({ data: v.data, keyframe: v.keyframe, tag: v.timestampUs });
  }

  audio(data: Uint8Array): void {
    const durationMs = audioPacketMs(this.peer?.audio?.codec ?? 'opus', data);
    this.parts.stats.counter.audioReceived(durationMs);
    this.pipeline?.pushAudio(data, durationMs);
  }

  /** The pixel size frames are decoded to (rounded to even numbers, as the scaler needs). */
  setSize(width: number, height: number): void {
    const size = { width: Math.max(2, Math.round(width / 2) * 2), height: Math.max(2, Math.round(height / 2) * 2) };
    this.opts.decodeSize = size;
    this.pipeline?.setSize(size.width, size.height);
  }

  close(): Promise<void> | undefined {
    return this.pipeline?.close();
  }

  private decoded(width: number, height: number, data: Buffer, captureUs: number | undefined): void {
    if (captureUs !== undefined) this.parts.stats.addLatency(this.parts.latencyMs(captureUs));
    this.parts.stats.counter.videoDecoded();
    this.frameTap?.({ width, height, data });
    this.emit('frame', { width, height, data });
  }
}
