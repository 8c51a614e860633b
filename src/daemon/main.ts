/**
 * `videochatd` entry: parse options, start the daemon, run until SIGTERM/SIGINT. main()
 * resolves with the exit status or throws (usage, bind, redis: exit-codes.ts); run() turns a
 * throw into its exit status and one line on stderr, for the bin. Never calls process.exit.
 */
import { createLogger } from './logger.js';
import { HelpShown, parseOptions } from './options.js';
import { RelayDaemon } from './daemon.js';
import { DAEMON_EXIT, exitStatusOf } from './exit-codes.js';

export { BindError, RelayDaemon, type ListeningInfo } from './daemon.js';
export { DAEMON_EXIT, exitStatusOf } from './exit-codes.js';
export { parseOptions, buildProgram, type DaemonOptions } from './options.js';

/** Runs the daemon until it has shut down; resolves with the exit status (0). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof HelpShown) return DAEMON_EXIT.ok;
    throw err;
  }
  const logger = createLogger(opts.logLevel);
  const daemon = new RelayDaemon(opts, logger);
  // Handlers go in before the `listening` line is printed: whoever reads it may signal at once,
  // and a SIGTERM with no handler yet would kill the process outright.
  let started = false;
  let early: string | undefined;
  const onSignal = (signal: string): void => {
    if (started) void daemon.shutdown(signal);
    else early ??= signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await daemon.start();
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    throw err;
  }
  started = true;
  if (early) void daemon.shutdown(early);
  // Started with an IPC channel (by `videochat demo`): the parent's end closing means it is
  // gone, even SIGKILLed; shut down as on SIGTERM rather than run on unsupervised.
  const onParentGone = (): void => onSignal('parent-gone');
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', onParentGone);
  }
  await daemon.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('disconnect', onParentGone);
  return DAEMON_EXIT.ok;
}

/**
 * Whether a fatal error should also print its stack trace: `--log-level debug` (or `trace`),
 * read from argv itself because a usage error leaves no parsed options; or VIDEOCHATD_DEBUG=1.
 */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.VIDEOCHATD_DEBUG === '1') return true;
  let level: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--log-level') level = argv[i + 1];
    else if (arg.startsWith('--log-level=')) level = arg.slice('--log-level='.length);
  });
  return level === 'debug' || level === 'trace';
}

/** main() for the bin: resolves with the exit status, a failure written as one line on stderr. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    process.stderr.write(`videochatd: ${err instanceof Error ? err.message : String(err)}\n`);
    if (debugRequested(argv) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitStatusOf(err);
  }
}
