/**
 * The one writer to the real terminal. Ink renders into this object as if it were stdout
 * (in Ink's `debug` mode every render hands over the whole screen as text); the surface
 * compares it with what is on screen and rewrites only the rows that changed, each at an
 * absolute position. Rows reserved for video are left to the video painter, which writes
 * through `writeVideo`. Absolute positioning means no relative cursor state to get wrong
 * between Ink and the painter, and Ink may use the whole screen, last row included.
 */
import { EventEmitter } from 'node:events';

const ESC = '\x1b';
/** Begin / end synchronized output: the terminal shows the whole update at once. */
export const SYNC_BEGIN = `${ESC}[?2026h`;
export const SYNC_END = `${ESC}[?2026l`;
const CLEAR_SCREEN = `${ESC}[H${ESC}[2J`;
const RESET_SGR = `${ESC}[0m`;
const ERASE_TO_EOL = `${ESC}[K`;

/** Used when the terminal does not report its size (not a TTY, some CI runners). */
export const FALLBACK_COLUMNS = 80;
export const FALLBACK_ROWS = 24;

/** CUP: move to a 0-based cell. */
export function moveTo(row: number, col: number): string {
  return `${ESC}[${row + 1};${col + 1}H`;
}

/** The real terminal as the surface sees it. */
export interface SurfaceOutput {
  write(data: string | Uint8Array): unknown;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface SurfaceOptions {
  /** A fixed area in cells (`--cells`) instead of following the terminal's size. */
  cells?: { cols: number; rows: number };
}

/** Counters for the bench and the tests. */
export interface SurfaceCounters {
  inkFrames: number;
  rowsWritten: number;
  videoWrites: number;
  bytesWritten: number;
}

export class TerminalSurface extends EventEmitter<{ resize: [] }> {
  /** Ink checks this; false keeps Ink from writing cursor or keyboard-protocol sequences. */
  readonly isTTY = false;
  readonly counters: SurfaceCounters = { inkFrames: 0, rowsWritten: 0, videoWrites: 0, bytesWritten: 0 };
  private inkLines: string[] = [];
  /** What this surface last wrote per row; `undefined` = unknown, rewrite it. */
  private onScreen: Array<string | undefined> = [];
  private reservedStart = 0;
  private reservedEnd = 0;
  private closed = false;
  private generationCount = 0;

  constructor(
    private readonly out: SurfaceOutput,
    private readonly options: SurfaceOptions = {},
  ) {
    super();
  }

  get columns(): number {
    return this.options.cells?.cols ?? (this.out.columns || FALLBACK_COLUMNS);
  }

  get rows(): number {
    return this.options.cells?.rows ?? (this.out.rows || FALLBACK_ROWS);
  }

  /**
   * Ink's write: a whole frame of text (rows separated by `\n`). Also takes Ink's empty
   * barrier write with a callback on unmount.
   */
  write(data: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown): boolean {
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    if (text.length > 0 && !this.closed) {
      this.counters.inkFrames++;
      this.inkLines = text.replace(/\n$/, '').split('\n');
      this.flushInk();
    }
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }

  /**
   * Rows `[startRow, endRow)` belong to the video painter: Ink's (blank) text there is not
   * written. Released rows are rewritten from Ink's last frame.
   */
  reserveRows(startRow: number, endRow: number): void {
    const wasStart = this.reservedStart;
    const wasEnd = this.reservedEnd;
    this.reservedStart = startRow;
    this.reservedEnd = Math.max(startRow, endRow);
    for (let row = wasStart; row < wasEnd; row++) {
      if (row < this.reservedStart || row >= this.reservedEnd) this.onScreen[row] = undefined;
    }
    this.flushInk();
  }

  /**
   * Forget what is on screen and clear it (after a resize). Ink's rows are not redrawn here:
   * they were laid out for the old width; the resize event makes Ink render again.
   */
  invalidate(): void {
    this.generationCount++;
    this.onScreen = [];
    this.rawWrite(RESET_SGR + CLEAR_SCREEN);
  }

  /** Goes up by one on every `invalidate()`: whoever drew before that must draw again. */
  get generation(): number {
    return this.generationCount;
  }

  /** Write Ink's last frame again wherever it differs from the screen. */
  redraw(): void {
    this.flushInk();
  }

  /** One synchronized write of video bytes; the cursor is saved and put back around it. */
  writeVideo(bytes: string | Buffer): void {
    if (this.closed || bytes.length === 0) return;
    this.counters.videoWrites++;
    const head = `${SYNC_BEGIN}${ESC}7`;
    const tail = `${RESET_SGR}${ESC}8${SYNC_END}`;
    this.rawWrite(typeof bytes === 'string' ? head + bytes + tail : Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]));
  }

  /** Blank a box of cells (the painter's area when it changes). */
  clearBox(col: number, row: number, cols: number, rows: number): string {
    if (cols <= 0 || rows <= 0) return '';
    const blank = ' '.repeat(cols);
    let seq = RESET_SGR;
    for (let r = row; r < row + rows; r++) seq += moveTo(r, col) + blank;
    return seq;
  }

  /** Stop writing to the terminal (teardown has begun; the guard owns it now). */
  close(): void {
    this.closed = true;
  }

  private flushInk(): void {
    if (this.closed) return;
    const rows = this.rows;
    const cols = this.columns;
    let seq = '';
    for (let row = 0; row < rows; row++) {
      if (row >= this.reservedStart && row < this.reservedEnd) continue;
      const line = this.inkLines[row] ?? '';
      if (this.onScreen[row] === line) continue;
      this.onScreen[row] = line;
      this.counters.rowsWritten++;
      // Erasing to the end of the row only when the line is short keeps the last column of
      // the last row from being followed by anything that could scroll the screen.
      seq += moveTo(row, 0) + line + RESET_SGR + (visibleWidthBelow(line, cols) ? ERASE_TO_EOL : '');
    }
    if (seq) this.rawWrite(SYNC_BEGIN + seq + SYNC_END);
  }

  private rawWrite(data: string | Buffer): void {
    this.counters.bytesWritten += data.length;
    this.out.write(data);
  }
}

// Matches SGR and other CSI sequences so that they do not count as visible width.
// eslint-disable-next-line no-control-regex -- ESC is exactly what we look for
const CSI_PATTERN = /\x1b\[[0-?]*[ -/]*[@-~]/g;

/** True when `line` leaves at least one cell of the row unwritten. */
function visibleWidthBelow(line: string, cols: number): boolean {
  // Ink pads with spaces and wide characters are rare in our UI; code points are close enough.
  return [...line.replace(CSI_PATTERN, '')].length < cols;
}
