import { createRenderer } from '../../codec/render/index.js';
import type { RenderMode, Renderer } from '../../codec/render/types.js';
import type { RendererFactory } from './video-painter.js';

/** The codec's renderer for a mode. */
export function defaultRendererFactory(mode: RenderMode): Renderer {
  return createRenderer(mode);
}

/** The modes of `wanted` that `factory` can build, in order (a mode not built yet is skipped). */
export function availableModes(wanted: readonly RenderMode[], factory: RendererFactory): RenderMode[] {
  return wanted.filter((mode) => {
    try {
      factory(mode);
      return true;
    } catch {
      return false;
    }
  });
}
