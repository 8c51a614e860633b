/**
 * The one interface every terminal renderer implements (ascii, blocks, symbols, sixel,
 * kitty, iterm). Renderers are pure: RGB pixels in, terminal bytes out. No I/O.
 */

/** A packed RGB24 frame: `data.length === width * height * 3`, rows top to bottom. */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export type RenderMode = 'kitty' | 'iterm' | 'sixel' | 'symbols' | 'blocks' | 'ascii';
export type ColorDepth = 16 | 256 | 'truecolor' | 'mono';

/** Where and how big the picture goes on the terminal. */
export interface RenderTarget {
  /** Top-left cell of the picture, 0-based. */
  col: number;
  row: number;
  /** Size of the area in cells. */
  cols: number;
  rows: number;
  colors: ColorDepth;
  /** Size of one cell in pixels, when the terminal told us (sixel/kitty need it). */
  cellWidthPx?: number;
  cellHeightPx?: number;
}

/**
 * A renderer keeps what it drew last, so that it can redraw only what changed.
 * `reset()` forgets it (after a resize, a clear, or another mode drew over the area).
 */
export interface Renderer {
  readonly mode: RenderMode;
  /**
   * The pixel size the frame should have for this target: decoders scale to it so the
   * renderer never resamples. For text modes this is cells x sub-cell resolution.
   */
  pixelSize(target: RenderTarget): { width: number; height: number };
  /** Terminal bytes that draw `frame` into `target` (not wrapped in synchronized output). */
  render(frame: RgbFrame, target: RenderTarget): Buffer;
  reset(): void;
  /**
   * Bytes that remove what this renderer drew and cannot be overwritten by text (kitty's
   * image), and forget it like `reset()`. Optional: text modes and sixel draw into cells,
   * which the UI clears itself; call it (when present) before switching modes.
   */
  clear?(): Buffer;
}
