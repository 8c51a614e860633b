/**
 * Defaults from a config file and the environment. Precedence: flag > env > file > built-in.
 *
 * - File: `$XDG_CONFIG_HOME/videochat/config.json` (XDG_CONFIG_HOME defaults to ~/.config),
 *   or the path in `VIDEOCHAT_CONFIG`. A JSON object whose keys are long option names
 *   (`"host"`, `"video-port"`, or camelCase `"videoPort"`), values strings, numbers or booleans.
 * - Environment: `VIDEOCHAT_<OPTION>` with the option name upper-cased and dashes as
 *   underscores, e.g. `VIDEOCHAT_HOST`, `VIDEOCHAT_VIDEO_PORT`.
 *
 * The default file may be absent (no config); a file named by `VIDEOCHAT_CONFIG` must exist,
 * since a typo in that path would otherwise silently drop every setting. An empty file (or
 * `/dev/null`) is an empty config.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../codec/errors.js';

export type ConfigValues = Record<string, string | number | boolean>;

/** Each key of a loaded config (kebab-case) -> the key as written in the file, for messages. */
const writtenKeys = new WeakMap<ConfigValues, Map<string, string>>();

/** How `key` (kebab-case) was written in the file `config` came from. */
export function writtenKey(config: ConfigValues, key: string): string {
  return writtenKeys.get(config)?.get(key) ?? key;
}

/** The config file path that applies for this environment. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIDEOCHAT_CONFIG) return env.VIDEOCHAT_CONFIG;
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'videochat', 'config.json');
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Reads the config file. A missing file is an empty config; an unreadable or invalid one is
 * a usage error naming the file, so that a typo never silently changes behaviour.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConfigValues {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (env.VIDEOCHAT_CONFIG) throw new UsageError(`VIDEOCHAT_CONFIG names ${path}, which does not exist`);
      return {};
    }
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`config file ${path} must hold a JSON object of option names to values`);
  }
  const out: ConfigValues = {};
  const written = new Map<string, string>();
  writtenKeys.set(out, written);
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`config file ${path}: "${key}" must be a string, number or boolean`);
    }
    out[kebab(key)] = value;
    written.set(kebab(key), key);
  }
  return out;
}

/** `video-port` -> `VIDEOCHAT_VIDEO_PORT`. */
export function envName(option: string): string {
  return `VIDEOCHAT_${option.replace(/-/g, '_').toUpperCase()}`;
}
