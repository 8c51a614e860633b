/**
 * `videochat play`'s arguments: the options checked into PlaySettings (a bad one is a
 * UsageError, exit 2), FILE checked for reading, and the two ffmpeg command lines. No I/O
 * beyond the file check.
 */
import { statSync, accessSync, constants as fsConstants } from 'node:fs';
import { UsageError } from '../../codec/errors.js';
import { DITHER_KINDS, type DitherKind } from '../../codec/render/dither.js';
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE_HZ } from '../../media/args.js';
import { COLORS_CHOICES, RENDER_CHOICES, SYMBOLS_CHOICES, parseAudioOut, parseCells, parseChoice, type AudioOut } from '../options.js';
import type { RawOptions } from '../program.js';

const FFMPEG_COMMON = ['-hide_banner', '-loglevel', 'error', '-nostats', '-nostdin'];

/** Everything `play` needs, validated. */
export interface PlaySettings {
  file: string;
  render: (typeof RENDER_CHOICES)[number];
  colors: (typeof COLORS_CHOICES)[number];
  dither: DitherKind;
  symbols: (typeof SYMBOLS_CHOICES)[number];
  cells?: { cols: number; rows: number };
  paced: boolean;
  audioOut: AudioOut;
  ffmpegFlag?: string;
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** True for inputs ffmpeg opens itself (http://, rtsp://, ...): no file-system check for those. */
function isUrl(file: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(file);
}

/** Throws a UsageError (exit 2) with one line when FILE cannot be opened for reading. */
export function checkReadable(file: string): void {
  if (isUrl(file)) return;
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`${file}: is a directory, not a video file`);
    accessSync(file, fsConstants.R_OK);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`${file}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`${file}: permission denied`);
    throw new UsageError(`${file}: cannot be read (${code ?? (err as Error).message})`);
  }
}

/** Turns raw option values into settings, or throws a UsageError naming the bad option. */
export function resolvePlaySettings(args: string[], raw: RawOptions): PlaySettings {
  const file = args[0];
  if (!file) throw new UsageError('play needs a FILE');
  const speed = str(raw.speed) ?? '1';
  if (speed !== '1' && speed !== 'max') throw new UsageError(`--speed must be 1 or max, got '${speed}'`);
  const paced = speed === '1';
  // --speed max implies --no-audio: sound cannot follow an unpaced picture.
  const requested = parseAudioOut(str(raw.audioOut) ?? 'speaker');
  const audioOut: AudioOut = !paced || raw.audio === false ? { kind: 'none' } : requested;
  return {
    file,
    render: parseChoice(str(raw.render) ?? 'auto', RENDER_CHOICES, '--render'),
    colors: parseChoice(str(raw.colors) ?? 'auto', COLORS_CHOICES, '--colors'),
    dither: parseChoice(str(raw.dither) ?? 'none', DITHER_KINDS, '--dither'),
    symbols: parseChoice(str(raw.symbols) ?? 'auto', SYMBOLS_CHOICES, '--symbols'),
    ...(str(raw.cells) ? { cells: parseCells(str(raw.cells)!) } : {}),
    paced,
    audioOut,
    ...(str(raw.ffmpeg) ? { ffmpegFlag: str(raw.ffmpeg) } : {}),
  };
}

/** The video decoder's command line: rgb24 frames of exactly width x height on stdout. */
export function playVideoArgs(file: string, size: { width: number; height: number }, paced: boolean): string[] {
  return [
    ...FFMPEG_COMMON, ...(paced ? ['-re'] : []), '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `scale=${size.width}:${size.height}:flags=area+full_chroma_int+full_chroma_inp`, '-pix_fmt', 'rgb24', '-fps_mode', 'passthrough',
    '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** The sound decoder's command line: 48 kHz mono s16le on stdout, paced. */
export function playAudioArgs(file: string): string[] {
  return [
    ...FFMPEG_COMMON, '-re', '-i', file, '-map', '0:a:0', '-vn', '-sn', '-dn',
    '-ac', String(AUDIO_CHANNELS), '-ar', String(AUDIO_SAMPLE_RATE_HZ), '-flush_packets', '1', '-f', 's16le', 'pipe:1',
  ];
}
