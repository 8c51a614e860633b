/**
 * Where each option's value came from (a flag, `VIDEOCHAT_<OPTION>`, or the config file), so
 * that an error about a bad value names the place the user must edit, not a flag they never
 * typed: `VIDEOCHAT_VIDEO_PORT (for --video-port) must be a port number ...`.
 */
import { UsageError } from '../codec/errors.js';

/** Merged option values -> long flag (`video-port`) -> where its value came from. */
const sources = new WeakMap<object, Map<string, string>>();

/** Notes that the value of `--flag` in `raw` came from `where` (a variable name, or a key in a file). */
export function recordSource(raw: object, flag: string, where: string): void {
  let map = sources.get(raw);
  if (!map) {
    map = new Map();
    sources.set(raw, map);
  }
  map.set(flag, where);
}

/** Where the value of `--flag` came from, or undefined for a flag on the command line or a default. */
export function sourceOf(raw: object, flag: string): string | undefined {
  return sources.get(raw)?.get(flag);
}

/**
 * A UsageError whose message starts with `--flag` (the option parsers' form) for a value that
 * came from the environment or the config file is rewritten to name that source first.
 * Anything else is returned unchanged.
 */
export function blameSource(err: unknown, raw: object): unknown {
  if (!(err instanceof UsageError)) return err;
  const m = /^--([a-z][a-z0-9-]*)\b/.exec(err.message);
  if (!m) return err;
  const where = sourceOf(raw, m[1]);
  if (!where) return err;
  return new UsageError(`${where} (for --${m[1]})${err.message.slice(m[0].length)}`);
}
