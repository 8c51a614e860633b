/**
 * TEST-ONLY decoders of what the image renderers write, written from the formats' specs (not
 * from the encoders): a PNG reader (any filter type, 8-bit RGB/RGBA) and the iTerm2 inline
 * image escape (OSC 1337 File=).
 */
import { inflateSync } from 'node:zlib';
import type { RgbFrame } from '../../../src/codec/render/types.js';

/** Decode an 8-bit RGB or RGBA, non-interlaced PNG into RGB; throws on anything else or a bad CRC-free structure. */
export function decodePng(file: Buffer): RgbFrame {
  if (file.subarray(0, 8).toString('latin1') !== '\x89PNG\r\n\x1a\n') throw new Error('not a PNG');
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (pos < file.length) {
    const len = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    const data = file.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0 || (data[9] !== 2 && data[9] !== 6)) throw new Error(`unsupported PNG: depth ${data[8]}, type ${data[9]}`);
      channels = data[9] === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data ${raw.length} bytes, want ${height * (stride + 1)}`);
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels] : 0;
      let p: number;
      if (f === 0) p = 0;
      else if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad filter ${f} on row ${y}`);
      px[y * stride + i] = (x + p) & 255;
    }
  }
  if (channels === 3) return { width, height, data: px };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < px.length; i += 4, j += 3) rgb.set(px.subarray(i, i + 3), j);
  return { width, height, data: rgb };
}

/** One iTerm2 inline image: where the cursor was put, its arguments and its file. */
export interface ItermImage {
  row: number;
  col: number;
  args: Record<string, string>;
  file: Buffer;
}

/** Every `CSI row;col H` + `OSC 1337 ; File=args : base64 BEL|ST` in `bytes`. */
export function decodeIterm(bytes: Buffer): ItermImage[] {
  const text = bytes.toString('latin1');
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  const re = new RegExp('\\x1b\\[(\\d+);(\\d+)H\\x1b\\]1337;File=([^:]*):([A-Za-z0-9+/=]*)(?:\\x07|\\x1b\\\\)', 'g');
  const out: ItermImage[] = [];
  for (const m of text.matchAll(re)) {
    const args = Object.fromEntries(m[3].split(';').map((kv) => kv.split('=') as [string, string]));
    out.push({ row: Number(m[1]) - 1, col: Number(m[2]) - 1, args, file: Buffer.from(m[4], 'base64') });
  }
  return out;
}

/** One kitty graphics command: its control keys and its payload (chunks joined, base64 decoded). */
export interface KittyCommand {
  control: Record<string, string>;
  payload: Buffer;
}

/** Undo tmux passthrough wrapping (`ESC P tmux; ... ESC \`, every ESC inside doubled). */
export function unwrapTmux(text: string): string {
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  return text.replace(/\x1bPtmux;((?:\x1b\x1b|[^\x1b])*)\x1b\\/g, (_, inner: string) => inner.replace(/\x1b\x1b/g, '\x1b'));
}

/** Every kitty graphics command in `bytes` (tmux passthrough undone), chunked transfers joined. */
export function decodeKitty(bytes: Buffer): KittyCommand[] {
  const text = unwrapTmux(bytes.toString('latin1'));
  const out: KittyCommand[] = [];
  let pending: { control: Record<string, string>; b64: string } | null = null;
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
  for (const m of text.matchAll(/\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\/g)) {
    const control = Object.fromEntries(m[1].split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    if (pending) {
      pending.b64 += m[2] ?? '';
    } else {
      pending = { control, b64: m[2] ?? '' };
    }
    if (control.m !== '1') {
      out.push({ control: pending.control, payload: Buffer.from(pending.b64, 'base64') });
      pending = null;
    }
  }
  return out;
}

/** A run of kitty placeholder cells on one screen line. */
export interface PlaceholderRun {
  line: number;
  /** First column of the run on the line. */
  col: number;
  /** Cells in the run. */
  cells: number;
  /** Image id from the foreground colour (24-bit `38;2` or 8-bit `38;5`). */
  imageId: number;
  /** Placement row and first column, from the first cell's diacritics. */
  row: number;
  firstColumn: number;
}

/**
 * Runs of U+10EEEE in screen text with colours (`tmux capture-pane -p -e`): `diacritics` is
 * the protocol's row/column table (index = number).
 */
export function placeholderRuns(screen: string, diacritics: readonly number[]): PlaceholderRun[] {
  const runs: PlaceholderRun[] = [];
  screen.split('\n').forEach((lineText, line) => {
    let fg = -1;
    let col = 0;
    let run: PlaceholderRun | null = null;
    const chars = Array.from(lineText);
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      if (ch === '\x1b') {
        let j = i + 1;
        let seq = '';
        while (j < chars.length && !/[A-Za-z]/.test(chars[j])) seq += chars[j++];
        const final = chars[j] ?? '';
        i = j;
        if (final === 'm') {
          const params = seq.replace(/^\[/, '').split(';').map(Number);
          for (let k = 0; k < params.length; k++) {
            if (params[k] === 0 || params[k] === 39) fg = -1;
            else if (params[k] === 38 && params[k + 1] === 2) { fg = (params[k + 2] << 16) | (params[k + 3] << 8) | params[k + 4]; k += 4; }
            else if (params[k] === 38 && params[k + 1] === 5) { fg = params[k + 2]; k += 2; }
          }
        }
        continue;
      }
      const cp = ch.codePointAt(0) ?? 0;
      if (diacritics.includes(cp)) {
        // A combining mark belongs to the cell before it.
        if (run && run.cells === 1 && run.row < 0) run.row = diacritics.indexOf(cp);
        else if (run && run.cells === 1 && run.firstColumn < 0) run.firstColumn = diacritics.indexOf(cp);
        continue;
      }
      if (cp === 0x10eeee) {
        if (run && run.imageId === fg && run.col + run.cells === col) run.cells++;
        else {
          run = { line, col, cells: 1, imageId: fg, row: -1, firstColumn: -1 };
          runs.push(run);
        }
      } else run = null;
      col++;
    }
  });
  return runs;
}
