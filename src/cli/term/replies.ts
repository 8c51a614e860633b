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
 * - OSC 11 `ESC ] 11 ; ? ESC \`: the background colour, reply `ESC ] 11 ; rgb:RRRR/GGGG/BBBB`
 *   ended by ST or BEL (1 to 4 hex digits a channel). tmux 3.3 answers it for its pane when
 *   a window style sets the background; terminals that do not know it stay silent.
 * - XTVERSION `CSI > q`: the terminal's name and version, reply `ESC P > | text ESC \` (e.g.
 *   `iTerm2 3.5.0`, `WezTerm 20240203-...`, `XTerm(379)`, `tmux 3.3a`).
 * - DA1 `CSI c`: every terminal answers `CSI ? attrs c`; attribute 4 means sixel. It is
 *   sent last, so its reply also means "the earlier queries were answered or ignored".
 */

/** The kitty graphics probe image id (any id works; this one is ours). */
export const KITTY_QUERY_ID = 31;

/** The kitty graphics probe (an APC string). */
export const KITTY_QUERY = `\x1b_Gi=${KITTY_QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\`;
/** The background colour query (OSC 11). */
export const BACKGROUND_QUERY = '\x1b]11;?\x1b\\';
/** The queries every terminal gets, DA1 last. */
const PLAIN_QUERIES = `\x1b[14t\x1b[16t\x1b[?2;1;0S${BACKGROUND_QUERY}\x1b[>q\x1b[c`;

/** The bytes that ask every question, DA1 last (the kitty probe first). */
export const CAPABILITY_QUERIES = KITTY_QUERY + PLAIN_QUERIES;

/**
 * The queries for a terminal. Inside a multiplexer (tmux, GNU screen) the kitty probe is left
 * out: both take an APC string (`ESC _ ... ESC \`) as the window title, so the pane would be
 * renamed `Gi=31,...` until something else set it, and neither answers it anyway (inside tmux
 * the outer terminal is known from tmux itself).
 */
export function capabilityQueries(opts: { multiplexer: boolean }): string {
  return opts.multiplexer ? PLAIN_QUERIES : CAPABILITY_QUERIES;
}

/** An RGB colour, 0..255 a channel. */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

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
  /** The background colour (OSC 11). */
  background?: Rgb;
  /** The terminal's name and version (XTVERSION), e.g. `iTerm2 3.5.0`. */
  xtversion?: string;
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
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  const bg = /\x1b\]11;rgba?:([0-9a-f]{1,4})\/([0-9a-f]{1,4})\/([0-9a-f]{1,4})(?:\/[0-9a-f]{1,4})?(?:\x07|\x1b\\)/i.exec(buffer);
  if (bg) out.background = { r: hexChannel(bg[1]), g: hexChannel(bg[2]), b: hexChannel(bg[3]) };
  // eslint-disable-next-line no-control-regex -- terminal replies are escape sequences
  const version = /\x1bP>\|([\x20-\x7e]{1,80})\x1b\\/.exec(buffer);
  if (version) out.xtversion = version[1];
  return out;
}

/** An X11 colour channel of 1 to 4 hex digits scaled to 0..255 (`f` and `ffff` are both 255). */
function hexChannel(hex: string): number {
  return Math.round((parseInt(hex, 16) / (16 ** hex.length - 1)) * 255);
}

/** True when a background colour is light (relative luminance above one half). */
export function isLightColor(c: Rgb): boolean {
  return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b > 127.5;
}

/**
 * The background from `COLORFGBG` (`fg;bg` or `fg;default;bg`, set by rxvt, Konsole and
 * others): palette entries 7 and 9-15 are light, the rest dark. Undefined when absent or odd.
 */
export function backgroundFromColorFgBg(value: string | undefined): 'light' | 'dark' | undefined {
  if (!value) return undefined;
  const last = value.split(';').pop() ?? '';
  if (!/^\d{1,2}$/.test(last)) return undefined;
  const n = Number(last);
  if (n > 15) return undefined;
  return n === 7 || n >= 9 ? 'light' : 'dark';
}
