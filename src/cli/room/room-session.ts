/**
 * A group call (`videochat connect --room`, docs/rooms.md): both channels joined to the
 * relay's room under `vcroom1-` + the code's rendezvous id, one RoomMember per channel
 * (room-link.ts), the members' two connections tied into one participant by the random
 * token of their INTRO, our camera and microphone captured once and each frame sealed once
 * under our sender key and broadcast, every other member's video decoded by its own
 * decoder and its audio decoded, jitter-buffered and mixed into one stream (mixer.ts) for
 * the one speaker. A relay that knows no rooms is seen at once (its first bytes are the
 * other member's HELLO): the session then hands over to a one-to-one CallSession on the
 * same code, and `fallback-one-to-one` says so. Emits the events of room-events.ts.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ROOM_CODE_PREFIX, LeaveReason, type MemberEvent } from '../../codec/room/index.js';
import { deriveCodeSecrets } from '../../codec/secure/rendezvous.js';
import { planAudioPath, type AudioPlan } from '../../media/audio-path.js';
import { AudioDecoder } from '../../media/audio-decode.js';
import { AudioSink } from '../../media/audio-sink.js';
import { AUDIO_FRAME_MS } from '../../media/args.js';
import { AudioCapture, type VideoCapture, type VideoFrame, type AudioPacket } from '../../media/capture.js';
import { VideoDecoder } from '../../media/decode.js';
import { EchoCanceller } from '../../media/echo.js';
import type { MediaWarning } from '../../media/errors.js';
import { loadJpegDecoder } from '../../media/jpeg-wasm.js';
import { cameraWithSelfView, type SelfView } from '../../media/self-view.js';
import { VERSION } from '../version.js';
import { DEFAULT_PEER_TIMEOUT_SEC } from '../options.js';
import { CallSession, type CallOptions } from '../session/call.js';
import { EXIT_CODES, callEndOf } from '../exit-codes.js';
import { audioPacketMs } from '../session/receive-pipeline.js';
import { openRelayChannel, RELAY_CONNECT_TIMEOUT_MS } from '../session/relay-link.js';
import { StatsCounter } from '../session/stats.js';
import { inProcessDecodeAllowed } from '../session/test-hooks.js';
import { AudioMixer } from './mixer.js';
import { RoomLink } from './room-link.js';
import type { MemberInfo, MemberLeftReason, MemberStats, RoomControls, RoomEndReason, RoomSessionEvents, RoomStats } from './room-events.js';
import { decodeRoomMedia, decodeRoomMessage, encodeRoomMedia, encodeRoomMessage, type RoomIntro } from './room-wire.js';

/**
 * TEST-ONLY: join the room of this code (its rendezvous id) while keeping the key of our own
 * --session code: how a test puts a member with a wrong code into a room (a wrong code
 * otherwise lands in an empty room of its own and waits, exit 4).
 */
export const TEST_ROOM_RENDEZVOUS_ENV = 'VIDEOCHAT_TEST_ROOM_RENDEZVOUS_CODE';

/** How often `stats` is emitted. */
export const ROOM_STATS_INTERVAL_MS = 1000;
/** How often each member's audio level is emitted (`member-level`). */
export const MEMBER_LEVEL_INTERVAL_MS = 100;
/** How often every member is PINGed (round trip, clock offset; the keepalive of members that send no media). */
export const ROOM_KEEPALIVE_MS = 1000;
/** How often members' silence is checked against --peer-timeout. */
export const STALL_CHECK_MS = 250;
/** Keyframe requests of all members together are honoured at most this often. */
export const KEYFRAME_REQUEST_MIN_MS = 500;
/** Time BYE gets to leave before the sockets are torn down. */
export const ROOM_BYE_FLUSH_MS = 300;
/** The same warning code is emitted at most this often. */
export const ROOM_WARNING_THROTTLE_MS = 5000;

/** What a room session is made with: a call's options, and the name we give ourselves. */
export interface RoomOptions extends CallOptions {
  /** Shown to the other members (INTRO); absent: none. */
  name?: string;
}

type Ended = RoomSessionEvents['ended'][0];

/** One other member: its two connections (their ids differ per port), decoders and counters. */
interface Participant {
  token: string;
  videoId: number | null;
  audioId: number | null;
  intro: RoomIntro | null;
  joined: boolean;
  present: boolean;
  leftReason: MemberLeftReason | null;
  videoFramesReceived: number;
  audioMsReceived: number;
  latencyMs: number | null;
  video: VideoDecoder | undefined;
  audio: AudioDecoder | undefined;
  levelPeak: number;
  speaking: boolean;
  /** Its last STATE, and whether it fell silent (member-state is emitted on a change of any). */
  state: { muted: boolean; cameraOff: boolean; stalled: boolean } | null;
  /** When anything (media, a message) last arrived from it on either connection. */
  lastHeardMs: number;
  /** From PING/PONG: round trip, and how far its clock runs ahead of ours (µs); null before the first PONG. */
  rttMs: number | null;
  offsetUs: number | null;
  bestRttMs: number;
}

const LEAVE_WORDS: Record<number, MemberLeftReason> = { [LeaveReason.LEFT]: 'left', [LeaveReason.LOST]: 'lost', [LeaveReason.TOO_SLOW]: 'too-slow' };

export class RoomSession extends EventEmitter<RoomSessionEvents> implements RoomControls {
  readonly session: string;
  muted = false;
  cameraOff = false;
  readonly audioPlan: AudioPlan;
  /** Set once the relay turned out to know no rooms: the one-to-one call that took over. */
  fallback: CallSession | undefined;
  private readonly token = randomBytes(16).toString('hex');
  private video: RoomLink | undefined;
  private audio: RoomLink | undefined;
  private readonly byToken = new Map<string, Participant>();
  private readonly byVideoId = new Map<number, Participant>();
  private readonly byAudioId = new Map<number, Participant>();
  private readonly stats = new StatsCounter();
  private readonly mixer = new AudioMixer();
  private sink: AudioSink | undefined;
  private echo: EchoCanceller | undefined;
  private capture: VideoCapture | undefined;
  private selfView: SelfView | undefined;
  private mic: AudioCapture | undefined;
  private mixClock: { startMs: number; frames: number } | undefined;
  private decodeSize: { width: number; height: number } | null;
  private anyoneJoined = false;
  private durationArmed = false;
  private mediaRejectedWarned = 0;
  private droppedByRelay = 0;
  private lastKeyframeAskMs = 0;
  private readonly clockOffsetUs: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lastWarnAt = new Map<string, number>();
  private ending: Promise<Ended> | undefined;
  private resolveRun: ((e: Ended) => void) | undefined;

  constructor(private readonly opts: RoomOptions) {
    super();
    this.session = opts.session;
    this.audioPlan = planAudioPath(opts);
    this.decodeSize = opts.decodeSize;
    this.clockOffsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
  }

  /** Runs the room to its end; never rejects. */
  run(): Promise<Ended> {
    const done = new Promise<Ended>((resolve) => { this.resolveRun = resolve; });
    this.start().catch((err: unknown) => this.fail(err));
    return done;
  }

  // ---- controls ----

  hangup(why?: string): void {
    if (this.fallback) return this.fallback.hangup(why);
    if (!this.ending) void this.end('hangup', why);
  }

  setMuted(muted: boolean): void {
    if (this.fallback) return this.fallback.setMuted(muted);
    this.muted = muted;
    this.sendState();
  }

  setCameraOff(off: boolean): void {
    if (this.fallback) return this.fallback.setCameraOff(off);
    this.cameraOff = off;
    this.selfView?.setCameraOff(off);
    this.sendState();
  }

  setSelfView(on: boolean): void {
    if (this.fallback) return this.fallback.setSelfView(on);
    this.selfView?.setWanted(on);
  }

  setVideoSize(width: number, height: number): void {
    if (this.fallback) return this.fallback.setVideoSize(width, height);
    const size = { width: Math.max(2, Math.round(width / 2) * 2), height: Math.max(2, Math.round(height / 2) * 2) };
    this.decodeSize = size;
    for (const p of this.byToken.values()) {
      if (p.video) void p.video.setSize(size.width, size.height).catch(() => undefined);
      else if (p.present && p.joined) this.startVideoDecoder(p);
    }
  }

  /** We have no camera at all (`--video-in none`): not the same as turned off. */
  get noCamera(): boolean {
    return this.opts.videoIn.kind === 'none';
  }

  get noMic(): boolean {
    return this.opts.audioIn.kind === 'none';
  }

  /** A room is always sealed end to end (pairwise keys, sender keys). */
  get encrypted(): boolean {
    return true;
  }

  /** Asks every member for a keyframe (after the tile size changed: H.264 decoders start over). */
  requestKeyframe(): void {
    if (this.fallback) return this.fallback.requestKeyframe();
    this.video?.member.sendToAll(encodeRoomMessage({ type: 'keyframe-request' }));
  }

  /** Our sender epoch on the video connection (changes on every join and leave). */
  get epoch(): number | null {
    return this.video?.member.epoch ?? null;
  }

  currentStats(): RoomStats {
    const links = [this.video, this.audio];
    const sum = (k: 'bytesSent' | 'bytesReceived'): number => links.reduce((n, l) => n + (l?.[k] ?? 0), 0);
    const members: MemberStats[] = [];
    let latency: number | null = null;
    let rtt: number | null = null;
    for (const p of this.byToken.values()) {
      if (!p.joined || p.videoId === null) continue;
      if (p.present && p.latencyMs !== null) latency = latency === null ? p.latencyMs : Math.max(latency, p.latencyMs);
      if (p.present && p.rttMs !== null) rtt = rtt === null ? p.rttMs : Math.max(rtt, p.rttMs);
      members.push({
        id: p.videoId, ...(p.intro?.name ? { name: p.intro.name } : {}),
        videoFramesReceived: p.videoFramesReceived, audioMsReceived: Math.round(p.audioMsReceived),
        latencyMs: p.latencyMs === null ? null : round1(p.latencyMs), rttMs: p.rttMs === null ? null : round1(p.rttMs),
        present: p.present, stalled: p.state?.stalled === true,
      });
    }
    const rejected = (this.video?.member.stats.mediaRejected ?? 0) + (this.audio?.member.stats.mediaRejected ?? 0);
    return {
      ...this.stats.snapshot(), audioBufferMs: 0, audioUnderruns: 0, ...(this.sink ? this.sink.stats() : {}),
      bytesSent: sum('bytesSent'), bytesReceived: sum('bytesReceived'), rttMs: rtt === null ? null : round1(rtt),
      latencyMs: latency === null ? null : round1(latency), encrypted: true, recordsRejected: rejected,
      senderEpoch: this.epoch, mediaRejected: rejected, droppedByRelay: this.droppedByRelay, members,
    } as RoomStats;
  }

  // ---- start ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: this.audioPlan.echoCanceller, echoWhyNot: this.audioPlan.echoWhyNot });
    const secrets = await deriveCodeSecrets(this.opts.session);
    const testRendezvous = (this.opts.env ?? process.env)[TEST_ROOM_RENDEZVOUS_ENV];
    const rendezvousId = testRendezvous ? (await deriveCodeSecrets(testRendezvous)).rendezvousId : secrets.rendezvousId;
    const code = ROOM_CODE_PREFIX + rendezvousId;
    const [v, a] = await Promise.allSettled([
      openRelayChannel(host, videoPort, code, RELAY_CONNECT_TIMEOUT_MS),
      openRelayChannel(host, audioPort, code, RELAY_CONNECT_TIMEOUT_MS),
    ]);
    if (v.status !== 'fulfilled' || a.status !== 'fulfilled') {
      if (v.status === 'fulfilled') v.value.destroy();
      if (a.status === 'fulfilled') a.value.destroy();
      throw v.status === 'rejected' ? v.reason : (a as PromiseRejectedResult).reason;
    }
    if (this.ending) return [v.value, a.value].forEach((s) => s.destroy());
    this.video = this.wireLink(new RoomLink('video', v.value, secrets.codeKey));
    this.audio = this.wireLink(new RoomLink('audio', a.value, secrets.codeKey));
    this.startCapture();
    this.every(ROOM_STATS_INTERVAL_MS, () => {
      this.stats.tick();
      this.emit('stats', this.currentStats());
    });
    // Every member is PINGed every second (round trip, clock offset), which is also the
    // keepalive of members that send no media: silence means stalled.
    this.every(ROOM_KEEPALIVE_MS, () => this.video?.member.sendToAll(encodeRoomMessage({ type: 'ping', timeUs: this.nowUs() })));
    this.every(STALL_CHECK_MS, () => this.checkStalled());
    this.after(this.opts.waitSec * 1000, () => {
      if (!this.anyoneJoined) void this.end('no-peer', `no one joined the room within ${this.opts.waitSec} s (--wait)`);
    });
  }

  private wireLink(link: RoomLink): RoomLink {
    link.on('event', (e) => this.onMemberEvent(link, e));
    link.on('one-to-one', () => this.fallBack());
    link.on('error', (err) => void this.end('protocol', `the relay broke the room's framing on the ${link.name} connection: ${err.message}`));
    link.on('close', () => {
      if (this.ending || this.fallback) return;
      void this.end('peer-lost', `the relay closed the ${link.name} connection`);
    });
    return link;
  }

  private startCapture(): void {
    const { ffmpeg, width, height, fps, videoCodec } = this.opts;
    if (inProcessDecodeAllowed()) void loadJpegDecoder();
    if (this.opts.videoIn.kind !== 'none') {
      const { capture, selfView } = cameraWithSelfView(
        { ffmpeg, source: this.opts.videoIn, width, height, fps, codec: videoCodec },
        { ffmpeg, codec: videoCodec, width, height, inProcess: inProcessDecodeAllowed() },
        { send: (f) => this.sendVideo(f), selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e) },
      );
      this.capture = capture;
      this.selfView = selfView;
      capture.start();
    }
    if (this.opts.audioIn.kind !== 'none') {
      if (this.audioPlan.echoCanceller) this.echo = new EchoCanceller();
      const mic = new AudioCapture({
        ffmpeg, source: this.opts.audioIn, codec: this.opts.audioCodec, inProcessOpus: this.audioPlan.inProcessOpus, echo: this.echo ?? null,
      });
      mic.on('packet', (p) => this.sendAudio(p));
      mic.on('warning', (w) => this.warn(w));
      mic.on('error', (e) => this.fail(e));
      this.mic = mic;
      mic.start();
    }
  }

  // ---- the relay's and the members' events ----

  private onMemberEvent(link: RoomLink, e: MemberEvent): void {
    if (this.ending) return;
    switch (e.type) {
      case 'welcome':
        if (link === this.video) this.emit('waiting', { session: this.session, memberId: e.memberId, maxMembers: e.maxMembers });
        return;
      case 'member-joined':
        return;
      case 'member-confirmed':
        link.member.sendTo(e.memberId, encodeRoomMessage({ type: 'intro', intro: this.ourIntro() }));
        if (link === this.video) link.member.sendTo(e.memberId, this.stateMessage());
        return;
      case 'member-refused':
        return this.onRefused(link, e.memberId, e.code, e.message);
      case 'message':
        return this.onMessage(link, e.memberId, e.payload);
      case 'media':
        return this.onMedia(link, e.memberId, e.payload);
      case 'member-left':
        return this.onLeft(link, e.memberId, LEAVE_WORDS[e.reason] ?? 'lost');
      case 'room-full':
        void this.end('room-full', `the room is full (${e.maxMembers} members, the relay's --max-room-size)`);
        return;
      case 'dropped':
        this.droppedByRelay += e.envelopes;
        return;
    }
  }

  private onRefused(link: RoomLink, memberId: number, code: string, message: string): void {
    const p = (link === this.video ? this.byVideoId : this.byAudioId).get(memberId);
    if (p?.joined && p.present) this.leave(p, 'refused');
    this.warnThrottled('W_MEMBER_REFUSED', `member ${memberId} was refused on the ${link.name} connection (${code}): ${message}`);
    // Every member that was in the room before us failed to prove the code to us (and none
    // did): it is our code that is wrong. Members that came after us are theirs to blame.
    const ours = link.member.memberId ?? 0;
    const earlier = [...link.present].filter((id) => id < ours);
    if (code === 'E_KEY_CONFIRMATION' && link.confirmed.size === 0 && earlier.length > 0 && earlier.every((id) => link.refused.has(id))) {
      void this.end('key-confirmation', `the members of the room could not prove the session code (${message}); is the code right?`);
    }
  }

  private onMessage(link: RoomLink, memberId: number, payload: Buffer): void {
    const msg = decodeRoomMessage(payload);
    if (!msg) return;
    const ids = link === this.video ? this.byVideoId : this.byAudioId;
    if (msg.type === 'intro') {
      const intro = msg.intro;
      if (intro.participant === this.token) return; // ourselves? never: the relay does not echo
      let p = this.byToken.get(intro.participant);
      if (!p) {
        p = {
          token: intro.participant, videoId: null, audioId: null, intro: null, joined: false, present: true, leftReason: null,
          videoFramesReceived: 0, audioMsReceived: 0, latencyMs: null, video: undefined, audio: undefined, levelPeak: 0, speaking: false,
          state: null, lastHeardMs: Date.now(), rttMs: null, offsetUs: null, bestRttMs: Infinity,
        };
        this.byToken.set(intro.participant, p);
      }
      if (link === this.video) {
        if (p.videoId !== null && p.videoId !== memberId) return; // a second video connection under one token: ignored
        p.videoId = memberId;
        p.intro = intro;
      } else {
        if (p.audioId !== null && p.audioId !== memberId) return;
        p.audioId = memberId;
        p.intro ??= intro;
      }
      ids.set(memberId, p);
      if (link === this.video && !p.joined) this.join(p);
      else if (link === this.audio && p.joined) this.startAudioDecoder(p);
      return;
    }
    const p = ids.get(memberId);
    if (!p || !p.joined) return;
    this.heard(p);
    if (msg.type === 'state' && link === this.video) this.setMemberState(p, { muted: msg.muted, cameraOff: msg.cameraOff, stalled: false });
    if (msg.type === 'keyframe-request') this.keyframeWanted();
    if (msg.type === 'ping' && link === this.video) link.member.sendTo(memberId, encodeRoomMessage({ type: 'pong', echoUs: msg.timeUs, timeUs: this.nowUs() }));
    if (msg.type === 'pong' && link === this.video) this.onPong(p, msg.echoUs, msg.timeUs);
    // BYE: the relay's MEMBER_LEFT (reason left) follows at once; nothing to do before it.
  }

  private join(p: Participant): void {
    p.joined = true;
    this.anyoneJoined = true;
    const intro = p.intro!;
    const member: MemberInfo = {
      client: intro.client, clientVersion: intro.clientVersion, ...(intro.name !== undefined ? { name: intro.name } : {}),
      video: intro.video, audio: intro.audio,
    };
    this.emit('member-joined', { memberId: p.videoId!, member });
    this.startVideoDecoder(p);
    if (p.audioId !== null) this.startAudioDecoder(p);
    this.startMixing();
    if (!this.durationArmed && this.opts.durationSec !== undefined) {
      this.durationArmed = true;
      this.after(this.opts.durationSec * 1000, () => this.hangup());
    }
  }

  private startVideoDecoder(p: Participant): void {
    const v = p.intro?.video;
    if (!v || p.video || !p.present) return;
    const size = this.decodeSize ?? { width: v.width, height: v.height };
    const vd = new VideoDecoder({ ffmpeg: this.opts.ffmpeg, codec: v.codec, width: size.width, height: size.height, inProcess: inProcessDecodeAllowed() });
    vd.on('frame', (f) => {
      this.stats.videoDecoded();
      if (p.present) this.emit('member-frame', { memberId: p.videoId!, width: f.width, height: f.height, data: f.data });
    });
    vd.on('need-keyframe', () => {
      if (p.videoId !== null) this.video?.member.sendTo(p.videoId, encodeRoomMessage({ type: 'keyframe-request' }));
    });
    vd.on('warning', (w) => this.warn(w));
    vd.on('error', (e) => this.warn({ code: 'W_MEMBER_DECODE', message: `member ${p.videoId}: video decoding stopped: ${e.message}` } as MediaWarning));
    p.video = vd;
    vd.start();
  }

  private startAudioDecoder(p: Participant): void {
    const a = p.intro?.audio;
    if (!a || p.audio || !p.present) return;
    const ad = new AudioDecoder({ ffmpeg: this.opts.ffmpeg, codec: a.codec, inProcessOpus: this.audioPlan.inProcessOpus });
    const key = p.videoId!;
    ad.on('pcm', (pcm) => {
      if (p.present) this.mixer.push(key, pcm);
    });
    ad.on('warning', (w) => this.warn(w));
    ad.on('error', (e) => this.warn({ code: 'W_MEMBER_DECODE', message: `member ${key}: audio decoding stopped: ${e.message}` } as MediaWarning));
    p.audio = ad;
    ad.start();
  }

  private onMedia(link: RoomLink, memberId: number, payload: Buffer): void {
    const p = (link === this.video ? this.byVideoId : this.byAudioId).get(memberId);
    if (!p || !p.joined || !p.present) return;
    const m = decodeRoomMedia(payload);
    if (!m) return;
    this.heard(p);
    // Capture to arrival, on our clock: its capture time moved by how far its clock runs ahead.
    // Measured from its first PONG on (before, its clock is not known); never below 0.
    if (p.offsetUs !== null) {
      const latency = Math.max(0, (this.nowUs() - (m.timestampUs - p.offsetUs)) / 1000);
      if (latency < 60_000) p.latencyMs = p.latencyMs === null ? latency : p.latencyMs * 0.9 + latency * 0.1;
    }
    if (m.kind === 'video' && link === this.video) {
      p.videoFramesReceived++;
      this.stats.videoReceived();
      p.video?.push({ data: m.data, keyframe: m.keyframe, captureUs: m.timestampUs });
    } else if (m.kind === 'audio' && link === this.audio) {
      const ms = audioPacketMs(p.intro?.audio?.codec ?? 'opus', m.data);
      p.audioMsReceived += ms;
      this.stats.audioReceived(ms);
      p.audio?.push(m.data, ms);
    }
  }

  private onLeft(link: RoomLink, memberId: number, reason: MemberLeftReason): void {
    const ids = link === this.video ? this.byVideoId : this.byAudioId;
    const p = ids.get(memberId);
    ids.delete(memberId);
    if (!p) return;
    if (link === this.audio) {
      p.audioId = null;
      this.mixer.remove(p.videoId ?? -1);
      const ad = p.audio;
      p.audio = undefined;
      void ad?.close().catch(() => undefined);
      return;
    }
    this.leave(p, reason);
  }

  private leave(p: Participant, reason: MemberLeftReason): void {
    if (!p.present) return;
    p.present = false;
    p.leftReason = reason;
    this.byToken.delete(p.token);
    // Kept for the members array of stats and ended, under a key no INTRO can take.
    this.byToken.set(`left:${p.token}:${p.videoId}`, p);
    if (p.audioId !== null) this.byAudioId.delete(p.audioId);
    if (p.videoId !== null) this.byVideoId.delete(p.videoId);
    if (p.videoId !== null) this.mixer.remove(p.videoId);
    for (const d of [p.video, p.audio]) void d?.close().catch(() => undefined);
    p.video = undefined;
    p.audio = undefined;
    if (p.joined) this.emit('member-left', { memberId: p.videoId!, reason });
  }

  // ---- members' liveness and clocks ----

  /** Our clock in µs (test only: VIDEOCHAT_TEST_CLOCK_OFFSET_MS runs it ahead). */
  private nowUs(): number {
    return Date.now() * 1000 + this.clockOffsetUs;
  }

  /** A PONG: the round trip, and its clock against ours from the sample with the shortest round trip lately. */
  private onPong(p: Participant, echoUs: number, theirUs: number): void {
    const nowUs = this.nowUs();
    const rttUs = nowUs - echoUs;
    if (rttUs < 0 || rttUs > 60_000_000) return;
    p.rttMs = rttUs / 1000;
    // The shortest round trip bounds the offset's error best; an old minimum slowly gives way.
    p.bestRttMs = Math.min(p.bestRttMs * 1.05 + 0.1, p.rttMs);
    if (p.rttMs <= p.bestRttMs * 1.5 || p.offsetUs === null) p.offsetUs = theirUs - (echoUs + rttUs / 2);
  }

  private setMemberState(p: Participant, next: { muted: boolean; cameraOff: boolean; stalled: boolean }): void {
    const was = p.state;
    p.state = next;
    if (was && was.muted === next.muted && was.cameraOff === next.cameraOff && was.stalled === next.stalled) return;
    this.emit('member-state', { memberId: p.videoId!, ...next });
  }

  private heard(p: Participant): void {
    p.lastHeardMs = Date.now();
    if (p.state?.stalled) this.setMemberState(p, { ...p.state, stalled: false });
  }

  /** A joined member silent for --peer-timeout is stalled (the relay alone decides who is in the room). */
  private checkStalled(recheck = false): void {
    const timeoutMs = (this.opts.peerTimeoutSec ?? DEFAULT_PEER_TIMEOUT_SEC) * 1000;
    if (timeoutMs === 0) return;
    const now = Date.now();
    const silent = [...this.byVideoId.values()].filter((p) => p.joined && p.present && !p.state?.stalled && now - p.lastHeardMs >= timeoutMs);
    if (silent.length === 0) return;
    // After a stall of our own, what they sent may be waiting unread: decide after the reads.
    if (!recheck) return void setImmediate(() => this.checkStalled(true));
    for (const p of silent) {
      this.setMemberState(p, { muted: p.state?.muted ?? false, cameraOff: p.state?.cameraOff ?? false, stalled: true });
      this.emit('warning', { code: 'W_MEMBER_STALLED', message: `nothing from member ${p.videoId} for ${Math.round((now - p.lastHeardMs) / 100) / 10} s (--peer-timeout); it is still in the room` });
    }
  }

  // ---- sending ----

  /** A member asked for a keyframe: at most one every KEYFRAME_REQUEST_MIN_MS (every member may ask). */
  private keyframeWanted(): void {
    const now = Date.now();
    if (now - this.lastKeyframeAskMs < KEYFRAME_REQUEST_MIN_MS) return;
    this.lastKeyframeAskMs = now;
    this.capture?.requestKeyframe();
  }

  private ourIntro(): RoomIntro {
    const { videoIn, audioIn, width, height, fps, videoCodec, audioCodec } = this.opts;
    return {
      participant: this.token, client: 'videochat', clientVersion: VERSION, ...(this.opts.name ? { name: this.opts.name } : {}),
      video: videoIn.kind === 'none' ? null : { codec: videoCodec, width, height, fps },
      audio: audioIn.kind === 'none' ? null : { codec: audioCodec, sampleRate: 48_000, channels: 1, frameMs: AUDIO_FRAME_MS },
    };
  }

  private stateMessage(): Buffer {
    return encodeRoomMessage({ type: 'state', muted: this.muted, cameraOff: this.cameraOff || this.opts.videoIn.kind === 'none' });
  }

  private sendState(): void {
    this.video?.member.sendToAll(this.stateMessage());
  }

  private sendVideo(frame: VideoFrame): void {
    const link = this.video;
    if (!link || this.ending || this.cameraOff || link.confirmed.size === 0) return;
    if (link.backedUp) {
      // Never queue stale video: drop the frame (our uplink is slower than our camera).
      this.stats.videoDropped(true);
      return;
    }
    if (link.member.sendMedia(encodeRoomMedia('video', frame.keyframe, frame.captureTimeUs + this.clockOffsetUs, frame.data), false)) this.stats.videoSent();
  }

  private sendAudio(packet: AudioPacket): void {
    const link = this.audio;
    if (!link || this.ending || this.muted || link.confirmed.size === 0 || link.backedUp) return;
    if (link.member.sendMedia(encodeRoomMedia('audio', false, packet.captureTimeUs + this.clockOffsetUs, packet.data), true)) this.stats.audioSent(packet.durationMs);
  }

  // ---- the mix ----

  private startMixing(): void {
    if (this.mixClock) return;
    if (this.opts.audioOut.kind !== 'none') {
      const sink = new AudioSink(this.opts.audioOut, { env: this.opts.env, ...(this.echo ? { onPlayed: (f: Buffer) => this.echo?.played(f) } : {}) });
      sink.on('warning', (w) => this.warn(w));
      this.sink = sink;
      sink.start();
    }
    this.mixClock = { startMs: performance.now(), frames: 0 };
    let sinceLevel = 0;
    this.every(AUDIO_FRAME_MS, () => {
      const clock = this.mixClock!;
      const due = Math.floor((performance.now() - clock.startMs) / AUDIO_FRAME_MS);
      // After a stall, catch up at most 3 frames: the rest is lost time, not delay.
      if (due - clock.frames > 3) clock.frames = due - 3;
      while (clock.frames < due) {
        clock.frames++;
        const { pcm, levels } = this.mixer.mixFrame();
        this.sink?.push(pcm);
        for (const l of levels) {
          const p = this.byVideoId.get(l.memberId);
          if (!p) continue;
          p.levelPeak = Math.max(p.levelPeak, l.level);
          p.speaking = l.speaking;
        }
        sinceLevel += AUDIO_FRAME_MS;
      }
      if (sinceLevel >= MEMBER_LEVEL_INTERVAL_MS) {
        sinceLevel = 0;
        for (const p of this.byVideoId.values()) {
          if (!p.joined || !p.present) continue;
          this.emit('member-level', { memberId: p.videoId!, level: round2(p.levelPeak), speaking: p.speaking });
          p.levelPeak = 0;
        }
      }
    });
  }

  // ---- one-to-one fallback ----

  private fallBack(): void {
    if (this.fallback || this.ending) return;
    for (const l of [this.video, this.audio]) l?.destroy();
    void this.closeMedia();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const why = 'the relay knows no rooms: going on as a one-to-one call with the same code';
    this.emit('fallback-one-to-one', { why });
    this.emit('warning', { code: 'W_NO_ROOMS', message: why });
    // The same handshake code (`vcroom1-` + id): the other member reconnects with it too.
    const call = new CallSession({ ...this.opts, rendezvousPrefix: ROOM_CODE_PREFIX });
    this.fallback = call;
    const forward = ['waiting', 'warning', 'self-frame'] as const;
    for (const name of forward) (call as unknown as EventEmitter).on(name, (...args: unknown[]) => (this as unknown as EventEmitter).emit(name, ...args));
    let peerId = 0;
    const membersOf = (s: { videoFramesReceived: number; audioMsReceived: number; latencyMs: number | null }): MemberStats[] => (peerId
      ? [{ id: peerId, videoFramesReceived: s.videoFramesReceived, audioMsReceived: s.audioMsReceived, latencyMs: s.latencyMs, present: true }]
      : []);
    call.on('stats', (s) => this.emit('stats', { ...s, members: membersOf(s) }));
    call.on('peer-joined', ({ peer }) => {
      peerId = 1;
      this.emit('member-joined', { memberId: peerId, member: peer as MemberInfo });
    });
    call.on('video-frame', (f) => this.emit('member-frame', { memberId: 1, ...f }));
    call.on('peer-left', ({ reason }) => this.emit('member-left', { memberId: 1, reason: reason === 'bye' ? 'left' : 'lost' }));
    void call.run().then((ended) => {
      const e = { ...ended, members: membersOf(ended) } as Ended;
      this.emit('ended', e);
      this.resolveRun?.(e);
    });
  }

  // ---- warnings, timers, the end ----

  private warn(w: MediaWarning): void {
    this.emit('warning', { code: w.code, message: w.message });
  }

  private warnThrottled(code: string, message: string): void {
    const now = Date.now();
    if (now - (this.lastWarnAt.get(code) ?? 0) < ROOM_WARNING_THROTTLE_MS) return;
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
    const { reason, message } = callEndOf(err);
    void this.end(reason, message);
  }

  private async closeMedia(): Promise<void> {
    const parts: Array<{ close(): Promise<unknown> } | undefined> = [this.capture, this.selfView, this.mic, this.sink];
    for (const p of this.byToken.values()) parts.push(p.video, p.audio);
    await Promise.allSettled(parts.map((x) => x?.close()));
  }

  /** Ends the room session once: BYE to every member, media stopped, sockets closed, `ended` emitted. */
  end(reason: RoomEndReason, message?: string): Promise<Ended> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      if (reason !== 'room-full' && reason !== 'key-confirmation') {
        const bye = encodeRoomMessage({ type: 'bye', reason });
        this.video?.member.sendToAll(bye);
      }
      const stats = this.currentStats();
      await this.closeMedia();
      const open = [this.video, this.audio].some((l) => l && !l.isClosed);
      for (const l of [this.video, this.audio]) l?.end();
      await delay(open ? ROOM_BYE_FLUSH_MS : 0);
      for (const l of [this.video, this.audio]) l?.destroy();
      const exitCode = EXIT_CODES[reason];
      const ended: Ended = { reason, exitCode, ...stats, ...(message ? { message } : {}) };
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

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
