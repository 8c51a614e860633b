/**
 * Checks of the files a call reads and writes, made before connecting: a `--record`,
 * `--snapshot` or `--audio-out FILE.wav` that cannot be created, or a `--video-in` /
 * `--audio-in` FILE that is missing or has no such stream, is one line and exit 2 at once,
 * not a call that runs and then ends with no file, raw ffmpeg text or `internal error`.
 */
import { accessSync, closeSync, constants, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../codec/errors.js';
import { probeMedia } from './commands/media-probe.js';

/** What an errno means, in words. */
function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return code ?? (err as Error).message;
  }
}

/**
 * `path` can be written by us: its directory exists, and the file exists and is writable or
 * can be created (tried for real, and removed again: permission bits do not stop root, a
 * read-only or virtual file system does).
 */
export function checkWritableFile(path: string, flag: string): void {
  const dir = dirname(resolve(path));
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new UsageError(`${flag} ${path}: the directory ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new UsageError(`${flag} ${path}: ${dir} is not a directory`);
  let existing;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) throw new UsageError(`${flag} ${path}: it is a directory, not a file`);
  try {
    if (existing) {
      accessSync(path, constants.W_OK);
    } else {
      closeSync(openSync(path, 'wx'));
      unlinkSync(path);
    }
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot write it (${describeErrno(err)})`);
  }
}

/**
 * A media file given as `--video-in` / `--audio-in`: it exists, is readable, and ffmpeg finds
 * the stream we will send in it (a video stream for --video-in, audio for --audio-in).
 */
export async function checkMediaInput(ffmpeg: string, path: string, flag: '--video-in' | '--audio-in'): Promise<void> {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT'
      ? `${flag} ${path}: no such file (or use camera, mic, test or none)`
      : `${flag} ${path}: cannot read it (${describeErrno(err)})`);
  }
  let probe;
  try {
    probe = await probeMedia(ffmpeg, path);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: not a media file ffmpeg can read (${(err as Error).message.replace(/^cannot play [^:]*: /, '')})`);
  }
  if (flag === '--video-in' && !probe.video) throw new UsageError(`${flag} ${path}: the file has no video stream`);
  if (flag === '--audio-in' && !probe.hasAudio) throw new UsageError(`${flag} ${path}: the file has no audio stream`);
}

/** The paths of one `connect`, all checked before it connects. */
export interface CallPaths {
  videoIn: { kind: string; path?: string };
  audioIn: { kind: string; path?: string };
  audioOut: { kind: string; path?: string };
  record?: string;
  snapshot?: string;
}

/** Throws a UsageError (exit 2) for the first path that will not work. */
export async function preflightPaths(ffmpeg: string, p: CallPaths): Promise<void> {
  if (p.record !== undefined) checkWritableFile(p.record, '--record');
  if (p.snapshot !== undefined) checkWritableFile(p.snapshot, '--snapshot');
  if (p.audioOut.kind === 'wav' && p.audioOut.path) checkWritableFile(p.audioOut.path, '--audio-out');
  const inputs: Array<Promise<void>> = [];
  if (p.videoIn.kind === 'file' && p.videoIn.path) inputs.push(checkMediaInput(ffmpeg, p.videoIn.path, '--video-in'));
  if (p.audioIn.kind === 'file' && p.audioIn.path) inputs.push(checkMediaInput(ffmpeg, p.audioIn.path, '--audio-in'));
  const results = await Promise.allSettled(inputs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
