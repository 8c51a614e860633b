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
