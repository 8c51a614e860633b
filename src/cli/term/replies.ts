/**
 * Parsers of the terminal's replies to our capability queries. Pure: bytes in, facts out, so
 * they are tested on recorded replies.
 *
 * Queries and their replies:
 * - kitty graphics query `ESC _ G i=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \`: kitty-protocol
 *   terminals answer `ESC _ G i=31;OK ESC \` (others ignore it).
 * - XTWINOPS 14t: text area in pixels, reply `CSI 4 ; height ; width t`.
 * - XTWINOPS 16t: cell size in pixels, reply `CSI 6 ; height ; width t`.
 * - XTSMGRAPHICS `CSI ? 2 ; 1 ; 0 S`: the sixel graphics area in pixels, reply
 *   `CSI ? 2 ; 0 ; width ; height S`. xterm refuses 14t/16t by default (its window ops are
 *   off) but answers this one with the text area's size capped at its largest sixel image:
 *   recorded from xterm -ti vt340 in 80x30 cells of 6x13: `CSI ? 2 ; 0 ; 480 ; 390 S`.
 * - DA1 `CSI c`: every terminal answers `CSI ? attrs c`; attribute 4 means sixel. It is
 *   sent last, so its reply also means "the earlier queries were answered or ignored".
 */

/** The kitty graphics probe image id (any id works; this one is ours). */
export const KITTY_QUERY_ID = 31;

/** The bytes that ask every question, DA1 last. */
export const CAPABILITY_QUERIES = `\x1b_Gi=${KITTY_QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[14t\x1b[16t\x1b[?2;1;0S\x1b[c`;

/** What the terminal told us. Absent fields: it did not say. */
export interface QueryReplies {
  /** DA1 attributes, e.g. [64, 1, 2, 4, 6] (4 = sixel). */
  da1?: number[];
  /** Text area size in pixels (14t). */
  windowPx?: { width: number; height: number };
  /** Cell size in pixels (16t). */
  cellPx?: { width: number; height: number };
  /** Sixel graphics area in pixels (XTSMGRAPHICS): the text area, capped at the largest sixel image. */
  sixelAreaPx?: { width: number; height: number };
  /** The terminal answered the kitty graphics query with OK. */
  kittyGraphics?: boolean;
}

/** True once `buffer` holds a complete DA1 reply (the end of the replies we wait for). */
export function hasDa1Reply(buffer: string): boolean {
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  return /\x1b\[\?[\d;]*c/.test(buffer);
}

/** Parse whatever replies arrived (in any order, possibly mixed with nothing else). */
export function parseReplies(buffer: string): QueryReplies {
  const out: QueryReplies = {};
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  const da1 = /\x1b\[\?([\d;]*)c/.exec(buffer);
  if (da1) out.da1 = da1[1].split(';').filter((s) => s !== '').map(Number);
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  for (const m of buffer.matchAll(/\x1b\[(4|6);(\d+);(\d+)t/g)) {
    const size = { width: Number(m[3]), height: Number(m[2]) };
    if (size.width <= 0 || size.height <= 0) continue;
    if (m[1] === '4') out.windowPx = size;
    else out.cellPx = size;
  }
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  const sixelArea = /\x1b\[\?2;0;(\d+);(\d+)S/.exec(buffer);
  if (sixelArea && Number(sixelArea[1]) > 0 && Number(sixelArea[2]) > 0) {
    out.sixelAreaPx = { width: Number(sixelArea[1]), height: Number(sixelArea[2]) };
  }
  const kitty = new RegExp(`\\x1b_Gi=${KITTY_QUERY_ID}(?:,[^;]*)?;([^\\x1b]*)\\x1b\\\\`).exec(buffer);
  if (kitty) out.kittyGraphics = kitty[1] === 'OK';
  return out;
}
