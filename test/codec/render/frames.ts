/** Test frames: tiny hand-made ones, and real ffmpeg lavfi frames. */
import { execFileSync } from 'node:child_process';
import type { RgbFrame } from '../../../src/codec/render/types.js';

const FFMPEG_TIMEOUT_MS = 30_000;

/** A frame from rows of [r, g, b] pixels. */
export function frameOf(rows: [number, number, number][][]): RgbFrame {
  const height = rows.length;
  const width = rows[0].length;
  return { width, height, data: Uint8Array.from(rows.flat(2)) };
}

/** One frame of an ffmpeg lavfi source at 640x480, area-scaled to width x height (as the decoder does). */
export function lavfiFrame(source: string, width: number, height: number): RgbFrame {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `${source}=size=640x480`, '-frames:v', '1',
    '-vf', `scale=${width}:${height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: 64 << 20 });
  return { width, height, data: new Uint8Array(raw) };
}

/** Code points of the printable characters in terminal bytes (escapes removed). */
export function glyphsOf(bytes: Uint8Array): Set<number> {
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is being removed
  const text = Buffer.from(bytes).toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  return new Set(Array.from(text, (c) => c.codePointAt(0) ?? 0));
}
