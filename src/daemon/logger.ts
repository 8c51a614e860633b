/**
 * Daemon logging: pino JSON lines on stdout when it is not a TTY (scripts, journald),
 * pino-pretty on a TTY. Writes are synchronous so the last lines before exit are kept.
 */
import { createHmac, randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './options.js';

export type { Logger } from 'pino';

/** Creates the daemon's root logger. */
export function createLogger(level: LogLevel): Logger {
  const base = { pid: process.pid, name: 'videochatd' };
  if (process.stdout.isTTY) {
    return pino({ level, base }, pretty({ colorize: true, sync: true, destination: 1 }));
  }
  return pino({ level, base }, pino.destination({ dest: 1, sync: true }));
}

/**
 * A logger for the few lines scripts wait for (`listening`): printed whatever the level,
 * as promised in docs/contract.md.
 */
export function alwaysLogger(logger: Logger): Logger {
  return logger.child({}, { level: 'info' });
}

/** Length of the session hash in logs: enough to tell sessions apart, too short to matter. */
export const SESSION_HASH_HEX_CHARS = 12;

/**
 * Hashes session codes for logs so a code never appears in clear. Keyed with a per-process
 * random key: short codes cannot be recovered by hashing guesses, and the video and audio
 * lines of one session still share one hash for the life of the daemon.
 */
export class SessionHasher {
  private readonly key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.key = key;
  }

  hash(code: Uint8Array): string {
    return createHmac('sha256', this.key).update(code).digest('hex').slice(0, SESSION_HASH_HEX_CHARS);
  }
}

