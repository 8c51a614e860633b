/**
 * The two status rows as coloured pieces, fitted to the terminal width: the full wording when
 * it fits, else shorter labels, then without the render mode, then with the session code
 * shortened, so that at 80 columns every state word stays readable instead of being cut
 * (`cam…`). Pure, so the fitting is tested as data.
 */
import type { CallViewState } from './call-state.js';
import { describePeer, formatFps, formatKbps, formatMs } from './format.js';

export type PieceColor = 'green' | 'red' | 'yellow';

/** A run of text in the status bar. */
export interface Piece {
  text: string;
  color?: PieceColor;
  bold?: boolean;
}

/** One status item in its long and short wording. */
export interface Item {
  full: string;
  short: string;
  color?: PieceColor;
}

const WIDE_SEPARATOR = ' │ ';
const NARROW_SEPARATOR = '│';
/** A shortened session code keeps at least this many characters (else it is left out). */
const MIN_CODE_CHARS = 6;

/** Encryption as the user should read it: pending until the key exchange has run. */
export function encryptionItem(state: CallViewState): Item {
  if (state.insecure) return { full: 'NOT encrypted', short: 'NOT encrypted', color: 'red' };
  if (state.encrypted) return { full: 'encrypted', short: 'encrypted', color: 'green' };
  // Nothing has been sent yet: keys are agreed with the peer, once it is there.
  if (state.stats === null || state.phase !== 'in-call') return { full: 'encryption pending', short: 'enc. pending', color: 'yellow' };
  return { full: 'NOT encrypted', short: 'NOT encrypted', color: 'red' };
}

export function micItem(state: Pick<CallViewState, 'noMic' | 'muted'>): Item {
  if (state.noMic) return { full: 'no mic', short: 'no mic', color: 'yellow' };
  if (state.muted) return { full: 'mic muted', short: 'muted', color: 'red' };
  return { full: 'mic on', short: 'mic on' };
}

export function cameraItem(state: Pick<CallViewState, 'noCamera' | 'cameraOff'>): Item {
  if (state.noCamera) return { full: 'no camera', short: 'no cam', color: 'yellow' };
  if (state.cameraOff) return { full: 'camera off', short: 'cam off', color: 'red' };
  return { full: 'camera on', short: 'cam on' };
}

function peerItem(state: CallViewState): Item {
  const text = describePeer(state);
  const color: PieceColor = state.phase === 'in-call'
    ? (text === 'peer live' ? 'green' : 'yellow')
    : 'yellow';
  return { full: text, short: text.replace('waiting for peer', 'waiting').replace('camera', 'cam'), color };
}

const width = (pieces: Piece[]): number => pieces.reduce((n, p) => n + [...p.text].length, 0);

function join(code: string | null, items: Array<{ text: string; color?: PieceColor }>, separator: string): Piece[] {
  const out: Piece[] = [{ text: ' ' }];
  if (code !== null) {
    out.push({ text: code, bold: true });
    out.push({ text: separator });
  }
  items.forEach((item, i) => {
    if (i > 0) out.push({ text: separator });
    out.push({ text: item.text, ...(item.color ? { color: item.color } : {}) });
  });
  return out;
}

/** First status row: session code, peer, encryption, render mode, mic, camera. */
export function statusRowOne(state: CallViewState, cols: number): Piece[] {
  const code = state.session || '…';
  const peer = peerItem(state);
  const enc = encryptionItem(state);
  const mic = micItem(state);
  const cam = cameraItem(state);
  const full = [peer, enc, { full: state.renderMode, short: state.renderMode }, mic, cam];
  const pick = (items: Item[], form: 'full' | 'short') => items.map((i) => ({ text: i[form], ...(i.color ? { color: i.color } : {}) }));
  const tries: Piece[][] = [
    join(code, pick(full, 'full'), WIDE_SEPARATOR),
    join(code, pick(full, 'short'), WIDE_SEPARATOR),
    join(code, pick([peer, enc, mic, cam], 'short'), WIDE_SEPARATOR),
  ];
  for (const t of tries) if (width(t) <= cols) return t;
  // The code is long (a generated one is ~37 characters): keep its start.
  const rest = join(null, pick([peer, enc, mic, cam], 'short'), WIDE_SEPARATOR);
  const room = cols - width(rest) - WIDE_SEPARATOR.length;
  if (room >= MIN_CODE_CHARS) return join(`${[...code].slice(0, room - 1).join('')}…`, pick([peer, enc, mic, cam], 'short'), WIDE_SEPARATOR);
  if (width(rest) <= cols) return rest;
  return join(null, pick([peer, enc, mic, cam], 'short'), NARROW_SEPARATOR);
}

/** Second status row: frame rates and bitrates, round trip, latency, the help key. */
export function statusRowTwo(state: CallViewState, cols: number): Piece[] {
  const s = state.stats;
  const full = [
    ` in ${formatFps(s?.videoFpsIn)} fps ${formatKbps(state.kbpsIn)}`,
    `out ${formatFps(s?.videoFpsOut)} fps ${formatKbps(state.kbpsOut)}`,
    `rtt ${formatMs(s?.rttMs)}`,
    `latency ${formatMs(s?.latencyMs)}`,
    '? help',
  ];
  const compact = (t: string) => t.replace(/ fps/, 'fps').replace(/ (kbps|Mbps)/, '$1').replace(/ ms/, 'ms').replace('latency', 'lat');
  for (const [items, separator] of [[full, WIDE_SEPARATOR], [full.map(compact), WIDE_SEPARATOR], [full.map(compact), NARROW_SEPARATOR]] as const) {
    const text = items.join(separator);
    if ([...text].length <= cols) return [{ text }];
  }
  return [{ text: full.map(compact).join(NARROW_SEPARATOR) }];
}
