/**
 * Where a picture goes in a cell area so that it keeps its aspect ratio: terminal cells
 * are about twice as tall as wide, so a 4:3 picture spans more columns than rows. Pure.
 */
import type { ColorDepth, Renderer, RenderTarget } from '../../codec/render/types.js';

/** Width / height of one terminal cell when the terminal did not tell us (most fonts: ~1:2). */
export const DEFAULT_CELL_ASPECT = 0.5;

/**
 * The largest centred target inside `area` (cols x rows) whose shape on screen matches a
 * picture of display aspect `pictureAspect` (width / height), for cells of shape
 * `cellAspect` (cell width / cell height).
 */
export function fitPicture(
  pictureAspect: number,
  area: { cols: number; rows: number },
  colors: ColorDepth,
  cellAspect = DEFAULT_CELL_ASPECT,
): RenderTarget {
  // In cells, the picture spans aspect / cellAspect columns per row.
  const colsPerRow = pictureAspect / cellAspect;
  let cols = area.cols;
  let rows = Math.round(cols / colsPerRow);
  if (rows > area.rows) {
    rows = area.rows;
    cols = Math.round(rows * colsPerRow);
  }
  cols = Math.max(1, Math.min(area.cols, cols));
  rows = Math.max(1, Math.min(area.rows, rows));
  return { col: Math.floor((area.cols - cols) / 2), row: Math.floor((area.rows - rows) / 2), cols, rows, colors };
}

/**
 * The pixel size a decoder should scale to for `renderer` in `target`, at least 2x2 (ffmpeg's
 * scaler and our decoders refuse smaller) and even-free: rgb24 has no chroma subsampling.
 */
export function decodeSize(renderer: Renderer, target: RenderTarget): { width: number; height: number } {
  const { width, height } = renderer.pixelSize(target);
  return { width: Math.max(2, Math.round(width)), height: Math.max(2, Math.round(height)) };
}
