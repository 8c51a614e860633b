/**
 * The `videochat` command line: commands, options and help. Options are parsed as text here
 * and validated by the pure parsers in options.ts, so that flags, `VIDEOCHAT_*` variables and
 * the config file all go through the same checks. Command bodies are imported lazily so that
 * `--help` stays fast and nothing heavy (ffmpeg, speaker, ink) loads before it is needed.
 */
import { Command, Option } from 'commander';
import { loadConfig, envName, configPath, type ConfigValues } from './config.js';
import {
  DEFAULT_AUDIO_PORT, DEFAULT_FPS, DEFAULT_HOST, DEFAULT_SIZE, DEFAULT_VIDEO_PORT, DEFAULT_WAIT_SEC,
  DEFAULT_GRACE_SEC, RENDER_CHOICES, COLORS_CHOICES, VIDEO_CODECS, AUDIO_CODECS,
} from './options.js';
import { VERSION } from './version.js';

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

function opt(flags: string, description: string, envKey?: string): Option {
  const o = new Option(flags, description);
  if (envKey) o.env(envName(envKey));
  return o;
}

/** Options of `connect` (DESIGN.md section 5). Defaults are in the help text and in options.ts. */
function addConnectOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--host <host>', `relay host (default: ${DEFAULT_HOST})`, 'host'))
    .addOption(opt('--video-port <port>', `relay video port (default: ${DEFAULT_VIDEO_PORT})`, 'video-port'))
    .addOption(opt('--audio-port <port>', `relay audio port (default: ${DEFAULT_AUDIO_PORT})`, 'audio-port'))
    .addOption(opt('--session <code>', 'session code shared with the peer (default: a new generated code)', 'session'))
    .addOption(opt('--video-in <src>', 'camera | camera:DEV | test | FILE | none (default: camera)', 'video-in'))
    .addOption(opt('--audio-in <src>', 'mic | mic:DEV | test | FILE | none (default: mic)', 'audio-in'))
    .addOption(opt('--size <WxH>', `capture size in pixels (default: ${DEFAULT_SIZE})`, 'size'))
    .addOption(opt('--fps <n>', `capture frames per second (default: ${DEFAULT_FPS})`, 'fps'))
    .addOption(opt('--video-codec <codec>', `${VIDEO_CODECS.join(' | ')} (default: mjpeg)`, 'video-codec'))
    .addOption(opt('--audio-codec <codec>', `${AUDIO_CODECS.join(' | ')} (default: opus)`, 'audio-codec'))
    .addOption(opt('--render <mode>', `${RENDER_CHOICES.join(' | ')} (default: auto)`, 'render'))
    .addOption(opt('--colors <depth>', `${COLORS_CHOICES.join(' | ')} (default: auto)`, 'colors'))
    .addOption(opt('--cells <COLSxROWS>', 'terminal area to draw in (default: the whole terminal)', 'cells'))
    .addOption(opt('--audio-out <sink>', 'speaker | speaker:PCM | none | FILE.wav (default: speaker)', 'audio-out'))
    .addOption(opt('--record <file.mkv>', "record the peer's video and audio to a Matroska file", 'record'))
    .addOption(opt('--snapshot <file.png>', "save the peer's first decoded frame as PNG, then hang up (exit 0)", 'snapshot'))
    .addOption(opt('--headless', 'no TUI; human-readable progress on stderr', 'headless'))
    .addOption(opt('--json', 'NDJSON events on stdout (implies --headless)', 'json'))
    .addOption(opt('--duration <sec>', 'hang up SEC seconds after the peer joined', 'duration'))
    .addOption(opt('--wait <sec>', `give up when no peer joins within SEC seconds (default: ${DEFAULT_WAIT_SEC})`, 'wait'))
    .addOption(opt('--grace <sec>', `how long a vanished peer may take to come back (default: ${DEFAULT_GRACE_SEC})`, 'grace'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use (env VIDEOCHAT_FFMPEG)', 'ffmpeg'))
    .addOption(opt('--insecure', 'send media without end-to-end encryption', 'insecure'))
    .addOption(opt('--no-reconnect', 'do not reconnect when the relay connection drops', 'reconnect'));
}

/** Fills options the user did not set on the command line or in the environment from the config file. */
function applyConfig(cmd: Command, config: ConfigValues): RawOptions {
  const raw = cmd.opts<RawOptions>();
  for (const option of cmd.options) {
    const key = option.attributeName();
    const long = option.long?.replace(/^--(no-)?/, '') ?? key;
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    if (!(long in config)) continue;
    const value = config[long];
    raw[key] = typeof value === 'boolean' ? (option.negate ? !value : value) : String(value);
  }
  return raw;
}

/**
 * Builds the program. `run` receives the command name, its positional arguments and its
 * merged options, and resolves to the exit status.
 */
export function buildProgram(
  run: (command: string, args: string[], options: RawOptions) => CommandResult,
  setResult: (p: CommandResult) => void,
  env: NodeJS.ProcessEnv = process.env,
): Command {
  let config: ConfigValues | undefined;
  const getConfig = (): ConfigValues => (config ??= loadConfig(env));
  const program = new Command('videochat')
    .description('Video calls in the terminal, through a videochatd relay.')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Exit status: 0 hangup, 2 usage, 3 relay-unreachable, 4 no-peer, 5 peer-lost, 6 protocol,
7 media, 8 key-confirmation, 9 reconnect-failed.
Defaults come from flags, then VIDEOCHAT_<OPTION> variables, then ${configPath(env)}.
See videochat(1).`);

  const action = (name: string) => (...params: unknown[]): void => {
    const cmd = params[params.length - 1] as Command;
    const args = params.slice(0, -2).filter((p): p is string => typeof p === 'string');
    setResult(run(name, args, applyConfig(cmd, getConfig())));
  };

  addConnectOptions(
    program.command('connect').description('call a peer through a relay (both use the same --session code)'),
  ).action(action('connect'));

  program
    .command('play')
    .description('play a video file in the terminal with the same renderers')
    .argument('<file>', 'video file to play')
    .addOption(opt('--render <mode>', `${RENDER_CHOICES.join(' | ')} (default: auto)`, 'render'))
    .addOption(opt('--colors <depth>', `${COLORS_CHOICES.join(' | ')} (default: auto)`, 'colors'))
    .addOption(opt('--cells <COLSxROWS>', 'terminal area to draw in (default: the whole terminal, or 80x24 off a TTY)', 'cells'))
    .addOption(opt('--no-audio', 'do not play the sound track'))
    .addOption(opt('--speed <speed>', '1 (real time) | max (unpaced; implies --no-audio) (default: 1)'))
    .addOption(opt('--audio-out <sink>', 'speaker | speaker:PCM | none | FILE.wav (default: speaker)', 'audio-out'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use (env VIDEOCHAT_FFMPEG)', 'ffmpeg'))
    .action(action('play'));

  program
    .command('demo')
    .description('a local call: a relay on a free port and two synthetic peers (no camera or mic needed)')
    .addOption(opt('--headless', 'no TUI; human-readable progress on stderr'))
    .addOption(opt('--json', "both peers' NDJSON events on stdout, tagged with peer a or b (implies --headless)"))
    .addOption(opt('--duration <sec>', 'end the demo after SEC seconds (default: until q)'))
    .addOption(opt('--render <mode>', `${RENDER_CHOICES.join(' | ')} (default: auto)`, 'render'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use (env VIDEOCHAT_FFMPEG)', 'ffmpeg'))
    .action(action('demo'));

  program
    .command('doctor')
    .description('check ffmpeg, audio output, camera, microphone, terminal and relay; print fixes')
    .addOption(opt('--host <host>', 'also check that this relay is reachable', 'host'))
    .addOption(opt('--video-port <port>', `relay video port (default: ${DEFAULT_VIDEO_PORT})`, 'video-port'))
    .addOption(opt('--audio-port <port>', `relay audio port (default: ${DEFAULT_AUDIO_PORT})`, 'audio-port'))
    .addOption(opt('--json', 'one JSON object on stdout'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use (env VIDEOCHAT_FFMPEG)', 'ffmpeg'))
    .action(action('doctor'));

  program
    .command('devices')
    .description('list the cameras and microphones ffmpeg can open')
    .addOption(opt('--json', 'one JSON object on stdout'))
    .addOption(opt('--ffmpeg <path>', 'ffmpeg binary to use (env VIDEOCHAT_FFMPEG)', 'ffmpeg'))
    .action(action('devices'));

  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash | zsh | fish')
    .action(action('completion'));

  return program;
}
