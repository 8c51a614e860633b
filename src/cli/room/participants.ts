/**
 * The other members of a room as participants. The relay gives each connection its own id
 * (video and audio differ), so a member's two connections are tied into one participant by
 * the random token of their INTRO; the video connection's id is the member's id. A member
 * that left stays on record (for the members array of `stats` and `ended`) under a key no
 * INTRO can take.
 */
import type { MemberLeftReason } from './room-events.js';
import type { MemberMedia } from './member-media.js';
import type { RoomIntro } from './room-wire.js';

/** A member's mute and camera as it signalled them, and whether it fell silent. */
export interface MemberState {
  muted: boolean;
  cameraOff: boolean;
  stalled: boolean;
}

/** One other member: its two connections, what it said of itself, its decoders and figures. */
export interface Participant {
  token: string;
  videoId: number | null;
  audioId: number | null;
  intro: RoomIntro | null;
  /** Introduced on the video connection: it is in the call (member-joined was emitted). */
  joined: boolean;
  present: boolean;
  leftReason: MemberLeftReason | null;
  videoFramesReceived: number;
  audioMsReceived: number;
  latencyMs: number | null;
  media: MemberMedia | undefined;
  /** Its last STATE (member-state is emitted on a change of any field). */
  state: MemberState | null;
  /** When anything (media, a message) last arrived from it on either connection. */
  lastHeardMs: number;
  /** From PING/PONG: round trip, and how far its clock runs ahead of ours (µs); null before the first PONG. */
  rttMs: number | null;
  offsetUs: number | null;
  bestRttMs: number;
}

type Connection = 'video' | 'audio';

export class Participants {
  private readonly byToken = new Map<string, Participant>();
  private readonly byId: Record<Connection, Map<number, Participant>> = { video: new Map(), audio: new Map() };

  /** Everyone seen, those who left included. */
  all(): IterableIterator<Participant> {
    return this.byToken.values();
  }

  /** Those in the call now (joined on video, not gone). */
  inCall(): Participant[] {
    return [...this.byId.video.values()].filter((p) => p.joined && p.present);
  }

  on(conn: Connection, memberId: number): Participant | undefined {
    return this.byId[conn].get(memberId);
  }

  /**
   * An INTRO arrived on a connection: the participant of its token (new or known), or null
   * when the token already has another connection of that kind (ignored).
   */
  introduced(conn: Connection, memberId: number, intro: RoomIntro, nowMs: number): Participant | null {
    let p = this.byToken.get(intro.participant);
    if (!p) {
      p = {
        token: intro.participant, videoId: null, audioId: null, intro: null, joined: false, present: true, leftReason: null,
        videoFramesReceived: 0, audioMsReceived: 0, latencyMs: null, media: undefined,
        state: null, lastHeardMs: nowMs, rttMs: null, offsetUs: null, bestRttMs: Infinity,
      };
      this.byToken.set(intro.participant, p);
    }
    if (conn === 'video') {
      if (p.videoId !== null && p.videoId !== memberId) return null;
      p.videoId = memberId;
      p.intro = intro;
    } else {
      if (p.audioId !== null && p.audioId !== memberId) return null;
      p.audioId = memberId;
      p.intro ??= intro;
    }
    this.byId[conn].set(memberId, p);
    return p;
  }

  /** Its audio connection left (the member may stay on video): the participant it belonged to. */
  audioLeft(memberId: number): Participant | undefined {
    const p = this.byId.audio.get(memberId);
    this.byId.audio.delete(memberId);
    if (p) p.audioId = null;
    return p;
  }

  /** Forgets a connection's id (its member is retired next, if it was known). */
  forget(conn: Connection, memberId: number): Participant | undefined {
    const p = this.byId[conn].get(memberId);
    this.byId[conn].delete(memberId);
    return p;
  }

  /** The member is gone: false when it was gone already. It stays on record for the figures. */
  retire(p: Participant, reason: MemberLeftReason): boolean {
    if (!p.present) return false;
    p.present = false;
    p.leftReason = reason;
    this.byToken.delete(p.token);
    this.byToken.set(`left:${p.token}:${p.videoId}`, p);
    if (p.audioId !== null) this.byId.audio.delete(p.audioId);
    if (p.videoId !== null) this.byId.video.delete(p.videoId);
    return true;
  }
}

/** Capture to arrival on our clock: its capture time moved by how far its clock runs ahead; smoothed. */
export function noteLatency(p: Participant, timestampUs: number, nowUs: number): void {
  // Measured from its first PONG on (before, its clock is not known); never below 0.
  if (p.offsetUs === null) return;
  const latency = Math.max(0, (nowUs - (timestampUs - p.offsetUs)) / 1000);
  if (latency < 60_000) p.latencyMs = p.latencyMs === null ? latency : p.latencyMs * 0.9 + latency * 0.1;
}

/** A PONG: the round trip, and its clock against ours from the sample with the shortest round trip lately. */
export function notePong(p: Participant, echoUs: number, theirUs: number, nowUs: number): void {
  const rttUs = nowUs - echoUs;
  if (rttUs < 0 || rttUs > 60_000_000) return;
  p.rttMs = rttUs / 1000;
  // The shortest round trip bounds the offset's error best; an old minimum slowly gives way.
  p.bestRttMs = Math.min(p.bestRttMs * 1.05 + 0.1, p.rttMs);
  if (p.rttMs <= p.bestRttMs * 1.5 || p.offsetUs === null) p.offsetUs = theirUs - (echoUs + rttUs / 2);
}
