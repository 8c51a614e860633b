/**
 * Everything that means "the user is gone, end the call": SIGINT, SIGTERM, SIGHUP (the
 * terminal closed), our stdout closed under us (`videochat connect --json | head -n 1`: EPIPE;
 * a terminal that went away: EIO) and the IPC channel to our parent closing (`demo` was
 * killed, even by SIGKILL). Each ends the call the same clean way: the caller's `onHangup`
 * says BYE and the call's `ended` follows. From the first trigger on, errors of stdout,
 * stderr and stdin are absorbed: writing to a closed pipe or a dead terminal is never a crash.
 */

/** The signals that end a call as a hang-up (never a signal death: BYE and `ended` must go out). */
export const HANGUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface HangupWatchOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
  /** Called once, on the first trigger, with a few words for `ended.message`. */
  onHangup: (why: string) => void;
}

export interface HangupWatch {
  /** Set once stdout failed: write nothing more to it. */
  readonly stdoutGone: boolean;
  /** Removes every handler (the streams' error absorbers stay: a late EPIPE must not crash). */
  stop(): void;
}

const absorb = (): void => undefined;

/** Arms the triggers; `stop()` when the call is over. */
export function watchHangup(opts: HangupWatchOptions): HangupWatch {
  let fired = false;
  let stdoutGone = false;
  const fire = (why: string): void => {
    if (fired) return;
    fired = true;
    opts.onHangup(why);
  };
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    stdoutGone = true;
    fire(err.code === 'EPIPE' ? 'stdout was closed' : `stdout failed (${err.code ?? err.message})`);
  };
  // stderr only carries progress lines: losing it is no reason to end the call.
  const onStdinError = (): void => fire('the terminal went away');
  const signalHandlers = HANGUP_SIGNALS.map((signal) => {
    const handler = (): void => fire(`${signal} received`);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const onDisconnect = (): void => fire('the parent process is gone');
  // A parent that gave us an IPC channel (demo) watches us; its end closing means it died.
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', onDisconnect);
  }
  opts.stdout.on('error', onStdoutError);
  opts.stderr.on('error', absorb);
  opts.stdin?.on('error', onStdinError);
  return {
    get stdoutGone() {
      return stdoutGone;
    },
    stop() {
      for (const [signal, handler] of signalHandlers) process.off(signal, handler);
      process.off('disconnect', onDisconnect);
      opts.stdout.off('error', onStdoutError);
      opts.stdin?.off('error', onStdinError);
      opts.stdout.on('error', absorb);
      opts.stdin?.on('error', absorb);
    },
  };
}
