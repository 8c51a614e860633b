/**
 * Kitty graphics protocol renderer (kitty, ghostty, wezterm): the frame is sent as raw RGB
 * (f=24), base64 in chunks, and placed over the target cells. The same image id and placement
 * id are reused so each frame replaces the last in place; an identical frame costs nothing.
 * Inside tmux (`placeholders`) each frame goes to a virtual placement instead and the cells
 * hold Unicode placeholders, written once per layout: tmux keeps and redraws them as text.
 * With a `transfer` (a terminal on the same machine) the pixels go through shared memory or
 * a temporary file instead of base64 in the stream: the escape carries only the name.
 */
import { KITTY_DIACRITICS, KITTY_PLACEHOLDER, KITTY_PLACEHOLDER_MAX_CELLS } from './kitty-placeholders.js';
import { LastFrame } from './last-frame.js';
import { ByteWriter } from './writer.js';
import { DEFAULT_CELL_HEIGHT_PX, DEFAULT_CELL_WIDTH_PX } from './cell-size.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

/** Base64 bytes per escape; the protocol requires chunks of at most 4096. */
export const KITTY_CHUNK_BYTES = 4096;
/** Largest frame sent, in pixels: the terminal scales it to the cells, so more only costs bandwidth. */
export const KITTY_MAX_AREA_PX = 640 * 480;
/**
 * Image id of the first kitty renderer; each further renderer takes the next id, so the peer
 * picture and the self-view never replace each other's image.
 */
export const KITTY_IMAGE_ID = 7337;
let nextImageId = KITTY_IMAGE_ID;
const KITTY_PLACEMENT_ID = 1;

/** Kitty renderer options. */
export interface KittyOptions {
  /** Image id to use (default: a new one per renderer, from KITTY_IMAGE_ID up). */
  imageId?: number;
  /**
   * Show the image through Unicode placeholders (inside tmux): each frame goes to a virtual
   * placement, and the cells hold U+10EEEE with the image id in their foreground colour.
   */
  placeholders?: boolean;
  /**
   * How the placeholder cells carry the id: 'truecolor' (24-bit ids, `38;2;r;g;b`) or 256
   * (`38;5;id`, ids 1-255), for a tmux whose outer terminal lacks RGB. Default truecolor.
   */
  placeholderColors?: 'truecolor' | 256;
  /** Send the pixels through shared memory or a file (`t=s` / `t=t`) instead of in the stream. */
  transfer?: KittyTransfer;
}

/**
 * Where the pixels go when not in the stream. `put` stores one frame's bytes and returns what
 * the escape names: a shared-memory object's name (`s`) or a temporary file's path (`t`);
 * the terminal reads it and removes it. It may throw (disk full): that frame goes direct.
 */
export interface KittyTransfer {
  readonly medium: 's' | 't';
  put(data: Uint8Array): string;
}

/** First image id of placeholder renderers with 8-bit ids (two per call: peer and self-view). */
export const KITTY_PLACEHOLDER_ID_256 = 173;
let nextId256 = KITTY_PLACEHOLDER_ID_256;

/**
 * The placeholder text for an image over `target`: per row a cursor move, the id as the
 * foreground colour, then the first cell with its row and column diacritics and the rest
 * bare (kitty takes a bare placeholder after one of the same id and row as the next column).
 */
export function kittyPlaceholderCells(imageId: number, target: RenderTarget, colors: 'truecolor' | 256 = 'truecolor'): Buffer {
  const cols = Math.min(target.cols, KITTY_PLACEHOLDER_MAX_CELLS);
  const rows = Math.min(target.rows, KITTY_PLACEHOLDER_MAX_CELLS);
  const fg = colors === 256 ? `\x1b[38;5;${imageId & 0xff}m` : `\x1b[38;2;${(imageId >> 16) & 0xff};${(imageId >> 8) & 0xff};${imageId & 0xff}m`;
  const bare = String.fromCodePoint(KITTY_PLACEHOLDER);
  const rest = bare.repeat(cols - 1);
  let text = '';
  for (let r = 0; r < rows; r++) {
    text += `\x1b[${target.row + r + 1};${target.col + 1}H${fg}${bare}${String.fromCodePoint(KITTY_DIACRITICS[r], KITTY_DIACRITICS[0])}${rest}`;
  }
  return Buffer.from(`${text}\x1b[39m`, 'utf8');
}

/** Bytes that delete this renderer's image from the terminal (after a mode switch). */
export function kittyDeleteImage(imageId = KITTY_IMAGE_ID): Buffer {
  return Buffer.from(`\x1b_Ga=d,d=I,i=${imageId},q=2\x1b\\`, 'latin1');
}

/** Kitty image size for a target: the cells' pixel area, scaled down to KITTY_MAX_AREA_PX. */
export function kittyPixelSize(target: RenderTarget): { width: number; height: number } {
  const w = target.cols * (target.cellWidthPx ?? DEFAULT_CELL_WIDTH_PX);
  const h = target.rows * (target.cellHeightPx ?? DEFAULT_CELL_HEIGHT_PX);
  const scale = Math.min(1, Math.sqrt(KITTY_MAX_AREA_PX / (w * h)));
  return { width: Math.max(1, Math.floor(w * scale)), height: Math.max(1, Math.floor(h * scale)) };
}

/** Create a kitty graphics renderer. */
export function createKittyRenderer(opts: KittyOptions = {}): Renderer {
  const placeholders = opts.placeholders === true;
  const idColors = opts.placeholderColors ?? 'truecolor';
  // 8-bit ids for 256-colour placeholders; 24-bit ids (all three bytes set, so no SGR is
  // ever read as a palette index) otherwise.
  const imageId = opts.imageId ?? (placeholders && idColors === 256 ? nextId256++ : placeholders ? 0x5a0000 + (nextImageId++ & 0xffff) : nextImageId++);
  const writer = new ByteWriter();
  const last = new LastFrame();
  /** Where the placeholder cells were last written ('' when they must be written again). */
  let cellsKey = '';
  return {
    mode: 'kitty',
    pixelSize: kittyPixelSize,
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const key = `${frame.width}x${frame.height}@${target.col},${target.row}+${target.cols}x${target.rows}`;
      const place = `${target.col},${target.row}+${target.cols}x${target.rows}`;
      if (last.same(frame.data, key) && (!placeholders || cellsKey === place)) return Buffer.alloc(0);
      writer.clear();
      if (!placeholders) writer.ascii(`\x1b[${target.row + 1};${target.col + 1}H`);
      const cols = placeholders ? Math.min(target.cols, KITTY_PLACEHOLDER_MAX_CELLS) : target.cols;
      const rows = placeholders ? Math.min(target.rows, KITTY_PLACEHOLDER_MAX_CELLS) : target.rows;
      const where = placeholders ? 'U=1' : `p=${KITTY_PLACEMENT_ID}`;
      let name: string | undefined;
      try {
        name = opts.transfer?.put(frame.data);
      } catch {
        name = undefined;
      }
      // S: the bytes to read, so the terminal never reads past the frame.
      if (name !== undefined) {
        writer.ascii(`\x1b_Ga=T,f=24,t=${opts.transfer!.medium},S=${frame.data.length},s=${frame.width},v=${frame.height},c=${cols},r=${rows},i=${imageId},${where},q=2,C=1;${Buffer.from(name, 'utf8').toString('base64')}\x1b\\`);
      }
      const b64 = name === undefined ? Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.length).toString('base64') : '';
      for (let off = 0; name === undefined && (off < b64.length || off === 0); off += KITTY_CHUNK_BYTES) {
        const more = off + KITTY_CHUNK_BYTES < b64.length ? 1 : 0;
        // q=2: no replies (they would arrive on stdin as garbage); C=1: the cursor stays put;
        // U=1: a virtual placement, shown where the placeholder cells are.
        const control = off === 0
          ? `a=T,f=24,s=${frame.width},v=${frame.height},c=${cols},r=${rows},i=${imageId},${where},q=2,C=1,m=${more}`
          : `m=${more}`;
        writer.ascii(`\x1b_G${control};${b64.slice(off, off + KITTY_CHUNK_BYTES)}\x1b\\`);
        if (b64.length === 0) break;
      }
      let out = writer.take();
      if (placeholders && cellsKey !== place) {
        out = Buffer.concat([out, kittyPlaceholderCells(imageId, target, idColors)]);
        cellsKey = place;
      }
      last.remember(frame.data, key);
      return out;
    },
    reset() {
      last.forget();
      cellsKey = '';
    },
    clear() {
      last.forget();
      cellsKey = '';
      return kittyDeleteImage(imageId);
    },
  };
}
