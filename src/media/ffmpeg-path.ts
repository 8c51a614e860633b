/**
 * Finds the ffmpeg binary. Order: `--ffmpeg PATH`, then `VIDEOCHAT_FFMPEG`, then the
 * `ffmpeg-static` package (an optional dependency: its install may have failed, so a
 * failing import is normal), then `ffmpeg` on PATH. The first candidate that exists is
 * verified by running `-version`; if none works the error says what was tried.
 */
import { execFile } from 'node:child_process';
import { FatalError } from '../codec/errors.js';

/** `-version` must answer within this time (a wedged binary must not hang startup). */
export const FFMPEG_PROBE_TIMEOUT_MS = 10_000;
export type FfmpegSource = 'flag' | 'env' | 'ffmpeg-static' | 'path';

/** A verified ffmpeg binary. */
export interface ResolvedFfmpeg {
  path: string;
  source: FfmpegSource;
  /** First line of `ffmpeg -version`, e.g. `ffmpeg version 5.1.6 ...`. */
  version: string;
}

/** Where to look, besides the built-in `ffmpeg-static` and PATH. */
export interface ResolveFfmpegOptions {
  /** The `--ffmpeg` option. */
  flag?: string;
  /** The environment (VIDEOCHAT_FFMPEG, PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Skip the ffmpeg-static candidate (tests). */
  skipStatic?: boolean;
}

/** ffmpeg is missing or does not run: exit 7, reason `media`. */
export class FfmpegMissingError extends FatalError {
  constructor(message: string) {
    super('E_FFMPEG_MISSING', message);
    this.name = 'FfmpegMissingError';
  }
}

function runVersion(path: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: FFMPEG_PROBE_TIMEOUT_MS, env }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.split('\n')[0] ?? 'ffmpeg');
    });
  });
}

async function staticCandidate(): Promise<string | undefined> {
  try {
    // The module name is a variable so that TypeScript does not demand its types: it is optional.
    const name = 'ffmpeg-static';
    const mod = (await import(name)) as { default?: unknown };
    return typeof mod.default === 'string' ? mod.default : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves and verifies ffmpeg; throws FfmpegMissingError (E_FFMPEG_MISSING, exit 7) with one clear line. */
export async function resolveFfmpeg(opts: ResolveFfmpegOptions = {}): Promise<ResolvedFfmpeg> {
  const env = opts.env ?? process.env;
  const tried: string[] = [];
  const candidates: Array<{ path: string; source: FfmpegSource }> = [];
  // An explicit choice is final: falling back would hide a typo.
  if (opts.flag) candidates.push({ path: opts.flag, source: 'flag' });
  else if (env.VIDEOCHAT_FFMPEG) candidates.push({ path: env.VIDEOCHAT_FFMPEG, source: 'env' });
  else {
    const fromStatic = opts.skipStatic ? undefined : await staticCandidate();
    if (fromStatic) candidates.push({ path: fromStatic, source: 'ffmpeg-static' });
    candidates.push({ path: 'ffmpeg', source: 'path' });
  }
  for (const c of candidates) {
    try {
      const version = await runVersion(c.path, env);
      return { ...c, version };
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'does not run';
      const label = c.source === 'flag' ? '--ffmpeg' : c.source === 'env' ? 'VIDEOCHAT_FFMPEG' : c.source;
      tried.push(`${label} ${c.path} (${why})`);
    }
  }
  throw new FfmpegMissingError(
    `ffmpeg not found: tried ${tried.join(', ')}; install ffmpeg (e.g. apt install ffmpeg, brew install ffmpeg) or pass --ffmpeg PATH`,
  );
}

/** What an ffmpeg binary can do, for `videochat doctor` / `devices`. */
export interface FfmpegCapabilities {
  encoders: string[];
  decoders: string[];
  /** Input devices (`-devices`, the `D` column), e.g. v4l2, alsa, pulse, lavfi. */
  inputDevices: string[];
}

function runList(path: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', what], { timeout: FFMPEG_PROBE_TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

/** Parses `ffmpeg -encoders`/`-decoders` output (lines like ` V....D mjpeg  MJPEG ...`). */
export function parseCodecList(text: string): string[] {
  const names: string[] = [];
  let body = false;
  for (const line of text.split('\n')) {
    if (/^\s*-+\s*$/.test(line)) {
      body = true;
      continue;
    }
    const m = /^\s*[VAS.][A-Z.]{5}\s+(\S+)/.exec(line);
    if (body && m) names.push(m[1]);
  }
  return names;
}

/** Parses `ffmpeg -devices` output (lines like ` D  v4l2  Video4Linux2 ...`), input devices only. */
export function parseDeviceList(text: string): string[] {
  const names: string[] = [];
  let body = false;
  for (const line of text.split('\n')) {
    if (/^\s*--\s*$/.test(line)) {
      body = true;
      continue;
    }
    const m = /^\s*([D ])([E ])\s+(\S+)/.exec(line);
    if (body && m && m[1] === 'D') names.push(...m[3].split(','));
  }
  return names;
}

/** Lists encoders, decoders and input devices of an ffmpeg binary. */
export async function ffmpegCapabilities(path: string): Promise<FfmpegCapabilities> {
  const [enc, dec, dev] = await Promise.all([runList(path, '-encoders'), runList(path, '-decoders'), runList(path, '-devices')]);
  return { encoders: parseCodecList(enc), decoders: parseCodecList(dec), inputDevices: parseDeviceList(dev) };
}
