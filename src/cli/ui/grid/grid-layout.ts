/**
 * Where the tiles of a group call go. Pure: from the area the call screen gives the grid
 * (cells), the cell aspect and the number of tiles, it picks the columns x rows of the grid
 * that show the largest pictures at the video's aspect, and each tile's picture and label
 * boxes. When even one tile per slot is too small, fewer tiles are shown (`hidden` says how
 * many were left out); when not one fits, there are no tiles and `tooSmall` is true.
 */
import { DEFAULT_CELL_ASPECT, fitVideo, type CellBox } from '../fit-video.js';

/** Rows under each picture for the tile's label (name, status, latency). */
export const TILE_LABEL_ROWS = 1;
/** Blank columns between two tiles side by side. */
export const TILE_GAP_COLS = 1;
/** A picture smaller than this is not worth drawing: fewer tiles are shown instead. */
export const TILE_MIN_PICTURE_COLS = 8;
export const TILE_MIN_PICTURE_ROWS = 3;
/** The aspect pictures are laid out for when members' capture sizes are not known: 4:3. */
export const DEFAULT_VIDEO_ASPECT = 4 / 3;

export interface GridOptions {
  /** A cell's width / height (0.5 when the terminal did not report its cell size). */
  cellAspect?: number;
  /** Picture width / height. */
  videoAspect?: number;
}

export interface TileBox {
  /** The picture, at the video aspect (within a cell). */
  picture: CellBox;
  /** The label row under the picture, as wide as the picture. */
  label: CellBox;
}

export interface GridLayout {
  /** Grid shape in tiles. */
  columns: number;
  rows: number;
  /** One box per tile shown, in order: row by row, left to right. */
  tiles: TileBox[];
  /** Tiles asked for that did not fit. */
  hidden: number;
  /** Not even one tile fits in the area. */
  tooSmall: boolean;
}

interface Candidate {
  columns: number;
  rows: number;
  picture: CellBox;
}

/** The best grid for exactly `count` tiles, or null when its pictures would be too small. */
function bestGrid(area: CellBox, count: number, cellAspect: number, videoAspect: number): Candidate | null {
  let best: Candidate | null = null;
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    // A grid with a whole empty column is never better than the one without it.
    if ((columns - 1) * rows >= count) continue;
    const slotCols = Math.floor((area.cols - (columns - 1) * TILE_GAP_COLS) / columns);
    const slotRows = Math.floor(area.rows / rows) - TILE_LABEL_ROWS;
    if (slotCols < TILE_MIN_PICTURE_COLS || slotRows < TILE_MIN_PICTURE_ROWS) continue;
    const picture = fitVideo(slotCols, slotRows, videoAspect, 1, cellAspect);
    if (picture.cols < TILE_MIN_PICTURE_COLS || picture.rows < TILE_MIN_PICTURE_ROWS) continue;
    const size = picture.cols * picture.rows;
    const bestSize = best ? best.picture.cols * best.picture.rows : -1;
    // Equal pictures: the grid with fewer empty slots.
    if (size > bestSize || (size === bestSize && best && columns * rows < best.columns * best.rows)) best = { columns, rows, picture };
  }
  return best;
}

/** Lays out `count` tiles in `area`; see the module comment. */
export function layoutGrid(area: CellBox, count: number, options: GridOptions = {}): GridLayout {
  const cellAspect = options.cellAspect && options.cellAspect > 0 ? options.cellAspect : DEFAULT_CELL_ASPECT;
  const videoAspect = options.videoAspect && options.videoAspect > 0 ? options.videoAspect : DEFAULT_VIDEO_ASPECT;
  for (let shown = Math.max(0, count); shown >= 1; shown--) {
    const grid = bestGrid(area, shown, cellAspect, videoAspect);
    if (!grid) continue;
    return { columns: grid.columns, rows: grid.rows, tiles: placeTiles(area, shown, grid), hidden: count - shown, tooSmall: false };
  }
  return { columns: 0, rows: 0, tiles: [], hidden: Math.max(0, count), tooSmall: count > 0 };
}

/** Tiles of `grid.picture`'s size, the grid centred in the area, a short last row centred. */
function placeTiles(area: CellBox, count: number, grid: Candidate): TileBox[] {
  const tileCols = grid.picture.cols;
  const tileRows = grid.picture.rows + TILE_LABEL_ROWS;
  const rowWidth = (n: number) => n * tileCols + (n - 1) * TILE_GAP_COLS;
  const top = area.row + Math.floor((area.rows - grid.rows * tileRows) / 2);
  const tiles: TileBox[] = [];
  for (let i = 0; i < count; i++) {
    const gridRow = Math.floor(i / grid.columns);
    const inRow = Math.min(grid.columns, count - gridRow * grid.columns);
    const left = area.col + Math.floor((area.cols - rowWidth(inRow)) / 2);
    const col = left + (i % grid.columns) * (tileCols + TILE_GAP_COLS);
    const row = top + gridRow * tileRows;
    tiles.push({
      picture: { col, row, cols: tileCols, rows: grid.picture.rows },
      label: { col, row: row + grid.picture.rows, cols: tileCols, rows: TILE_LABEL_ROWS },
    });
  }
  return tiles;
}

/**
 * Which tiles to show when only `capacity` fit: the active speaker always, then members in
 * join order, the self-view last (you know what you look like). Returned in display order
 * (the order of `ids`), so tiles do not jump around as others come and go.
 */
export function visibleTiles<T>(ids: readonly T[], capacity: number, selfId: T, activeId: T | null): T[] {
  if (capacity >= ids.length) return [...ids];
  if (capacity <= 0) return [];
  const priority: T[] = [];
  if (activeId !== null && ids.includes(activeId)) priority.push(activeId);
  for (const id of ids) if (id !== selfId && !priority.includes(id)) priority.push(id);
  if (ids.includes(selfId) && !priority.includes(selfId)) priority.push(selfId);
  const keep = new Set(priority.slice(0, capacity));
  return ids.filter((id) => keep.has(id));
}
