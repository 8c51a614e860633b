/**
 * A call: two channels to the relay (video, audio), our protocol on each, the media
 * processes (capture, decode, audio sink, recorder) and the session state. It emits the
 * typed events of events.ts; the TUI and the NDJSON writer subscribe, neither touches a
 * socket. run() resolves with the `ended` event once everything is closed and finalized.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import {
  ClockEstimator, MessageType, PROTOCOL_VERSION, isProtocolError, wallClockUs,
  type Hello, type Message, type Setup,
} from '../../codec/protocol/index.js';
import { FatalError } from '../../codec/errors.js';
import { AudioCapture, VideoCapture, type VideoFrame, type AudioPacket } from '../../media/capture.js';
import type { MediaWarning } from '../../media/errors.js';
import { planAudioPath, type AudioPlan } from '../../media/audio-path.js';
import { EchoCanceller } from '../../media/echo.js';
import { cameraWithSelfView, type SelfView } from '../../media/self-view.js';
import { inProcessDecodeAllowed, openFrameTap } from './test-hooks.js';
import { loadJpegDecoder } from '../../media/jpeg-wasm.js';
import { AUDIO_FRAME_MS } from '../../media/args.js';
import { ReceivePipeline, audioPacketMs, type ReceiveMedia, type TaggedFrame } from './receive-pipeline.js';
import { DEFAULT_PEER_TIMEOUT_SEC, type AudioIn, type AudioOut, type VideoIn, type VideoCodec, type AudioCodec } from '../options.js';
import { Channel } from './channel.js';
import { EXIT_CODES, type CallStats, type EndReason, type SessionEvents, type PeerInfo } from './events.js';
import { RELAY_CONNECT_TIMEOUT_MS, openRelayChannel } from './relay-link.js';
import {
  PAIRING_TIMEOUT_MS, RECONNECT_CONNECT_TIMEOUT_MS, RECONNECT_GIVE_UP_SEC, RECONNECT_MAX_UNSETTLED_DROPS, RECONNECT_STABLE_MS,
  reconnectDelayMs,
} from './reconnect.js';
import { StatsCounter } from './stats.js';
import { VideoRateControl, type RateLevel } from './video-rate.js';
import { VERSION } from '../version.js';
import { deriveCodeSecrets } from '../../codec/secure/rendezvous.js';

/** How often we PING the peer (RTT, clock offset). */
export const PING_INTERVAL_MS = 1000;
/** How often `stats` is emitted. */
export const STATS_INTERVAL_MS = 1000;
/** Time BYE gets to leave before the sockets are torn down. */
export const BYE_FLUSH_MS = 300;
/** How often we tell the peer what we received (REPORT): its sender measures the path delay from it. */
export const REPORT_INTERVAL_MS = 200;
/** The same warning code is emitted at most this often. */
export const WARNING_THROTTLE_MS = 5000;
/** The lowest frame rate rate control thins MJPEG to. */
export const ADAPT_MIN_FPS = 3;
/** How often the peer's silence is checked against --peer-timeout. */
export const PEER_LIVENESS_CHECK_MS = 250;

export interface CallOptions {
  host: string;
  videoPort: number;
  audioPort: number;
  /** The session code as the user sees it. */
  session: string;
  videoIn: VideoIn;
  audioIn: AudioIn;
  width: number;
  height: number;
  fps: number;
  videoCodec: VideoCodec;
  audioCodec: AudioCodec;
  audioOut: AudioOut;
  record?: string;
  /** Hang up this many seconds after the peer joined. */
  durationSec?: number;
  waitSec: number;
  graceSec: number;
  ffmpeg: string;
  insecure: boolean;
  /** Pixel size decoded peer frames are scaled to; null = the peer's capture size. */
  decodeSize: { width: number; height: number } | null;
  /** End the call once the first peer frame is decoded (for --snapshot). */
  stopAfterFirstFrame?: boolean;
  /** Test only: our clock runs this many ms ahead of the wall clock. */
  clockOffsetMs?: number;
  /** Environment for children (the speaker child reads ALSA settings from it). */
  env?: NodeJS.ProcessEnv;
  /** Reconnect after an unexpected close (default true; `--no-reconnect` sets false). */
  reconnect?: boolean;
  /** Give up reconnecting after the relay was unreachable this long (default RECONNECT_GIVE_UP_SEC). */
  reconnectGiveUpSec?: number;
  /** Take the speaker's echo out of what the mic sends (default true; `--no-echo-cancel` sets false). */
  echoCancel?: boolean;
  /** Nothing from a joined peer for this long: it is lost (`--peer-timeout`; 0 = off; default DEFAULT_PEER_TIMEOUT_SEC). */
  peerTimeoutSec?: number;
}

/** One interruption of the call: from an unexpected close until the call is live again. */
interface Outage {
  /** When the connection was lost (ms since the epoch). */
  sinceMs: number;
  /** Reconnect attempts made so far (the `attempt` of `reconnecting`). */
  attempt: number;
  /** A peer had joined: we wait for it to come back (grace); else we were still waiting for one. */
  peerWasLive: boolean;
  /** --grace left: it runs only while we are connected to the relay and waiting for the peer. */
  graceLeftMs: number;
  graceRunningSinceMs: number | null;
  graceTimer: NodeJS.Timeout | undefined;
  /** When the latest drop of this interruption happened (downMs counts from here). */
  droppedAtMs: number;
  /** Drops in this interruption: 1, and one more for each resume that did not settle. */
  drops: number;
  /**
   * The peer is back (the call goes on) but not yet for RECONNECT_STABLE_MS with both
   * connections paired: until then a new drop continues this interruption (its grace left
   * minus the time it was back, its backoff) instead of starting a fresh one.
   */
  resumedAtMs: number | null;
  settleTimer: NodeJS.Timeout | undefined;
}

type EndedEvent = SessionEvents['ended'][0];

/** A failure that ends the call with a given reason. */
class CallEnd extends Error {
  constructor(readonly reason: EndReason, message: string) {
    super(message);
  }
}

export class CallSession extends EventEmitter<SessionEvents> {
  readonly session: string;
  muted = false;
  cameraOff = false;
  /** We have no camera at all (`--video-in none`, or it is missing or was lost): not the same as turned off. */
  noCamera: boolean;
  /** We have no microphone at all. */
  noMic: boolean;
  private readonly opts: CallOptions;
  private readonly offsetUs: number;
  private video: Channel | undefined;
  private audio: Channel | undefined;
  private readonly clock = new ClockEstimator();
  private readonly stats = new StatsCounter();
  private videoCapture: VideoCapture | undefined;
  private audioCapture: AudioCapture | undefined;
  /** The peer's media: decoders, the recording, the speaker (started when the peer joins). */
  private receive: ReceivePipeline | undefined;
  /** Our own frames decoded for the self-view (only while the UI shows it). */
  private selfView: SelfView | undefined;
  /** TEST-ONLY: decoded frames out to the benchmark (test-hooks.ts). */
  private readonly frameTap = openFrameTap();
  private peerSetup: Setup | null = null;
  /** A peer joined at least once (the first `peer-joined` was emitted). */
  private peerJoined = false;
  /** The peer is with us on the current channels: media flows. */
  private callLive = false;
  /** The peer said BYE: the call is ending. */
  private peerGone = false;
  private secrets: { rendezvousId: string; codeKey: Uint8Array | null } | undefined;
  private outage: Outage | undefined;
  /** Failed attempts since the call was last live: drives the backoff. */
  private backoffStep = 0;
  /** When we last had both sockets to the relay open (the give-up time counts from here). */
  private lastRelayContactMs = 0;
  private attachedAtMs = 0;
  private pairingTimer: NodeJS.Timeout | undefined;
  /** Counters of channels already closed: totals accumulate across reconnects. */
  private retired = { bytesSent: 0, bytesReceived: 0, recordsRejected: 0 };
  /** Both channels of the last pair were sealed (reported while reconnecting). */
  private lastEncrypted = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private intervals: NodeJS.Timeout[] = [];
  private latencyMs: number | null = null;
  private ending: Promise<EndedEvent> | undefined;
  private resolveRun: ((e: EndedEvent) => void) | undefined;
  /** Frames pass when at least this much time passed since the last one sent (adaptation). */
  private sendFps: number;
  private lastVideoSentMs = 0;
  /** What the capture encodes and when a frame may go, from the peer's reports (video-rate.ts). */
  private readonly rate = new VideoRateControl();
  /** H.264: send nothing until a keyframe (at the start, after a drop, or when asked). */
  private needKeyframe: boolean;
  private readonly lastWarnAt = new Map<string, number>();
  /** Since when the peer is with us on the current channels (liveness counts from here). */
  private liveSinceMs = 0;

  constructor(opts: CallOptions) {
    super();
    this.opts = opts;
    this.session = opts.session;
    this.offsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
    this.sendFps = opts.fps;
    this.needKeyframe = opts.videoCodec === 'h264';
    this.noCamera = opts.videoIn.kind === 'none';
    this.noMic = opts.audioIn.kind === 'none';
    this.audioPlan = planAudioPath(opts);
  }

  /** The audio path of this call: in-process Opus, and which echo canceller runs (or why none). */
  readonly audioPlan: AudioPlan;
  /** The echo canceller, made with the capture; fed by the sink with what it plays. */
  private echo: EchoCanceller | undefined;

  /** Our clock in µs since the epoch (with the test-only offset). */
  private nowUs(): number {
    return wallClockUs() + this.offsetUs;
  }

  private get reconnectEnabled(): boolean {
    return this.opts.reconnect !== false;
  }

  /** Runs the call to its end; never rejects. */
  run(): Promise<EndedEvent> {
    const done = new Promise<EndedEvent>((resolve) => { this.resolveRun = resolve; });
    this.start().catch((err: unknown) => this.fail(err));
    return done;
  }

  /** True once both channels seal their records end to end. */
  get encrypted(): boolean {
    return !!this.video?.encrypted && !!this.audio?.encrypted;
  }

  // ---- controls (CallControls for the UI) ----

  /** Says BYE and ends the call (reason `hangup`); `why` goes into `ended.message` (a signal, a closed stdout). */
  hangup(why?: string): void {
    if (this.ending) return;
    void this.end('hangup', why);
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.sendState();
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    this.selfView?.setCameraOff(off);
    this.sendState();
  }

  /** Decode our own frames for the self-view (`self-frame`), or stop. */
  setSelfView(on: boolean): void {
    this.selfView?.setWanted(on);
  }

  requestKeyframe(): void {
    this.video?.send({ type: MessageType.KEYFRAME_REQUEST, timestampUs: this.nowUs() });
  }

  setVideoSize(width: number, height: number): void {
    const w = Math.max(2, Math.round(width / 2) * 2);
    const h = Math.max(2, Math.round(height / 2) * 2);
    this.opts.decodeSize = { width: w, height: h };
    this.receive?.setSize(w, h);
  }

  /** The stats snapshot (also the fields of `ended`). */
  currentStats(): CallStats {
    const sinkStats = this.receive?.sinkStats() ?? { audioBufferMs: 0, audioUnderruns: 0 };
    if (this.encrypted) this.lastEncrypted = true;
    return {
      ...this.stats.snapshot(),
      audioBufferMs: sinkStats.audioBufferMs,
      audioUnderruns: sinkStats.audioUnderruns,
      bytesSent: this.retired.bytesSent + (this.video?.bytesSent ?? 0) + (this.audio?.bytesSent ?? 0),
      bytesReceived: this.retired.bytesReceived + (this.video?.bytesReceived ?? 0) + (this.audio?.bytesReceived ?? 0),
      rttMs: this.clock.rttMs === null ? null : round1(this.clock.rttMs),
      latencyMs: this.latencyMs === null ? null : round1(this.latencyMs),
      // While reconnecting there is no confirmed pair; the call was (and will be) sealed as before.
      encrypted: this.encrypted || this.lastEncrypted,
      recordsRejected: this.retired.recordsRejected + (this.video?.recordsRejected ?? 0) + (this.audio?.recordsRejected ?? 0),
    };
  }

  // ---- lifecycle ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: this.audioPlan.echoCanceller, echoWhyNot: this.audioPlan.echoWhyNot });
    // The relay only ever sees a rendezvous id derived from the code (slow, memory-hard KDF),
    // even with --insecure; the code key from the same derivation binds the key agreement.
    const secrets = await deriveCodeSecrets(this.opts.session);
    // Derived once (the KDF is slow on purpose); every reconnection uses the same rendezvous.
    this.secrets = { rendezvousId: secrets.rendezvousId, codeKey: this.opts.insecure ? null : secrets.codeKey };
    // The first connection failing is exit 3 (relay-unreachable); later ones are retried.
    const sockets = await this.openSockets(RELAY_CONNECT_TIMEOUT_MS);
    if (this.ending) {
      for (const s of sockets) s.destroy();
      return;
    }
    this.attach(sockets);
    this.emit('waiting', { session: this.session });
    // Capture starts while we wait, so the first frames flow the moment the peer joins
    // (ffmpeg and a camera take a second or two to start); nothing is sent before that.
    this.startCapture();
    this.after(this.opts.waitSec * 1000, () => {
      if (!this.peerJoined) void this.end('no-peer', `no peer joined within ${this.opts.waitSec} s`);
    });
  }

  /** Opens both relay sockets (handshake sent); if either fails, neither is kept. */
  private async openSockets(timeoutMs: number): Promise<[net.Socket, net.Socket]> {
    const { host, videoPort, audioPort } = this.opts;
    const id = this.secrets!.rendezvousId;
    const [v, a] = await Promise.allSettled([
      openRelayChannel(host, videoPort, id, timeoutMs),
      openRelayChannel(host, audioPort, id, timeoutMs),
    ]);
    if (v.status === 'fulfilled' && a.status === 'fulfilled') return [v.value, a.value];
    if (v.status === 'fulfilled') v.value.destroy();
    if (a.status === 'fulfilled') a.value.destroy();
    throw v.status === 'rejected' ? v.reason : (a as PromiseRejectedResult).reason;
  }

  /** Makes two fresh channels (new ephemeral keys) on new sockets and sends our HELLOs. */
  private attach([videoSocket, audioSocket]: [net.Socket, net.Socket]): void {
    const { insecure } = this.opts;
    const codeKey = this.secrets!.codeKey;
    this.video = this.wireChannel(new Channel('video', videoSocket, { insecure, codeKey }));
    this.audio = this.wireChannel(new Channel('audio', audioSocket, { insecure, codeKey }));
    // Reports count the bytes of one connection: a new one starts from nothing.
    this.rate.resetPath();
    this.attachedAtMs = this.lastRelayContactMs = Date.now();
    // Both sides send HELLO at once, without waiting: a version mismatch is seen by both.
    this.video.sendHello();
    this.audio.sendHello();
  }

  private isCurrent(ch: Channel): boolean {
    return ch === this.video || ch === this.audio;
  }

  private wireChannel(ch: Channel): Channel {
    // Channels of an earlier connection may still report (a close after destroy): ignored.
    ch.on('hello', (hello) => {
      if (this.isCurrent(ch)) this.onHello(ch, hello);
    });
    ch.on('ready', () => {
      if (ch === this.video) ch.send({ type: MessageType.SETUP, timestampUs: this.nowUs(), setup: this.ourSetup() });
    });
    ch.on('rejected', (err) => this.warnThrottled('W_RECORD_REJECTED', `a ${ch.name} record was rejected (${err.code}): altered or replayed on the path`));
    ch.on('message', (msg) => {
      if (!this.isCurrent(ch)) return;
      try {
        this.onMessage(ch, msg);
      } catch (err) {
        this.fail(err);
      }
    });
    ch.on('error', (err) => {
      if (!this.isCurrent(ch)) return;
      // The socket closed between the peer's HELLO and its KEY_CONFIRM. Once a peer had
      // proved the code, that is a peer or relay that died mid-handshake on a reconnection,
      // which reconnecting handles (the close follows at once). Before, the call ends as
      // peer-lost (exit 5; E_PEER_VANISHED): a peer that never confirmed the code is not
      // waited for again.
      if (ch.isClosed && this.reconnectEnabled && this.peerJoined) return;
      this.fail(err);
    });
    ch.on('close', () => this.onChannelClosed(ch));
    return ch;
  }

  private onHello(ch: Channel, hello: Hello): void {
    if (hello.version !== PROTOCOL_VERSION) {
      void this.end('protocol', `peer speaks protocol version ${hello.version}, we speak ${PROTOCOL_VERSION}`);
      return;
    }
    if (hello.channel !== ch.name) {
      void this.end('protocol', `peer sent its ${hello.channel} HELLO on our ${ch.name} channel`);
      return;
    }
    this.watchPairing();
    this.watchKeyExchange(ch);
  }

  /**
   * A live peer answers its HELLO at once: KEY_CONFIRM, then (on video) SETUP. A peer that
   * paired and then sent nothing of that for --peer-timeout froze or stalled mid-exchange:
   * lost, like one that crashed there (exit 5 before it ever joined; otherwise reconnect,
   * and --grace goes on).
   */
  private watchKeyExchange(ch: Channel): void {
    const timeoutMs = this.peerTimeoutMs;
    if (timeoutMs === 0) return;
    this.after(timeoutMs, () => {
      if (this.ending || !this.isCurrent(ch) || ch.isClosed) return;
      const done = ch.ready && (ch !== this.video || this.callLive);
      if (done) return;
      const why = `the peer stalled during the key exchange: nothing more on the ${ch.name} connection for ${timeoutMs / 1000} s after its HELLO (--peer-timeout)`;
      if (!this.peerJoined || !this.reconnectEnabled) {
        void this.end('peer-lost', why);
        return;
      }
      this.emit('warning', { code: 'W_PEER_SILENT', message: why });
      this.loseConnection();
    });
  }

  /**
   * The relay pairs video and audio separately. One channel paired and the other not for
   * PAIRING_TIMEOUT_MS means a pairing went astray in a reconnect race: start both over.
   */
  private watchPairing(): void {
    const both = !!this.video?.paired && !!this.audio?.paired;
    if (both) {
      this.clearTimer(this.pairingTimer);
      this.pairingTimer = undefined;
      this.watchSettle();
      return;
    }
    if (this.pairingTimer || !this.reconnectEnabled) return;
    this.pairingTimer = this.after(PAIRING_TIMEOUT_MS, () => {
      this.pairingTimer = undefined;
      if (!this.video?.paired || !this.audio?.paired) this.loseConnection();
    });
  }

  private ourSetup(): Setup {
    const { videoIn, audioIn, width, height, fps, videoCodec, audioCodec } = this.opts;
    return {
      client: 'videochat',
      clientVersion: VERSION,
      video: videoIn.kind === 'none' ? null : { codec: videoCodec, width, height, fps },
      audio: audioIn.kind === 'none' ? null : { codec: audioCodec, sampleRate: 48_000, channels: 1, frameMs: AUDIO_FRAME_MS },
    };
  }

  private onMessage(ch: Channel, msg: Message): void {
    switch (msg.type) {
      case MessageType.SETUP:
        this.onPeerSetup(msg.setup);
        return;
      case MessageType.VIDEO:
        this.onPeerVideo(msg.data, msg.keyframe, msg.timestampUs);
        return;
      case MessageType.AUDIO:
        this.onPeerAudio(msg.data);
        return;
      case MessageType.PING:
        ch.send({ type: MessageType.PONG, timestampUs: this.nowUs(), t0Us: msg.t0Us, t1Us: this.nowUs(), t2Us: this.nowUs() });
        return;
      case MessageType.PONG:
        // The clock follows the video path (the one whose latency is shown).
        if (ch === this.video) this.clock.add({ t0Us: msg.t0Us, t1Us: msg.t1Us, t2Us: msg.t2Us, t3Us: this.nowUs() });
        return;
      case MessageType.STATE:
        this.emit('peer-state', { muted: msg.muted, cameraOff: msg.cameraOff, noCamera: msg.noCamera === true, noMic: msg.noMic === true });
        return;
      case MessageType.KEYFRAME_REQUEST:
        this.needKeyframe = true;
        this.videoCapture?.requestKeyframe();
        return;
      case MessageType.REPORT:
        this.onPeerReport(ch, msg.report, msg.timestampUs);
        return;
      case MessageType.BYE:
        this.onPeerBye();
        return;
      default:
        // REPORT, KEY_CONFIRM and unknown types: nothing to do in a plaintext call.
        return;
    }
  }

  private onPeerSetup(setup: Setup): void {
    if (this.peerJoined) {
      if (this.outage && !this.callLive) this.resume(setup);
      return;
    }
    this.peerSetup = setup;
    this.peerJoined = true;
    this.callLive = true;
    const peer: PeerInfo = { ...setup };
    this.emit('peer-joined', { peer });
    this.startMedia(setup);
    this.intervals.push(setInterval(() => this.ping(), PING_INTERVAL_MS));
    this.intervals.push(setInterval(() => this.tickStats(), STATS_INTERVAL_MS));
    this.intervals.push(setInterval(() => this.sendReport(), REPORT_INTERVAL_MS));
    this.liveSinceMs = Date.now();
    this.intervals.push(setInterval(() => this.checkPeerLiveness(), PEER_LIVENESS_CHECK_MS));
    this.ping();
    if (this.opts.durationSec !== undefined) this.after(this.opts.durationSec * 1000, () => this.hangup());
    this.sendState();
  }

  private get peerTimeoutMs(): number {
    return (this.opts.peerTimeoutSec ?? DEFAULT_PEER_TIMEOUT_SEC) * 1000;
  }

  /**
   * A live peer sends something at least every second (PING, REPORT, media). Silence past
   * --peer-timeout (a frozen peer, a relay that stopped forwarding, a record that never
   * completes) is a lost peer, handled as a connection that closed without goodbye.
   */
  private checkPeerLiveness(recheck = false): void {
    const timeoutMs = this.peerTimeoutMs;
    if (timeoutMs === 0 || !this.callLive || this.ending || this.peerGone) return;
    // Per channel: a peer stuck in one record on video while audio flows is lost just the same.
    const silent = [this.video, this.audio]
      .map((ch) => ({ ch, ms: ch ? Date.now() - Math.max(ch.lastMessageMs, this.liveSinceMs) : 0 }))
      .find(({ ms }) => ms >= timeoutMs);
    if (!silent?.ch) return;
    if (!recheck) {
      // Timers run before I/O in an event-loop turn: after a stall of our own (CPU starved,
      // a suspended laptop) what the peer sent may be waiting, unread. Decide after the reads.
      setImmediate(() => this.checkPeerLiveness(true));
      return;
    }
    const why = `nothing from the peer on the ${silent.ch.name} connection for ${Math.round(silent.ms / 100) / 10} s (--peer-timeout ${timeoutMs / 1000})`;
    this.emit('warning', { code: 'W_PEER_SILENT', message: `${why}: treating it as lost` });
    if (!this.reconnectEnabled || this.opts.graceSec === 0) {
      this.peerGone = true;
      this.callLive = false;
      this.emit('peer-left', { reason: 'lost' });
      void this.end('peer-lost', `the peer was lost: ${why}`);
      return;
    }
    this.loseConnection();
  }

  private onPeerBye(): void {
    if (this.peerGone || this.ending) return;
    this.peerGone = true;
    this.emit('peer-left', { reason: 'bye' });
    void this.end('hangup');
  }

  private onChannelClosed(ch: Channel): void {
    if (this.ending || this.peerGone || !this.isCurrent(ch)) return;
    if (!this.reconnectEnabled || (this.peerJoined && this.opts.graceSec === 0)) {
      if (!this.peerJoined) {
        void this.end('relay-unreachable', `the relay closed the ${ch.name} connection while we were waiting for a peer`);
        return;
      }
      // No reconnecting (or no grace to wait for the peer): a lost connection ends the call.
      this.peerGone = true;
      if (this.callLive) this.emit('peer-left', { reason: 'lost' });
      this.callLive = false;
      void this.end('peer-lost', `the connection to the peer was lost (${ch.name} closed without goodbye)`);
      return;
    }
    this.loseConnection();
  }

  // ---- reconnection (docs/resilience.md) ----

  /** Closes both channels, keeping their byte counts for the totals. */
  private retireChannels(): void {
    this.clearTimer(this.pairingTimer);
    this.pairingTimer = undefined;
    if (this.encrypted) this.lastEncrypted = true;
    for (const ch of [this.video, this.audio]) {
      if (!ch) continue;
      this.retired.bytesSent += ch.bytesSent;
      this.retired.bytesReceived += ch.bytesReceived;
      this.retired.recordsRejected += ch.recordsRejected;
    }
    const old = [this.video, this.audio];
    this.video = undefined;
    this.audio = undefined;
    // The relay then closes the peer's side of the other channel too: both ends start over.
    for (const ch of old) ch?.destroy();
  }

  /**
   * An unexpected close (relay gone, or the peer gone: they look alike from here): both
   * channels are dropped and reconnected; capture keeps running, nothing is sent meanwhile.
   */
  private loseConnection(): void {
    if (this.ending) return;
    const now = Date.now();
    const wasUpMs = now - this.attachedAtMs;
    this.retireChannels();
    this.lastRelayContactMs = now;
    if (this.callLive) {
      this.callLive = false;
      this.emit('peer-left', { reason: 'lost' });
    }
    const outage = this.outage;
    if (outage) {
      this.pauseGrace();
      if (outage.resumedAtMs !== null) {
        // Back, but not for long: the time it was back counts against --grace, the backoff
        // goes on. A peer (or path) that drops after every SETUP, or pairs one channel only,
        // cannot keep the call cycling for ever.
        this.clearTimer(outage.settleTimer);
        outage.settleTimer = undefined;
        outage.graceLeftMs -= now - outage.resumedAtMs;
        outage.resumedAtMs = null;
        outage.drops++;
        outage.droppedAtMs = now;
        if (outage.graceLeftMs <= 0 || outage.drops >= RECONNECT_MAX_UNSETTLED_DROPS) {
          void this.end('peer-lost', `the connection to the peer kept dropping (${outage.drops} drops in `
            + `${Math.round((now - outage.sinceMs) / 1000)} s, never back for ${RECONNECT_STABLE_MS / 1000} s)`);
          return;
        }
      } else if (wasUpMs >= RECONNECT_STABLE_MS) {
        // At the relay, waiting, for a good while: a relay that drops us only now and then.
        this.backoffStep = 0;
      }
    } else {
      this.outage = {
        sinceMs: now, attempt: 0, peerWasLive: this.peerJoined,
        graceLeftMs: this.opts.graceSec * 1000, graceRunningSinceMs: null, graceTimer: undefined,
        droppedAtMs: now, drops: 1, resumedAtMs: null, settleTimer: undefined,
      };
      // A connection that lasted resets the backoff (a settled resume already did).
      if (wasUpMs >= RECONNECT_STABLE_MS) this.backoffStep = 0;
    }
    this.scheduleReconnect();
  }

  private get giveUpMs(): number {
    return (this.opts.reconnectGiveUpSec ?? RECONNECT_GIVE_UP_SEC) * 1000;
  }

  private scheduleReconnect(): void {
    const untilGiveUp = Math.max(0, this.lastRelayContactMs + this.giveUpMs - Date.now());
    const delayMs = Math.min(reconnectDelayMs(this.backoffStep++), untilGiveUp);
    this.after(delayMs, () => void this.reconnectAttempt());
  }

  private async reconnectAttempt(): Promise<void> {
    const outage = this.outage;
    if (this.ending || !outage) return;
    outage.attempt++;
    this.emit('reconnecting', { attempt: outage.attempt, giveUpAtMs: this.lastRelayContactMs + this.giveUpMs });
    let sockets: [net.Socket, net.Socket];
    try {
      sockets = await this.openSockets(RECONNECT_CONNECT_TIMEOUT_MS);
    } catch (err) {
      if (this.ending) return;
      const downSec = (Date.now() - this.lastRelayContactMs) / 1000;
      if (downSec * 1000 >= this.giveUpMs) {
        const { host } = this.opts;
        void this.end('reconnect-failed',
          `the relay at ${host} stayed unreachable for ${Math.round(downSec)} s (limit ${this.giveUpMs / 1000} s): ${(err as Error).message}`);
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (this.ending) {
      for (const s of sockets) s.destroy();
      return;
    }
    this.attach(sockets);
    if (!outage.peerWasLive) {
      // Nobody had joined yet: being back at the relay is all there is to restore.
      this.outage = undefined;
      this.emit('reconnected', { downMs: Date.now() - outage.sinceMs });
      return;
    }
    // Back at the relay, waiting for the peer to come back (within --grace).
    this.emit('waiting', { session: this.session });
    this.runGrace();
  }

  /** --grace runs while we are at the relay waiting for the peer (not while the relay is away). */
  private runGrace(): void {
    const outage = this.outage;
    if (!outage || outage.graceRunningSinceMs !== null) return;
    outage.graceRunningSinceMs = Date.now();
    outage.graceTimer = this.after(Math.max(0, outage.graceLeftMs), () => {
      void this.end('peer-lost', `the peer vanished without saying goodbye and did not come back within ${this.opts.graceSec} s`);
    });
  }

  private pauseGrace(): void {
    const outage = this.outage;
    if (!outage || outage.graceRunningSinceMs === null) return;
    outage.graceLeftMs -= Date.now() - outage.graceRunningSinceMs;
    outage.graceRunningSinceMs = null;
    this.clearTimer(outage.graceTimer);
    outage.graceTimer = undefined;
  }

  /** The peer is back on fresh channels (maybe a new process): the call goes on. */
  private resume(setup: Setup): void {
    const outage = this.outage!;
    this.pauseGrace();
    // The interruption stays open until the call has been back long enough (watchSettle).
    outage.resumedAtMs = Date.now();
    this.callLive = true;
    this.liveSinceMs = Date.now();
    const previous = this.peerSetup;
    this.peerSetup = setup;
    if (JSON.stringify(previous?.video ?? null) !== JSON.stringify(setup.video ?? null)
      || JSON.stringify(previous?.audio ?? null) !== JSON.stringify(setup.audio ?? null)) {
      // Decoders (and a recording) follow the returning peer's other media settings.
      this.receive?.follow(this.receiveMedia(setup));
    }
    // H.264: both decoders start over at a keyframe (ours after the gap, the peer's maybe anew).
    if (this.opts.videoCodec === 'h264') {
      this.needKeyframe = true;
      this.videoCapture?.requestKeyframe();
    }
    this.requestKeyframe();
    this.sendState();
    this.emit('reconnected', { downMs: Date.now() - outage.droppedAtMs, peer: { ...setup } });
    this.watchSettle();
  }

  /**
   * Once the resumed call has both connections paired, RECONNECT_STABLE_MS of it closes the
   * interruption: the next drop gets a full --grace and starts the backoff over.
   */
  private watchSettle(): void {
    const outage = this.outage;
    if (!outage || outage.resumedAtMs === null || outage.settleTimer || !this.callLive) return;
    if (!this.video?.paired || !this.audio?.paired) return;
    outage.settleTimer = this.after(RECONNECT_STABLE_MS, () => {
      if (this.outage !== outage || outage.resumedAtMs === null) return;
      this.outage = undefined;
      this.backoffStep = 0;
    });
  }

  // ---- media ----

  private startCapture(): void {
    const { ffmpeg } = this.opts;
    // Load the in-process JPEG decoder now, not when the peer's first frames arrive.
    if (inProcessDecodeAllowed()) void loadJpegDecoder();
    if (this.opts.videoIn.kind !== 'none') {
      const { capture, selfView } = cameraWithSelfView(
        {
          ffmpeg, source: this.opts.videoIn as Exclude<VideoIn, { kind: 'none' }>,
          width: this.opts.width, height: this.opts.height, fps: this.opts.fps, codec: this.opts.videoCodec,
        },
        { ffmpeg, codec: this.opts.videoCodec, width: this.opts.width, height: this.opts.height, inProcess: inProcessDecodeAllowed() },
        { send: (f) => this.sendVideo(f), selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e) },
      );
      this.videoCapture = capture;
      this.selfView = selfView;
      capture.start();
    }
    if (this.opts.audioIn.kind !== 'none') {
      if (this.audioPlan.echoCanceller) this.echo ??= new EchoCanceller();
      const ac = new AudioCapture({
        ffmpeg, source: this.opts.audioIn as Exclude<AudioIn, { kind: 'none' }>, codec: this.opts.audioCodec,
        inProcessOpus: this.audioPlan.inProcessOpus, echo: this.echo ?? null,
      });
      ac.on('packet', (p) => this.sendAudio(p));
      ac.on('warning', (w) => this.warn(w));
      ac.on('error', (e) => this.fail(e));
      this.audioCapture = ac;
      ac.start();
    }
  }

  private startMedia(peer: Setup): void {
    const { ffmpeg, audioOut, env, record } = this.opts;
    const receive = new ReceivePipeline({
      ffmpeg, inProcessVideo: inProcessDecodeAllowed(), inProcessOpus: this.audioPlan.inProcessOpus,
      audioOut, env, onPlayed: (frame) => this.echo?.played(frame), ...(record ? { record } : {}),
    });
    receive.on('frame', (f) => this.onDecodedFrame(f));
    receive.on('need-keyframe', () => this.requestKeyframe());
    receive.on('warning', (w) => this.warn(w));
    receive.on('error', (e) => this.fail(e));
    this.receive = receive;
    receive.start(this.receiveMedia(peer));
  }

  /** What the peer sends, at the size the renderer asked for (else its capture size). */
  private receiveMedia(peer: Setup): ReceiveMedia {
    const size = peer.video ? this.opts.decodeSize ?? { width: peer.video.width, height: peer.video.height } : null;
    return {
      video: peer.video && size ? { codec: peer.video.codec, ...size } : null,
      audio: peer.audio ? { codec: peer.audio.codec } : null,
    };
  }

  private sendVideo(frame: VideoFrame): void {
    const ch = this.video;
    if (!ch || !this.callLive || this.ending || this.peerGone || this.cameraOff) return;
    const nowMs = frame.captureTimeUs / 1000;
    // Adaptation for MJPEG: thin the frame rate in JS (every frame stands alone).
    if (this.opts.videoCodec === 'mjpeg' && this.sendFps < this.opts.fps) {
      if (nowMs - this.lastVideoSentMs < (1000 / this.sendFps) * 0.9) return;
    }
    if (ch.backedUp || !this.rate.maySend(ch.bytesSent, Date.now())) {
      // Never queue stale video: drop the whole frame; H.264 then waits for a keyframe.
      this.stats.videoDropped(true);
      if (this.opts.videoCodec === 'h264') this.needKeyframe = true;
      return;
    }
    if (this.needKeyframe && this.opts.videoCodec === 'h264' && !frame.keyframe) {
      // Useless to the peer without the keyframe it depends on; not a congestion drop.
      this.stats.videoDropped(false);
      return;
    }
    if (frame.keyframe) this.needKeyframe = false;
    this.lastVideoSentMs = nowMs;
    ch.send({ type: MessageType.VIDEO, timestampUs: frame.captureTimeUs + this.offsetUs, keyframe: frame.keyframe, data: frame.data });
    this.stats.videoSent();
  }

  /** Tells the peer what arrived, so that its sender can see the queue on the path to us. */
  private sendReport(): void {
    const ch = this.video;
    if (!ch || !this.callLive || this.ending) return;
    const stats = this.currentStats();
    ch.send({
      type: MessageType.REPORT, timestampUs: this.nowUs(),
      report: {
        videoFramesReceived: stats.videoFramesReceived, videoFramesDropped: stats.videoFramesDropped, videoFpsIn: stats.videoFpsIn,
        audioMsReceived: stats.audioMsReceived, audioBufferMs: stats.audioBufferMs, audioUnderruns: stats.audioUnderruns,
        // Bytes of this connection (what the peer's send log counts), not the call's total.
        bytesReceived: ch.bytesReceived, latencyMs: stats.latencyMs,
      },
    });
  }

  /** The peer's report: how long our oldest undelivered video byte had been on the way. */
  private onPeerReport(ch: Channel, report: { bytesReceived: number }, timestampUs: number): void {
    if (ch !== this.video) return;
    // The report's time in our clock (offset corrected); before the offset is known, half an RTT ago.
    const atMs = this.clock.offsetMs !== null
      ? (this.clock.toLocalUs(timestampUs) - this.offsetUs) / 1000
      : Date.now() - (this.clock.rttMs ?? 0) / 2;
    const takenMs = Math.min(atMs, Date.now());
    this.rate.onReport({ bytesReceived: report.bytesReceived, pathDelayMs: ch.sendLog.delayAt(report.bytesReceived, takenMs), atMs: takenMs });
  }

  private sendAudio(packet: AudioPacket): void {
    const ch = this.audio;
    if (!ch || !this.callLive || this.ending || this.peerGone || this.muted) return;
    // Audio is small; a backed-up audio socket means the path is gone: drop, never queue.
    if (ch.backedUp) return;
    ch.send({ type: MessageType.AUDIO, timestampUs: packet.captureTimeUs + this.offsetUs, data: packet.data });
    this.stats.audioSent(packet.durationMs);
  }

  private onPeerVideo(data: Uint8Array, keyframe: boolean, captureUs: number): void {
    this.stats.videoReceived();
    this.receive?.pushVideo({ data, keyframe, tag: captureUs });
  }

  private onPeerAudio(data: Uint8Array): void {
    const durationMs = audioPacketMs(this.peerSetup?.audio?.codec ?? 'opus', data);
    this.stats.audioReceived(durationMs);
    this.receive?.pushAudio(data, durationMs);
  }

  private onDecodedFrame(frame: TaggedFrame): void {
    const captureUs = frame.tag;
    if (captureUs !== undefined) {
      const latency = this.clock.latencyMs(captureUs, this.nowUs());
      if (latency !== null) this.latencyMs = this.latencyMs === null ? latency : this.latencyMs * 0.8 + latency * 0.2;
    }
    this.stats.videoDecoded();
    this.frameTap?.(frame);
    this.emit('video-frame', { width: frame.width, height: frame.height, data: frame.data });
    if (this.opts.stopAfterFirstFrame) this.hangup();
  }

  // ---- periodic ----

  /** PING on both channels: the peer's PONG on each also proves that channel alive (--peer-timeout). */
  private ping(): void {
    for (const ch of [this.video, this.audio]) ch?.send({ type: MessageType.PING, timestampUs: this.nowUs(), t0Us: this.nowUs() });
  }

  private tickStats(): void {
    this.stats.tick();
    this.adapt();
    this.emit('stats', this.currentStats());
  }

  /** Once a second: rate control may move a rung on its ladder (quality, then size, then frame rate). */
  private adapt(): void {
    const { sent, dropped } = this.stats.lastSecond();
    const level = this.rate.tick(sent, dropped, Date.now());
    if (level) this.applyRateLevel(level);
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
    void this.videoCapture?.setEncoding({ quality: level.quality, scaleTo, ...(h264 ? { fps } : {}) }).catch(() => undefined);
  }

  private sendState(): void {
    // No camera is sent as camera off too: a peer that does not know the no-camera bit shows that.
    this.video?.send({
      type: MessageType.STATE, timestampUs: this.nowUs(), muted: this.muted, cameraOff: this.cameraOff || this.noCamera,
      noCamera: this.noCamera, noMic: this.noMic,
    });
  }

  private warn(w: MediaWarning): void {
    if ((w.code === 'W_NO_CAMERA' || w.code === 'W_CAMERA_LOST') && !this.noCamera) {
      this.noCamera = true;
      this.sendState();
    }
    if ((w.code === 'W_NO_MIC' || w.code === 'W_MIC_LOST') && !this.noMic) {
      this.noMic = true;
      this.sendState();
    }
    this.emit('warning', { code: w.code, message: w.message });
  }

  private warnThrottled(code: string, message: string): void {
    const now = Date.now();
    if (now - (this.lastWarnAt.get(code) ?? 0) < WARNING_THROTTLE_MS) return;
    this.lastWarnAt.set(code, now);
    this.emit('warning', { code, message });
  }

  private clearTimer(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private fail(err: unknown): void {
    if (err instanceof CallEnd) {
      void this.end(err.reason, err.message);
    } else if (isProtocolError(err)) {
      void this.end('protocol', (err as Error).message);
    } else if (err instanceof FatalError && (Object.keys(EXIT_CODES) as string[]).includes(err.reason)) {
      void this.end(err.reason as EndReason, err.message);
    } else {
      void this.end('media', `internal error: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** Ends the call once: stops media, finalizes the recording, closes sockets, emits `ended`. */
  end(reason: EndReason, message?: string): Promise<EndedEvent> {
    if (this.ending) return this.ending;
    // Whatever ends the call here (a hang-up, a media failure, the ffmpeg children killed by
    // the same SIGHUP as us), the peer is told at once: it need not wait out its --grace.
    if (!this.peerGone) {
      for (const ch of [this.video, this.audio]) ch?.send({ type: MessageType.BYE, timestampUs: this.nowUs(), reason });
    }
    this.ending = (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      for (const i of this.intervals) clearInterval(i);
      const stats = this.currentStats();
      await Promise.allSettled([
        this.videoCapture?.close(),
        this.audioCapture?.close(),
        this.selfView?.close(),
        this.receive?.close(),
      ]);
      for (const ch of [this.video, this.audio]) ch?.end();
      await delay(this.video || this.audio ? BYE_FLUSH_MS : 0);
      for (const ch of [this.video, this.audio]) ch?.destroy();
      const recordFailure = this.receive?.recordFailure;
      if (reason === 'hangup' && recordFailure) {
        [reason, message] = ['media', `the call ended well, but the recording is incomplete: ${recordFailure}`];
      }
      const ended: EndedEvent = { reason, exitCode: EXIT_CODES[reason], ...stats, ...(message ? { message } : {}) };
      this.emit('ended', ended);
      this.resolveRun?.(ended);
      return ended;
    })();
    return this.ending;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
