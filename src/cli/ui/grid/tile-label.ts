/**
 * The text of a tile: its label row (who, mute / camera flags, latency; the active speaker
 * on a green bar) and the message shown in place of a picture. Pure strings with SGR, fitted
 * to the tile's width, so they are tested as data.
 */
import { formatMs } from '../format.js';

export interface TileFacts {
  /** Shown name: the member's, or "you" for the self-view. */
  name: string;
  self: boolean;
  muted?: boolean;
  cameraOff?: boolean;
  noCamera?: boolean;
  noMic?: boolean;
  latencyMs?: number | null;
  /** The highlighted (loudest) speaker. */
  active: boolean;
  /** Its audio counts as speech now (not necessarily the loudest). */
  speaking: boolean;
  /** Its video stopped coming (or never came) with its camera on. */
  stale?: boolean;
}

const SGR_RESET = '\x1b[0m';
/** Black on green: the active speaker's label (not bold: xterm draws bold black as grey). */
export const ACTIVE_LABEL_SGR = '\x1b[0;30;42m';
const NAME_SGR = '\x1b[0;1m';
const FLAG_SGR = '\x1b[0;33m';
const SPEAKING_SGR = '\x1b[0;32m';
const PLAIN_SGR = '\x1b[0;2m';
/** Before the name: the active speaker, another who is speaking, or nobody. */
export const ACTIVE_MARK = '»';
export const SPEAKING_MARK = '·';

/** Flags in a few words, longest first given up. */
function flags(f: TileFacts): string[] {
  const out: string[] = [];
  if (f.noMic) out.push('no mic');
  else if (f.muted) out.push('muted');
  if (f.noCamera) out.push('no camera');
  else if (f.cameraOff) out.push('camera off');
  else if (f.stale) out.push('no video');
  return out;
}

const cut = (text: string, cols: number): string => {
  const chars = [...text];
  if (chars.length <= cols) return text;
  return cols <= 1 ? chars.slice(0, cols).join('') : `${chars.slice(0, cols - 1).join('')}…`;
};

/** The label's plain text (no SGR), exactly `cols` characters: tested on its own. */
export function labelText(f: TileFacts, cols: number): { left: string; flags: string; right: string } {
  if (cols <= 0) return { left: '', flags: '', right: '' };
  const mark = f.active ? ACTIVE_MARK : f.speaking ? SPEAKING_MARK : ' ';
  const flagText = flags(f).join(', ');
  const latency = f.self || f.latencyMs === undefined ? '' : formatMs(f.latencyMs);
  const name = `${mark} ${f.name}`;
  // Everything, then without the latency, then without the flags, then the name cut.
  const tries: Array<[string, string]> = [[flagText, latency], [flagText, ''], ['', '']];
  for (const [fl, right] of tries) {
    const leftWidth = [...name].length + (fl ? 2 + [...fl].length : 0);
    const rightWidth = right ? [...right].length + 1 : 0;
    if (leftWidth + rightWidth <= cols) {
      const pad = cols - leftWidth - rightWidth;
      return { left: name, flags: fl ? `  ${fl}` : '', right: ' '.repeat(pad) + (right ? `${right} ` : '') };
    }
  }
  const left = cut(name, cols);
  return { left, flags: '', right: ' '.repeat(cols - [...left].length) };
}

/** The label with its colours, `cols` cells wide. */
export function renderLabel(f: TileFacts, cols: number): string {
  const t = labelText(f, cols);
  if (cols <= 0) return '';
  if (f.active) return `${ACTIVE_LABEL_SGR}${t.left}${t.flags}${t.right}${SGR_RESET}`;
  const nameSgr = f.speaking ? SPEAKING_SGR : NAME_SGR;
  return `${nameSgr}${t.left}${FLAG_SGR}${t.flags}${PLAIN_SGR}${t.right}${SGR_RESET}`;
}

/** What a tile without a picture says, or null when it shows video. */
export function tileMessage(f: Pick<TileFacts, 'self' | 'cameraOff' | 'noCamera' | 'stale'>, hasFrame: boolean): string | null {
  if (f.noCamera) return 'no camera';
  if (f.cameraOff) return 'camera off';
  if (!hasFrame) return f.self ? 'no video yet' : f.stale ? 'no video' : 'connecting…';
  return null;
}
