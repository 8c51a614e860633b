/**
 * NDJSON events for scripts (`--json`): one object per line with `event` and `ts` (ms since
 * the epoch), plus the event's fields. In `demo` every line also carries `peer`.
 */
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from './events.js';

/** The session events that go out as NDJSON (frames never do). */
export const NDJSON_EVENTS = [
  'connecting', 'waiting', 'peer-joined', 'stats', 'warning', 'peer-left', 'reconnecting', 'reconnected', 'ended',
] as const;

/** Formats one event line (with the trailing newline). */
export function ndjsonLine(event: string, fields: object | undefined, extra?: Record<string, unknown>): string {
  return `${JSON.stringify({ event, ts: Date.now(), ...(extra ?? {}), ...(fields ?? {}) })}\n`;
}

/** Writes every NDJSON event of `session` to `out`. Returns a function that detaches. */
export function attachNdjson(
  session: EventEmitter<SessionEvents>,
  out: NodeJS.WritableStream,
  extra?: Record<string, unknown>,
): () => void {
  const detach: Array<() => void> = [];
  for (const name of NDJSON_EVENTS) {
    const listener = (fields?: object): void => {
      out.write(ndjsonLine(name, fields, extra));
    };
    (session as unknown as EventEmitter).on(name, listener);
    detach.push(() => (session as unknown as EventEmitter).off(name, listener));
  }
  return () => detach.forEach((d) => d());
}
