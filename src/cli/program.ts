/**
 * The `videochat` command line: commands, options and help. Options are parsed as text here
 * and validated by the pure parsers in options.ts, so that flags, `VIDEOCHAT_*` variables and
 * the config file all go through the same checks. Command bodies are imported lazily so that
 * `--help` stays fast and nothing heavy (ffmpeg, speaker, ink) loads before it is needed.
 */
import { DITHER_KINDS } from '../codec/render/dither.js';
import { Command, Option } from 'commander';
import { loadConfig, envName, configPath, writtenKey, type ConfigValues } from './config.js';
import { blameSource, recordSource } from './option-source.js';
import {
  DEFAULT_AUDIO_PORT, DEFAULT_FPS, DEFAULT_HOST, DEFAULT_SIZE, DEFAULT_VIDEO_PORT, DEFAULT_WAIT_SEC,
  DEFAULT_GRACE_SEC, DEFAULT_PEER_TIMEOUT_SEC, RENDER_CHOICES, COLORS_CHOICES, SYMBOLS_CHOICES, VIDEO_CODECS, AUDIO_CODECS, PEER_PROTOCOLS, LOG_LEVELS,
} from './options.js';
import { exitStatusSummary } from './exit-codes.js';
import { VERSION } from './version.js';
import { UsageError } from '../codec/errors.js';

/** Raw option values as commander hands them over (strings, booleans, undefined). */
export type RawOptions = Record<string, string | boolean | undefined>;

/** What a command body receives. */
export interface CommandContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

/** A command body resolves to the process exit status. */
export type CommandResult = Promise<number>;

/**
 * An option that also takes its default from `VIDEOCHAT_<OPTION>` (named after the long flag as
 * written, so `--no-reconnect` reads `VIDEOCHAT_NO_RECONNECT`). Commander shows the variable in
 * `--help`; applyConfig does the actual reading, so that boolean values are parsed, not just
 * tested for presence.
 */
function opt(flags: string, description: string): Option {
  const o = new Option(flags, description);
  if (o.long) o.env(envName(o.long.replace(/^--/, '')));
  return o;
}

/** How the picture is drawn, for `connect` and `play` alike. */
function addPictureOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--render <mode>', `${RENDER_CHOICES.join(' | ')} (default: auto)`))
    .addOption(opt('--colors <depth>', `${COLORS_CHOICES.join(' | ')} (default: auto)`))
    .addOption(opt('--dither <kind>', `${DITHER_KINDS.join(' | ')}: dither blocks and symbols at 256 and 16 colours (default: none)`))
    .addOption(opt('--symbols <set>', `${SYMBOLS_CHOICES.join(' | ')}: glyphs of --render symbols; auto = octants where the terminal draws them (default: auto)`));
}

/** Options of `connect` (docs/contract.md). Defaults are in the help text and in options.ts. */
function addConnectOptions(cmd: Command): Command {
  return addPictureOptions(cmd
    .addOption(opt('--host <host>', `relay host (default: ${DEFAULT_HOST})`))
    .addOption(opt('--video-port <port>', `relay video port (default: ${DEFAULT_VIDEO_PORT})`))
    .addOption(opt('--audio-port <port>', `relay audio port (default: ${DEFAULT_AUDIO_PORT})`))
    .addOption(opt('--session <code>', 'session code shared with the peer (default: a new generated code)'))
    .addOption(opt('--video-in <src>', 'camera | camera:DEV | test | FILE | none (default: camera)'))
    .addOption(opt('--audio-in <src>', 'mic | mic:DEV | test | FILE | none (default: mic)'))
    .addOption(opt('--size <WxH>', `capture size in pixels (default: ${DEFAULT_SIZE})`))
    .addOption(opt('--fps <n>', `capture frames per second (default: ${DEFAULT_FPS})`))
    .addOption(opt('--video-codec <codec>', `${VIDEO_CODECS.join(' | ')} (default: mjpeg)`))
    .addOption(opt('--audio-codec <codec>', `${AUDIO_CODECS.join(' | ')} (default: opus)`)))
    .addOption(opt('--cells <COLSxROWS>', 'terminal area to draw in (default: the whole terminal)'))
    .addOption(opt('--audio-out <sink>', 'speaker | speaker:PCM | none | FILE.wav (default: speaker)'))
    .addOption(opt('--record <file.mkv>', "record the peer's video and audio to a Matroska file (exit 7 when it fails mid-call)"))
    .addOption(opt('--snapshot <file.png>', "save the peer's first decoded frame as PNG, then hang up (exit 0)"))
    .addOption(opt('--headless', 'no TUI; human-readable progress on stderr'))
    .addOption(opt('--json', 'NDJSON events on stdout (implies --headless)'))
    .addOption(opt('--duration <sec>', 'hang up SEC seconds after the peer joined'))
    .addOption(opt('--wait <sec>', `give up when no peer joins within SEC seconds (default: ${DEFAULT_WAIT_SEC})`))
    .addOption(opt('--grace <sec>', `how long a vanished peer may take to come back; in a room, how long the relay may stay away (default: ${DEFAULT_GRACE_SEC})`))
    .addOption(opt('--peer-timeout <sec>',
      `nothing from the peer for SEC seconds (frozen, or the relay stopped forwarding): it is lost, --grace runs; 0 = off (default: ${DEFAULT_PEER_TIMEOUT_SEC})`))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use'))
    .addOption(opt('--insecure', 'send media without end-to-end encryption'))
    .addOption(opt('--peer-protocol <name>',
      `${PEER_PROTOCOLS.join(' | ')}: original calls the original VideoChat client (code in clear, NOT encrypted, no reconnect) (default: videochat)`))
    .addOption(opt('--no-reconnect', 'do not reconnect when the relay connection drops'))
    .addOption(opt('--room', 'a group call: everyone with the same --session code joins one room (up to the relay\'s --max-room-size)'))
    .addOption(opt('--name <text>', 'with --room: the name the other members see (default: none)'))
    .addOption(opt('--no-echo-cancel', "do not cancel the speaker's echo in what the mic sends (on by default when the canceller is built)"));
}

/** Words accepted for a boolean option in `VIDEOCHAT_*` or the config file. */
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

function parseBooleanText(text: string, where: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new UsageError(`${where} must be 1, true, yes, on or 0, false, no, off; got '${text}'`);
}

/**
 * The value of one option from the config file, or undefined when the file does not set it.
 * A negatable flag such as `--no-reconnect` can be written either way round in the file:
 * `"no-reconnect": true` or `"reconnect": false`.
 */
function configValue(option: Option, config: ConfigValues, file: string): { value: string | boolean; key: string } | undefined {
  const flag = option.long?.replace(/^--/, '') ?? option.attributeName();
  const isBoolean = !option.required && !option.optional;
  const read = (key: string): { value: string | boolean; key: string } | undefined => {
    const value = config[key];
    if (value === undefined) return undefined;
    const where = `"${writtenKey(config, key)}" in ${file}`;
    if (isBoolean) return { value: typeof value === 'boolean' ? value : parseBooleanText(String(value), where), key };
    if (typeof value === 'boolean') throw new UsageError(`${where} needs a value, not ${value}`);
    return { value: String(value), key };
  };
  const direct = read(flag);
  if (direct !== undefined) return option.negate ? { ...direct, value: !direct.value } : direct;
  if (option.negate) return read(flag.replace(/^no-/, ''));
  return undefined;
}

/**
 * Merges the three sources of an option, first found wins: the command line, then
 * `VIDEOCHAT_<OPTION>` in `env`, then the config file, then the built-in default. Commander
 * reads the environment too, but only from process.env and only as "present or not" for
 * flags (so `VIDEOCHAT_INSECURE=0` would turn encryption off); values are therefore re-read
 * here from `env`, and booleans parsed.
 */
function applyConfig(cmd: Command, config: ConfigValues, env: NodeJS.ProcessEnv): RawOptions {
  const raw = cmd.opts<RawOptions>();
  for (const option of cmd.options) {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli') continue;
    const isBoolean = !option.required && !option.optional;
    const envText = option.envVar ? env[option.envVar] : undefined;
    if (option.envVar && envText !== undefined) {
      const value = isBoolean ? parseBooleanText(envText, option.envVar) : envText;
      // For a negated flag the variable is named after the flag: VIDEOCHAT_NO_RECONNECT=1 -> reconnect false.
      raw[key] = isBoolean && option.negate ? !value : value;
      if (option.long) recordSource(raw, option.long.replace(/^--/, ''), option.envVar);
      continue;
    }
    const file = configPath(env);
    const fromFile = configValue(option, config, file);
    if (fromFile !== undefined) {
      raw[key] = fromFile.value;
      if (option.long) recordSource(raw, option.long.replace(/^--/, ''), `"${writtenKey(config, fromFile.key)}" in ${file}`);
    } else if (source === 'env') {
      // Commander saw a variable in process.env that `env` does not have: back to the default.
      raw[key] = option.negate ? true : (option.defaultValue as string | boolean | undefined);
    }
  }
  return raw;
}

/** Keys of the config file that are no option of any command (a typo would otherwise be silently ignored). */
function unknownConfigKeys(program: Command, config: ConfigValues): string[] {
  const known = new Set<string>();
  for (const cmd of program.commands) {
    for (const option of cmd.options) {
      const flag = option.long?.replace(/^--/, '');
      if (!flag) continue;
      known.add(flag);
      if (option.negate) known.add(flag.replace(/^no-/, ''));
    }
  }
  return Object.keys(config).filter((k) => !known.has(k));
}

/**
 * Commander's error (`error: unknown option '--hots'` and maybe a second line `(Did you mean
 * --host?)`) as one line in our form: `videochat: unknown option '--hots' (did you mean
 * --host?); see videochat connect --help`.
 */
export function oneLineUsageError(text: string, command: string): string {
  const body = text.trim().replace(/^error:\s*/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
    .replace('(Did you mean', '(did you mean');
  return `videochat: ${body}; see videochat ${command ? `${command} ` : ''}--help\n`;
}

/**
 * Builds the program. `run` receives the command name, its positional arguments and its
 * merged options, and resolves to the exit status.
 */
export function buildProgram(
  run: (command: string, args: string[], options: RawOptions) => CommandResult,
  setResult: (p: CommandResult) => void,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => undefined,
): Command {
  let config: ConfigValues | undefined;
  const getConfig = (): ConfigValues => {
    if (config) return config;
    config = loadConfig(env);
    const unknown = unknownConfigKeys(program, config);
    if (unknown.length) {
      const keys = unknown.map((k) => `"${writtenKey(config!, k)}"`).join(', ');
      warn(`warning: ${configPath(env)}: unknown key${unknown.length > 1 ? 's' : ''} ${keys} (not an option of any command); ignored`);
    }
    return config;
  };
  const program = new Command('videochat')
    .description('Video calls in the terminal, through a videochatd relay.')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .addHelpText('after', `
Exit status: ${exitStatusSummary()}.
Debug output: --log-level debug on any command (or VIDEOCHAT_LOG_LEVEL=debug, VIDEOCHAT_DEBUG=1).
Defaults come from flags, then VIDEOCHAT_<OPTION> variables, then ${configPath(env)}.
See videochat(1).`);

  const action = (name: string) => (...params: unknown[]): void => {
    const cmd = params[params.length - 1] as Command;
    const args = params.slice(0, -2).filter((p): p is string => typeof p === 'string');
    const raw = applyConfig(cmd, getConfig(), env);
    setResult(run(name, args, raw).catch((err: unknown) => {
      throw blameSource(err, raw);
    }));
  };

  addConnectOptions(
    program.command('connect').description('call a peer through a relay (both use the same --session code)'),
  ).action(action('connect'));

  addPictureOptions(program
    .command('play')
    .description('play a video file in the terminal with the same renderers')
    .argument('<file>', 'video file to play'))
    .addOption(opt('--cells <COLSxROWS>', 'terminal area to draw in (default: the whole terminal, or 80x24 off a TTY)'))
    .addOption(opt('--no-audio', 'do not play the sound track'))
    .addOption(opt('--speed <speed>', '1 (real time) | max (unpaced; implies --no-audio) (default: 1)'))
    .addOption(opt('--audio-out <sink>', 'speaker | speaker:PCM | none | FILE.wav (default: speaker)'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use'))
    .action(action('play'));

  program
    .command('demo')
    .description('a local call: a relay on a free port and two synthetic peers (no camera or mic needed)')
    .addOption(opt('--headless', 'no TUI; human-readable progress on stderr'))
    .addOption(opt('--json', "both peers' NDJSON events on stdout, tagged with peer a or b (implies --headless)"))
    .addOption(opt('--duration <sec>', 'end the demo after SEC seconds (default: until q)'))
    .addOption(opt('--render <mode>', `${RENDER_CHOICES.join(' | ')} (default: auto)`))
    .addOption(opt('--audio-out <sink>', "where peer a plays b's tone: speaker | speaker:PCM | none | FILE.wav (default: speaker; none headless)"))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use'))
    .action(action('demo'));

  program
    .command('doctor')
    .description('check ffmpeg, audio output, camera, microphone, terminal and relay; print fixes')
    .addOption(opt('--host <host>', 'also check that this relay is reachable (exit 3 when it is not)'))
    .addOption(opt('--video-port <port>', `relay video port (default: ${DEFAULT_VIDEO_PORT})`))
    .addOption(opt('--audio-port <port>', `relay audio port (default: ${DEFAULT_AUDIO_PORT})`))
    .addOption(opt('--json', 'one JSON object on stdout'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use'))
    .action(action('doctor'));

  program
    .command('devices')
    .description('list the cameras and microphones ffmpeg can open')
    .addOption(opt('--json', 'one JSON object on stdout'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use'))
    .action(action('devices'));

  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash | zsh | fish')
    .action(action('completion'));

  // One way to ask for debug output, as videochatd has it.
  for (const cmd of program.commands) {
    cmd.addOption(opt('--log-level <level>', `${LOG_LEVELS.join(' | ')}: debug also prints the stack trace of a fatal error (default: info)`));
  }
  return program;
}
