/** Width / height of one terminal cell when the terminal does not tell us: cells are about 1:2. */
export const DEFAULT_CELL_ASPECT = 0.5;

/** A rectangle of terminal cells, 0-based. */
export interface CellBox {
  col: number;
  row: number;
  cols: number;
  rows: number;
}

/**
 * The largest box of whole cells inside `cols` x `rows` that shows a `frameW` x `frameH`
 * picture with its own aspect ratio, centred. `cellAspect` is a cell's width / height
 * (0.5 for the usual 1:2 cells). Pure, so the layout is unit-tested without a terminal.
 */
export function fitVideo(cols: number, rows: number, frameW: number, frameH: number, cellAspect = DEFAULT_CELL_ASPECT): CellBox {
  if (cols <= 0 || rows <= 0) return { col: 0, row: 0, cols: 0, rows: 0 };
  if (!(frameW > 0 && frameH > 0 && cellAspect > 0)) return { col: 0, row: 0, cols, rows };
  // How many cells wide one cell of height makes the picture: (w/h) / (cellW/cellH).
  const colsPerRow = frameW / frameH / cellAspect;
  let fitCols = cols;
  let fitRows = Math.round(cols / colsPerRow);
  if (fitRows > rows) {
    fitRows = rows;
    fitCols = Math.min(cols, Math.round(rows * colsPerRow));
  }
  fitCols = Math.max(1, fitCols);
  fitRows = Math.max(1, Math.min(rows, fitRows));
  return {
    col: Math.floor((cols - fitCols) / 2),
    row: Math.floor((rows - fitRows) / 2),
    cols: fitCols,
    rows: fitRows,
  };
}

/** Fraction of the picture's width the self-view picture-in-picture takes. */
export const PIP_WIDTH_FRACTION = 0.25;
/** The self-view is not drawn in a picture smaller than this many cells across. */
export const PIP_MIN_COLS = 8;

/**
 * Where the self-view goes: a small aspect-correct box in the bottom-right corner of the
 * peer picture, or null when the picture is too small for one.
 */
export function pipBox(video: CellBox, frameW: number, frameH: number, cellAspect = DEFAULT_CELL_ASPECT): CellBox | null {
  const maxCols = Math.floor(video.cols * PIP_WIDTH_FRACTION);
  if (maxCols < PIP_MIN_COLS) return null;
  const inner = fitVideo(maxCols, Math.max(1, Math.floor(video.rows / 2)), frameW, frameH, cellAspect);
  if (inner.rows < 2) return null;
  return {
    col: video.col + video.cols - inner.cols,
    row: video.row + video.rows - inner.rows,
    cols: inner.cols,
    rows: inner.rows,
  };
}
