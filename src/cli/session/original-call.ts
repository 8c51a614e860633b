/**
 * A call with an original VideoChat client (`--peer-protocol original`, the seed's main.py;
 * docs/protocol.md, "The original client"). It speaks that client's media on the two relay
 * channels instead of ours:
 *   video: 4-byte LE length + a protocol-0 pickle of the numpy array of one JPEG, both ways
 *          (we recognize the pickle, never unpickle it: src/codec/original/pickle.ts);
 *   audio: raw s16le mono PCM at 44.1 kHz in 1024-frame chunks, no framing, both ways.
 * The session code goes to the relay in clear, as the original sends it, and nothing is
 * encrypted, adapted or reconnected: the original has none of it. The events are those of
 * every call (events.ts), so the TUI, --json, stats, --record and --snapshot work as usual;
 * fields the original cannot give (rttMs, latencyMs) stay null.
 */
import { EventEmitter } from 'node:events';
import type { CallOptions } from './call-options.js';
import type net from 'node:net';
import { jpegSize } from '../../codec/jpeg-info.js';
import { OriginalVideoParser, encodeOriginalVideo } from '../../codec/original/video-framing.js';
import { PcmResampler } from '../../codec/original/resample.js';
import { AUDIO_SAMPLE_RATE_HZ } from '../../media/args.js';
import { AudioCapture, VideoCapture, type AudioPacket, type VideoFrame } from '../../media/capture.js';
import type { MediaWarning } from '../../media/errors.js';
import { cameraWithSelfView, type SelfView } from '../../media/self-view.js';
import { inProcessDecodeAllowed } from './test-hooks.js';
import { ReceivePipeline, type TaggedFrame } from './receive-pipeline.js';
import type { AudioIn, VideoIn } from '../options.js';
import { EXIT_CODES, callEndOf } from '../exit-codes.js';
import type { CallStats, EndReason, SessionEvents } from './events.js';
import { RELAY_CONNECT_TIMEOUT_MS, SOCKET_HIGH_WATER_BYTES, openRelayChannel } from './relay-link.js';
import { StatsCounter } from './stats.js';
import { STATS_INTERVAL_MS, TimerSet } from './call-timers.js';

/** The original's audio: 44.1 kHz mono s16le. */
export const ORIGINAL_AUDIO_RATE_HZ = 44_100;
/** It reads and writes 1024 frames (2048 bytes) at a time. */
export const ORIGINAL_AUDIO_CHUNK_BYTES = 1024 * 2;
/** The original encodes its camera frames at JPEG quality 80. */
export const ORIGINAL_JPEG_QUALITY = 80;
/**
 * The original streams its microphone without pause, so nothing on either channel for this
 * long is a frozen or vanished peer (or a relay that stopped forwarding): exit 5.
 */
export const ORIGINAL_SILENCE_TIMEOUT_MS = 15_000;
/** Time for what we queued to leave before the sockets are torn down at hang-up. */
const CLOSE_FLUSH_MS = 300;

/** A call with the original client takes a subset of a call's options (no codecs, no crypto, no reconnect). */
export type OriginalCallOptions = Pick<CallOptions,
  'host' | 'videoPort' | 'audioPort' | 'session' | 'videoIn' | 'audioIn' | 'width' | 'height' | 'fps' | 'audioOut' |
  'record' | 'durationSec' | 'waitSec' | 'ffmpeg' | 'decodeSize' | 'stopAfterFirstFrame' | 'env'>;

type EndedEvent = SessionEvents['ended'][0];

/** A call with an original VideoChat client: same events and controls as CallSession. */
export class OriginalCallSession extends EventEmitter<SessionEvents> {
  readonly session: string;
  readonly encrypted = false;
  muted = false;
  cameraOff = false;
  private readonly opts: OriginalCallOptions;
  private readonly stats = new StatsCounter();
  private video: net.Socket | undefined;
  private audio: net.Socket | undefined;
  private readonly videoParser = new OriginalVideoParser();
  /** Peer audio 44.1 kHz -> our 48 kHz path; ours 48 kHz -> 44.1 kHz for the peer. */
  private readonly inResampler = new PcmResampler(ORIGINAL_AUDIO_RATE_HZ, AUDIO_SAMPLE_RATE_HZ);
  private readonly outResampler = new PcmResampler(AUDIO_SAMPLE_RATE_HZ, ORIGINAL_AUDIO_RATE_HZ);
  private outAudio: Buffer = Buffer.alloc(0);
  private videoCapture: VideoCapture | undefined;
  private audioCapture: AudioCapture | undefined;
  /** The peer's media: decoder, speaker, recording (from when it joins). */
  private receive: ReceivePipeline | undefined;
  /** Our own frames decoded for the self-view (only while the UI shows it). */
  private selfView: SelfView | undefined;
  /** The peer's picture size the decoder was started with (when it follows the peer). */
  private decoderPeerSize: { width: number; height: number } | undefined;
  private bytes = { sent: 0, received: 0 };
  private peerJoined = false;
  private lastPeerByteMs = 0;
  private readonly timers = new TimerSet();
  private ending: Promise<EndedEvent> | undefined;
  private resolveRun: ((e: EndedEvent) => void) | undefined;

  constructor(opts: OriginalCallOptions) {
    super();
    this.opts = opts;
    this.session = opts.session;
  }

  /** Runs the call to its end; never rejects. */
  run(): Promise<EndedEvent> {
    const done = new Promise<EndedEvent>((resolve) => { this.resolveRun = resolve; });
    this.start().catch((err: unknown) => this.fail(err));
    return done;
  }

  // ---- controls (CallControls for the UI) ----

  /** The original's hang-up: both sockets closed (it has no goodbye message). */
  hangup(why?: string): void {
    void this.end('hangup', why);
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    this.selfView?.setCameraOff(off);
  }

  /** Decode our own frames for the self-view (`self-frame`), or stop. */
  setSelfView(on: boolean): void {
    this.selfView?.setWanted(on);
  }

  /** JPEG frames stand alone: nothing to ask for. */
  requestKeyframe(): void {}

  setVideoSize(width: number, height: number): void {
    const w = Math.max(2, Math.round(width / 2) * 2);
    const h = Math.max(2, Math.round(height / 2) * 2);
    this.opts.decodeSize = { width: w, height: h };
    this.receive?.setSize(w, h);
  }

  currentStats(): CallStats {
    const sink = this.receive?.sinkStats() ?? { audioBufferMs: 0, audioUnderruns: 0 };
    return {
      ...this.stats.snapshot(),
      audioBufferMs: sink.audioBufferMs,
      audioUnderruns: sink.audioUnderruns,
      bytesSent: this.bytes.sent,
      bytesReceived: this.bytes.received,
      rttMs: null,
      latencyMs: null,
      encrypted: false,
    };
  }

  // ---- lifecycle ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: null, echoWhyNot: 'no echo canceller with --peer-protocol original' });
    this.emit('warning', {
      code: 'W_NOT_ENCRYPTED',
      message: 'calling an original VideoChat client: NOT encrypted; the relay and anyone on the path see the session code, the picture and the sound',
    });
    // The original connects video first, then audio, each with the code in clear.
    const [v, a] = await Promise.allSettled([
      openRelayChannel(host, videoPort, this.session, RELAY_CONNECT_TIMEOUT_MS),
      openRelayChannel(host, audioPort, this.session, RELAY_CONNECT_TIMEOUT_MS),
    ]);
    if (v.status === 'rejected' || a.status === 'rejected') {
      if (v.status === 'fulfilled') v.value.destroy();
      if (a.status === 'fulfilled') a.value.destroy();
      throw v.status === 'rejected' ? v.reason : (a as PromiseRejectedResult).reason;
    }
    if (this.ending) {
      v.value.destroy();
      a.value.destroy();
      return;
    }
    this.video = this.wire(v.value, (chunk) => this.onVideoBytes(chunk));
    this.audio = this.wire(a.value, (chunk) => this.onAudioBytes(chunk));
    this.emit('waiting', { session: this.session });
    this.startCapture();
    this.timers.after(this.opts.waitSec * 1000, () => {
      if (!this.peerJoined) void this.end('no-peer', `no peer joined within ${this.opts.waitSec} s`);
    });
    this.timers.every(STATS_INTERVAL_MS, () => {
      this.stats.tick();
      this.emit('stats', this.currentStats());
      if (this.peerJoined && Date.now() - this.lastPeerByteMs > ORIGINAL_SILENCE_TIMEOUT_MS) {
        this.emit('peer-left', { reason: 'lost' });
        void this.end('peer-lost', `nothing from the original client for ${ORIGINAL_SILENCE_TIMEOUT_MS / 1000} s`);
      }
    });
  }

  private wire(socket: net.Socket, onData: (chunk: Buffer) => void): net.Socket {
    socket.on('data', (chunk: Buffer) => {
      if (this.ending) return;
      this.bytes.received += chunk.length;
      this.lastPeerByteMs = Date.now();
      if (!this.peerJoined) this.onPeerJoined();
      try {
        onData(chunk);
      } catch (err) {
        this.fail(err);
      }
    });
    // The original hangs up by closing its sockets: a FIN is its goodbye, a reset is a loss.
    let failed = false;
    socket.on('error', () => { failed = true; });
    socket.on('close', () => {
      if (this.ending) return;
      if (!this.peerJoined) {
        void this.end('relay-unreachable', `the relay closed the connection before a peer joined${failed ? ' (reset)' : ''}`);
        return;
      }
      this.emit('peer-left', { reason: failed ? 'lost' : 'bye' });
      void this.end(failed ? 'peer-lost' : 'hangup', failed ? 'the connection to the original client was reset' : undefined);
    });
    return socket;
  }

  private onPeerJoined(): void {
    this.peerJoined = true;
    this.emit('peer-joined', {
      peer: { client: 'original', protocol: 'original', video: { codec: 'mjpeg' }, audio: { codec: 'pcm', sampleRateHz: ORIGINAL_AUDIO_RATE_HZ } },
    });
    const { ffmpeg, audioOut, env, record } = this.opts;
    const receive = new ReceivePipeline({ ffmpeg, audioOut, env, ...(record ? { record } : {}) });
    receive.on('frame', (f) => this.onDecodedFrame(f));
    receive.on('warning', (w) => this.warn(w));
    receive.on('error', (e) => this.fail(e));
    this.receive = receive;
    // The video decoder starts at the first frame, whose size it needs (decode()).
    receive.start({ video: { codec: 'mjpeg' }, audio: { codec: 'pcm' } });
    if (this.opts.durationSec !== undefined) this.timers.after(this.opts.durationSec * 1000, () => this.hangup());
  }

  // ---- receiving ----

  private onVideoBytes(chunk: Buffer): void {
    for (const jpeg of this.videoParser.push(chunk)) {
      this.stats.videoReceived();
      this.decode(jpeg);
    }
  }

  private decode(jpeg: Buffer): void {
    const peerSize = jpegSize(jpeg);
    if (!peerSize) {
      this.warn({ code: 'W_BAD_FRAME', message: 'the original client sent a JPEG without a frame header; skipped' });
      return;
    }
    if (!this.receive) return;
    if (!this.decoderPeerSize) {
      const size = this.opts.decodeSize ?? evenSize(peerSize);
      this.decoderPeerSize = peerSize;
      this.receive.setSize(size.width, size.height);
    } else if (!this.opts.decodeSize && (peerSize.width !== this.decoderPeerSize?.width || peerSize.height !== this.decoderPeerSize.height)) {
      // No size asked for (headless): the picture follows the camera's size.
      this.decoderPeerSize = peerSize;
      const size = evenSize(peerSize);
      this.receive.setSize(size.width, size.height);
    }
    this.receive.pushVideo({ data: jpeg, keyframe: true });
  }

  private onDecodedFrame(frame: TaggedFrame): void {
    this.stats.videoDecoded();
    this.emit('video-frame', { width: frame.width, height: frame.height, data: frame.data });
    if (this.opts.stopAfterFirstFrame) this.hangup();
  }

  private onAudioBytes(chunk: Buffer): void {
    const pcm = this.inResampler.push(chunk);
    if (pcm.length === 0) return;
    const ms = (pcm.length / 2 / AUDIO_SAMPLE_RATE_HZ) * 1000;
    this.stats.audioReceived(ms);
    this.receive?.pushAudio(pcm, ms);
  }

  // ---- sending ----

  private startCapture(): void {
    const { ffmpeg } = this.opts;
    if (this.opts.videoIn.kind !== 'none') {
      const { capture, selfView } = cameraWithSelfView(
        {
          ffmpeg, source: this.opts.videoIn as Exclude<VideoIn, { kind: 'none' }>,
          width: this.opts.width, height: this.opts.height, fps: this.opts.fps, codec: 'mjpeg', quality: ORIGINAL_JPEG_QUALITY,
        },
        { ffmpeg, codec: 'mjpeg', width: this.opts.width, height: this.opts.height, inProcess: inProcessDecodeAllowed() },
        { send: (f) => this.sendVideo(f), selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e) },
      );
      this.videoCapture = capture;
      this.selfView = selfView;
      capture.start();
    }
    if (this.opts.audioIn.kind !== 'none') {
      const ac = new AudioCapture({ ffmpeg, source: this.opts.audioIn as Exclude<AudioIn, { kind: 'none' }>, codec: 'pcm' });
      ac.on('packet', (p) => this.sendAudio(p));
      ac.on('warning', (w) => this.warn(w));
      ac.on('error', (e) => this.fail(e));
      this.audioCapture = ac;
      ac.start();
    }
  }

  /** Nothing goes out before the peer is there: the relay would hold it and play it late. */
  private sendable(socket: net.Socket | undefined): socket is net.Socket {
    return !!socket && this.peerJoined && !this.ending && !socket.destroyed;
  }

  private sendVideo(frame: VideoFrame): void {
    const socket = this.video;
    if (!this.sendable(socket) || this.cameraOff) return;
    if (socket.writableLength > SOCKET_HIGH_WATER_BYTES) {
      // Never queue stale video: the whole frame is dropped.
      this.stats.videoDropped(true);
      return;
    }
    this.write(socket, encodeOriginalVideo(frame.data));
    this.stats.videoSent();
  }

  private sendAudio(packet: AudioPacket): void {
    const socket = this.audio;
    if (!this.sendable(socket)) return;
    // Muted is silence, as the original has no way to say it: its stream stays paced.
    const pcm = this.muted ? Buffer.alloc(packet.data.length) : packet.data;
    this.outAudio = Buffer.concat([this.outAudio, this.outResampler.push(pcm)]);
    while (this.outAudio.length >= ORIGINAL_AUDIO_CHUNK_BYTES) {
      const chunk = this.outAudio.subarray(0, ORIGINAL_AUDIO_CHUNK_BYTES);
      this.outAudio = this.outAudio.subarray(ORIGINAL_AUDIO_CHUNK_BYTES);
      // A backed-up audio socket means the path is gone: drop, never queue.
      if (socket.writableLength > SOCKET_HIGH_WATER_BYTES) continue;
      this.write(socket, Buffer.from(chunk));
      this.stats.audioSent((ORIGINAL_AUDIO_CHUNK_BYTES / 2 / ORIGINAL_AUDIO_RATE_HZ) * 1000);
    }
  }

  private write(socket: net.Socket, buf: Buffer): void {
    this.bytes.sent += buf.length;
    socket.write(buf);
  }

  // ---- helpers ----

  private warn(w: MediaWarning): void {
    if ((w.code === 'W_NO_CAMERA' || w.code === 'W_CAMERA_LOST')) this.cameraOff = true;
    this.emit('warning', { code: w.code, message: w.message });
  }

  private fail(err: unknown): void {
    const { reason, message } = callEndOf(err);
    void this.end(reason, message);
  }

  /** Ends the call once: stops media, finalizes the recording, closes both sockets, emits `ended`. */
  end(reason: EndReason, message?: string): Promise<EndedEvent> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      this.timers.clear();
      const stats = this.currentStats();
      await Promise.allSettled([
        this.videoCapture?.close(), this.audioCapture?.close(), this.selfView?.close(), this.receive?.close(),
      ]);
      for (const s of [this.video, this.audio]) s?.end();
      if (this.video || this.audio) await new Promise((r) => setTimeout(r, CLOSE_FLUSH_MS));
      for (const s of [this.video, this.audio]) s?.destroy();
      const ended: EndedEvent = { reason, exitCode: EXIT_CODES[reason], ...stats, ...(message ? { message } : {}) };
      this.emit('ended', ended);
      this.resolveRun?.(ended);
      return ended;
    })();
    return this.ending;
  }
}

function evenSize(s: { width: number; height: number }): { width: number; height: number } {
  return { width: Math.max(2, Math.round(s.width / 2) * 2), height: Math.max(2, Math.round(s.height / 2) * 2) };
}
