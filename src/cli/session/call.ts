/**
 * A call, the front of its parts: the channel pair to the relay (channel-pair.ts), what the
 * peer says (peer-link.ts), the call's life as a pure reducer (lifecycle.ts), reconnection
 * (reconnector.ts), the media both ways (send-pipeline.ts; call-receive.ts around
 * receive-pipeline.ts), its timers and watchdogs (call-timers.ts, peer-watch.ts), its figures
 * (call-stats.ts) and our own media state (local-media.ts). It emits the typed events of
 * events.ts; the TUI and the NDJSON writer subscribe, neither touches a socket. run()
 * resolves with the `ended` event once everything is closed and finalized.
 */
import { EventEmitter } from 'node:events';
import type { Setup } from '../../codec/protocol/index.js';
import type { MediaWarning } from '../../media/errors.js';
import { planAudioPath, type AudioPlan } from '../../media/audio-path.js';
import { DEFAULT_PEER_TIMEOUT_SEC } from '../options.js';
import { ourSetup, type CallOptions } from './call-options.js';
import { CallReceive } from './call-receive.js';
import { CallStatsBuilder, receiverReport } from './call-stats.js';
import { PING_INTERVAL_MS, REPORT_INTERVAL_MS, STATS_INTERVAL_MS, TimerSet } from './call-timers.js';
import { ChannelPair } from './channel-pair.js';
import { EXIT_CODES, callEndOf } from '../exit-codes.js';
import type { CallStats, EndReason, SessionEvents } from './events.js';
import { LocalMedia } from './local-media.js';
import { INITIAL_LIFECYCLE, stepLifecycle, type LifecycleEffect, type LifecycleEvent } from './lifecycle.js';
import { PeerLink } from './peer-link.js';
import { PeerWatch } from './peer-watch.js';
import { RECONNECT_CONNECT_TIMEOUT_MS, RECONNECT_GIVE_UP_SEC } from './reconnect.js';
import { Reconnector } from './reconnector.js';
import { RELAY_CONNECT_TIMEOUT_MS } from './relay-link.js';
import { SendPipeline } from './send-pipeline.js';
import { WarningThrottle } from './warning-throttle.js';

export type { CallOptions } from './call-options.js';
/** Time BYE gets to leave before the sockets are torn down. */
export const BYE_FLUSH_MS = 300;

type EndedEvent = SessionEvents['ended'][0];

export class CallSession extends EventEmitter<SessionEvents> {
  readonly session: string;
  /** Our switches (muted, camera off) and what we lack (no camera, no mic): what STATE tells the peer. */
  private readonly local: LocalMedia;
  /** The audio path of this call: in-process Opus, and which echo canceller runs (or why none). */
  readonly audioPlan: AudioPlan;
  private life = INITIAL_LIFECYCLE;
  private readonly pair: ChannelPair;
  private readonly link: PeerLink;
  private readonly reconnector: Reconnector;
  private readonly send: SendPipeline;
  private readonly receive: CallReceive;
  private readonly stats: CallStatsBuilder;
  private readonly timers = new TimerSet();
  private readonly watch: PeerWatch;
  private readonly throttle = new WarningThrottle();
  private ending: Promise<EndedEvent> | undefined;
  private resolveRun: ((e: EndedEvent) => void) | undefined;

  constructor(private readonly opts: CallOptions) {
    super();
    this.session = opts.session;
    this.local = new LocalMedia(opts);
    this.audioPlan = planAudioPath(opts);
    const reconnect = opts.reconnect !== false;
    this.pair = new ChannelPair({ ...opts, watchPairing: reconnect });
    const offsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
    this.link = new PeerLink(this.pair, offsetUs);
    this.reconnector = new Reconnector(
      { host: opts.host, graceSec: opts.graceSec, giveUpMs: (opts.reconnectGiveUpSec ?? RECONNECT_GIVE_UP_SEC) * 1000 },
      {
        attempt: (attempt, giveUpAtMs) => {
          this.emit('reconnecting', { attempt, giveUpAtMs });
          return this.pair.reconnect(RECONNECT_CONNECT_TIMEOUT_MS, () => this.ending !== undefined);
        },
        back: (downMs, waitingForPeer) => {
          this.step({ type: 'back' });
          if (waitingForPeer) this.emit('waiting', { session: this.session });
          else this.emit('reconnected', { downMs });
        },
        giveUp: (reason, message) => this.step({ type: 'end', reason, message }),
      },
    );
    const live = (): boolean => this.life.phase === 'live';
    this.stats = new CallStatsBuilder({
      rttMs: () => this.link.clock.rttMs, sink: () => this.receive.sinkStats(), totals: () => this.pair.totals(),
      // While reconnecting there is no confirmed pair; the call was (and will be) sealed as before.
      encrypted: () => this.pair.everEncrypted,
    });
    this.watch = new PeerWatch((opts.peerTimeoutSec ?? DEFAULT_PEER_TIMEOUT_SEC) * 1000, this.timers, {
      channels: () => this.pair, live, ending: () => this.ending !== undefined,
      stalled: (why) => this.step({ type: 'stalled', why }), silent: (why) => this.step({ type: 'silent', why }),
    });
    this.send = new SendPipeline({ ...opts, audioPlan: this.audioPlan, offsetUs }, this.stats.counter, {
      videoOut: () => (live() && !this.local.cameraOff ? this.pair.video : undefined),
      audioOut: () => (live() && !this.local.muted ? this.pair.audio : undefined),
      selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e),
    });
    this.receive = new CallReceive(opts, {
      stats: this.stats, latencyMs: (captureUs) => this.link.clock.latencyMs(captureUs, this.link.nowUs()),
      inProcessOpus: this.audioPlan.inProcessOpus, played: (frame) => this.send.echo?.played(frame),
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
  get encrypted(): boolean { return this.pair.encrypted; }

  // ---- controls (CallControls for the UI) ----

  /** Says BYE and ends the call (reason `hangup`); `why` goes into `ended.message` (a signal, a closed stdout). */
  hangup(why?: string): void {
    if (!this.ending) void this.end('hangup', why);
  }

  get muted(): boolean { return this.local.muted; }
  get cameraOff(): boolean { return this.local.cameraOff; }
  get noCamera(): boolean { return this.local.noCamera; }
  get noMic(): boolean { return this.local.noMic; }

  setMuted(muted: boolean): void {
    this.local.muted = muted;
    this.sendState();
  }

  setCameraOff(off: boolean): void {
    this.local.cameraOff = off;
    this.send.setCameraOff(off);
    this.sendState();
  }

  /** Decode our own frames for the self-view (`self-frame`), or stop. */
  setSelfView(on: boolean): void { this.send.setSelfView(on); }
  requestKeyframe(): void { this.link.requestKeyframe(); }
  setVideoSize(width: number, height: number): void { this.receive.setSize(width, height); }

  /** The stats snapshot (also the fields of `ended`). */
  currentStats(): CallStats { return this.stats.snapshot(); }

  // ---- lifecycle ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: this.audioPlan.echoCanceller, echoWhyNot: this.audioPlan.echoWhyNot });
    await this.pair.useCode(this.opts.session, this.opts.rendezvousPrefix);
    // The first connection failing is exit 3 (relay-unreachable); later ones are retried.
    if (!(await this.pair.connect(RELAY_CONNECT_TIMEOUT_MS, () => this.ending !== undefined))) return;
    this.step({ type: 'attached' });
    this.emit('waiting', { session: this.session });
    // Capture starts while we wait, so the first frames flow the moment the peer joins
    // (ffmpeg and a camera take a second or two to start); nothing is sent before that.
    this.send.start();
    this.timers.after(this.opts.waitSec * 1000, () => this.step({ type: 'wait-expired', waitSec: this.opts.waitSec }));
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
    pair.on('attached', () => { this.send.newPath(); this.reconnector.attached(); });
    pair.on('ready', (ch) => { if (ch === pair.video) link.sendSetup(ourSetup(this.opts)); });
    pair.on('rejected', (ch, err) => {
      if (this.throttle.pass('W_RECORD_REJECTED')) this.emit('warning', { code: 'W_RECORD_REJECTED', message: `a ${ch.name} record was rejected (${err.code}): altered or replayed on the path` });
    });
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
    link.on('hello', (ch) => { pair.checkPairing(); this.watch.helloFrom(ch); });
    link.on('setup', (setup) => this.step({ type: 'setup', setup }));
    link.on('video', (v) => this.receive.video(v));
    link.on('audio', (data) => this.receive.audio(data));
    const { receive } = this;
    receive.on('frame', (f) => { this.emit('video-frame', f); if (this.opts.stopAfterFirstFrame) this.hangup(); });
    receive.on('need-keyframe', () => this.requestKeyframe());
    receive.on('warning', (w) => this.warn(w));
    receive.on('error', (e) => this.fail(e));
    link.on('state', (state) => this.emit('peer-state', state));
    link.on('keyframe-request', () => this.send.keyframeWanted());
    link.on('report', ({ report, timestampUs, channel }) => this.send.onReport(channel, report, link.peerTimeToLocalMs(timestampUs)));
    link.on('bye', () => this.step({ type: 'bye' }));
  }

  private join(setup: Setup): void {
    this.emit('peer-joined', { peer: { ...setup } });
    this.receive.join(setup);
    this.timers.every(PING_INTERVAL_MS, () => this.link.ping());
    this.timers.every(STATS_INTERVAL_MS, () => {
      this.stats.counter.tick();
      this.send.adapt();
      this.emit('stats', this.currentStats());
    });
    this.timers.every(REPORT_INTERVAL_MS, () => this.sendReport());
    this.watch.joined();
    this.link.ping();
    if (this.opts.durationSec !== undefined) this.timers.after(this.opts.durationSec * 1000, () => this.hangup());
    this.sendState();
  }

  /** The peer is back on fresh channels (maybe a new process): the call goes on. */
  private resume(setup: Setup): void {
    const downMs = this.reconnector.resumed();
    this.watch.resumed();
    this.receive.resume(setup);
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

  /** Tells the peer what arrived, so that its sender can see the queue on the path to us. */
  private sendReport(): void {
    const ch = this.pair.video;
    if (!ch || this.life.phase !== 'live') return;
    this.link.sendReport(receiverReport(this.currentStats(), ch.bytesReceived));
  }

  private sendState(): void { this.link.sendState(this.local.state()); }

  private warn(w: MediaWarning): void {
    if (this.local.deviceGone(w.code)) this.sendState();
    this.emit('warning', { code: w.code, message: w.message });
  }

  private fail(err: unknown): void {
    const { reason, message } = callEndOf(err);
    void this.end(reason, message);
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
      this.timers.clear();
      this.reconnector.stop();
      this.pair.stopWatching();
      const stats = this.currentStats();
      await Promise.allSettled([this.send.close(), this.receive.close()]);
      await this.pair.close(BYE_FLUSH_MS);
      [reason, message] = this.receive.verdict(reason, message);
      const ended: EndedEvent = { reason, exitCode: EXIT_CODES[reason], ...stats, ...(message ? { message } : {}) };
      this.emit('ended', ended);
      this.resolveRun?.(ended);
      return ended;
    })();
    return this.ending;
  }
}
