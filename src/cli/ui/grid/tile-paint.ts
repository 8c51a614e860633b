/**
 * What goes into a tile's cells: its picture, or the message of a tile without one
 * (`connecting…`, `camera off`), and the label row under it. The label rows and messages
 * sit between the pictures, in rows React gives up, so the grid writes them itself.
 */
import type { RenderTarget, Renderer, RgbFrame } from '../../../codec/render/types.js';
import type { CellBox } from '../fit-video.js';
import { scaleNearest } from '../scale-frame.js';
import { moveTo } from '../terminal-surface.js';
import type { TileId } from './grid-members.js';
import type { TileBox } from './grid-layout.js';
import { renderLabel, tileMessage, type TileFacts } from './tile-label.js';
import { eraseImage } from './tile-renderers.js';

/** A tile on screen. */
export interface Tile {
  box: TileBox;
  target: RenderTarget;
  /** The message on screen in the picture box, or null when it shows video (undefined: nothing yet). */
  message: string | null | undefined;
  /** The label text last written (to skip unchanged ones). */
  label: string;
}

/**
 * The bytes that bring the tile's picture box up to date: the frame (scaled to the
 * renderer's pixel size when it is not), or the message when the tile has no picture to show.
 * `counters.tilesPainted` counts the pictures rendered.
 */
export function paintTile(tile: Tile, renderer: Renderer, facts: TileFacts, frame: RgbFrame | undefined, counters: { tilesPainted: number }): Buffer {
  const message = tileMessage(facts, frame !== undefined);
  if (message !== null) {
    if (tile.message === message) return Buffer.alloc(0);
    tile.message = message;
    // A picture may be there (kitty's sits above the text): remove it, then the words.
    return Buffer.concat([eraseImage(renderer), Buffer.from(messageBox(tile.box.picture, message))]);
  }
  let prefix = '';
  if (tile.message !== null) {
    // Words were there: the renderer's idea of the screen is void.
    renderer.reset();
    if (tile.message !== undefined) prefix = blankBox(tile.box.picture);
    tile.message = null;
  }
  const pixel = renderer.pixelSize(tile.target);
  const sized = frame!.width === pixel.width && frame!.height === pixel.height ? frame! : scaleNearest(frame!, pixel.width, pixel.height);
  counters.tilesPainted++;
  const bytes = renderer.render(sized, tile.target);
  return prefix ? Buffer.concat([Buffer.from(prefix), bytes]) : bytes;
}

/** The label rows that changed since last written ('' when none did). */
export function paintLabels(tiles: ReadonlyMap<TileId, Tile>, factsOf: (id: TileId) => TileFacts): string {
  let out = '';
  for (const [id, tile] of tiles) {
    const text = renderLabel(factsOf(id), tile.box.label.cols);
    if (text === tile.label) continue;
    tile.label = text;
    out += moveTo(tile.box.label.row, tile.box.label.col) + text;
  }
  return out;
}

/** Whether the tiles on screen are the tiles `next` places, in the same boxes. */
export function sameTiles(a: ReadonlyMap<TileId, Tile>, b: ReadonlyMap<TileId, TileBox>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, box] of b) {
    const t = a.get(id);
    if (!t || !sameBox(t.box.picture, box.picture) || !sameBox(t.box.label, box.label)) return false;
  }
  return true;
}

function sameBox(a: CellBox, b: CellBox): boolean {
  return a.col === b.col && a.row === b.row && a.cols === b.cols && a.rows === b.rows;
}

function blankBox(box: CellBox): string {
  let out = '\x1b[0m';
  for (let r = 0; r < box.rows; r++) out += moveTo(box.row + r, box.col) + ' '.repeat(box.cols);
  return out;
}

/** The picture box blanked, with `message` centred in it (dim). */
function messageBox(box: CellBox, message: string): string {
  const text = [...message].slice(0, box.cols).join('');
  const row = box.row + Math.floor((box.rows - 1) / 2);
  const col = box.col + Math.floor((box.cols - [...text].length) / 2);
  return `${blankBox(box)}\x1b[2m${moveTo(row, col)}${text}\x1b[0m`;
}
