/**
 * Draws the group call's grid straight onto the terminal, outside React, like the one-to-one
 * VideoPainter: every tile (each member, and the self-view) gets its own renderer of the
 * current mode, so sixel and kitty place one image per tile; the label rows and the messages
 * of tiles without a picture are written here too, because they sit between the pictures in
 * rows that React gives up. Frames are kept per tile and painted together, at most
 * `maxPaintShare` of wall time (PaintBudget), so eight members at 15 fps cannot starve the
 * event loop: a tile whose frame waits is simply given its newest frame when the turn comes;
 * and one paint stops after GRID_PAINT_SLICE_MS, leaving the other tiles to the next.
 */
import type { RenderMode, RenderTarget, Renderer, RgbFrame } from '../../../codec/render/types.js';
import { DEFAULT_CELL_ASPECT, type CellBox } from '../fit-video.js';
import { PaintBudget } from '../paint-budget.js';
import { scaleNearest } from '../scale-frame.js';
import { moveTo } from '../terminal-surface.js';
import type { PainterBaseOptions } from '../video-painter.js';
import { ActiveSpeaker } from './active-speaker.js';
import { layoutGrid, visibleTiles, type TileBox } from './grid-layout.js';
import type { MemberId, RoomControls, RoomMemberInfo, RoomMemberStats } from './room-view-events.js';
import { renderLabel, tileMessage, type TileFacts } from './tile-label.js';

/**
 * One paint renders tiles until this much time has gone, then yields to the event loop; the
 * tiles left wait for the next paint (sixel tiles cost about 10 ms each on a loaded machine:
 * nine in a row would hold audio and sockets up for 100 ms and more).
 */
export const GRID_PAINT_SLICE_MS = 16;

/** A member whose camera is on but whose last frame is older than this is marked "no video". */
export const TILE_STALE_MS = 3000;
/** A member who has sent no frame this long after joining shows "no video" instead of "connecting…". */
export const TILE_NO_VIDEO_AFTER_MS = 6000;

/** The self-view's tile key (members are keyed by their id). */
export const SELF_TILE: unique symbol = Symbol('self');
export type TileId = MemberId | typeof SELF_TILE;

export interface GridPainterLayout {
  /** The cells the grid may use, or null when it is not on screen (waiting, help, too small). */
  area: CellBox | null;
  mode: RenderMode;
  /** Show our own camera as a tile. */
  selfView: boolean;
  /** Our own state, for the self tile's label. */
  self: { muted: boolean; cameraOff: boolean; noCamera?: boolean; noMic?: boolean };
}

export interface GridPainterOptions extends PainterBaseOptions {
  controls: Pick<RoomControls, 'setVideoSize' | 'requestKeyframe' | 'setSelfView'>;
  /** Clock for the active speaker (ms). */
  now?: () => number;
  /** Time slice of one paint (default GRID_PAINT_SLICE_MS). */
  paintSliceMs?: number;
}

export interface GridCounters {
  /** Tile pictures rendered. */
  tilesPainted: number;
  /** Writes of one or more tiles (one synchronized write each). */
  flushes: number;
  /** Frames replaced by a newer one of the same tile before they were painted. */
  framesSkipped: number;
  layouts: number;
  /** Time spent in paints (render + write), ms, and the longest one. */
  paintMsTotal: number;
  paintMsMax: number;
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

interface Tile {
  box: TileBox;
  target: RenderTarget;
  /** The message on screen in the picture box, or null when it shows video. */
  message: string | null | undefined;
  /** The label text last written (to skip unchanged ones). */
  label: string;
}

export class GridPainter {
  readonly counters: GridCounters = { tilesPainted: 0, flushes: 0, framesSkipped: 0, layouts: 0, paintMsTotal: 0, paintMsMax: 0 };
  private readonly members = new Map<MemberId, MemberView>();
  private readonly speaker = new ActiveSpeaker();
  private readonly renderers = new Map<TileId, Renderer>();
  /**
   * Renderers of tiles that went away, by mode, for the next tile: kitty numbers its images
   * per renderer made, and inside tmux (8-bit ids) a long call with members coming and going
   * would run out of ids if every tile made a new one.
   */
  private readonly spare = new Map<RenderMode, Renderer[]>();
  private readonly lastFrame = new Map<TileId, RgbFrame>();
  private readonly dirty = new Set<TileId>();
  private tiles = new Map<TileId, Tile>();
  private layout: GridPainterLayout | null = null;
  private drawnMode: RenderMode | null = null;
  private drawnGeneration = -1;
  private pixel = { width: 0, height: 0 };
  private labelsDirty = false;
  private selfAsked: boolean | null = null;
  private readonly budget: PaintBudget | null;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: GridPainterOptions) {
    const share = options.maxPaintShare;
    this.budget = share && share > 0 && share < 1 ? new PaintBudget(share) : null;
    this.now = options.now ?? (() => performance.now());
  }

  private get cellAspect(): number {
    const px = this.options.cellPx;
    return px && px.width > 0 && px.height > 0 ? px.width / px.height : DEFAULT_CELL_ASPECT;
  }

  /** Where each tile is now (tests and the bench). */
  get tileBoxes(): Map<TileId, TileBox> {
    return new Map([...this.tiles].map(([id, t]) => [id, t.box]));
  }

  get activeSpeaker(): MemberId | null {
    return this.speaker.active;
  }

  /** The members in join order. */
  get memberIds(): MemberId[] {
    return [...this.members.keys()];
  }

  memberJoined(id: MemberId, info: RoomMemberInfo): void {
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
    this.relayout();
  }

  memberLeft(id: MemberId): void {
    if (!this.members.delete(id)) return;
    this.speaker.remove(id, this.now());
    this.lastFrame.delete(id);
    this.dirty.delete(id);
    this.relayout();
  }

  memberState(id: MemberId, state: { muted?: boolean; cameraOff?: boolean; noCamera?: boolean; noMic?: boolean }): void {
    const m = this.members.get(id);
    if (!m) return;
    if (state.muted !== undefined) m.muted = state.muted;
    if (state.cameraOff !== undefined) m.cameraOff = state.cameraOff;
    if (state.noCamera !== undefined) m.noCamera = state.noCamera;
    if (state.noMic !== undefined) m.noMic = state.noMic;
    this.dirty.add(id);
    this.labelsDirty = true;
    this.schedule();
  }

  memberLevel(id: MemberId, level: number, speaking: boolean): void {
    const m = this.members.get(id);
    if (!m) return;
    const changed = this.speaker.update(id, level, speaking, this.now());
    if (changed && this.tiles.size < this.members.size + (this.layout?.selfView ? 1 : 0)) {
      // Not every tile fits: the new speaker must be among those shown.
      this.relayout();
    }
    if (changed || m.speaking !== speaking) {
      m.speaking = speaking;
      this.labelsDirty = true;
      this.schedule();
    }
  }

  stats(members: readonly RoomMemberStats[] | undefined): void {
    for (const s of members ?? []) {
      const m = this.members.get(s.id);
      if (m && m.latencyMs !== s.latencyMs) {
        m.latencyMs = s.latencyMs;
        this.labelsDirty = true;
      }
    }
    const now = this.now();
    for (const [id, m] of this.members) {
      const stale = !m.cameraOff && !m.noCamera && (m.lastFrameMs !== undefined ? now - m.lastFrameMs > TILE_STALE_MS : now - m.joinedMs > TILE_NO_VIDEO_AFTER_MS);
      if (stale !== m.stale) {
        m.stale = stale;
        this.labelsDirty = true;
        this.dirty.add(id);
      }
    }
    // Time passes for the highlight too, when nobody reports levels any more.
    if (this.speaker.tick(now)) this.labelsDirty = true;
    if (this.labelsDirty) this.schedule();
  }

  onMemberFrame(id: MemberId, frame: RgbFrame): void {
    const m = this.members.get(id);
    if (this.closed || !m) return;
    m.lastFrameMs = this.now();
    if (m.stale) {
      m.stale = false;
      this.labelsDirty = true;
    }
    this.keepFrame(id, frame);
  }

  onSelfFrame(frame: RgbFrame): void {
    if (this.closed) return;
    this.keepFrame(SELF_TILE, frame);
  }

  private keepFrame(id: TileId, frame: RgbFrame): void {
    if (this.dirty.has(id) && this.lastFrame.has(id)) this.counters.framesSkipped++;
    this.lastFrame.set(id, frame);
    if (!this.tiles.has(id)) return;
    this.dirty.add(id);
    this.schedule();
  }

  /** Take the screen's area, mode and self-view state; lays out again when any changed. */
  setLayout(next: GridPainterLayout, force = false): void {
    if (this.closed) return;
    const prev = this.layout;
    this.layout = next;
    if (prev && (prev.self.muted !== next.self.muted || prev.self.cameraOff !== next.self.cameraOff || prev.self.noCamera !== next.self.noCamera)) {
      this.dirty.add(SELF_TILE);
      this.labelsDirty = true;
      this.schedule();
    }
    this.relayout(force);
  }

  private tileFacts(id: TileId): TileFacts {
    const active = this.speaker.active;
    if (id === SELF_TILE) {
      const self = this.layout?.self;
      return { name: 'you', self: true, muted: self?.muted, cameraOff: self?.cameraOff, noCamera: self?.noCamera, noMic: self?.noMic, active: false, speaking: false };
    }
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

  private relayout(force = false): void {
    const layout = this.layout;
    if (this.closed || !layout) return;
    const { surface } = this.options;
    if (surface.generation !== this.drawnGeneration) force = true;
    const area = layout.area;
    if (!area || area.cols <= 0 || area.rows <= 0) {
      if (this.tiles.size > 0 || force) {
        surface.writeVideo(this.clearRenderers([...this.renderers.keys()]));
        surface.reserveRows(0, 0);
      }
      this.tiles = new Map();
      this.askForSelf(false);
      return;
    }
    const ids: TileId[] = [...this.members.keys()];
    if (layout.selfView) ids.push(SELF_TILE);
    const grid = layoutGrid(area, ids.length, { cellAspect: this.cellAspect });
    const shown = visibleTiles(ids, grid.tiles.length, SELF_TILE, this.speaker.active);
    const modeChanged = this.drawnMode !== layout.mode;
    const next = new Map<TileId, TileBox>(shown.map((id, i) => [id, grid.tiles[i]]));
    if (!force && !modeChanged && sameTiles(this.tiles, next)) return;

    this.counters.layouts++;
    this.drawnGeneration = surface.generation;
    let out = '';
    const gone = modeChanged ? [...this.renderers.keys()] : [...this.renderers.keys()].filter((id) => !next.has(id));
    const cleared = this.clearRenderers(gone);
    if (modeChanged) this.drawnMode = layout.mode;
    for (const r of this.renderers.values()) r.reset();
    surface.reserveRows(area.row, area.row + area.rows);
    out += surface.clearBox(area.col, area.row, area.cols, area.rows);
    this.tiles = new Map();
    for (const [id, box] of next) {
      this.tiles.set(id, { box, target: this.makeTarget(box.picture), message: undefined, label: '' });
      this.dirty.add(id);
    }
    this.labelsDirty = true;
    this.askForSelf(next.has(SELF_TILE));
    const first = next.values().next().value;
    if (first) {
      const pixel = this.rendererFor(shown[0]).pixelSize(this.makeTarget(first.picture));
      if (pixel.width !== this.pixel.width || pixel.height !== this.pixel.height) {
        this.pixel = pixel;
        this.options.controls.setVideoSize?.(pixel.width, pixel.height);
        this.options.controls.requestKeyframe?.();
      }
    }
    surface.writeVideo(Buffer.concat([cleared, Buffer.from(out)]));
    // Draw what we have at once (last frames, messages, labels): a re-flow never blanks tiles.
    this.cancelTimers();
    this.flush();
  }

  private clearRenderers(ids: TileId[]): Buffer {
    const parts: Buffer[] = [];
    for (const id of ids) {
      const renderer = this.renderers.get(id);
      if (!renderer) continue;
      const bytes = renderer.clear?.();
      if (bytes && bytes.length > 0) parts.push(bytes);
      renderer.reset();
      this.renderers.delete(id);
      const pool = this.spare.get(renderer.mode) ?? [];
      pool.push(renderer);
      this.spare.set(renderer.mode, pool);
    }
    return Buffer.concat(parts);
  }

  private rendererFor(id: TileId): Renderer {
    let r = this.renderers.get(id);
    if (!r) {
      const mode = this.layout?.mode ?? 'blocks';
      r = this.spare.get(mode)?.pop() ?? this.options.createRenderer(mode);
      this.renderers.set(id, r);
    }
    return r;
  }

  private schedule(): void {
    if (this.closed || this.timer || this.immediate) return;
    const waitMs = this.budget?.waitMs() ?? 0;
    // setImmediate: frames of several members that arrive together go out in one write.
    if (waitMs > 0) this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, Math.ceil(waitMs));
    else this.immediate = setImmediate(() => { this.immediate = undefined; this.flush(); });
  }

  private cancelTimers(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /** Paint every dirty tile and the changed labels in one write, charged to the budget. */
  private flush(): void {
    if (this.closed || (this.dirty.size === 0 && !this.labelsDirty)) return;
    const paint = () => {
      const t0 = performance.now();
      const parts: Buffer[] = [];
      // In the order they became dirty: a tile left over by the slice goes first next time.
      for (const id of [...this.dirty]) {
        if (parts.length > 0 && performance.now() - t0 >= (this.options.paintSliceMs ?? GRID_PAINT_SLICE_MS)) break;
        this.dirty.delete(id);
        const tile = this.tiles.get(id);
        if (tile) parts.push(this.paintTile(id, tile));
      }
      if (this.labelsDirty) {
        this.labelsDirty = false;
        let labels = '';
        for (const [id, tile] of this.tiles) {
          const text = renderLabel(this.tileFacts(id), tile.box.label.cols);
          if (text === tile.label) continue;
          tile.label = text;
          labels += moveTo(tile.box.label.row, tile.box.label.col) + text;
        }
        if (labels) parts.push(Buffer.from(labels));
      }
      const bytes = Buffer.concat(parts);
      if (bytes.length > 0) {
        this.options.surface.writeVideo(bytes);
        this.counters.flushes++;
      }
      const ms = performance.now() - t0;
      this.counters.paintMsTotal += ms;
      this.counters.paintMsMax = Math.max(this.counters.paintMsMax, ms);
    };
    if (this.budget) this.budget.spend(paint);
    else paint();
    // Tiles the slice left over.
    if (this.dirty.size > 0 || this.labelsDirty) this.schedule();
  }

  private paintTile(id: TileId, tile: Tile): Buffer {
    const facts = this.tileFacts(id);
    const frame = this.lastFrame.get(id);
    const message = tileMessage(facts, frame !== undefined);
    const renderer = this.rendererFor(id);
    if (message !== null) {
      if (tile.message === message) return Buffer.alloc(0);
      tile.message = message;
      // A picture may be there (kitty's sits above the text): remove it, then the words.
      const removed = renderer.clear?.() ?? Buffer.alloc(0);
      renderer.reset();
      return Buffer.concat([removed, Buffer.from(messageBox(tile.box.picture, message))]);
    }
    let prefix = '';
    if (tile.message !== null) {
      // Words were there: the renderer's idea of the screen is void.
      renderer.reset();
      if (tile.message !== undefined) prefix = blankBox(tile.box.picture);
      tile.message = null;
    }
    const pixel = renderer.pixelSize(tile.target);
    const sized = frame!.width === pixel.width && frame!.height === pixel.height ? frame! : scaleNearest(frame!, pixel.width, pixel.height);
    this.counters.tilesPainted++;
    const bytes = renderer.render(sized, tile.target);
    return prefix ? Buffer.concat([Buffer.from(prefix), bytes]) : bytes;
  }

  private askForSelf(on: boolean): void {
    if (on === this.selfAsked) return;
    this.selfAsked = on;
    this.options.controls.setSelfView?.(on);
  }

  private makeTarget(box: CellBox): RenderTarget {
    const px = this.options.cellPx;
    return { ...box, colors: this.options.colors, ...(px ? { cellWidthPx: px.width, cellHeightPx: px.height } : {}) };
  }

  /** Stop drawing; later events are ignored. */
  close(): void {
    this.closed = true;
    this.cancelTimers();
  }
}

function sameTiles(a: Map<TileId, Tile>, b: Map<TileId, TileBox>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, box] of b) {
    const t = a.get(id);
    if (!t || !sameBox(t.box.picture, box.picture) || !sameBox(t.box.label, box.label)) return false;
  }
  return true;
}

function sameBox(a: CellBox, b: CellBox): boolean {
  return a.col === b.col && a.row === b.row && a.cols === b.cols && a.rows === b.rows;
}

function blankBox(box: CellBox): string {
  let out = '\x1b[0m';
  for (let r = 0; r < box.rows; r++) out += moveTo(box.row + r, box.col) + ' '.repeat(box.cols);
  return out;
}

/** The picture box blanked, with `message` centred in it (dim). */
function messageBox(box: CellBox, message: string): string {
  const text = [...message].slice(0, box.cols).join('');
  const row = box.row + Math.floor((box.rows - 1) / 2);
  const col = box.col + Math.floor((box.cols - [...text].length) / 2);
  return `${blankBox(box)}\x1b[2m${moveTo(row, col)}${text}\x1b[0m`;
}
