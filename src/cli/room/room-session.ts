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
import type { MediaWarning } from '../../media/errors.js';
import { DEFAULT_PEER_TIMEOUT_SEC } from '../options.js';
import type { CallSession, CallOptions } from '../session/call.js';
import { TimerSet } from '../session/call-timers.js';
import { EXIT_CODES, callEndOf } from '../exit-codes.js';
import { audioPacketMs } from '../session/receive-pipeline.js';
import { openRelayChannel, RELAY_CONNECT_TIMEOUT_MS } from '../session/relay-link.js';
import { WarningThrottle } from '../session/warning-throttle.js';
import { MemberMedia } from './member-media.js';
import { MemberWatch } from './member-watch.js';
import { Participants, noteLatency, notePong, type Participant } from './participants.js';
import { fallBackToCall } from './room-fallback.js';
import { RoomLink } from './room-link.js';
import { RoomMix } from './room-mix.js';
import { RoomSend } from './room-send.js';
import { RoomStatsBuilder } from './room-stats.js';
import type { MemberLeftReason, RoomControls, RoomEndReason, RoomSessionEvents, RoomStats } from './room-events.js';
import { decodeRoomMedia, decodeRoomMessage, encodeRoomMessage, type RoomIntro } from './room-wire.js';

export { MEMBER_LEVEL_INTERVAL_MS } from './room-mix.js';
export { KEYFRAME_REQUEST_MIN_MS } from './room-send.js';

/**
 * TEST-ONLY: join the room of this code (its rendezvous id) while keeping the key of our own
 * --session code: how a test puts a member with a wrong code into a room (a wrong code
 * otherwise lands in an empty room of its own and waits, exit 4).
 */
export const TEST_ROOM_RENDEZVOUS_ENV = 'VIDEOCHAT_TEST_ROOM_RENDEZVOUS_CODE';

/** How often `stats` is emitted. */
export const ROOM_STATS_INTERVAL_MS = 1000;
/** How often every member is PINGed (round trip, clock offset; the keepalive of members that send no media). */
export const ROOM_KEEPALIVE_MS = 1000;
/** Time BYE gets to leave before the sockets are torn down. */
export const ROOM_BYE_FLUSH_MS = 300;

/** What a room session is made with: a call's options, and the name we give ourselves. */
export interface RoomOptions extends CallOptions {
  /** Shown to the other members (INTRO); absent: none. */
  name?: string;
}

type Ended = RoomSessionEvents['ended'][0];

const LEAVE_WORDS: Record<number, MemberLeftReason> = { [LeaveReason.LEFT]: 'left', [LeaveReason.LOST]: 'lost', [LeaveReason.TOO_SLOW]: 'too-slow' };

export class RoomSession extends EventEmitter<RoomSessionEvents> implements RoomControls {
  readonly session: string;
  muted = false;
  cameraOff = false;
  readonly audioPlan: AudioPlan;
  /** Set once the relay turned out to know no rooms: the one-to-one call that took over. */
  fallback: CallSession | undefined;
  private video: RoomLink | undefined;
  private audio: RoomLink | undefined;
  private readonly members = new Participants();
  private readonly timers = new TimerSet();
  private readonly figures: RoomStatsBuilder;
  private readonly send: RoomSend;
  private readonly mix: RoomMix;
  private readonly watch: MemberWatch;
  private readonly throttle = new WarningThrottle();
  private decodeSize: { width: number; height: number } | null;
  private anyoneJoined = false;
  private durationArmed = false;
  private readonly clockOffsetUs: number;
  private ending: Promise<Ended> | undefined;
  private resolveRun: ((e: Ended) => void) | undefined;

  constructor(private readonly opts: RoomOptions) {
    super();
    this.session = opts.session;
    this.audioPlan = planAudioPath(opts);
    this.decodeSize = opts.decodeSize;
    this.clockOffsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
    this.figures = new RoomStatsBuilder({
      participants: () => this.members.all(), links: () => [this.video, this.audio], sink: () => this.mix.sinkStats(), epoch: () => this.epoch,
    });
    this.send = new RoomSend({ ...opts, audioPlan: this.audioPlan, offsetUs: this.clockOffsetUs }, randomBytes(16).toString('hex'), this.figures.counter, {
      links: () => ({ video: this.video, audio: this.audio }),
      gate: () => ({ ending: this.ending !== undefined, muted: this.muted, cameraOff: this.cameraOff }),
      selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e),
    });
    const inCallIds = (): number[] => this.members.inCall().map((p) => p.videoId!);
    this.mix = new RoomMix({ audioOut: opts.audioOut, env: opts.env, echo: () => this.send.echo }, this.timers, {
      members: inCallIds, level: (memberId, level, speaking) => this.emit('member-level', { memberId, level, speaking }), warn: (w) => this.warn(w),
    });
    this.watch = new MemberWatch((opts.peerTimeoutSec ?? DEFAULT_PEER_TIMEOUT_SEC) * 1000, this.timers, {
      inCall: () => this.members.inCall(),
      state: (memberId, state) => this.emit('member-state', { memberId, ...state }),
      warning: (code, message) => this.emit('warning', { code, message }),
    });
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
    this.video?.member.sendToAll(this.send.stateMessage());
  }

  setCameraOff(off: boolean): void {
    if (this.fallback) return this.fallback.setCameraOff(off);
    this.cameraOff = off;
    this.send.setCameraOff(off);
    this.video?.member.sendToAll(this.send.stateMessage());
  }

  setSelfView(on: boolean): void {
    if (this.fallback) return this.fallback.setSelfView(on);
    this.send.setSelfView(on);
  }

  setVideoSize(width: number, height: number): void {
    if (this.fallback) return this.fallback.setVideoSize(width, height);
    const size = { width: Math.max(2, Math.round(width / 2) * 2), height: Math.max(2, Math.round(height / 2) * 2) };
    this.decodeSize = size;
    for (const p of this.members.all()) {
      if (p.media?.hasVideo) p.media.setSize(size.width, size.height);
      else if (p.present && p.joined) this.startVideo(p);
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
    return this.figures.snapshot();
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
    this.send.start();
    this.timers.every(ROOM_STATS_INTERVAL_MS, () => {
      this.figures.counter.tick();
      this.emit('stats', this.currentStats());
    });
    // Every member is PINGed every second (round trip, clock offset), which is also the
    // keepalive of members that send no media: silence means stalled.
    this.timers.every(ROOM_KEEPALIVE_MS, () => this.video?.member.sendToAll(encodeRoomMessage({ type: 'ping', timeUs: this.nowUs() })));
    this.watch.start();
    this.timers.after(this.opts.waitSec * 1000, () => {
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
        link.member.sendTo(e.memberId, encodeRoomMessage({ type: 'intro', intro: this.send.intro() }));
        if (link === this.video) link.member.sendTo(e.memberId, this.send.stateMessage());
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
        this.figures.droppedByRelay += e.envelopes;
        return;
    }
  }

  private onRefused(link: RoomLink, memberId: number, code: string, message: string): void {
    const p = this.members.on(link.name, memberId);
    if (p?.joined && p.present) this.leave(p, 'refused');
    if (this.throttle.pass('W_MEMBER_REFUSED')) {
      this.emit('warning', { code: 'W_MEMBER_REFUSED', message: `member ${memberId} was refused on the ${link.name} connection (${code}): ${message}` });
    }
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
    if (msg.type === 'intro') return this.onIntro(link, memberId, msg.intro);
    const p = this.members.on(link.name, memberId);
    if (!p || !p.joined) return;
    this.watch.heard(p);
    if (msg.type === 'state' && link === this.video) this.watch.signalled(p, msg.muted, msg.cameraOff);
    if (msg.type === 'keyframe-request') this.send.keyframeWanted();
    if (msg.type === 'ping' && link === this.video) link.member.sendTo(memberId, encodeRoomMessage({ type: 'pong', echoUs: msg.timeUs, timeUs: this.nowUs() }));
    if (msg.type === 'pong' && link === this.video) notePong(p, msg.echoUs, msg.timeUs, this.nowUs());
    // BYE: the relay's MEMBER_LEFT (reason left) follows at once; nothing to do before it.
  }

  /** An INTRO ties the connection to its participant; on video it joins the call. */
  private onIntro(link: RoomLink, memberId: number, intro: RoomIntro): void {
    if (intro.participant === this.send.token) return; // ourselves? never: the relay does not echo
    const p = this.members.introduced(link.name, memberId, intro, Date.now());
    if (!p) return; // a second connection of one kind under one token: ignored
    if (link === this.video && !p.joined) this.join(p);
    else if (link === this.audio && p.joined) this.startAudio(p);
  }

  private join(p: Participant): void {
    p.joined = true;
    this.anyoneJoined = true;
    const { client, clientVersion, name, video, audio } = p.intro!;
    this.emit('member-joined', { memberId: p.videoId!, member: { client, clientVersion, ...(name !== undefined ? { name } : {}), video, audio } });
    this.startVideo(p);
    if (p.audioId !== null) this.startAudio(p);
    this.mix.start();
    if (!this.durationArmed && this.opts.durationSec !== undefined) {
      this.durationArmed = true;
      this.timers.after(this.opts.durationSec * 1000, () => this.hangup());
    }
  }

  private mediaOf(p: Participant): MemberMedia {
    p.media ??= new MemberMedia({ ffmpeg: this.opts.ffmpeg, inProcessOpus: this.audioPlan.inProcessOpus }, {
      id: () => p.videoId,
      frame: (f) => {
        this.figures.counter.videoDecoded();
        if (p.present) this.emit('member-frame', { memberId: p.videoId!, width: f.width, height: f.height, data: f.data });
      },
      needKeyframe: () => {
        if (p.videoId !== null) this.video?.member.sendTo(p.videoId, encodeRoomMessage({ type: 'keyframe-request' }));
      },
      pcm: (pcm) => {
        if (p.present && p.videoId !== null) this.mix.push(p.videoId, pcm);
      },
      warn: (w) => this.warn(w),
    });
    return p.media;
  }

  private startVideo(p: Participant): void {
    const v = p.intro?.video;
    if (!v || p.media?.hasVideo || !p.present) return;
    this.mediaOf(p).startVideo({ codec: v.codec, ...(this.decodeSize ?? { width: v.width, height: v.height }) });
  }

  private startAudio(p: Participant): void {
    const a = p.intro?.audio;
    if (!a || p.media?.hasAudio || !p.present) return;
    this.mediaOf(p).startAudio(a.codec);
  }

  private onMedia(link: RoomLink, memberId: number, payload: Buffer): void {
    const p = this.members.on(link.name, memberId);
    if (!p || !p.joined || !p.present) return;
    const m = decodeRoomMedia(payload);
    if (!m) return;
    this.watch.heard(p);
    noteLatency(p, m.timestampUs, this.nowUs());
    if (m.kind === 'video' && link === this.video) {
      p.videoFramesReceived++;
      this.figures.counter.videoReceived();
      p.media?.pushVideo(m.data, m.keyframe, m.timestampUs);
    } else if (m.kind === 'audio' && link === this.audio) {
      const ms = audioPacketMs(p.intro?.audio?.codec ?? 'opus', m.data);
      p.audioMsReceived += ms;
      this.figures.counter.audioReceived(ms);
      p.media?.pushAudio(m.data, ms);
    }
  }

  private onLeft(link: RoomLink, memberId: number, reason: MemberLeftReason): void {
    if (link === this.audio) {
      const p = this.members.audioLeft(memberId);
      if (!p) return;
      this.mix.remove(p.videoId ?? -1);
      void p.media?.closeAudio().catch(() => undefined);
      return;
    }
    const p = this.members.forget('video', memberId);
    if (p) this.leave(p, reason);
  }

  private leave(p: Participant, reason: MemberLeftReason): void {
    if (!this.members.retire(p, reason)) return;
    if (p.videoId !== null) this.mix.remove(p.videoId);
    void p.media?.close().catch(() => undefined);
    if (p.joined) this.emit('member-left', { memberId: p.videoId!, reason });
  }

  /** Our clock in µs (test only: VIDEOCHAT_TEST_CLOCK_OFFSET_MS runs it ahead). */
  private nowUs(): number {
    return Date.now() * 1000 + this.clockOffsetUs;
  }

  // ---- the one-to-one fallback, warnings, the end ----

  private fallBack(): void {
    if (this.fallback || this.ending) return;
    for (const l of [this.video, this.audio]) l?.destroy();
    void this.closeMedia();
    this.timers.clear();
    const why = 'the relay knows no rooms: going on as a one-to-one call with the same code';
    this.emit('fallback-one-to-one', { why });
    this.emit('warning', { code: 'W_NO_ROOMS', message: why });
    this.fallback = fallBackToCall(this.opts, this, (e) => this.resolveRun?.(e));
  }

  private warn(w: MediaWarning): void {
    this.emit('warning', { code: w.code, message: w.message });
  }

  private fail(err: unknown): void {
    const { reason, message } = callEndOf(err);
    void this.end(reason, message);
  }

  private async closeMedia(): Promise<void> {
    const parts: Array<{ close(): Promise<unknown> } | undefined> = [this.send, this.mix];
    for (const p of this.members.all()) parts.push(p.media);
    await Promise.allSettled(parts.map((x) => x?.close()));
  }

  /** Ends the room session once: BYE to every member, media stopped, sockets closed, `ended` emitted. */
  end(reason: RoomEndReason, message?: string): Promise<Ended> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      this.timers.clear();
      if (reason !== 'room-full' && reason !== 'key-confirmation') this.video?.member.sendToAll(encodeRoomMessage({ type: 'bye', reason }));
      const stats = this.currentStats();
      await this.closeMedia();
      const open = [this.video, this.audio].some((l) => l && !l.isClosed);
      for (const l of [this.video, this.audio]) l?.end();
      await new Promise((r) => setTimeout(r, open ? ROOM_BYE_FLUSH_MS : 0));
      for (const l of [this.video, this.audio]) l?.destroy();
      const ended: Ended = { reason, exitCode: EXIT_CODES[reason], ...stats, ...(message ? { message } : {}) };
      this.emit('ended', ended);
      this.resolveRun?.(ended);
      return ended;
    })();
    return this.ending;
  }
}
