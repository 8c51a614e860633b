/**
 * The renderers of the grid's tiles, one per tile, and the lifecycle of what they leave on
 * screen: each tile has its own renderer of the current mode, so sixel and kitty place one
 * image per tile; a tile that goes away has its picture removed (kitty's image deleted by
 * id) and its renderer kept for the next tile of that mode.
 */
import type { RenderMode, Renderer } from '../../../codec/render/types.js';
import type { RendererFactory } from '../video-painter.js';
import type { TileId } from './grid-members.js';

export class TileRenderers {
  private readonly byTile = new Map<TileId, Renderer>();
  /**
   * Renderers of tiles that went away, by mode, for the next tile: kitty numbers its images
   * per renderer made, and inside tmux (8-bit ids) a long call with members coming and going
   * would run out of ids if every tile made a new one.
   */
  private readonly spare = new Map<RenderMode, Renderer[]>();

  constructor(private readonly create: RendererFactory) {}

  /** The tiles that have a renderer. */
  tiles(): TileId[] {
    return [...this.byTile.keys()];
  }

  /** The tile's renderer, a spare one of `mode` or a new one when it has none yet. */
  get(id: TileId, mode: RenderMode): Renderer {
    let r = this.byTile.get(id);
    if (!r) {
      r = this.spare.get(mode)?.pop() ?? this.create(mode);
      this.byTile.set(id, r);
    }
    return r;
  }

  /** Forget what every renderer drew (the screen under them was cleared). */
  resetAll(): void {
    for (const r of this.byTile.values()) r.reset();
  }

  /** Take the tiles' renderers back: the bytes that remove their pictures; the renderers go spare. */
  release(ids: TileId[]): Buffer {
    const parts: Buffer[] = [];
    for (const id of ids) {
      const renderer = this.byTile.get(id);
      if (!renderer) continue;
      parts.push(eraseImage(renderer));
      this.byTile.delete(id);
      const pool = this.spare.get(renderer.mode) ?? [];
      pool.push(renderer);
      this.spare.set(renderer.mode, pool);
    }
    return Buffer.concat(parts);
  }
}

/**
 * The bytes that remove the renderer's picture (kitty's image sits above the text and stays
 * until deleted; the other modes' pictures are text and go with it), and the renderer told
 * that the screen it drew on is gone.
 */
export function eraseImage(renderer: Renderer): Buffer {
  const bytes = renderer.clear?.() ?? Buffer.alloc(0);
  renderer.reset();
  return bytes;
}
