/**
 * Draws the peer video (and the self-view picture-in-picture) straight onto the terminal,
 * outside React: frames never become component state. It owns the rows the layout gives
 * it, asks the session for frames of the right pixel size, and writes each frame in one
 * synchronized write through the surface. See docs/rendering.md, "TUI", for the figures.
 */
import type { ColorDepth, RenderMode, RenderTarget, Renderer, RgbFrame } from '../../codec/render/types.js';
import type { CallControls } from './controls.js';
import { DEFAULT_CELL_ASPECT, fitVideo, pipBox, type CellBox } from './fit-video.js';
import { PaintBudget } from './paint-budget.js';
import { scaleNearest } from './scale-frame.js';
import type { TerminalSurface } from './terminal-surface.js';

/** Makes the renderer for a mode (the codec's `createRenderer`, or a stub in tests). */
export type RendererFactory = (mode: RenderMode) => Renderer;


export interface PainterLayout {
  /** The cells video may use, or null when the video is not on screen (waiting, overlay). */
  area: CellBox | null;
  mode: RenderMode;
  selfView: boolean;
  /** The peer's picture size (for the aspect ratio), e.g. its capture size. */
  source: { width: number; height: number };
}

/** What a painter draws with (the one-to-one VideoPainter and the group call's GridPainter). */
export interface PainterBaseOptions {
  surface: TerminalSurface;
  createRenderer: RendererFactory;
  colors: ColorDepth;
  /** Cell size in pixels when the terminal told us; it sets the cell aspect and helps sixel/kitty. */
  cellPx?: { width: number; height: number };
  /**
   * Largest share of wall time frames may take to render and write (0..1; default: no
   * limit). Rendering and the write to a terminal are synchronous (Node writes to a TTY in
   * blocking mode), so without a limit a slow mode or terminal starves the sockets, the
   * capture and the UI. A frame that comes sooner waits; a newer one replaces it.
   */
  maxPaintShare?: number;
}

export interface PainterOptions extends PainterBaseOptions {
  controls: Pick<CallControls, 'setVideoSize' | 'requestKeyframe' | 'setSelfView'>;
}

/** What the painter did, for the status of a bench or a test. */
export interface PainterCounters {
  framesPainted: number;
  framesDropped: number;
  framesRescaled: number;
  selfFramesPainted: number;
  layouts: number;
  /** Peer frames replaced by a newer one while waiting for the paint budget. */
  framesSkipped: number;
}

export class VideoPainter {
  readonly counters: PainterCounters = { framesPainted: 0, framesDropped: 0, framesRescaled: 0, selfFramesPainted: 0, layouts: 0, framesSkipped: 0 };
  private layout: PainterLayout | null = null;
  private peerRenderer: Renderer | null = null;
  private selfRenderer: Renderer | null = null;
  private target: RenderTarget | null = null;
  private pipTarget: RenderTarget | null = null;
  private pixel = { width: 0, height: 0 };
  private pipPixel = { width: 0, height: 0 };
  private lastSelf: RgbFrame | null = null;
  /** Whether the session was last asked for self frames (null: not yet). */
  private selfAsked: boolean | null = null;
  private selfSource = { width: 4, height: 3 };
  private closed = false;
  /** The surface generation the current layout was drawn for. */
  private drawnGeneration = -1;
  /** Limits peer-frame painting to `maxPaintShare` of wall time (null: no limit). */
  private readonly budget: PaintBudget | null;
  /** The newest peer frame waiting for the budget, and the timer that paints it. */
  private waitingFrame: RgbFrame | null = null;
  private waitTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PainterOptions) {
    const share = options.maxPaintShare;
    this.budget = share && share > 0 && share < 1 ? new PaintBudget(share) : null;
  }

  private get cellAspect(): number {
    const px = this.options.cellPx;
    return px && px.width > 0 && px.height > 0 ? px.width / px.height : DEFAULT_CELL_ASPECT;
  }

  /** Where the peer picture is now, in cells (null when not drawing). */
  get pictureBox(): CellBox | null {
    return this.target ? { col: this.target.col, row: this.target.row, cols: this.target.cols, rows: this.target.rows } : null;
  }

  /** Where the self-view is now, in cells (null when hidden). */
  get selfViewBox(): CellBox | null {
    return this.pipTarget ? { col: this.pipTarget.col, row: this.pipTarget.row, cols: this.pipTarget.cols, rows: this.pipTarget.rows } : null;
  }

  /**
   * Take a new layout. Anything that moves or resizes the picture, or changes the mode,
   * clears the area, forgets what the renderers drew, tells the decoder the new pixel size
   * and asks the peer for a keyframe (a decoder restarted at a new size needs one).
   * `force` lays out again even when nothing seems to have changed.
   */
  setLayout(next: PainterLayout, force = false): void {
    if (this.closed) return;
    const prev = this.layout;
    this.layout = next;
    const { surface } = this.options;
    // The screen was cleared under us (a resize): everything must be drawn again.
    if (surface.generation !== this.drawnGeneration) force = true;
    if (!next.area || next.area.cols <= 0 || next.area.rows <= 0) {
      if (prev?.area) surface.reserveRows(0, 0);
      this.target = null;
      this.pipTarget = null;
      return;
    }
    const modeChanged = !prev || prev.mode !== next.mode || !this.peerRenderer;
    if (modeChanged) {
      // Kitty keeps images above the text layer: leaving kitty mode deletes ours (by id, so
      // other programs' images stay; wrapped for tmux when the renderer is, so tmux never
      // sees a bare APC string, which it would take as the pane title).
      for (const old of [this.peerRenderer, this.selfRenderer]) {
        const bytes = old?.clear?.();
        if (bytes && bytes.length > 0) surface.writeVideo(bytes);
      }
      this.peerRenderer = this.options.createRenderer(next.mode);
      this.selfRenderer = this.options.createRenderer(next.mode);
    }
    const area = next.area;
    const fit = fitVideo(area.cols, area.rows, next.source.width, next.source.height, this.cellAspect);
    const box: CellBox = { col: area.col + fit.col, row: area.row + fit.row, cols: fit.cols, rows: fit.rows };
    const target = this.makeTarget(box);
    const pip = next.selfView ? pipBox(box, this.selfSource.width, this.selfSource.height, this.cellAspect) : null;
    const moved = !sameTarget(this.target, target) || !sameTarget(prev?.area ?? null, area);
    const pipChanged = !sameTarget(this.pipTarget, pip ? this.makeTarget(pip) : null);
    if (!force && !modeChanged && !moved && !pipChanged) return;

    this.counters.layouts++;
    this.drawnGeneration = surface.generation;
    this.target = target;
    this.pipTarget = pip ? this.makeTarget(pip) : null;
    this.peerRenderer?.reset();
    this.selfRenderer?.reset();
    surface.reserveRows(area.row, area.row + area.rows);
    surface.writeVideo(surface.clearBox(area.col, area.row, area.cols, area.rows));
    if (this.pipTarget && this.selfRenderer) this.pipPixel = this.selfRenderer.pixelSize(this.pipTarget);
    this.askForSelf(!!this.pipTarget);
    const pixel = this.peerRenderer!.pixelSize(target);
    if (pixel.width !== this.pixel.width || pixel.height !== this.pixel.height) {
      this.pixel = pixel;
      this.options.controls.setVideoSize(pixel.width, pixel.height);
      // A decoder restarted at the new size can only start from a keyframe.
      this.options.controls.requestKeyframe();
    }
    if (this.lastSelf && this.pipTarget) this.paintSelf(this.lastSelf);
  }

  /**
   * Tell the decoder the pixel size this layout will want, without drawing: called when the
   * peer joins, before the session starts its decoder, so that the decoder starts at that
   * size instead of being restarted by the first layout a moment later (a restart costs an
   * ffmpeg start, seconds on a loaded machine). The mode is the current layout's, else `mode`.
   */
  prepare(next: PainterLayout): void {
    if (this.closed || !next.area || next.area.cols <= 0 || next.area.rows <= 0) return;
    const mode = this.layout?.mode ?? next.mode;
    const renderer = this.peerRenderer && this.layout?.mode === mode ? this.peerRenderer : this.options.createRenderer(mode);
    const fit = fitVideo(next.area.cols, next.area.rows, next.source.width, next.source.height, this.cellAspect);
    const pixel = renderer.pixelSize(this.makeTarget({ col: next.area.col + fit.col, row: next.area.row + fit.row, cols: fit.cols, rows: fit.rows }));
    if (pixel.width === this.pixel.width && pixel.height === this.pixel.height) return;
    this.pixel = pixel;
    this.options.controls.setVideoSize(pixel.width, pixel.height);
    // As after any size change: an H.264 decoder starts only at a keyframe.
    this.options.controls.requestKeyframe();
  }

  /** A decoded peer frame: draw it now (or when the paint budget allows), with the self-view on top. */
  onVideoFrame(frame: RgbFrame): void {
    const budget = this.budget;
    if (budget && !this.closed) {
      const waitMs = budget.waitMs();
      if (waitMs > 0) {
        if (this.waitingFrame) this.counters.framesSkipped++;
        this.waitingFrame = frame;
        this.waitTimer ??= setTimeout(() => this.paintWaiting(), Math.ceil(waitMs));
        return;
      }
      budget.spend(() => this.paintPeer(frame));
      return;
    }
    this.paintPeer(frame);
  }

  private paintWaiting(): void {
    this.waitTimer = undefined;
    const frame = this.waitingFrame;
    this.waitingFrame = null;
    if (frame) this.onVideoFrame(frame);
  }

  private paintPeer(frame: RgbFrame): void {
    if (this.closed || !this.target || !this.peerRenderer) {
      this.counters.framesDropped++;
      return;
    }
    let input = frame;
    if (frame.width !== this.pixel.width || frame.height !== this.pixel.height) {
      // The decoder has not caught up with a new size yet: bridge rather than show nothing.
      if (this.pixel.width <= 0 || this.pixel.height <= 0) {
        this.counters.framesDropped++;
        return;
      }
      input = scaleNearest(frame, this.pixel.width, this.pixel.height);
      this.counters.framesRescaled++;
    }
    let out = this.peerRenderer.render(input, this.target);
    // The peer frame may have drawn over the self-view: draw the self-view again on top,
    // in the same write so that the terminal never shows it missing.
    if (this.pipTarget && this.selfRenderer && this.lastSelf) {
      this.selfRenderer.reset();
      out = Buffer.concat([out, this.selfRenderer.render(this.sizedSelf(this.lastSelf), this.pipTarget)]);
    }
    this.options.surface.writeVideo(out);
    this.counters.framesPainted++;
  }

  /** Our own frame: kept for the next peer frame, and drawn now when the self-view is on. */
  onSelfFrame(frame: RgbFrame): void {
    if (this.closed) return;
    const sourceChanged = frame.width * this.selfSource.height !== frame.height * this.selfSource.width;
    this.lastSelf = frame;
    if (sourceChanged && frame.width > 0 && frame.height > 0) {
      // Our camera's shape decides the self-view box: lay out again (this also draws it).
      this.selfSource = { width: frame.width, height: frame.height };
      if (this.layout) this.setLayout(this.layout, true);
      return;
    }
    if (this.pipTarget) this.paintSelf(frame);
  }

  /** Tells the session whether to decode our own frames, when that changed. */
  private askForSelf(on: boolean): void {
    if (on === this.selfAsked) return;
    this.selfAsked = on;
    this.options.controls.setSelfView?.(on);
  }

  /** Stop drawing; later frames are ignored. */
  close(): void {
    this.closed = true;
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.waitingFrame = null;
  }

  private paintSelf(frame: RgbFrame): void {
    if (!this.pipTarget || !this.selfRenderer) return;
    this.options.surface.writeVideo(this.selfRenderer.render(this.sizedSelf(frame), this.pipTarget));
    this.counters.selfFramesPainted++;
  }

  private sizedSelf(frame: RgbFrame): RgbFrame {
    return scaleNearest(frame, this.pipPixel.width, this.pipPixel.height);
  }

  private makeTarget(box: CellBox): RenderTarget {
    const px = this.options.cellPx;
    return {
      ...box,
      colors: this.options.colors,
      ...(px ? { cellWidthPx: px.width, cellHeightPx: px.height } : {}),
    };
  }
}

function sameTarget(a: CellBox | null, b: CellBox | null): boolean {
  if (!a || !b) return a === b;
  return a.col === b.col && a.row === b.row && a.cols === b.cols && a.rows === b.rows;
}
