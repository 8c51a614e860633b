/**
 * Who is in the room with us, from what the members send: an INTRO ties a connection to its
 * participant (participants.ts) and on video joins it to the call; STATE, PING/PONG and
 * keyframe requests are a joined member's; a MEMBER_LEFT on audio ends its sound, on video
 * the member. What follows from a join or a leave (decoders, events) is the session's.
 */
import { LeaveReason } from '../../codec/room/index.js';
import type { MemberWatch } from './member-watch.js';
import { notePong, type Participants, type Participant } from './participants.js';
import type { MemberLeftReason } from './room-events.js';
import type { RoomLink } from './room-link.js';
import { decodeRoomMessage, encodeRoomMessage } from './room-wire.js';

const LEAVE_WORDS: Record<number, MemberLeftReason> = { [LeaveReason.LEFT]: 'left', [LeaveReason.LOST]: 'lost', [LeaveReason.TOO_SLOW]: 'too-slow' };

export interface RoomRosterHooks {
  /** It introduced itself on video: it is in the call. */
  joined(p: Participant): void;
  /** A joined member's audio connection introduced itself. */
  audioJoined(p: Participant): void;
  /** A media record of a joined member. */
  media(conn: 'video' | 'audio', p: Participant, payload: Buffer): void;
  audioGone(p: Participant): void;
  /** It left (or was refused): it is retired already. */
  left(p: Participant, reason: MemberLeftReason): void;
  keyframeWanted(): void;
  /** Our clock in µs. */
  nowUs(): number;
}

export class RoomRoster {
  constructor(
    private readonly members: Participants, private readonly ourToken: string,
    private readonly watch: MemberWatch, private readonly hooks: RoomRosterHooks,
  ) {}

  message(link: RoomLink, memberId: number, payload: Buffer): void {
    const msg = decodeRoomMessage(payload);
    if (!msg) return;
    if (msg.type === 'intro') {
      if (msg.intro.participant === this.ourToken) return; // ourselves? never: the relay does not echo
      const p = this.members.introduced(link.name, memberId, msg.intro, Date.now());
      if (!p) return; // a second connection of one kind under one token: ignored
      if (link.name === 'video' && !p.joined) {
        p.joined = true;
        this.hooks.joined(p);
      } else if (link.name === 'audio' && p.joined) this.hooks.audioJoined(p);
      return;
    }
    const p = this.members.on(link.name, memberId);
    if (!p || !p.joined) return;
    this.watch.heard(p);
    const onVideo = link.name === 'video';
    if (msg.type === 'state' && onVideo) this.watch.signalled(p, msg.muted, msg.cameraOff);
    if (msg.type === 'keyframe-request') this.hooks.keyframeWanted();
    if (msg.type === 'ping' && onVideo) link.member.sendTo(memberId, encodeRoomMessage({ type: 'pong', echoUs: msg.timeUs, timeUs: this.hooks.nowUs() }));
    if (msg.type === 'pong' && onVideo) notePong(p, msg.echoUs, msg.timeUs, this.hooks.nowUs());
    // BYE: the relay's MEMBER_LEFT (reason left) follows at once; nothing to do before it.
  }

  media(link: RoomLink, memberId: number, payload: Buffer): void {
    const p = this.members.on(link.name, memberId);
    if (p?.joined && p.present) this.hooks.media(link.name, p, payload);
  }

  /** The relay's MEMBER_LEFT (its reason code). */
  memberLeft(link: RoomLink, memberId: number, reasonCode: number): void {
    if (link.name === 'audio') {
      const p = this.members.audioLeft(memberId);
      if (p) this.hooks.audioGone(p);
      return;
    }
    const p = this.members.forget('video', memberId);
    if (p) this.leave(p, LEAVE_WORDS[reasonCode] ?? 'lost');
  }

  /** A member that had joined was refused on a connection (a wrong code): it is gone. */
  refused(link: RoomLink, memberId: number): void {
    const p = this.members.on(link.name, memberId);
    if (p?.joined && p.present) this.leave(p, 'refused');
  }

  /** Our connections are gone (a drop): every member with them, reason lost. */
  allLost(): void {
    for (const p of [...this.members.all()]) if (p.present) this.leave(p, 'lost');
  }

  private leave(p: Participant, reason: MemberLeftReason): void {
    if (this.members.retire(p, reason)) this.hooks.left(p, reason);
  }
}
