/**
 * Draws the group call's grid straight onto the terminal, outside React, like the one-to-one
 * VideoPainter: it lays the tiles out (each member, and the self-view), keeps each tile's
 * newest frame and marks it dirty, and paints the dirty tiles and changed labels together.
 * The parts: who is in the call and what each tile says (GridMembers), one renderer per
 * tile and the pictures they leave (TileRenderers), a tile's picture, message and label
 * (tile-paint.ts), and when to paint (PaintScheduler: at most `maxPaintShare` of wall time,
 * so eight members at 15 fps cannot starve the event loop, and one paint stops after
 * GRID_PAINT_SLICE_MS, leaving the other tiles to the next).
 */
import type { RenderMode, RenderTarget, RgbFrame } from '../../../codec/render/types.js';
import { DEFAULT_CELL_ASPECT, type CellBox } from '../fit-video.js';
import type { PainterBaseOptions } from '../video-painter.js';
import { GridMembers, SELF_TILE, type MemberFlags, type TileId } from './grid-members.js';
import { layoutGrid, visibleTiles, type TileBox } from './grid-layout.js';
import { PaintScheduler } from './paint-scheduler.js';
import type { MemberId, RoomControls, RoomMemberInfo, RoomMemberStats } from './room-view-events.js';
import type { TileFacts } from './tile-label.js';
import { paintLabels, paintTile, sameTiles, type Tile } from './tile-paint.js';
import { TileRenderers } from './tile-renderers.js';

export { GRID_PAINT_SLICE_MS } from './paint-scheduler.js';
export { SELF_TILE, TILE_NO_VIDEO_AFTER_MS, TILE_STALE_MS, type TileId } from './grid-members.js';

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

export class GridPainter {
  readonly counters: GridCounters = { tilesPainted: 0, flushes: 0, framesSkipped: 0, layouts: 0, paintMsTotal: 0, paintMsMax: 0 };
  private readonly members: GridMembers;
  private readonly renderers: TileRenderers;
  private readonly scheduler: PaintScheduler;
  private readonly lastFrame = new Map<TileId, RgbFrame>();
  private readonly dirty = new Set<TileId>();
  private tiles = new Map<TileId, Tile>();
  private layout: GridPainterLayout | null = null;
  private drawnMode: RenderMode | null = null;
  private drawnGeneration = -1;
  private pixel = { width: 0, height: 0 };
  private labelsDirty = false;
  private selfAsked: boolean | null = null;
  private closed = false;

  constructor(private readonly options: GridPainterOptions) {
    this.members = new GridMembers(options.now ?? (() => performance.now()));
    this.renderers = new TileRenderers(options.createRenderer);
    this.scheduler = new PaintScheduler(
      { pending: () => this.dirty.size > 0 || this.labelsDirty, paint: (sliceOver) => this.paint(sliceOver) },
      this.counters,
      options,
    );
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
    return this.members.activeSpeaker;
  }

  /** The members in join order. */
  get memberIds(): MemberId[] {
    return this.members.ids();
  }

  memberJoined(id: MemberId, info: RoomMemberInfo): void {
    this.members.join(id, info);
    this.relayout();
  }

  memberLeft(id: MemberId): void {
    if (!this.members.leave(id)) return;
    this.lastFrame.delete(id);
    this.dirty.delete(id);
    this.relayout();
  }

  memberState(id: MemberId, state: MemberFlags): void {
    if (!this.members.setFlags(id, state)) return;
    this.dirty.add(id);
    this.labelsDirty = true;
    this.scheduler.schedule();
  }

  memberLevel(id: MemberId, level: number, speaking: boolean): void {
    const change = this.members.level(id, level, speaking);
    if (!change) return;
    if (change.speakerChanged && this.tiles.size < this.members.size + (this.layout?.selfView ? 1 : 0)) {
      // Not every tile fits: the new speaker must be among those shown.
      this.relayout();
    }
    if (change.labelChanged) {
      this.labelsDirty = true;
      this.scheduler.schedule();
    }
  }

  stats(members: readonly RoomMemberStats[] | undefined): void {
    const change = this.members.stats(members);
    for (const id of change.tiles) this.dirty.add(id);
    if (change.labels) this.labelsDirty = true;
    if (this.labelsDirty) this.scheduler.schedule();
  }

  onMemberFrame(id: MemberId, frame: RgbFrame): void {
    if (this.closed) return;
    const unstale = this.members.frameCame(id);
    if (unstale === null) return;
    if (unstale) this.labelsDirty = true;
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
    this.scheduler.schedule();
  }

  /** Take the screen's area, mode and self-view state; lays out again when any changed. */
  setLayout(next: GridPainterLayout, force = false): void {
    if (this.closed) return;
    const prev = this.layout;
    this.layout = next;
    if (prev && (prev.self.muted !== next.self.muted || prev.self.cameraOff !== next.self.cameraOff || prev.self.noCamera !== next.self.noCamera)) {
      this.dirty.add(SELF_TILE);
      this.labelsDirty = true;
      this.scheduler.schedule();
    }
    this.relayout(force);
  }

  private tileFacts(id: TileId): TileFacts {
    return this.members.facts(id, this.layout?.self);
  }

  private relayout(force = false): void {
    const layout = this.layout;
    if (this.closed || !layout) return;
    const { surface } = this.options;
    if (surface.generation !== this.drawnGeneration) force = true;
    const area = layout.area;
    if (!area || area.cols <= 0 || area.rows <= 0) {
      if (this.tiles.size > 0 || force) {
        surface.writeVideo(this.renderers.release(this.renderers.tiles()));
        surface.reserveRows(0, 0);
      }
      this.tiles = new Map();
      this.askForSelf(false);
      return;
    }
    const ids: TileId[] = this.members.ids();
    if (layout.selfView) ids.push(SELF_TILE);
    const grid = layoutGrid(area, ids.length, { cellAspect: this.cellAspect });
    const shown = visibleTiles(ids, grid.tiles.length, SELF_TILE, this.members.activeSpeaker);
    const modeChanged = this.drawnMode !== layout.mode;
    const next = new Map<TileId, TileBox>(shown.map((id, i) => [id, grid.tiles[i]]));
    if (!force && !modeChanged && sameTiles(this.tiles, next)) return;

    this.counters.layouts++;
    this.drawnGeneration = surface.generation;
    const held = this.renderers.tiles();
    const cleared = this.renderers.release(modeChanged ? held : held.filter((id) => !next.has(id)));
    if (modeChanged) this.drawnMode = layout.mode;
    this.renderers.resetAll();
    surface.reserveRows(area.row, area.row + area.rows);
    const blank = surface.clearBox(area.col, area.row, area.cols, area.rows);
    this.tiles = new Map();
    for (const [id, box] of next) {
      this.tiles.set(id, { box, target: this.makeTarget(box.picture), message: undefined, label: '' });
      this.dirty.add(id);
    }
    this.labelsDirty = true;
    this.askForSelf(next.has(SELF_TILE));
    const first = next.values().next().value;
    if (first) {
      const pixel = this.renderers.get(shown[0], layout.mode).pixelSize(this.makeTarget(first.picture));
      if (pixel.width !== this.pixel.width || pixel.height !== this.pixel.height) {
        this.pixel = pixel;
        this.options.controls.setVideoSize?.(pixel.width, pixel.height);
        this.options.controls.requestKeyframe?.();
      }
    }
    surface.writeVideo(Buffer.concat([cleared, Buffer.from(blank)]));
    // Draw what we have at once (last frames, messages, labels): a re-flow never blanks tiles.
    this.scheduler.paintNow();
  }

  /** Paint the dirty tiles (until the slice is over) and the changed labels in one write. */
  private paint(sliceOver: () => boolean): void {
    const parts: Buffer[] = [];
    // In the order they became dirty: a tile left over by the slice goes first next time.
    for (const id of [...this.dirty]) {
      if (parts.length > 0 && sliceOver()) break;
      this.dirty.delete(id);
      const tile = this.tiles.get(id);
      if (tile) parts.push(paintTile(tile, this.renderers.get(id, this.layout?.mode ?? 'blocks'), this.tileFacts(id), this.lastFrame.get(id), this.counters));
    }
    if (this.labelsDirty) {
      this.labelsDirty = false;
      const labels = paintLabels(this.tiles, (id) => this.tileFacts(id));
      if (labels) parts.push(Buffer.from(labels));
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length > 0) {
      this.options.surface.writeVideo(bytes);
      this.counters.flushes++;
    }
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
    this.scheduler.close();
  }
}
