/**
 * Puts the terminal into the call screen's modes (or `play`'s) and guarantees they are undone
 * on every way out: a normal end, SIGINT / SIGTERM / SIGHUP, an uncaught exception, process
 * exit. `restore()` is idempotent, so every path may call it.
 */
import { writeSync } from 'node:fs';

const ESC = '\x1b';
/** Alternate screen on, cursor hidden, cleared, cursor home. */
export const ENTER_SEQUENCE = `${ESC}[?1049h${ESC}[?25l${ESC}[H${ESC}[2J`;
/**
 * End any synchronized update, reset colours, mouse reporting off (every mode we or a
 * renderer might have set), bracketed paste off, cursor visible, alternate screen off.
 */
export const RESTORE_SEQUENCE =
  `${ESC}[?2026l${ESC}[0m${ESC}[?1000l${ESC}[?1002l${ESC}[?1003l${ESC}[?1006l${ESC}[?2004l` +
  `${ESC}[?25h${ESC}[?1049l`;

/**
 * `play`'s modes: the main screen, cursor hidden and the screen cleared; at the end colours
 * reset, the cursor shown on the row below the picture (`belowRow()`, 1-based), where the
 * shell prompt then comes, so the last picture stays.
 */
export function mainScreenSequences(belowRow: () => number): { enter: string; restore: () => string } {
  return { enter: `${ESC}[?25l${ESC}[2J`, restore: () => `${ESC}[0m${ESC}[${belowRow()};1H${ESC}[?25h\n` };
}

/** The signals that end a call politely instead of killing it. */
export const GUARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type GuardedSignal = (typeof GUARDED_SIGNALS)[number];

/** The parts of a stdout stream the guard uses. */
export interface GuardOutput {
  write(data: string): unknown;
  isTTY?: boolean;
  fd?: number;
}

/** The parts of a stdin stream the guard uses. */
export interface GuardInput {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface TerminalGuardOptions {
  stdout: GuardOutput;
  stdin?: GuardInput;
  /**
   * Called on the first SIGINT/SIGTERM/SIGHUP: the caller ends the call cleanly and then
   * calls `restore()`. A second signal restores at once and re-raises it. Without this
   * callback a signal restores and re-raises at once.
   */
  onSignal?: (signal: GuardedSignal) => void;
  /** Install process-wide handlers (signals, exit, crash). Tests of a fake stream turn it off. */
  handleProcess?: boolean;
  /**
   * What enter() and restore() write; default the call screen's ENTER_SEQUENCE and
   * RESTORE_SEQUENCE. `play` draws on the main screen and leaves its last picture there.
   */
  sequences?: { enter: string; restore: () => string };
}

export class TerminalGuard {
  private entered = false;
  private restored = false;
  private signalled = false;
  private readonly detach: Array<() => void> = [];

  constructor(private readonly options: TerminalGuardOptions) {}

  /** Alternate screen, hidden cursor, handlers armed. Call once. */
  enter(): void {
    if (this.entered) return;
    this.entered = true;
    if (this.options.handleProcess !== false) this.armProcessHandlers();
    this.writeNow(this.options.sequences?.enter ?? ENTER_SEQUENCE);
  }

  get isRestored(): boolean {
    return this.restored;
  }

  /** Puts the terminal back as it was. Safe to call any number of times, from anywhere. */
  restore(): void {
    if (!this.entered || this.restored) return;
    this.restored = true;
    try {
      this.writeNow(this.options.sequences?.restore() ?? RESTORE_SEQUENCE);
    } finally {
      const stdin = this.options.stdin;
      if (stdin?.isTTY && stdin.setRawMode) {
        try {
          stdin.setRawMode(false);
        } catch {
          // stdin may already be destroyed on the way out; the sequence above was the priority.
        }
      }
      for (const undo of this.detach.splice(0)) undo();
    }
  }

  private armProcessHandlers(): void {
    const onExit = () => this.restore();
    // The monitor runs before Node prints the crash, so the stack lands on the normal screen.
    const onCrash = () => this.restore();
    process.on('exit', onExit);
    process.on('uncaughtExceptionMonitor', onCrash);
    this.detach.push(() => {
      process.off('exit', onExit);
      process.off('uncaughtExceptionMonitor', onCrash);
    });
    for (const signal of GUARDED_SIGNALS) {
      const onSig = () => this.handleSignal(signal);
      process.on(signal, onSig);
      this.detach.push(() => process.off(signal, onSig));
    }
  }

  private handleSignal(signal: GuardedSignal): void {
    if (this.options.onSignal && !this.signalled) {
      this.signalled = true;
      this.options.onSignal(signal);
      return;
    }
    this.restore();
    // Our handler is gone now, so re-raising gives the default: the process ends by that signal.
    process.kill(process.pid, signal);
  }

  /**
   * A real terminal gets a synchronous write: on `exit` or after a crash there is no later
   * tick in which a queued write could still go out.
   */
  private writeNow(data: string): void {
    if (data === '') return;
    const out = this.options.stdout;
    if (out.isTTY && typeof out.fd === 'number') {
      try {
        writeSync(out.fd, data);
        return;
      } catch {
        // Fall back to the stream (e.g. EAGAIN on a non-blocking descriptor).
      }
    }
    out.write(data);
  }
}
