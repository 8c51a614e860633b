/**
 * Pure parsers and validators for `videochat` options. Each throws a UsageError with one
 * clear line; commander turns that into exit 2.
 */
import { UsageError } from '../codec/errors.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_VIDEO_PORT = 12345;
export const DEFAULT_AUDIO_PORT = 12346;
export const DEFAULT_SIZE = '320x240';
export const DEFAULT_FPS = 15;
export const DEFAULT_WAIT_SEC = 600;
/** How long a peer that vanished without BYE may take to come back (docs/resilience.md). */
export const DEFAULT_GRACE_SEC = 30;
/** Nothing from a joined peer for this long (a frozen peer, a relay that stopped forwarding) = lost. */
export const DEFAULT_PEER_TIMEOUT_SEC = 10;
/** The smallest --peer-timeout: a live peer sends something at least every second (PING). */
export const MIN_PEER_TIMEOUT_SEC = 2;
export const MAX_FPS = 60;
export const MAX_CAPTURE_PIXELS = 1920 * 1080;

export type RenderChoice = 'auto' | 'kitty' | 'iterm' | 'sixel' | 'symbols' | 'blocks' | 'ascii' | 'none';
export type ColorsChoice = 'auto' | '16' | '256' | 'truecolor';

/** The codecs `--video-codec` / `--audio-codec` take: the ones a SETUP may name. */
export { AUDIO_CODECS, VIDEO_CODECS, type AudioCodec, type VideoCodec } from '../codec/protocol/messages.js';
export const RENDER_CHOICES: readonly RenderChoice[] = ['auto', 'kitty', 'iterm', 'sixel', 'symbols', 'blocks', 'ascii', 'none'];
export const COLORS_CHOICES: readonly ColorsChoice[] = ['auto', '16', '256', 'truecolor'];
/** `--symbols`: the glyph set of the symbols mode; auto = octants where the terminal is known to draw them. */
export type SymbolsChoice = 'auto' | 'sextants' | 'octants';
export const SYMBOLS_CHOICES: readonly SymbolsChoice[] = ['auto', 'sextants', 'octants'];
/** `--peer-protocol`: ours (encrypted, adaptive) or the original VideoChat client's (docs/protocol.md). */
export type PeerProtocol = 'videochat' | 'original';
export const PEER_PROTOCOLS: readonly PeerProtocol[] = ['videochat', 'original'];
/** `--log-level` of every command; debug adds the stack trace to a fatal error's one line. */
export const LOG_LEVELS = ['info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where video comes from. */
export type VideoIn =
  | { kind: 'camera'; device?: string }
  | { kind: 'test' }
  | { kind: 'file'; path: string }
  | { kind: 'none' };

/** Where audio comes from. */
export type AudioIn =
  | { kind: 'mic'; device?: string }
  | { kind: 'test' }
  | { kind: 'file'; path: string }
  | { kind: 'none' };

/** Where received audio goes. */
export type AudioOut =
  | { kind: 'speaker'; device?: string }
  | { kind: 'none' }
  | { kind: 'wav'; path: string };

export function parsePort(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a port number 0-65535, got '${value}'`);
  const n = Number(value);
  if (n > 65535) throw new UsageError(`${name} must be a port number 0-65535, got '${value}'`);
  return n;
}

/** A non-negative number of seconds (fractions allowed). */
export function parseSeconds(value: string, name: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${name} must be a number of seconds >= 0, got '${value}'`);
  return Number(value);
}

/** --peer-timeout: 0 (off) or at least MIN_PEER_TIMEOUT_SEC seconds. */
export function parsePeerTimeout(value: string): number {
  const sec = parseSeconds(value, '--peer-timeout');
  if (sec !== 0 && sec < MIN_PEER_TIMEOUT_SEC) {
    throw new UsageError(`--peer-timeout must be 0 (off) or at least ${MIN_PEER_TIMEOUT_SEC} seconds, got '${value}'`);
  }
  return sec;
}

export function parsePositiveInt(value: string, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${name} must be a whole number from 1 to ${max}, got '${value}'`);
  }
  return Number(value);
}

/** `WIDTHxHEIGHT` in pixels: even numbers (codecs want them), within MAX_CAPTURE_PIXELS. */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) throw new UsageError(`--size must look like 320x240, got '${value}'`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 16 || height < 16 || width % 2 || height % 2 || width * height > MAX_CAPTURE_PIXELS) {
    throw new UsageError(`--size must be even numbers, at least 16x16 and at most 1920x1080 pixels, got '${value}'`);
  }
  return { width, height };
}

/** `COLSxROWS` in terminal cells. */
export function parseCells(value: string): { cols: number; rows: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m || Number(m[1]) < 4 || Number(m[2]) < 2 || Number(m[1]) > 1000 || Number(m[2]) > 500) {
    throw new UsageError(`--cells must look like 80x24 (4x2 to 1000x500), got '${value}'`);
  }
  return { cols: Number(m[1]), rows: Number(m[2]) };
}

export function parseChoice<T extends string>(value: string, choices: readonly T[], name: string): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${name} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return value as T;
}

export function parseVideoIn(value: string): VideoIn {
  if (value === 'camera') return { kind: 'camera' };
  if (value.startsWith('camera:') && value.length > 7) return { kind: 'camera', device: value.slice(7) };
  if (value === 'test') return { kind: 'test' };
  if (value === 'none') return { kind: 'none' };
  if (value === '' || value === 'camera:') throw new UsageError(`--video-in must be camera, camera:DEVICE, test, a file or none`);
  return { kind: 'file', path: value };
}

export function parseAudioIn(value: string): AudioIn {
  if (value === 'mic') return { kind: 'mic' };
  if (value.startsWith('mic:') && value.length > 4) return { kind: 'mic', device: value.slice(4) };
  if (value === 'test') return { kind: 'test' };
  if (value === 'none') return { kind: 'none' };
  if (value === '' || value === 'mic:') throw new UsageError(`--audio-in must be mic, mic:DEVICE, test, a file or none`);
  return { kind: 'file', path: value };
}

export function parseAudioOut(value: string): AudioOut {
  if (value === 'speaker') return { kind: 'speaker' };
  if (value.startsWith('speaker:') && value.length > 8) return { kind: 'speaker', device: value.slice(8) };
  if (value === 'none') return { kind: 'none' };
  if (/\.wav$/i.test(value)) return { kind: 'wav', path: value };
  throw new UsageError(`--audio-out must be speaker, speaker:PCM, none or a FILE.wav, got '${value}'`);
}

/** Session codes travel in the relay handshake: 1..1024 bytes of UTF-8. */
export function parseSession(value: string): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 1 || bytes > 1024) throw new UsageError(`--session must be 1 to 1024 bytes, got ${bytes}`);
  return value;
}
