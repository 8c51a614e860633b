/**
 * Entry point of the renderers: pick one by mode. Every renderer is pure (pixels in, bytes
 * out) and keeps its last frame to redraw only what changed.
 */
import { VideochatError } from '../errors.js';
import { createAsciiRenderer } from './ascii.js';
import { createBlocksRenderer } from './blocks.js';
import { createItermRenderer } from './iterm.js';
import { createKittyRenderer, type KittyTransfer } from './kitty.js';
import { createSixelRenderer } from './sixel.js';
import { createSymbolsRenderer, type SymbolSet } from './symbols.js';
import { wrapTmuxPassthrough } from './tmux.js';
import type { DitherKind } from './dither.js';
import type { Renderer, RenderMode, RenderTarget, RgbFrame } from './types.js';

export type { ColorDepth, Renderer, RenderMode, RenderTarget, RgbFrame } from './types.js';
export { SYNC_BEGIN, SYNC_END, wrapSynchronized } from './sync.js';
export { wrapTmuxPassthrough } from './tmux.js';
export { kittyDeleteImage, kittyPlaceholderCells, type KittyTransfer } from './kitty.js';
export { psnr } from './quality.js';
export { DITHER_KINDS, type DitherKind } from './dither.js';
export { SYMBOL_SETS, type SymbolSet } from './symbols.js';
export { reconstructPixels } from './reconstruct.js';

/** Every render mode, best picture first (the order `--render auto` prefers and `r` cycles). */
export const RENDER_MODES: readonly RenderMode[] = ['kitty', 'iterm', 'sixel', 'symbols', 'blocks', 'ascii'];

/** Modes that draw with characters (and can be reconstructed with `reconstructPixels`). */
export const TEXT_RENDER_MODES: readonly RenderMode[] = ['symbols', 'blocks', 'ascii'];

/** Options of `createRenderer`. */
export interface RendererOptions {
  /** Wrap graphics escapes (sixel, kitty, iterm) for tmux passthrough; text modes ignore it. */
  tmuxPassthrough?: boolean;
  /** Sixel redraws only changed cell rows (default true; needs an exact cell height). */
  sixelChangedRows?: boolean;
  /** Largest sixel image the terminal takes, when it told us (default xterm's 1000x1000). */
  sixelMaxWidthPx?: number;
  sixelMaxHeightPx?: number;
  /** Kitty image id (default KITTY_IMAGE_ID). */
  kittyImageId?: number;
  /** Kitty through Unicode placeholders (inside tmux; with `tmuxPassthrough` for the image data). */
  kittyPlaceholders?: boolean;
  /** Kitty pixels through shared memory or a file (a terminal on this machine); default direct. */
  kittyTransfer?: KittyTransfer;
  /** How placeholder cells carry the image id: truecolor (default) or 256 colours. */
  kittyPlaceholderColors?: 'truecolor' | 256;
  /** The terminal's background is light: ascii inverts its ramp (other modes paint their own background). */
  lightBackground?: boolean;
  /** Dithering of blocks and symbols at 256 and 16 colours (default none). */
  dither?: DitherKind;
  /** Glyph set of the symbols mode (default sextants). */
  symbols?: SymbolSet;
}

/** True when `s` names a render mode. */
export function isRenderMode(s: string): s is RenderMode {
  return (RENDER_MODES as readonly string[]).includes(s);
}

/**
 * Each graphics escape (DCS `ESC P`, APC `ESC _` up to its `ESC \\`; OSC `ESC ]` up to its BEL) in `bytes` wrapped for
 * tmux passthrough; what lies between them (cursor moves) stays outside, so tmux itself
 * places the cursor in the pane before each image.
 */
export function wrapGraphicsForTmux(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let i = 0;
  while (i < bytes.length - 1) {
    if (bytes[i] === 0x1b && (bytes[i + 1] === 0x50 || bytes[i + 1] === 0x5f || bytes[i + 1] === 0x5d)) {
      let end = i + 2;
      if (bytes[i + 1] === 0x5d) {
        while (end < bytes.length && bytes[end] !== 0x07) end++;
        end = Math.min(bytes.length, end + 1);
      } else {
        while (end < bytes.length - 1 && !(bytes[end] === 0x1b && bytes[end + 1] === 0x5c)) end++;
        end = Math.min(bytes.length, end + 2);
      }
      if (i > from) parts.push(bytes.subarray(from, i));
      parts.push(wrapTmuxPassthrough(bytes.subarray(i, end)));
      from = i = end;
      continue;
    }
    i++;
  }
  if (from === 0) return bytes;
  if (from < bytes.length) parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/** A renderer whose graphics escapes are wrapped for tmux passthrough. */
function withPassthrough(inner: Renderer): Renderer {
  return {
    mode: inner.mode,
    pixelSize: (target: RenderTarget) => inner.pixelSize(target),
    render: (frame: RgbFrame, target: RenderTarget) => wrapGraphicsForTmux(inner.render(frame, target)),
    reset: () => inner.reset(),
    clear: inner.clear ? () => wrapTmuxPassthrough(inner.clear?.() ?? Buffer.alloc(0)) : undefined,
  };
}

/** A new renderer for `mode`. Throws E_RENDER_MODE for a mode that does not exist. */
export function createRenderer(mode: RenderMode, opts: RendererOptions = {}): Renderer {
  switch (mode) {
    case 'blocks':
      return createBlocksRenderer({ dither: opts.dither });
    case 'symbols':
      return createSymbolsRenderer({ set: opts.symbols, dither: opts.dither });
    case 'ascii':
      return createAsciiRenderer({ lightBackground: opts.lightBackground });
    case 'sixel': {
      const r = createSixelRenderer({ maxWidthPx: opts.sixelMaxWidthPx, maxHeightPx: opts.sixelMaxHeightPx, changedRows: opts.sixelChangedRows });
      return opts.tmuxPassthrough ? withPassthrough(r) : r;
    }
    case 'iterm': {
      const r = createItermRenderer();
      return opts.tmuxPassthrough ? withPassthrough(r) : r;
    }
    case 'kitty': {
      const r = createKittyRenderer({ imageId: opts.kittyImageId, placeholders: opts.kittyPlaceholders, placeholderColors: opts.kittyPlaceholderColors, transfer: opts.kittyTransfer });
      return opts.tmuxPassthrough ? withPassthrough(r) : r;
    }
    default:
      throw new VideochatError('E_RENDER_MODE', `unknown render mode: ${String(mode)}`);
  }
}
