/**
 * The group call's two status rows, fitted to the width like the one-to-one call's: session
 * code, how many are in the room (and how many the grid shows), encryption, render mode,
 * mic, camera; then frame rates, the worst member latency and the help key.
 */
import { cameraItem, micItem, type Item, type Piece } from '../status-line.js';
import { formatFps, formatMs } from '../format.js';
import type { RoomViewState } from './room-state.js';

const WIDE = ' │ ';
const NARROW = '│';

function encryption(state: RoomViewState): Item {
  if (state.insecure) return { full: 'NOT encrypted', short: 'NOT encrypted', color: 'red' };
  if (state.encrypted) return { full: 'encrypted', short: 'encrypted', color: 'green' };
  return { full: 'encryption pending', short: 'enc. pending', color: 'yellow' };
}

function roomItem(state: RoomViewState, shown: number): Item {
  switch (state.phase) {
    case 'connecting':
      return { full: 'connecting', short: 'connecting', color: 'yellow' };
    case 'waiting':
      return { full: 'waiting for others', short: 'waiting', color: 'yellow' };
    case 'ended':
      return { full: 'ended', short: 'ended', color: 'yellow' };
    case 'in-room': {
      const n = state.members.length;
      const hidden = n + (state.selfView ? 1 : 0) - shown;
      const who = `${n + 1} in room`;
      return hidden > 0
        ? { full: `${who} (${hidden} not shown)`, short: `${who} (-${hidden})`, color: 'yellow' }
        : { full: who, short: who, color: 'green' };
    }
  }
}

const len = (pieces: Piece[]) => pieces.reduce((n, p) => n + [...p.text].length, 0);

function join(code: string | null, items: Item[], form: 'full' | 'short', sep: string): Piece[] {
  const out: Piece[] = [{ text: ' ' }];
  if (code !== null) out.push({ text: code, bold: true }, { text: sep });
  items.forEach((item, i) => {
    if (i > 0) out.push({ text: sep });
    out.push({ text: item[form], ...(item.color ? { color: item.color } : {}) });
  });
  return out;
}

/** First row. `shown`: tiles the grid shows now (members and the self-view). */
export function roomStatusRowOne(state: RoomViewState, cols: number, shown: number): Piece[] {
  const code = state.session || '…';
  const room = roomItem(state, shown);
  const mode: Item = { full: state.renderMode, short: state.renderMode };
  const all = [room, encryption(state), mode, micItem(state), cameraItem(state)];
  const lean = [room, encryption(state), micItem(state), cameraItem(state)];
  const tries = [join(code, all, 'full', WIDE), join(code, all, 'short', WIDE), join(code, lean, 'short', WIDE), join(null, lean, 'short', WIDE)];
  for (const t of tries) if (len(t) <= cols) return t;
  return join(null, lean, 'short', NARROW);
}

/** Second row: rates, the highest member latency, the help key. */
export function roomStatusRowTwo(state: RoomViewState, cols: number): Piece[] {
  const s = state.stats;
  const latencies = (s?.members ?? []).map((m) => m.latencyMs).filter((ms): ms is number => typeof ms === 'number');
  const worst = latencies.length ? Math.max(...latencies) : null;
  const full = [` in ${formatFps(s?.videoFpsIn)} fps`, `out ${formatFps(s?.videoFpsOut)} fps`, `latency max ${formatMs(worst)}`, '? help'];
  const compact = full.map((t) => t.replace(/ fps/, 'fps').replace(/ ms/, 'ms').replace('latency max', 'lat'));
  for (const [items, sep] of [[full, WIDE], [compact, WIDE], [compact, NARROW]] as const) {
    const text = items.join(sep);
    if ([...text].length <= cols) return [{ text }];
  }
  return [{ text: compact.join(NARROW) }];
}
