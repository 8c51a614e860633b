/**
 * A group call (`videochat connect --room`, docs/rooms.md): the front that wires its parts.
 * Both connections join the relay's room (room-link.ts); the members' connections are tied
 * into participants by their INTRO (room-roster.ts, participants.ts) and watched
 * (member-watch.ts); we capture once and broadcast sealed (room-send.ts); each member's
 * media is decoded apart (room-receive.ts) and its sound mixed for the one speaker
 * (room-mix.ts); the figures come from room-stats.ts. A relay that knows no rooms hands
 * over to a one-to-one call (room-fallback.ts). Emits the events of room-events.ts.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { MemberEvent } from '../../codec/room/index.js';
import { planAudioPath, type AudioPlan } from '../../media/audio-path.js';
import type { MediaWarning } from '../../media/errors.js';
import { DEFAULT_PEER_TIMEOUT_SEC } from '../options.js';
import type { CallSession, CallOptions } from '../session/call.js';
import { TimerSet } from '../session/call-timers.js';
import { EXIT_CODES, callEndOf } from '../exit-codes.js';
import { RECONNECT_GIVE_UP_SEC } from '../session/reconnect.js';
import { WarningThrottle } from '../session/warning-throttle.js';
import { MemberWatch } from './member-watch.js';
import { Participants, type Participant } from './participants.js';
import { fallBackToCall } from './room-fallback.js';
import { RoomLink, openRoomSockets } from './room-link.js';
import { RoomRejoin } from './room-rejoin.js';
import { RoomReceive } from './room-receive.js';
import { RoomRoster } from './room-roster.js';
import { RoomMix } from './room-mix.js';
import { RoomSend } from './room-send.js';
import { RoomStatsBuilder } from './room-stats.js';
import type { RoomControls, RoomEndReason, RoomSessionEvents, RoomStats } from './room-events.js';
import { encodeRoomMessage } from './room-wire.js';

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

export class RoomSession extends EventEmitter<RoomSessionEvents> implements RoomControls {
  readonly session: string;
  muted = false;
  cameraOff = false;
  readonly audioPlan: AudioPlan;
  /** Set once the relay turned out to know no rooms: the one-to-one call that took over. */
  fallback: CallSession | undefined;
  private video: RoomLink | undefined;
  private audio: RoomLink | undefined;
  /** Links of earlier joins (a reconnection): their byte counts stay in the totals. */
  private readonly pastLinks: RoomLink[] = [];
  private readonly rejoin: RoomRejoin;
  private readonly members = new Participants();
  private readonly timers = new TimerSet();
  private readonly figures: RoomStatsBuilder;
  private readonly send: RoomSend;
  private readonly mix: RoomMix;
  private readonly watch: MemberWatch;
  private readonly roster: RoomRoster;
  private readonly throttle = new WarningThrottle();
  private readonly receive: RoomReceive;
  private durationArmed = false;
  private readonly clockOffsetUs: number;
  private ending: Promise<Ended> | undefined;
  private resolveRun: ((e: Ended) => void) | undefined;

  constructor(private readonly opts: RoomOptions) {
    super();
    this.session = opts.session;
    this.audioPlan = planAudioPath(opts);
    this.clockOffsetUs = Math.round((opts.clockOffsetMs ?? 0) * 1000);
    this.figures = new RoomStatsBuilder({
      participants: () => this.members.all(), links: () => [...this.pastLinks, this.video, this.audio], sink: () => this.mix.sinkStats(), epoch: () => this.epoch,
    });
    this.send = new RoomSend({ ...opts, audioPlan: this.audioPlan, offsetUs: this.clockOffsetUs }, randomBytes(16).toString('hex'), this.figures.counter, {
      links: () => ({ video: this.video, audio: this.audio }),
      gate: () => ({ ending: this.ending !== undefined, muted: this.muted, cameraOff: this.cameraOff }),
      selfFrame: (f) => this.emit('self-frame', f), warn: (w) => this.warn(w), fail: (e) => this.fail(e),
    });
    const inCallIds = (): number[] => this.members.inCall().map((p) => p.videoId!);
    this.mix = new RoomMix({ audioOut: opts.audioOut, env: opts.env, echo: () => this.send.capture.echo }, this.timers, {
      members: inCallIds, level: (memberId, level, speaking) => this.emit('member-level', { memberId, level, speaking }), warn: (w) => this.warn(w),
    });
    this.receive = new RoomReceive({ ffmpeg: opts.ffmpeg, inProcessOpus: this.audioPlan.inProcessOpus, decodeSize: opts.decodeSize }, this.figures.counter, this.mix, {
      frame: (memberId, f) => this.emit('member-frame', { memberId, width: f.width, height: f.height, data: f.data }),
      askKeyframe: (memberId) => this.video?.member.sendTo(memberId, encodeRoomMessage({ type: 'keyframe-request' })),
      heard: (p) => this.watch.heard(p), warn: (w) => this.warn(w), nowUs: () => this.nowUs(),
    });
    this.watch = new MemberWatch((opts.peerTimeoutSec ?? DEFAULT_PEER_TIMEOUT_SEC) * 1000, this.timers, {
      inCall: () => this.members.inCall(),
      state: (memberId, state) => this.emit('member-state', { memberId, ...state }),
      warning: (code, message) => this.emit('warning', { code, message }),
    });
    this.roster = new RoomRoster(this.members, this.send.token, this.watch, {
      joined: (p) => this.join(p), audioJoined: (p) => this.receive.startAudio(p), media: (conn, p, payload) => this.receive.media(conn, p, payload),
      audioGone: (p) => this.receive.audioGone(p), keyframeWanted: () => this.send.keyframeWanted(), nowUs: () => this.nowUs(),
      left: (p, reason) => {
        this.receive.memberGone(p);
        if (p.joined) this.emit('member-left', { memberId: p.videoId!, reason });
      },
    });
    this.rejoin = new RoomRejoin({ host: opts.host, giveUpSec: Math.min(opts.graceSec, opts.reconnectGiveUpSec ?? RECONNECT_GIVE_UP_SEC) }, {
      open: () => this.openLinks(), ending: () => this.ending !== undefined || this.fallback !== undefined,
      reconnecting: (attempt, giveUpAtMs) => this.emit('reconnecting', { attempt, giveUpAtMs }),
      reconnected: (downMs) => this.emit('reconnected', { downMs }),
      giveUp: (message) => void this.end('reconnect-failed', message),
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
    this.send.capture.setCameraOff(off);
    this.video?.member.sendToAll(this.send.stateMessage());
  }

  setSelfView(on: boolean): void {
    if (this.fallback) return this.fallback.setSelfView(on);
    this.send.capture.setSelfView(on);
  }

  setVideoSize(width: number, height: number): void {
    if (this.fallback) return this.fallback.setVideoSize(width, height);
    this.receive.setSize(width, height, this.members.all());
  }

  /** We have no camera at all (`--video-in none`): not the same as turned off. */
  get noCamera(): boolean { return this.opts.videoIn.kind === 'none'; }
  get noMic(): boolean { return this.opts.audioIn.kind === 'none'; }
  /** A room is always sealed end to end (pairwise keys, sender keys). */
  get encrypted(): boolean { return true; }

  /** Asks every member for a keyframe (after the tile size changed: H.264 decoders start over). */
  requestKeyframe(): void {
    if (this.fallback) return this.fallback.requestKeyframe();
    this.video?.member.sendToAll(encodeRoomMessage({ type: 'keyframe-request' }));
  }

  /** Our sender epoch on the video connection (changes on every join and leave). */
  get epoch(): number | null { return this.video?.member.epoch ?? null; }

  currentStats(): RoomStats { return this.figures.snapshot(); }

  // ---- start ----

  private async start(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    this.emit('connecting', { host, videoPort, audioPort, echoCanceller: this.audioPlan.echoCanceller, echoWhyNot: this.audioPlan.echoWhyNot });
    await this.openLinks();
    if (this.ending) return;
    this.rejoin.attached();
    this.send.capture.start();
    this.timers.every(ROOM_STATS_INTERVAL_MS, () => {
      this.figures.counter.tick();
      this.emit('stats', this.currentStats());
    });
    // Every member is PINGed every second (round trip, clock offset), which is also the
    // keepalive of members that send no media: silence means stalled.
    this.timers.every(ROOM_KEEPALIVE_MS, () => this.video?.member.sendToAll(encodeRoomMessage({ type: 'ping', timeUs: this.nowUs() })));
    this.watch.start();
    this.timers.after(this.opts.waitSec * 1000, () => {
      if (![...this.members.all()].some((p) => p.joined)) void this.end('no-peer', `no one joined the room within ${this.opts.waitSec} s (--wait)`);
    });
  }

  /** Joins the room on both connections (a fresh HELLO each: new member ids, new keys). */
  private async openLinks(): Promise<void> {
    const { host, videoPort, audioPort } = this.opts;
    const sockets = await openRoomSockets({ host, videoPort, audioPort }, this.opts.session, this.opts.env ?? process.env);
    if (this.ending || this.fallback) return [sockets.video, sockets.audio].forEach((s) => s.destroy());
    this.video = this.wireLink(new RoomLink('video', sockets.video, sockets.codeKey));
    this.audio = this.wireLink(new RoomLink('audio', sockets.audio, sockets.codeKey));
  }

  private wireLink(link: RoomLink): RoomLink {
    const current = (): boolean => link === this.video || link === this.audio;
    link.on('event', (e) => { if (current()) this.onMemberEvent(link, e); });
    link.on('one-to-one', () => { if (current()) this.fallBack(); });
    link.on('error', (err) => { if (current()) void this.end('protocol', `the relay broke the room's framing on the ${link.name} connection: ${err.message}`); });
    link.on('close', () => {
      if (this.ending || this.fallback || !current()) return;
      const why = `the relay closed the ${link.name} connection`;
      if (this.opts.reconnect === false) return void this.end('peer-lost', why);
      this.dropLinks(why);
    });
    return link;
  }

  /**
   * A connection dropped without our hang-up: both links go, and with them every member
   * (member-left, reason lost: their ids were of those links); capture keeps running, nothing
   * is sent meanwhile; the room is joined again (room-rejoin.ts).
   */
  private dropLinks(why: string): void {
    for (const l of [this.video, this.audio]) {
      if (!l) continue;
      l.destroy();
      this.pastLinks.push(l);
    }
    this.video = this.audio = undefined;
    this.roster.allLost();
    if (this.throttle.pass('W_ROOM_CONNECTION_LOST')) this.emit('warning', { code: 'W_ROOM_CONNECTION_LOST', message: `${why}: joining the room again` });
    this.rejoin.lost();
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
        return this.roster.message(link, e.memberId, e.payload);
      case 'media':
        return this.roster.media(link, e.memberId, e.payload);
      case 'member-left':
        return this.roster.memberLeft(link, e.memberId, e.reason);
      case 'room-full':
        void this.end('room-full', `the room is full (${e.maxMembers} members, the relay's --max-room-size)`);
        return;
      case 'dropped':
        this.figures.droppedByRelay += e.envelopes;
        return;
    }
  }

  private onRefused(link: RoomLink, memberId: number, code: string, message: string): void {
    this.roster.refused(link, memberId);
    if (this.throttle.pass('W_MEMBER_REFUSED')) {
      this.emit('warning', { code: 'W_MEMBER_REFUSED', message: `member ${memberId} was refused on the ${link.name} connection (${code}): ${message}` });
    }
    if (link.ourCodeLooksWrong(code)) {
      void this.end('key-confirmation', `the members of the room could not prove the session code (${message}); is the code right?`);
    }
  }

  private join(p: Participant): void {
    const { client, clientVersion, name, video, audio } = p.intro!;
    this.emit('member-joined', { memberId: p.videoId!, member: { client, clientVersion, ...(name !== undefined ? { name } : {}), video, audio } });
    this.receive.startVideo(p);
    if (p.audioId !== null) this.receive.startAudio(p);
    this.mix.start();
    if (!this.durationArmed && this.opts.durationSec !== undefined) {
      this.durationArmed = true;
      this.timers.after(this.opts.durationSec * 1000, () => this.hangup());
    }
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
    const parts: Array<{ close(): Promise<unknown> } | undefined> = [this.send.capture, this.mix];
    for (const p of this.members.all()) parts.push(p.media);
    await Promise.allSettled(parts.map((x) => x?.close()));
  }

  /** Ends the room session once: BYE to every member, media stopped, sockets closed, `ended` emitted. */
  end(reason: RoomEndReason, message?: string): Promise<Ended> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      this.timers.clear();
      this.rejoin.stop();
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
