/**
 * Runs a call or a room the way `connect` shows it: NDJSON on stdout (--json), progress lines
 * on stderr (--headless), or a TUI; the weak-code warning once it is connecting; and, after
 * the TUI gave the screen back, the line that says how it ended.
 */
import type { EventEmitter } from 'node:events';
import type { CommandContext } from '../program.js';
import type { ConnectSettings } from './connect.js';

/** How one kind of session is shown. */
export interface Presentation<S, E> {
  ndjson(session: S, out: NodeJS.WritableStream): void;
  humanLog(session: S, out: NodeJS.WritableStream, opts: { showCode: boolean }): void;
  /** Loads and prepares the TUI; resolves to what starts it on the session. */
  tui(): Promise<(session: S) => Promise<void>>;
  endedLine(ended: E): string;
}

/** What a session's run() resolves to. */
type Ended<S extends { run(): Promise<unknown> }> = Awaited<ReturnType<S['run']>>;

/** Runs `session` to its end under `shown`; resolves to how it ended. */
export async function presentAndRun<S extends { run(): Promise<unknown>; hangup(why?: string): void }>(
  session: S, settings: ConnectSettings, ctx: CommandContext,
  hooks: { started: (s: { hangup(why?: string): void }) => void }, shown: Presentation<NoInfer<S>, Ended<S>>,
): Promise<Ended<S>> {
  if (settings.json) shown.ndjson(session, ctx.stdout);
  if (settings.headless) shown.humanLog(session, ctx.stderr, { showCode: settings.generatedCode || !settings.json });
  if (settings.codeWarning) {
    const message = settings.codeWarning;
    // Both kinds of session emit `connecting` and `warning` with these fields.
    const events = session as unknown as EventEmitter;
    events.once('connecting', () => events.emit('warning', { code: 'W_WEAK_CODE', message }));
  }
  // Every subscriber (the TUI included) is attached before run(): it emits `connecting` at once.
  const uiDone = settings.headless ? undefined : (await shown.tui())(session);
  const ended = session.run();
  hooks.started(session);
  if (uiDone) await uiDone;
  const result = (await ended) as Ended<S>;
  // The screen is restored: say how it ended, as headless mode does (on stderr).
  if (uiDone) ctx.stderr.write(shown.endedLine(result));
  return result;
}
