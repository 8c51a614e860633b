/**
 * videochatd's exit statuses, the one table the EXIT STATUS section of man/videochatd.8
 * documents (test/daemon/cli.test.ts holds the two together), and the errors that carry them.
 */
import { FatalError, UsageError } from '../codec/errors.js';

/** Exit status by cause. */
export const DAEMON_EXIT = {
  /** Clean shutdown, also after --help and --version. */
  ok: 0,
  /** Anything unexpected (a bug): one line, the stack trace with --log-level debug. */
  failure: 1,
  /** An unknown option or a bad value. */
  usage: 2,
  /** A port could not be bound. */
  bind: 3,
  /** --redis was given and Redis could not be reached at start. */
  redis: 4,
} as const;

/** Exit status 3: a port could not be bound. */
export class BindError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BIND', message, options);
    this.name = 'BindError';
  }
}

/** Exit status 4: --redis was given and Redis could not be reached at start. */
export class DirectoryStartError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS', message, options);
    this.name = 'DirectoryStartError';
  }
}

/** The exit status an error thrown out of the daemon ends it with. */
export function exitStatusOf(err: unknown): number {
  if (err instanceof UsageError) return DAEMON_EXIT.usage;
  if (err instanceof BindError) return DAEMON_EXIT.bind;
  if (err instanceof DirectoryStartError) return DAEMON_EXIT.redis;
  return DAEMON_EXIT.failure;
}
