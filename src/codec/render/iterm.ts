/**
 * iTerm2 inline images (OSC 1337 File=), spoken by iTerm2, WezTerm, mintty, Konsole and VS
 * Code's terminal (with images on): each frame is a PNG (lossless, truecolor), base64, shown
 * over the target's cells (`width`/`height` in cells, stretched to them: the frame already has
 * the cells' shape). An identical frame costs nothing.
 */
import { LastFrame } from './last-frame.js';
import { PngEncoder } from './png.js';
import { DEFAULT_CELL_HEIGHT_PX, DEFAULT_CELL_WIDTH_PX } from './cell-size.js';
import type { Renderer, RenderTarget, RgbFrame } from './types.js';

/** Largest frame sent, in pixels: the terminal scales it to the cells, more only costs time and bytes. */
export const ITERM_MAX_AREA_PX = 640 * 480;

/** iTerm2 image size for a target: the cells' pixel area, scaled down to ITERM_MAX_AREA_PX. */
export function itermPixelSize(target: RenderTarget): { width: number; height: number } {
  const w = target.cols * (target.cellWidthPx ?? DEFAULT_CELL_WIDTH_PX);
  const h = target.rows * (target.cellHeightPx ?? DEFAULT_CELL_HEIGHT_PX);
  const scale = Math.min(1, Math.sqrt(ITERM_MAX_AREA_PX / (w * h)));
  return { width: Math.max(1, Math.floor(w * scale)), height: Math.max(1, Math.floor(h * scale)) };
}

/** Create an iTerm2 inline-image renderer. */
export function createItermRenderer(): Renderer {
  const png = new PngEncoder();
  const last = new LastFrame();
  return {
    mode: 'iterm',
    pixelSize: itermPixelSize,
    render(frame: RgbFrame, target: RenderTarget): Buffer {
      const key = `${frame.width}x${frame.height}@${target.col},${target.row}+${target.cols}x${target.rows}`;
      if (last.same(frame.data, key)) return Buffer.alloc(0);
      const file = png.encode(frame);
      // doNotMoveCursor=1 (iTerm2 3.5, WezTerm): the cursor stays, so an image on the last
      // rows does not scroll the screen; older terminals ignore the key.
      const head = `\x1b[${target.row + 1};${target.col + 1}H\x1b]1337;File=inline=1;size=${file.length};width=${target.cols};height=${target.rows};preserveAspectRatio=0;doNotMoveCursor=1:`;
      const out = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(file.toString('base64'), 'latin1'), Buffer.from('\x07', 'latin1')]);
      last.remember(frame.data, key);
      return out;
    },
    reset() {
      last.forget();
    },
  };
}
