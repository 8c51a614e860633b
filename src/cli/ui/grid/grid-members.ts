/**
 * Who is in the group call and what each tile says about them: mute and camera flags, the
 * latency from `stats`, who is speaking (ActiveSpeaker), and whether a member's video stopped
 * coming. Pure state, clock passed in; the GridPainter asks it for each tile's facts.
 */
import { ActiveSpeaker } from './active-speaker.js';
import type { MemberId, RoomMemberInfo, RoomMemberStats } from './room-view-events.js';
import type { TileFacts } from './tile-label.js';

/** A member whose camera is on but whose last frame is older than this is marked "no video". */
export const TILE_STALE_MS = 3000;
/** A member who has sent no frame this long after joining shows "no video" instead of "connecting…". */
export const TILE_NO_VIDEO_AFTER_MS = 6000;

/** The self-view's tile key (members are keyed by their id). */
export const SELF_TILE: unique symbol = Symbol('self');
export type TileId = MemberId | typeof SELF_TILE;

export interface MemberFlags {
  muted?: boolean;
  cameraOff?: boolean;
  noCamera?: boolean;
  noMic?: boolean;
}

interface MemberView {
  info: RoomMemberInfo;
  muted: boolean;
  cameraOff: boolean;
  noCamera: boolean;
  noMic: boolean;
  latencyMs: number | null | undefined;
  speaking: boolean;
  joinedMs: number;
  lastFrameMs: number | undefined;
  /** Its video stopped coming (or never came) while its camera is on. */
  stale: boolean;
}

/** What a `stats` changed: whether labels need writing again, and the tiles whose picture box does. */
export interface StatsChange {
  labels: boolean;
  tiles: MemberId[];
}

export class GridMembers {
  private readonly members = new Map<MemberId, MemberView>();
  private readonly speaker = new ActiveSpeaker();

  constructor(private readonly now: () => number) {}

  get activeSpeaker(): MemberId | null {
    return this.speaker.active;
  }

  get size(): number {
    return this.members.size;
  }

  /** The members in join order. */
  ids(): MemberId[] {
    return [...this.members.keys()];
  }

  join(id: MemberId, info: RoomMemberInfo): void {
    this.members.set(id, {
      info,
      muted: info.muted === true,
      cameraOff: info.cameraOff === true,
      noCamera: info.noCamera === true,
      noMic: info.noMic === true,
      latencyMs: undefined,
      speaking: false,
      joinedMs: this.now(),
      lastFrameMs: undefined,
      stale: false,
    });
  }

  /** False when `id` was not a member. */
  leave(id: MemberId): boolean {
    if (!this.members.delete(id)) return false;
    this.speaker.remove(id, this.now());
    return true;
  }

  /** False when `id` is not a member. */
  setFlags(id: MemberId, state: MemberFlags): boolean {
    const m = this.members.get(id);
    if (!m) return false;
    if (state.muted !== undefined) m.muted = state.muted;
    if (state.cameraOff !== undefined) m.cameraOff = state.cameraOff;
    if (state.noCamera !== undefined) m.noCamera = state.noCamera;
    if (state.noMic !== undefined) m.noMic = state.noMic;
    return true;
  }

  /**
   * A level report: whether the active speaker changed, and whether the member's label did
   * (null when `id` is not a member).
   */
  level(id: MemberId, level: number, speaking: boolean): { speakerChanged: boolean; labelChanged: boolean } | null {
    const m = this.members.get(id);
    if (!m) return null;
    const speakerChanged = this.speaker.update(id, level, speaking, this.now());
    const labelChanged = speakerChanged || m.speaking !== speaking;
    m.speaking = speaking;
    return { speakerChanged, labelChanged };
  }

  /** Latencies from `stats`, and, as time passes, stale video and the speaker highlight. */
  stats(members: readonly RoomMemberStats[] | undefined): StatsChange {
    const change: StatsChange = { labels: false, tiles: [] };
    for (const s of members ?? []) {
      const m = this.members.get(s.id);
      if (m && m.latencyMs !== s.latencyMs) {
        m.latencyMs = s.latencyMs;
        change.labels = true;
      }
    }
    const now = this.now();
    for (const [id, m] of this.members) {
      const stale = !m.cameraOff && !m.noCamera && (m.lastFrameMs !== undefined ? now - m.lastFrameMs > TILE_STALE_MS : now - m.joinedMs > TILE_NO_VIDEO_AFTER_MS);
      if (stale !== m.stale) {
        m.stale = stale;
        change.labels = true;
        change.tiles.push(id);
      }
    }
    // Time passes for the highlight too, when nobody reports levels any more.
    if (this.speaker.tick(now)) change.labels = true;
    return change;
  }

  /**
   * A frame of the member came: whether its label changed (it was marked stale), or null
   * when `id` is not a member.
   */
  frameCame(id: MemberId): boolean | null {
    const m = this.members.get(id);
    if (!m) return null;
    m.lastFrameMs = this.now();
    if (!m.stale) return false;
    m.stale = false;
    return true;
  }

  /** What the tile says; `self` is our own state, for the self tile. */
  facts(id: TileId, self: MemberFlags | undefined): TileFacts {
    if (id === SELF_TILE) {
      return { name: 'you', self: true, muted: self?.muted, cameraOff: self?.cameraOff, noCamera: self?.noCamera, noMic: self?.noMic, active: false, speaking: false };
    }
    const active = this.speaker.active;
    const m = this.members.get(id);
    const name = typeof m?.info.name === 'string' && m.info.name ? m.info.name : `member ${String(id)}`;
    return {
      name,
      self: false,
      muted: m?.muted,
      cameraOff: m?.cameraOff,
      noCamera: m?.noCamera,
      noMic: m?.noMic,
      latencyMs: m?.latencyMs,
      active: active !== null && active === id,
      speaking: m?.speaking === true,
      stale: m?.stale === true,
    };
  }
}
