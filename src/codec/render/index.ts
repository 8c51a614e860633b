/**
 * Entry point of the renderers: pick one by mode. Every renderer is pure (pixels in, bytes
 * out) and keeps its last frame to redraw only what changed.
 */
import { VideochatError } from '../errors.js';
import { createBlocksRenderer } from './blocks.js';
import type { Renderer, RenderMode } from './types.js';

export type { ColorDepth, Renderer, RenderMode, RenderTarget, RgbFrame } from './types.js';
export { SYNC_BEGIN, SYNC_END, wrapSynchronized } from './sync.js';

/** Every render mode, best picture first (the order `--render auto` prefers and `r` cycles). */
export const RENDER_MODES: readonly RenderMode[] = ['kitty', 'sixel', 'symbols', 'blocks', 'ascii'];

/** Options of `createRenderer` (none yet for most modes; kept for compatible growth). */
export interface RendererOptions {
  /** Wrap graphics escapes for tmux passthrough (sixel, kitty). */
  tmuxPassthrough?: boolean;
}

/** A new renderer for `mode`. Throws E_RENDER_MODE for a mode that does not exist. */
export function createRenderer(mode: RenderMode, _opts: RendererOptions = {}): Renderer {
  switch (mode) {
    case 'blocks':
      return createBlocksRenderer();
    default:
      throw new VideochatError('E_RENDER_MODE', `render mode not available yet: ${String(mode)}`);
  }
}
