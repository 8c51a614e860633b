/**
 * `videochatd` entry: parse options, start the daemon, run until SIGTERM/SIGINT. Returns the
 * exit status; throws FatalError (usage: 2, bind: 3) for the bin to map. Never calls
 * process.exit itself.
 */
import { createLogger } from './logger.js';
import { HelpShown, parseOptions } from './options.js';
import { RelayDaemon } from './daemon.js';

export { BindError, RelayDaemon, type ListeningInfo } from './daemon.js';
export { parseOptions, buildProgram, type DaemonOptions } from './options.js';

/** Runs the daemon until it has shut down; resolves with the exit status (0). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof HelpShown) return 0;
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
  return 0;
}
