/**
 * Sixel renderer: an adaptive 256-colour palette per frame (median cut over a 6-bit-per-channel
 * histogram, partitioned by counting, never by sorting), every pixel mapped through a
 * bin -> palette table, then encoded band by band (6 pixel rows) with run-length compression.
 * An identical frame costs nothing. When the terminal told its cell height, a frame that
 * barely changed redraws only the cell rows that did (each run of them a sixel image of its
 * own, with its own palette, placed at its first cell row), compared with what was last drawn
 * there so slow drift is caught too, and the whole picture every SIXEL_FULL_REFRESH_FRAMES.
 */
import { VideochatError } from '../errors.js';
import { LastFrame } from './last-frame.js';
import { ByteWriter } from './writer.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';
import { HIST_BITS, HIST_SHIFT, Quantizer, SIXEL_PALETTE_COLORS } from './sixel-quantizer.js';
import { DEFAULT_CELL_HEIGHT_PX, DEFAULT_CELL_WIDTH_PX } from './cell-size.js';

export { SIXEL_PALETTE_COLORS, SIXEL_TARGET_PSNR_DB } from './sixel-quantizer.js';
export { DEFAULT_CELL_HEIGHT_PX, DEFAULT_CELL_WIDTH_PX } from './cell-size.js';

/** xterm's default maximum sixel image size (its `maxGraphicSize` resource). */
export const SIXEL_MAX_WIDTH_PX = 1000;
export const SIXEL_MAX_HEIGHT_PX = 1000;
/** Widest image the encoder takes (column numbers are 16-bit); wider targets are scaled down. */
export const SIXEL_ENCODER_MAX_WIDTH_PX = 1024;
/** Pixel rows per sixel band. */
const BAND_ROWS = 6;
/** Runs at least this long are written as `!<count><char>`. */
const RLE_MIN_RUN = 4;

/** Sixel renderer options. */
export interface SixelOptions {
  /** Largest image the terminal accepts (from XTSMGRAPHICS when known). */
  maxWidthPx?: number;
  maxHeightPx?: number;
  /** Redraw only the cell rows that changed (default true; needs the target's cell height). */
  changedRows?: boolean;
}

/** A pixel counts as changed when a channel moved by more than this since it was drawn (camera noise stays below). */
export const SIXEL_CHANGED_LEVEL = 24;
/** Width of the blocks a cell row is judged by (log2 and pixels). */
const SIXEL_CHANGED_BLOCK_SHIFT = 3;
export const SIXEL_CHANGED_BLOCK_PX = 1 << SIXEL_CHANGED_BLOCK_SHIFT;
/** A cell row is redrawn when in one of its blocks at least this share of the pixels changed. */
export const SIXEL_CHANGED_SHARE = 0.25;
/** Above this share of cell rows changed the whole picture is drawn (one image is cheaper than many). */
export const SIXEL_PARTIAL_MAX_SHARE = 0.6;
/** Frames between full redraws while only changed rows are sent (clears what stayed below the threshold). */
export const SIXEL_FULL_REFRESH_FRAMES = 60;


/**
 * Scratch memory of the encoder. Per band and colour, a list of the columns where it has a pixel with their sixel bits,
 * in column order (`entX`/`entBits` at `c * width`, `count[c]` long). Emission walks only
 * those lists, so a band costs its pixels, not colours x width.
 */
interface EncodeScratch {
  width: number;
  /** Passes of a band: chains of colours (linked by `nextInChain`), a min-heap of chain ends. */
  nextInChain: Int32Array;
  chainHead: Int32Array;
  chainTail: Int32Array;
  chainEnd: Int32Array;
  heap: Int32Array;
  entX: Int16Array;
  entBits: Uint8Array;
  count: Int32Array;
  /** Per colour, the last column given an entry (to OR a second row of the same column into it). */
  lastX: Int32Array;
}

function encodeScratch(width: number): EncodeScratch {
  return {
    width,
    nextInChain: new Int32Array(SIXEL_PALETTE_COLORS),
    chainHead: new Int32Array(SIXEL_PALETTE_COLORS),
    chainTail: new Int32Array(SIXEL_PALETTE_COLORS),
    chainEnd: new Int32Array(SIXEL_PALETTE_COLORS),
    heap: new Int32Array(SIXEL_PALETTE_COLORS),
    entX: new Int16Array(SIXEL_PALETTE_COLORS * width),
    entBits: new Uint8Array(SIXEL_PALETTE_COLORS * width),
    count: new Int32Array(SIXEL_PALETTE_COLORS),
    lastX: new Int32Array(SIXEL_PALETTE_COLORS).fill(-1),
  };
}

/**
 * Map `frame` through the quantizer and encode rows `[y0, y1)` of it (whole bands from `y0`)
 * as one sixel image (DCS ... ST). The caller places the cursor where row `y0` goes.
 */
function encodeSixel(w: ByteWriter, frame: RgbFrame, q: Quantizer, scratch: EncodeScratch, y0 = 0, y1 = frame.height): void {
  const { width, data } = frame;
  const palette = q.palette;
  w.ascii(`\x1bP0;1;0q"1;1;${width};${y1 - y0}`);
  for (let c = 0; c < q.paletteSize; c++) {
    w.ascii(`#${c};2;${Math.round((palette[c * 3] * 100) / 255)};${Math.round((palette[c * 3 + 1] * 100) / 255)};${Math.round((palette[c * 3 + 2] * 100) / 255)}`);
  }
  const { entX, entBits, count, lastX, nextInChain, chainHead, chainTail, chainEnd, heap } = scratch;
  const binToPalette = q.binToPalette;
  const used: number[] = [];
  for (let band = y0; band < y1; band += BAND_ROWS) {
    used.length = 0;
    const bandRows = Math.min(BAND_ROWS, y1 - band);
    // Column by column: one entry per colour and column, its bits the rows it covers. Colours
    // join `used` in the order of their first column, so `used` is sorted by span start.
    const rowOffset = (band * width) * 3;
    const rowStride = width * 3;
    let prevKey = -1;
    let c = 0;
    for (let x = 0, ox = rowOffset; x < width; x++, ox += 3) {
      for (let r = 0, o = ox; r < bandRows; r++, o += rowStride) {
        const key = ((data[o] >> HIST_SHIFT) << (2 * HIST_BITS)) | ((data[o + 1] >> HIST_SHIFT) << HIST_BITS) | (data[o + 2] >> HIST_SHIFT);
        // A pixel in the same bin as the one above (flat areas) reuses its lookup.
        if (key !== prevKey) {
          prevKey = key;
          c = binToPalette[key];
          if (c < 0) c = q.resolve(key);
        }
        const base = c * width;
        if (lastX[c] === x) {
          entBits[base + count[c] - 1] |= 1 << r;
        } else {
          if (lastX[c] < 0) used.push(c);
          lastX[c] = x;
          const n = count[c]++;
          entX[base + n] = x;
          entBits[base + n] = 1 << r;
        }
      }
    }
    // Colours whose spans do not overlap share one pass over the band: after a colour the
    // cursor stands past its span, so the next one continues from there without a '$' and
    // without skipping from the left edge again (flat areas side by side cost far less).
    // Passes are chains of colours, built in span-start order: each colour joins the chain
    // that ends first if that one ends before the colour starts, else opens a new chain (a
    // heap of chain ends; as few passes as the most colours over one column).
    let chains = 0;
    let heapSize = 0;
    for (let u = 0; u < used.length; u++) {
      const col = used[u];
      const x0 = entX[col * width];
      const x1 = entX[col * width + count[col] - 1];
      nextInChain[col] = -1;
      if (heapSize > 0 && chainEnd[heap[0]] < x0) {
        const ch = heap[0];
        nextInChain[chainTail[ch]] = col;
        chainTail[ch] = col;
        chainEnd[ch] = x1;
        siftDown(heap, heapSize, chainEnd);
      } else {
        const ch = chains++;
        chainHead[ch] = col;
        chainTail[ch] = col;
        chainEnd[ch] = x1;
        heap[heapSize++] = ch;
        siftUp(heap, heapSize - 1, chainEnd);
      }
    }
    // Worst case of this band: every colour as a header plus 6 bytes per entry (a gap run and a char).
    let worst = 2 + chains;
    for (let u = 0; u < used.length; u++) worst += 24 + 6 * count[used[u]];
    w.reserve(worst);
    // Local buffer and position: this loop writes most of the bytes of a frame.
    const buf = w.buf;
    let pos = w.pos;
    for (let ch = 0; ch < chains; ch++) {
      if (ch > 0) buf[pos++] = 0x24; // '$': back to the band's left edge for the next pass
      let cursor = 0;
      for (let col = chainHead[ch]; col >= 0; col = nextInChain[col]) {
        const base = col * width;
        const n = count[col];
        const x0 = entX[base];
        buf[pos++] = 0x23; // '#'
        pos = putDecimal(buf, pos, col);
        if (x0 > cursor) pos = putRun(buf, pos, 0x3f, x0 - cursor);
        let prev = entBits[base] + 0x3f;
        let run = 1;
        let prevX = x0;
        for (let k = 1; k < n; k++) {
          const x = entX[base + k];
          const v = entBits[base + k] + 0x3f;
          if (x === prevX + 1 && v === prev) {
            run++;
          } else {
            pos = putRun(buf, pos, prev, run);
            // Columns without this colour: empty sixels.
            if (x > prevX + 1) pos = putRun(buf, pos, 0x3f, x - prevX - 1);
            prev = v;
            run = 1;
          }
          prevX = x;
        }
        pos = putRun(buf, pos, prev, run);
        count[col] = 0;
        lastX[col] = -1;
        cursor = prevX + 1;
      }
    }
    w.pos = pos;
    if (band + BAND_ROWS < y1) {
      w.reserve(1);
      w.byte(0x2d); // '-': next band
    }
  }
  w.ascii('\x1b\\');
}

/** Restore the min-heap order of `heap` (chain ids keyed by `key`) after its root grew. */
function siftDown(heap: Int32Array, size: number, key: Int32Array): void {
  let i = 0;
  const item = heap[0];
  const k = key[item];
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && key[heap[child + 1]] < key[heap[child]]) child++;
    if (key[heap[child]] >= k) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = item;
}

/** Restore the min-heap order after an item was added at `i`. */
function siftUp(heap: Int32Array, i: number, key: Int32Array): void {
  const item = heap[i];
  const k = key[item];
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (key[heap[parent]] <= k) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = item;
}

/** Write `run` copies of sixel `ch` at `pos` (as `!<run><ch>` when shorter); returns the new position. */
function putRun(buf: Uint8Array, pos: number, ch: number, run: number): number {
  if (run >= RLE_MIN_RUN) {
    buf[pos++] = 0x21; // '!'
    pos = putDecimal(buf, pos, run);
    buf[pos++] = ch;
    return pos;
  }
  for (let i = 0; i < run; i++) buf[pos++] = ch;
  return pos;
}

/** Write a non-negative integer below 10000 in decimal at `pos`; returns the new position. */
function putDecimal(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 1000) buf[pos++] = 0x30 + ((n / 1000) | 0);
  if (n >= 100) buf[pos++] = 0x30 + (((n / 100) | 0) % 10);
  if (n >= 10) buf[pos++] = 0x30 + (((n / 10) | 0) % 10);
  buf[pos++] = 0x30 + (n % 10);
  return pos;
}

/** Sixel image size for a target: the cells' pixel area, scaled down to fit the sixel limit, whole bands. */
export function sixelPixelSize(target: RenderTarget, opts: SixelOptions = {}): { width: number; height: number } {
  const maxW = Math.min(opts.maxWidthPx ?? SIXEL_MAX_WIDTH_PX, SIXEL_ENCODER_MAX_WIDTH_PX);
  const maxH = opts.maxHeightPx ?? SIXEL_MAX_HEIGHT_PX;
  const w = target.cols * (target.cellWidthPx ?? DEFAULT_CELL_WIDTH_PX);
  const h = target.rows * (target.cellHeightPx ?? DEFAULT_CELL_HEIGHT_PX);
  const scale = Math.min(1, maxW / w, maxH / h);
  const width = Math.max(1, Math.floor(w * scale));
  // Whole bands only, so the image never spills into the row below the target.
  const height = Math.max(BAND_ROWS, Math.floor((h * scale) / BAND_ROWS) * BAND_ROWS);
  return { width, height };
}

/**
 * Which cell rows (strips of `cellH` pixel rows) of `frame` differ from `shown` (what the
 * terminal shows there). A strip is cut into blocks SIXEL_CHANGED_BLOCK_PX wide; it changed
 * when in one block at least SIXEL_CHANGED_SHARE of the pixels have a channel moved by more
 * than SIXEL_CHANGED_LEVEL. Camera noise and JPEG ringing move scattered pixels (measured: at
 * most 19% of a block on a noisy MJPEG still), a moving face whole blocks. Returns how many changed.
 */
function changedStrips(frame: RgbFrame, shown: Uint8Array, cellH: number, out: Uint8Array, blocks: Uint16Array): number {
  const { width, height, data } = frame;
  let changed = 0;
  const L = SIXEL_CHANGED_LEVEL;
  for (let s = 0, y0 = 0; y0 < height; s++, y0 += cellH) {
    const y1 = Math.min(height, y0 + cellH);
    const need = Math.max(2, Math.ceil((y1 - y0) * SIXEL_CHANGED_BLOCK_PX * SIXEL_CHANGED_SHARE));
    blocks.fill(0);
    let hit = 0;
    for (let y = y0; y < y1 && !hit; y++) {
      for (let x = 0, i = y * width * 3; x < width; x++, i += 3) {
        const dr = data[i] - shown[i], dg = data[i + 1] - shown[i + 1], db = data[i + 2] - shown[i + 2];
        if (dr > L || dr < -L || dg > L || dg < -L || db > L || db < -L) {
          if (++blocks[x >> SIXEL_CHANGED_BLOCK_SHIFT] >= need) {
            hit = 1;
            break;
          }
        }
      }
    }
    out[s] = hit;
    changed += hit;
  }
  return changed;
}

/** Create a sixel renderer. */
export function createSixelRenderer(opts: SixelOptions = {}): Renderer {
  const quantizer = new Quantizer();
  const writer = new ByteWriter();
  let scratch = encodeScratch(0);
  const last = new LastFrame();
  /** What the terminal shows (the source pixels last drawn in each cell row) and where. */
  let shown = new Uint8Array(0);
  let shownKey = '';
  let sinceFull = 0;
  let changed = new Uint8Array(0);
  let blocks = new Uint16Array(0);
  return {
    mode: 'sixel',
    pixelSize(target: RenderTarget) {
      return sixelPixelSize(target, opts);
    },
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const { width, height } = frame;
      const key = `${width}x${height}@${target.col},${target.row}`;
      if (last.same(frame.data, key)) {
        return Buffer.alloc(0);
      }
      if (width > SIXEL_ENCODER_MAX_WIDTH_PX) {
        throw new VideochatError('E_FRAME_SIZE', `sixel frame ${width} px wide, at most ${SIXEL_ENCODER_MAX_WIDTH_PX}: scale to pixelSize()`);
      }
      if (scratch.width !== width) scratch = encodeScratch(width);
      writer.clear();
      const cellH = target.cellHeightPx;
      const partial = opts.changedRows !== false && cellH !== undefined && cellH > 0 && shownKey === key && sinceFull < SIXEL_FULL_REFRESH_FRAMES;
      let full = true;
      if (partial) {
        const strips = Math.ceil(height / cellH);
        if (changed.length < strips) changed = new Uint8Array(strips);
        if (blocks.length < (width >> SIXEL_CHANGED_BLOCK_SHIFT) + 1) blocks = new Uint16Array((width >> SIXEL_CHANGED_BLOCK_SHIFT) + 1);
        const n = changedStrips(frame, shown, cellH, changed, blocks);
        if (n <= strips * SIXEL_PARTIAL_MAX_SHARE) {
          full = false;
          sinceFull++;
          for (let s = 0; s < strips; s++) {
            if (!changed[s]) continue;
            let e = s;
            while (e + 1 < strips && changed[e + 1]) e++;
            const y0 = s * cellH;
            const y1 = Math.min(height, (e + 1) * cellH);
            quantizer.build(frame, y0, y1);
            writer.ascii(`\x1b[${target.row + s + 1};${target.col + 1}H`);
            encodeSixel(writer, frame, quantizer, scratch, y0, y1);
            shown.set(frame.data.subarray(y0 * width * 3, y1 * width * 3), y0 * width * 3);
            s = e;
          }
        }
      }
      if (full) {
        quantizer.build(frame);
        writer.ascii(`\x1b[${target.row + 1};${target.col + 1}H`);
        encodeSixel(writer, frame, quantizer, scratch);
        if (shown.length !== frame.data.length) shown = new Uint8Array(frame.data.length);
        shown.set(frame.data);
        shownKey = key;
        sinceFull = 0;
      }
      last.remember(frame.data, key);
      return writer.take();
    },
    reset() {
      last.forget();
      shownKey = '';
    },
  };
}
