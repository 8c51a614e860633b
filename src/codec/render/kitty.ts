/**
 * Kitty graphics protocol renderer (kitty, ghostty, wezterm): the frame is sent as raw RGB
 * (f=24), base64 in chunks, and placed over the target cells. The same image id and placement
 * id are reused so each frame replaces the last in place; an identical frame costs nothing.
 */
import { LastFrame } from './last-frame.js';
import { ByteWriter } from './writer.js';
import { DEFAULT_CELL_HEIGHT_PX, DEFAULT_CELL_WIDTH_PX } from './sixel.js';
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
  const imageId = opts.imageId ?? nextImageId++;
  const writer = new ByteWriter();
  const last = new LastFrame();
  return {
    mode: 'kitty',
    pixelSize: kittyPixelSize,
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const key = `${frame.width}x${frame.height}@${target.col},${target.row}+${target.cols}x${target.rows}`;
      if (last.same(frame.data, key)) return Buffer.alloc(0);
      const b64 = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.length).toString('base64');
      writer.clear();
      writer.ascii(`\x1b[${target.row + 1};${target.col + 1}H`);
      for (let off = 0; off < b64.length || off === 0; off += KITTY_CHUNK_BYTES) {
        const more = off + KITTY_CHUNK_BYTES < b64.length ? 1 : 0;
        // q=2: no replies (they would arrive on stdin as garbage); C=1: the cursor stays put.
        const control = off === 0
          ? `a=T,f=24,s=${frame.width},v=${frame.height},c=${target.cols},r=${target.rows},i=${imageId},p=${KITTY_PLACEMENT_ID},q=2,C=1,m=${more}`
          : `m=${more}`;
        writer.ascii(`\x1b_G${control};${b64.slice(off, off + KITTY_CHUNK_BYTES)}\x1b\\`);
        if (b64.length === 0) break;
      }
      last.remember(frame.data, key);
      return writer.take();
    },
    reset() {
      last.forget();
    },
    clear() {
      last.forget();
      return kittyDeleteImage(imageId);
    },
  };
}
