/**
 * Kitty's shared-memory and temporary-file transfers (`t=s`, `t=t`) for a terminal on this
 * machine: each frame's pixels go into a file whose name the escape carries, and the terminal
 * reads and removes it, so the stream carries ~100 bytes instead of the frame in base64.
 *
 * Who removes a file the terminal never reads (not kitty after all, a terminal on another
 * machine, a frame dropped)? We do: at most KITTY_TRANSFER_MAX_PENDING of ours exist at a
 * time (older ones are removed when a new one is written; ENOENT means the terminal took it),
 * the rest go on `close()` and at process exit, and a start sweeps files left by videochat
 * processes that died without either.
 */
import { closeSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../codec/errors.js';
import type { KittyTransfer } from '../../codec/render/kitty.js';
import type { TermEnv } from './choose.js';

/** Frames written and not yet known to be read; older ones are removed. */
export const KITTY_TRANSFER_MAX_PENDING = 4;
/** Where POSIX shared-memory objects live on Linux (glibc's shm_open opens files here). */
export const SHM_DIR = '/dev/shm';
/** Kitty reads a temporary file only when its path contains this. */
const TEMP_MARK = 'tty-graphics-protocol';
const PREFIX = `videochat-${TEMP_MARK}-`;

/** How kitty frames travel: in the stream, through shared memory or through a temporary file. */
export type KittyMedium = 'direct' | 'shm' | 'file';
const MEDIA: readonly string[] = ['direct', 'shm', 'file'];

/** A transfer with its clean-up. */
export interface KittyFileTransfer extends KittyTransfer {
  /** Paths written and maybe not read yet. */
  pending(): readonly string[];
  /** Remove every file still there. Idempotent. */
  close(): void;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already: the terminal read it (or a sweep did).
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove files of ours in `dir` whose process is gone. */
export function sweepStale(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(PREFIX) ? /^(\d+)-/.exec(name.slice(PREFIX.length)) : null;
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) unlinkQuietly(join(dir, name));
  }
}

/**
 * A transfer through `medium` ('shm': a file in /dev/shm named by its shm name; 'file': a file
 * in the temp directory named by its path). `dir` is for tests.
 */
export function createKittyFileTransfer(medium: 'shm' | 'file', opts: { dir?: string; maxPending?: number } = {}): KittyFileTransfer {
  const dir = opts.dir ?? (medium === 'shm' ? SHM_DIR : tmpdir());
  const maxPending = opts.maxPending ?? KITTY_TRANSFER_MAX_PENDING;
  const written: string[] = [];
  let seq = 0;
  let closed = false;
  sweepStale(dir);
  const close = () => {
    closed = true;
    for (const path of written.splice(0)) unlinkQuietly(path);
    process.removeListener('exit', close);
  };
  process.once('exit', close);
  return {
    medium: medium === 'shm' ? 's' : 't',
    put(data: Uint8Array): string {
      if (closed) throw new Error('kitty transfer closed');
      const name = `${PREFIX}${process.pid}-${seq++}`;
      const path = join(dir, name);
      // 0600: only we (and the terminal, running as us) may read the picture.
      const fd = openSync(path, 'wx', 0o600);
      try {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      } catch (err) {
        closeSync(fd);
        unlinkQuietly(path);
        throw err;
      }
      closeSync(fd);
      written.push(path);
      while (written.length > maxPending) unlinkQuietly(written.shift()!);
      // shm_open names start with a slash; glibc maps `/name` to /dev/shm/name.
      return medium === 'shm' ? `/${name}` : path;
    },
    pending: () => [...written],
    close,
  };
}

/**
 * The medium for kitty frames. `VIDEOCHAT_KITTY_TRANSFER=direct|shm|file` forces one; else
 * shared memory only when the terminal is surely on this machine and surely kitty itself
 * (`KITTY_WINDOW_ID` or `TERM=xterm-kitty`; on Linux, not over ssh, not inside tmux or screen,
 * whose client may be elsewhere), direct otherwise. A bad value is a UsageError (exit 2).
 */
export function kittyTransferMedium(env: TermEnv, platform: NodeJS.Platform = process.platform): KittyMedium {
  const forced = env.VIDEOCHAT_KITTY_TRANSFER;
  if (forced && forced !== 'auto') {
    if (!MEDIA.includes(forced)) throw new UsageError(`VIDEOCHAT_KITTY_TRANSFER must be one of auto, ${MEDIA.join(', ')}, got '${forced}'`);
    return forced as KittyMedium;
  }
  const remote = Boolean(env.SSH_CONNECTION || env.SSH_CLIENT || env.SSH_TTY);
  const multiplexed = Boolean(env.TMUX || env.STY);
  const kitty = Boolean(env.KITTY_WINDOW_ID) || env.TERM === 'xterm-kitty';
  return platform === 'linux' && !remote && !multiplexed && kitty ? 'shm' : 'direct';
}

/** The transfer for a medium, or undefined for direct. */
export function kittyTransferFor(medium: KittyMedium): KittyFileTransfer | undefined {
  return medium === 'direct' ? undefined : createKittyFileTransfer(medium);
}
