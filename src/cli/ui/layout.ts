/** How the call screen divides the terminal: video on top, a notice row and the status bar below. */
import type { CellBox } from './fit-video.js';

/** Rows of the status bar at the bottom. */
export const STATUS_BAR_ROWS = 2;
/** One row above the status bar for notices (warnings, the headphones hint), always kept so that notices do not move the video. */
export const NOTICE_ROWS = 1;
/** Below this many rows for video there is no point drawing a picture. */
export const MIN_VIDEO_ROWS = 2;

export interface ScreenLayout {
  cols: number;
  rows: number;
  /** The area above the notice row: video, the waiting screen, overlays. */
  main: CellBox;
  noticeRow: number;
  statusRow: number;
}

export function computeLayout(cols: number, rows: number): ScreenLayout {
  const mainRows = Math.max(0, rows - STATUS_BAR_ROWS - NOTICE_ROWS);
  return {
    cols,
    rows,
    main: { col: 0, row: 0, cols, rows: mainRows },
    noticeRow: mainRows,
    statusRow: mainRows + NOTICE_ROWS,
  };
}
