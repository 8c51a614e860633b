/**
 * A call, the front of its parts: the channel pair to the relay (channel-pair.ts), what the
 * peer says (peer-link.ts), the call's life as a pure reducer (lifecycle.ts), reconnection
 * (reconnector.ts), and the media both ways (send-pipeline.ts, receive-pipeline.ts). It emits
 * the typed events of events.ts; the TUI and the NDJSON writer subscribe, neither touches a
 * socket. run() resolves with the `ended` event once everything is closed and finalized.
 */
import { EventEmitter } from 'node:events';
import { isProtocolError, type Setup } from '../../codec/protocol/index.js';
import { FatalError } from '../../codec/errors.js';
import { deriveCodeSecrets } from '../../codec/secure/rendezvous.js';
import type { MediaWarning } from '../../media/errors.js';
import { planAudioPath, type AudioPlan } from '../../media/audio-path.js';
import { AUDIO_FRAME_MS } from '../../media/args.js';
import { DEFAULT_PEER_TIMEOUT_SEC } from '../options.js';
import type { CallOptions } from './call-options.js';
import { VERSION } from '../version.js';
import type { Channel } from './channel.js';
import { ChannelPair } from './channel-pair.js';
import { EXIT_CODES, type CallStats, type EndReason, type SessionEvents } from './events.js';
import { INITIAL_LIFECYCLE, stepLifecycle, type LifecycleEffect, type LifecycleEvent } from './lifecycle.js';
import { PeerLink } from './peer-link.js';
import { ReceivePipeline, audioPacketMs, type ReceiveMedia } from './receive-pipeline.js';
import { RECONNECT_CONNECT_TIMEOUT_MS, RECONNECT_GIVE_UP_SEC } from './reconnect.js';
import { Reconnector } from './reconnector.js';
import { RELAY_CONNECT_TIMEOUT_MS } from './relay-link.js';
import { SendPipeline } from './send-pipeline.js';
import { StatsCounter } from './stats.js';
import { inProcessDecodeAllowed, openFrameTap } from './test-hooks.js';

export { ADAPT_MIN_FPS } from './send-pipeline.js';
export type { CallOptions } from './call-options.js';
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
/** How often the peer's silence is checked against --peer-timeout. */
export const PEER_LIVENESS_CHECK_MS = 250;

type EndedEvent = SessionEvents['ended'][0];

export class CallSession extends EventEmitter<SessionEvents> {
  readonly session: string;
  muted = false;
  cameraOff = false;
  /** We have no camera at all (`--video-in none`, or it is missing or was lost): not the same as turned off. */
  noCamera: boolean;
  /** We have no microphone at all. */
  noMic: boolean;
  /** The audio path of this call: in-process Opus, and which echo canceller runs (or why none). */
  readonly audioPlan: AudioPlan;
  private life = INITIAL_LIFECYCLE;
  private readonly pair: ChannelPair;
  private readonly link: PeerLink;
  private readonly reconnector: Reconnector;
  private readonly send: SendPipeline;
  private receive: ReceivePipeline | undefined;
  private readonly stats = new StatsCounter();
  /** TEST-ONLY: decoded frames out to the benchmark (test-hooks.ts). */
  private readonly frameTap = openFrameTap();
  private peerSetup: Setup | null = null;
  private latencyMs: number | null = null;
  /** Since when the peer is with us on the current channels (liveness counts from here). */
  private liveSinceMs = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lastWarnAt = new Map<string, number>();
  private ending: Promise<EndedEvent> | undefined;
  private resolveRun: ((e: EndedEvent) => void) | undefined;

  constructor(private readonly opts: CallOptions) {
    super();
    this.session = opts.session;
    this.noCamera = opts.videoIn.kind === 'none';
    this.noMic = opts.audioIn.kind === 'none';
    this.audioPlan = planAudioPath(opts);
    const reconnect = opts.reconnect !== false;
    this.pair = new ChannelPair({ ...opts, watchPairing: reconnect });
    const offsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
    this.link = new PeerLink(this.pair, offsetUs);
    this.reconnector = new Reconnector(
      { host: opts.host, graceSec: opts.graceSec, giveUpMs: (opts.reconnectGiveUpSec ?? RECONNECT_GIVE_UP_SEC) * 1000 },
      {
        attempt: (attempt, giveUpAtMs) => this.reconnectAttempt(attempt, giveUpAtMs),
        back: (downMs, waitingForPeer) => {
          this.step({ type: 'back' });
          if (waitingForPeer) this.emit('waiting', { session: this.session });
          else this.emit('reconnected', { downMs });
        },
        giveUp: (reason, message) => this.step({ type: 'end', reason, message }),
      },
    );
    const live = (): boolean => this.life.phase === 'live';
    this.send = new SendPipeline({ ...opts, audioPlan: this.audioPlan, offsetUs }, this.stats, {
      videoOut: () => (live() && !this.cameraOff ? this.pair.video : undefined),
      audioOut: () => (live() && !this.muted ? this.pair.audio : undefined),
      selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e),
    });
    this.wire();
  }

  /** Runs the call to its end; never rejects. */
  run(): Promise<EndedEvent> {
    const done = new Promise<EndedEvent>((resolve) => { this.resolveRun = resolve; });
    this.start().catch((err: unknown) => this.fail(err));
    return done;
  }

  /** True once both channels seal their records end to end. */
  get encrypted(): boolean {
    return this.pair.encrypted;
  }

  // ---- controls (CallControls for the UI) ----

  /** Says BYE and ends the call (reason `hangup`); `why` goes into `ended.message` (a signal, a closed stdout). */
  hangup(why?: string): void {
    if (!this.ending) void this.end('hangup', why);
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.sendState();
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    this.send.setCameraOff(off);
    this.sendState();
  }

  /** Decode our own frames for the self-view (`self-frame`), or stop. */
  setSelfView(on: boolean): void {
    this.send.setSelfView(on);
  }

  requestKeyframe(): void {
    this.link.requestKeyframe();
  }

  setVideoSize(width: number, height: number): void {
    const size = { width: Math.max(2, Math.round(width / 2) * 2), height: Math.max(2, Math.round(height / 2) * 2) };
    this.opts.decodeSize = size;
    this.receive?.setSize(size.width, size.height);
  }

  /** The stats snapshot (also the fields of `ended`). */
  currentStats(): CallStats {
    const { rttMs } = this.link.clock;
    return {
      ...this.stats.snapshot(), ...(this.receive?.sinkStats() ?? { audioBufferMs: 0, audioUnderruns: 0 }), ...this.pair.totals(),
      rttMs: rttMs === null ? null : round1(rttMs),
      latencyMs: this.latencyMs === null ? null : round1(this.latencyMs),
      // While reconnecting there is no confirmed pair; the call was (and will be) sealed as before.
      encrypted: this.pair.everEncrypted,
    };
  }

  // ---- lifecycle ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: this.audioPlan.echoCanceller, echoWhyNot: this.audioPlan.echoWhyNot });
    // The relay only ever sees a rendezvous id derived from the code (slow, memory-hard KDF),
    // even with --insecure; the code key from the same derivation binds the key agreement.
    const secrets = await deriveCodeSecrets(this.opts.session);
    this.pair.setSecrets((this.opts.rendezvousPrefix ?? '') + secrets.rendezvousId, this.opts.insecure ? null : secrets.codeKey);
    // The first connection failing is exit 3 (relay-unreachable); later ones are retried.
    const sockets = await this.pair.openSockets(RELAY_CONNECT_TIMEOUT_MS);
    if (this.ending) return sockets.forEach((s) => s.destroy());
    this.attach(sockets);
    this.step({ type: 'attached' });
    this.emit('waiting', { session: this.session });
    // Capture starts while we wait, so the first frames flow the moment the peer joins
    // (ffmpeg and a camera take a second or two to start); nothing is sent before that.
    this.send.start();
    this.after(this.opts.waitSec * 1000, () => this.step({ type: 'wait-expired', waitSec: this.opts.waitSec }));
  }

  private attach(sockets: Parameters<ChannelPair['attach']>[0]): void {
    this.pair.attach(sockets);
    this.send.newPath();
    this.reconnector.attached();
  }

  private async reconnectAttempt(attempt: number, giveUpAtMs: number): Promise<{ ok: true } | { ok: false; error: string } | { ok: 'ended' }> {
    this.emit('reconnecting', { attempt, giveUpAtMs });
    try {
      const sockets = await this.pair.openSockets(RECONNECT_CONNECT_TIMEOUT_MS);
      if (this.ending) {
        sockets.forEach((s) => s.destroy());
        return { ok: 'ended' };
      }
      this.attach(sockets);
      return { ok: true };
    } catch (err) {
      return this.ending ? { ok: 'ended' } : { ok: false, error: (err as Error).message };
    }
  }

  /** One step of the lifecycle reducer, its effects carried out. */
  private step(event: LifecycleEvent): void {
    const { state, effects } = stepLifecycle(this.life, event, { reconnect: this.opts.reconnect !== false, graceSec: this.opts.graceSec });
    this.life = state;
    for (const e of effects) this.apply(e);
  }

  private apply(e: LifecycleEffect): void {
    switch (e.type) {
      case 'join': return this.join(e.setup);
      case 'resume': return this.resume(e.setup);
      case 'peer-left': return void this.emit('peer-left', { reason: e.reason });
      case 'warn': return void this.emit('warning', { code: e.code, message: e.message });
      case 'reconnect':
        // Both channels are dropped and reconnected; capture keeps running, nothing is sent meanwhile.
        this.pair.retire();
        return this.reconnector.lost(this.life.joined);
      case 'end': return void this.finish(e.reason, e.message, e.bye);
    }
  }

  private wire(): void {
    const { pair, link } = this;
    pair.on('ready', (ch) => {
      if (ch === pair.video) link.sendSetup(this.ourSetup());
    });
    pair.on('rejected', (ch, err) => this.warnThrottled('W_RECORD_REJECTED', `a ${ch.name} record was rejected (${err.code}): altered or replayed on the path`));
    pair.on('error', (ch, err) => {
      // The socket closed between the peer's HELLO and its KEY_CONFIRM. Once a peer had
      // proved the code, that is a peer or relay that died mid-handshake on a reconnection,
      // which reconnecting handles (the close follows at once). Before, the call ends as
      // peer-lost (exit 5; E_PEER_VANISHED): a peer that never confirmed the code is not
      // waited for again.
      if (ch.isClosed && this.opts.reconnect !== false && this.life.joined) return;
      this.fail(err);
    });
    pair.on('close', (ch) => this.step({ type: 'closed', channel: ch.name }));
    pair.on('paired', () => this.settleWhenStable());
    pair.on('pairing-timeout', () => this.step({ type: 'pairing-timeout' }));
    link.on('violation', ({ reason, message }) => void this.end(reason, message));
    link.on('hello', (ch) => {
      pair.checkPairing();
      this.watchKeyExchange(ch);
    });
    link.on('setup', (setup) => this.step({ type: 'setup', setup }));
    link.on('video', (v) => {
      this.stats.videoReceived();
      this.receive?.pushVideo({ data: v.data, keyframe: v.keyframe, tag: v.timestampUs });
    });
    link.on('audio', (data) => {
      const durationMs = audioPacketMs(this.peerSetup?.audio?.codec ?? 'opus', data);
      this.stats.audioReceived(durationMs);
      this.receive?.pushAudio(data, durationMs);
    });
    link.on('state', (state) => this.emit('peer-state', state));
    link.on('keyframe-request', () => this.send.keyframeWanted());
    link.on('report', ({ report, timestampUs, channel }) => this.send.onReport(channel, report, link.peerTimeToLocalMs(timestampUs)));
    link.on('bye', () => this.step({ type: 'bye' }));
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
      if (this.ending || !this.pair.isCurrent(ch) || ch.isClosed) return;
      if (ch.ready && (ch !== this.pair.video || this.life.phase === 'live')) return;
      this.step({ type: 'stalled', why: `the peer stalled during the key exchange: nothing more on the ${ch.name} connection for ${timeoutMs / 1000} s after its HELLO (--peer-timeout)` });
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

  private join(setup: Setup): void {
    this.peerSetup = setup;
    this.emit('peer-joined', { peer: { ...setup } });
    const { ffmpeg, audioOut, env, record } = this.opts;
    const receive = new ReceivePipeline({
      ffmpeg, inProcessVideo: inProcessDecodeAllowed(), inProcessOpus: this.audioPlan.inProcessOpus,
      audioOut, env, onPlayed: (frame) => this.send.echo?.played(frame), ...(record ? { record } : {}),
    });
    receive.on('frame', (f) => this.onDecodedFrame(f.width, f.height, f.data, f.tag));
    receive.on('need-keyframe', () => this.requestKeyframe());
    receive.on('warning', (w) => this.warn(w));
    receive.on('error', (e) => this.fail(e));
    this.receive = receive;
    receive.start(this.receiveMedia(setup));
    this.every(PING_INTERVAL_MS, () => this.link.ping());
    this.every(STATS_INTERVAL_MS, () => {
      this.stats.tick();
      this.send.adapt();
      this.emit('stats', this.currentStats());
    });
    this.every(REPORT_INTERVAL_MS, () => this.sendReport());
    this.liveSinceMs = Date.now();
    this.every(PEER_LIVENESS_CHECK_MS, () => this.checkPeerLiveness());
    this.link.ping();
    if (this.opts.durationSec !== undefined) this.after(this.opts.durationSec * 1000, () => this.hangup());
    this.sendState();
  }

  /** The peer is back on fresh channels (maybe a new process): the call goes on. */
  private resume(setup: Setup): void {
    const downMs = this.reconnector.resumed();
    this.liveSinceMs = Date.now();
    const previous = this.peerSetup;
    this.peerSetup = setup;
    if (JSON.stringify(previous?.video ?? null) !== JSON.stringify(setup.video ?? null)
      || JSON.stringify(previous?.audio ?? null) !== JSON.stringify(setup.audio ?? null)) {
      // Decoders (and a recording) follow the returning peer's other media settings.
      this.receive?.follow(this.receiveMedia(setup));
    }
    // H.264: both decoders start over at a keyframe (ours after the gap, the peer's maybe anew).
    if (this.opts.videoCodec === 'h264') this.send.keyframeWanted();
    this.requestKeyframe();
    this.sendState();
    this.emit('reconnected', { downMs, peer: { ...setup } });
    this.settleWhenStable();
  }

  /** The interruption closes once the resumed call has both channels paired for a while. */
  private settleWhenStable(): void {
    if (this.life.phase === 'live' && this.pair.bothPaired) this.reconnector.settleWhenStable();
  }

  /** What the peer sends, at the size the renderer asked for (else its capture size). */
  private receiveMedia(peer: Setup): ReceiveMedia {
    const size = peer.video ? this.opts.decodeSize ?? { width: peer.video.width, height: peer.video.height } : null;
    return { video: peer.video && size ? { codec: peer.video.codec, ...size } : null, audio: peer.audio ? { codec: peer.audio.codec } : null };
  }

  private onDecodedFrame(width: number, height: number, data: Buffer, captureUs: number | undefined): void {
    if (captureUs !== undefined) {
      const latency = this.link.clock.latencyMs(captureUs, this.link.nowUs());
      if (latency !== null) this.latencyMs = this.latencyMs === null ? latency : this.latencyMs * 0.8 + latency * 0.2;
    }
    this.stats.videoDecoded();
    this.frameTap?.({ width, height, data });
    this.emit('video-frame', { width, height, data });
    if (this.opts.stopAfterFirstFrame) this.hangup();
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
    if (timeoutMs === 0 || this.life.phase !== 'live') return;
    // Per channel: a peer stuck in one record on video while audio flows is lost just the same.
    const silent = [this.pair.video, this.pair.audio]
      .map((ch) => ({ ch, ms: ch ? Date.now() - Math.max(ch.lastMessageMs, this.liveSinceMs) : 0 }))
      .find(({ ms }) => ms >= timeoutMs);
    if (!silent?.ch) return;
    // Timers run before I/O in an event-loop turn: after a stall of our own (CPU starved,
    // a suspended laptop) what the peer sent may be waiting, unread. Decide after the reads.
    if (!recheck) return void setImmediate(() => this.checkPeerLiveness(true));
    this.step({ type: 'silent', why: `nothing from the peer on the ${silent.ch.name} connection for ${Math.round(silent.ms / 100) / 10} s (--peer-timeout ${timeoutMs / 1000})` });
  }

  /** Tells the peer what arrived, so that its sender can see the queue on the path to us. */
  private sendReport(): void {
    const ch = this.pair.video;
    if (!ch || this.life.phase !== 'live') return;
    const s = this.currentStats();
    this.link.sendReport({
      videoFramesReceived: s.videoFramesReceived, videoFramesDropped: s.videoFramesDropped, videoFpsIn: s.videoFpsIn,
      audioMsReceived: s.audioMsReceived, audioBufferMs: s.audioBufferMs, audioUnderruns: s.audioUnderruns,
      // Bytes of this connection (what the peer's send log counts), not the call's total.
      bytesReceived: ch.bytesReceived, latencyMs: s.latencyMs,
    });
  }

  private sendState(): void {
    // No camera is sent as camera off too: a peer that does not know the no-camera bit shows that.
    this.link.sendState({ muted: this.muted, cameraOff: this.cameraOff || this.noCamera, noCamera: this.noCamera, noMic: this.noMic });
  }

  private warn(w: MediaWarning): void {
    const lost = (codes: string[], have: boolean): boolean => codes.includes(w.code) && !have;
    if (lost(['W_NO_CAMERA', 'W_CAMERA_LOST'], this.noCamera)) {
      this.noCamera = true;
      this.sendState();
    }
    if (lost(['W_NO_MIC', 'W_MIC_LOST'], this.noMic)) {
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

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    this.timers.add(setInterval(fn, ms));
  }

  private fail(err: unknown): void {
    if (isProtocolError(err)) void this.end('protocol', (err as Error).message);
    else if (err instanceof FatalError && (Object.keys(EXIT_CODES) as string[]).includes(err.reason)) void this.end(err.reason as EndReason, err.message);
    else void this.end('media', `internal error: ${(err as Error)?.message ?? String(err)}`);
  }

  /** Ends the call once: stops media, finalizes the recording, closes sockets, emits `ended`. */
  end(reason: EndReason, message?: string): Promise<EndedEvent> {
    this.step({ type: 'end', reason, ...(message !== undefined ? { message } : {}) });
    return this.ending ?? this.finish(reason, message, true);
  }

  private finish(reason: EndReason, message: string | undefined, bye: boolean): Promise<EndedEvent> {
    if (this.ending) return this.ending;
    // Whatever ends the call here (a hang-up, a media failure, the ffmpeg children killed by
    // the same SIGHUP as us), the peer is told at once: it need not wait out its --grace.
    if (bye) this.link.sendBye(reason);
    this.ending = (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.reconnector.stop();
      this.pair.stopWatching();
      const stats = this.currentStats();
      await Promise.allSettled([this.send.close(), this.receive?.close()]);
      const open = this.pair.open;
      this.pair.end();
      await delay(open ? BYE_FLUSH_MS : 0);
      this.pair.destroy();
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
