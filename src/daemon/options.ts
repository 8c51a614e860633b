/**
 * `videochatd` options, exactly as docs/contract.md lists them. Parsing never exits the
 * process: usage errors become a UsageError (exit 2), `--help`/`--version` a HelpShown.
 */
import { availableParallelism, hostname, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../codec/errors.js';
import { DEFAULT_MAX_ROOM_MEMBERS, MAX_ROOM_MEMBERS_LIMIT } from '../codec/room/constants.js';

/** Default TCP port of the video channel (the original server's). */
export const DEFAULT_VIDEO_PORT = 12345;
/** Default TCP port of the audio channel (the original server's). */
export const DEFAULT_AUDIO_PORT = 12346;
export const DEFAULT_HANDSHAKE_TIMEOUT_S = 10;
export const DEFAULT_WAIT_TIMEOUT_S = 600;
export const DEFAULT_MAX_WAITING = 10_000;
export const DEFAULT_MAX_PAIRS = 10_000;
/**
 * Memory one pair costs with --fork-per-pair: a Node process of its own. Measured on Linux,
 * Node 20 (docs/benchmarks.md): 44 MiB resident, of which ~9 MiB its own (PSS; the rest is
 * the shared node binary), and MemAvailable fell by ~20 MiB per pair. The larger figure is
 * the one to plan with.
 */
export const FORK_PER_PAIR_BYTES = 20 * 1024 * 1024;
/** Share of the machine's memory --fork-per-pair's default --max-pairs may plan for. */
export const FORK_PER_PAIR_MEMORY_SHARE = 0.75;

/** The default --max-pairs with --fork-per-pair: what fits in memory, at most DEFAULT_MAX_PAIRS. */
export function forkPerPairMaxPairs(memoryBytes = totalmem()): number {
  return Math.max(1, Math.min(DEFAULT_MAX_PAIRS, Math.floor((memoryBytes * FORK_PER_PAIR_MEMORY_SHARE) / FORK_PER_PAIR_BYTES)));
}
export const DEFAULT_DRAIN_TIMEOUT_S = 30;
/**
 * Connections that have not finished their handshake, all addresses together. A handshake
 * takes one round trip; 1000 at once is far beyond a busy relay and bounds the slow-loris.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1000;
/**
 * Connections one address (IPv6: one /64) holds at once: handshaking, waiting or paired.
 * A client uses two per call; 256 leaves room for a NAT with a hundred calls behind it.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;
/** New connections per second one address may open (token bucket, burst of one second). */
export const DEFAULT_MAX_CONNECTION_RATE_PER_IP = 50;
/** Bytes the daemon holds for one client that has no peer yet (then it stops reading it). */
export const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024;
/** Bounds of --max-buffer-bytes: at least one handshake, at most 64 MiB per connection. */
export const MIN_BUFFER_BYTES = 1024;
export const MAX_BUFFER_BYTES = 64 * 1024 * 1024;
/** Longest timeout an option accepts: Node timers overflow past 2^31-1 ms. */
export const MAX_TIMEOUT_S = 2_147_483;
/** Most handler processes in the pool; more than this on one host only costs memory. */
export const MAX_HANDLERS = 256;
/** Upper bound of --max-waiting / --max-pairs (each pair is two file descriptors). */
export const MAX_CONNECTIONS_LIMIT = 1_000_000;

/** Where the metrics port listens unless --metrics-host says otherwise (never the open internet by default). */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Default TCP port on which nodes of one directory (--redis) splice pairs to each other. */
export const DEFAULT_CLUSTER_PORT = 12347;
/** Shortest cluster secret accepted (bytes of the file, trailing newline removed). */
export const MIN_CLUSTER_SECRET_BYTES = 16;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything the daemon needs, validated; times converted to milliseconds. */
export interface DaemonOptions {
  /** undefined = all interfaces, IPv6 dual-stack with an IPv4 fallback. */
  host: string | undefined;
  videoPort: number;
  audioPort: number;
  handlers: number;
  forkPerPair: boolean;
  handshakeTimeoutMs: number;
  waitTimeoutMs: number;
  maxWaiting: number;
  maxPairs: number;
  /** --max-pairs was not given and --fork-per-pair derived it from memory. */
  maxPairsFromMemory?: boolean;
  /** Connections not yet past their handshake, all addresses together. */
  maxPendingHandshakes: number;
  /** Concurrent connections per address (IPv6 per /64); 0 = no limit. */
  maxConnectionsPerIp: number;
  /** New connections per second per address (IPv6 per /64); 0 = no limit. */
  maxConnectionRatePerIp: number;
  /** Bytes held for a client with no peer yet before the daemon stops reading it. */
  maxBufferBytes: number;
  drainTimeoutMs: number;
  /** Most members of one room (`vcroom1-` codes, docs/rooms.md), 2..32. */
  maxRoomSize: number;
  logLevel: LogLevel;
  metricsPort: number | undefined;
  /** Address of the metrics port (default 127.0.0.1, whatever --host is). */
  metricsHost: string;
  /** With --redis: several nodes share one rendezvous directory. */
  cluster?: ClusterOptions;
}

/** The multi-node settings (`--redis` and the `--cluster-*` options). */
export interface ClusterOptions {
  redisUrl: string;
  secret: Buffer;
  port: number;
  /** Where the cluster port listens; undefined = as --host. */
  host: string | undefined;
  /** What other nodes dial to reach this one. */
  advertiseHost: string;
}

/** `--help` or `--version` was printed: exit 0. */
export class HelpShown extends Error {
  constructor() {
    super('help shown');
    this.name = 'HelpShown';
  }
}

/** The package version, read from package.json (two levels up from src/daemon or dist/daemon). */
export function packageVersion(): string {
  const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(raw) as { version: string }).version;
}

function integer(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    return n;
  };
}

function seconds(value: string): number {
  const trimmed = value.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new InvalidArgumentError('expected seconds (a number >= 0)');
  const n = Number(trimmed);
  if (n > MAX_TIMEOUT_S) throw new InvalidArgumentError(`expected at most ${MAX_TIMEOUT_S} seconds`);
  return n;
}

function positiveSeconds(value: string): number {
  const n = seconds(value);
  if (n <= 0) throw new InvalidArgumentError('expected seconds > 0');
  return n;
}

/** Builds the commander program (also used by the test that compares --help with the man page). */
export function buildProgram(): Command {
  const port = integer(0, 65535);
  return new Command('videochatd')
    .description('Relay for videochat and original VideoChat clients: pairs two clients that present the same session code on a port and relays their bytes both ways; codes starting vcroom1- join a group call room instead (docs/rooms.md).')
    .version(packageVersion(), '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .addOption(new Option('--host <addr>', 'address to listen on (default: all interfaces, IPv4 and IPv6)'))
    .addOption(new Option('--video-port <port>', 'TCP port of the video channel (0 = ephemeral)').argParser(port).default(DEFAULT_VIDEO_PORT))
    .addOption(new Option('--audio-port <port>', 'TCP port of the audio channel (0 = ephemeral)').argParser(port).default(DEFAULT_AUDIO_PORT))
    .addOption(new Option('--handlers <n>', 'handler processes in the pool (default: CPU count)').argParser(integer(1, MAX_HANDLERS)))
    .addOption(new Option('--fork-per-pair', 'fork a fresh handler per channel pair instead of a pool'))
    .addOption(new Option('--handshake-timeout <seconds>', 'drop a client that has not sent its handshake by then').argParser(positiveSeconds).default(DEFAULT_HANDSHAKE_TIMEOUT_S))
    .addOption(new Option('--wait-timeout <seconds>', 'close a waiting client that got no peer by then').argParser(positiveSeconds).default(DEFAULT_WAIT_TIMEOUT_S))
    .addOption(new Option('--max-waiting <n>', 'most clients waiting for a peer at once').argParser(integer(1, MAX_CONNECTIONS_LIMIT)).default(DEFAULT_MAX_WAITING))
    .addOption(new Option('--max-pairs <n>', `most pairs relaying at once (default: ${DEFAULT_MAX_PAIRS}; with --fork-per-pair what fits in memory at ${FORK_PER_PAIR_BYTES / 1024 / 1024} MiB a pair)`).argParser(integer(1, MAX_CONNECTIONS_LIMIT)))
    .addOption(new Option('--max-pending-handshakes <n>', 'most connections still sending their handshake, all addresses together').argParser(integer(1, MAX_CONNECTIONS_LIMIT)).default(DEFAULT_MAX_PENDING_HANDSHAKES))
    .addOption(new Option('--max-connections-per-ip <n>', 'most connections one address (IPv6: one /64) holds at once; 0 = no limit').argParser(integer(0, MAX_CONNECTIONS_LIMIT)).default(DEFAULT_MAX_CONNECTIONS_PER_IP))
    .addOption(new Option('--max-connection-rate-per-ip <n>', 'most new connections per second from one address (IPv6: one /64), bursts of one second; 0 = no limit').argParser(integer(0, MAX_CONNECTIONS_LIMIT)).default(DEFAULT_MAX_CONNECTION_RATE_PER_IP))
    .addOption(new Option('--max-buffer-bytes <n>', 'bytes held for a client that has no peer yet; past this the daemon stops reading it').argParser(integer(MIN_BUFFER_BYTES, MAX_BUFFER_BYTES)).default(DEFAULT_MAX_BUFFER_BYTES))
    .addOption(new Option('--max-room-size <n>', `most members of one group call room (codes starting vcroom1-); the next is told ROOM_FULL (2..${MAX_ROOM_MEMBERS_LIMIT})`).argParser(integer(2, MAX_ROOM_MEMBERS_LIMIT)).default(DEFAULT_MAX_ROOM_MEMBERS))
    .addOption(new Option('--drain-timeout <seconds>', 'on SIGTERM/SIGINT, let active pairs run this long').argParser(seconds).default(DEFAULT_DRAIN_TIMEOUT_S))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics on this port (0 = ephemeral)').argParser(port))
    .addOption(new Option('--metrics-host <addr>', `address the metrics port listens on (default: ${DEFAULT_METRICS_HOST}, whatever --host is)`))
    .addOption(new Option('--redis <url>', 'share one rendezvous directory with other nodes on this Redis (redis://[user:pass@]host:port[/db] or rediss://); env VIDEOCHATD_REDIS'))
    .addOption(new Option('--cluster-secret-file <file>', 'with --redis: file holding the secret all nodes share (at least 16 bytes); authenticates node-to-node links'))
    .addOption(new Option('--cluster-port <port>', `with --redis: TCP port other nodes splice pairs to (default: ${DEFAULT_CLUSTER_PORT}; 0 = ephemeral)`).argParser(port))
    .addOption(new Option('--cluster-host <addr>', 'with --redis: address the cluster port listens on (default: as --host)'))
    .addOption(new Option('--cluster-advertise <host>', 'with --redis: host name or address other nodes dial for this one (default: --cluster-host or --host when specific, else the host name)'))
    .allowExcessArguments(false)
    .showSuggestionAfterError(true);
}

/**
 * Parses argv (without the node and script entries). Throws UsageError (one line, exit 2)
 * or HelpShown (help/version already printed on stdout).
 */
export function parseOptions(argv: readonly string[], out: { write(s: string): void } = process.stdout, env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const program = buildProgram();
  let usageMessage = '';
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => out.write(s),
    // Commander's own text becomes our single stderr line (printed by the bin).
    writeErr: () => {},
    outputError: (s) => {
      usageMessage = s.trim().replace(/^error:\s*/, '').split('\n')[0] ?? s;
    },
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        throw new HelpShown();
      }
      throw new UsageError(usageMessage || err.message.replace(/^error:\s*/, ''));
    }
    throw err;
  }
  const o = program.opts<{
    host?: string;
    videoPort: number;
    audioPort: number;
    handlers?: number;
    forkPerPair?: boolean;
    handshakeTimeout: number;
    waitTimeout: number;
    maxWaiting: number;
    maxPairs?: number;
    maxPendingHandshakes: number;
    maxConnectionsPerIp: number;
    maxConnectionRatePerIp: number;
    maxBufferBytes: number;
    drainTimeout: number;
    maxRoomSize: number;
    logLevel: LogLevel;
    metricsPort?: number;
    metricsHost?: string;
    redis?: string;
    clusterSecretFile?: string;
    clusterPort?: number;
    clusterHost?: string;
    clusterAdvertise?: string;
  }>();
  if (o.host !== undefined && o.host.trim() === '') throw new UsageError('--host must not be empty');
  if (o.metricsHost !== undefined && o.metricsHost.trim() === '') throw new UsageError('--metrics-host must not be empty');
  if (o.metricsHost !== undefined && o.metricsPort === undefined) throw new UsageError('--metrics-host needs --metrics-port');
  const ports = [o.videoPort, o.audioPort, ...(o.metricsPort === undefined ? [] : [o.metricsPort])].filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) throw new UsageError('--video-port, --audio-port and --metrics-port must differ');
  const cluster = clusterOptions(o, env);
  if (cluster && cluster.port !== 0 && [o.videoPort, o.audioPort, o.metricsPort].includes(cluster.port)) {
    throw new UsageError('--cluster-port must differ from --video-port, --audio-port and --metrics-port');
  }
  return {
    ...(cluster ? { cluster } : {}),
    host: o.host,
    videoPort: o.videoPort,
    audioPort: o.audioPort,
    handlers: o.handlers ?? Math.min(MAX_HANDLERS, availableParallelism()),
    forkPerPair: o.forkPerPair === true,
    handshakeTimeoutMs: Math.round(o.handshakeTimeout * 1000),
    waitTimeoutMs: Math.round(o.waitTimeout * 1000),
    maxWaiting: o.maxWaiting,
    maxPairs: o.maxPairs ?? (o.forkPerPair ? forkPerPairMaxPairs() : DEFAULT_MAX_PAIRS),
    ...(o.maxPairs === undefined && o.forkPerPair ? { maxPairsFromMemory: true } : {}),
    maxPendingHandshakes: o.maxPendingHandshakes,
    maxConnectionsPerIp: o.maxConnectionsPerIp,
    maxConnectionRatePerIp: o.maxConnectionRatePerIp,
    maxBufferBytes: o.maxBufferBytes,
    drainTimeoutMs: Math.round(o.drainTimeout * 1000),
    maxRoomSize: o.maxRoomSize,
    logLevel: o.logLevel,
    metricsPort: o.metricsPort,
    metricsHost: o.metricsHost ?? DEFAULT_METRICS_HOST,
  };
}

const isWildcard = (h: string | undefined): boolean => h === undefined || h === '0.0.0.0' || h === '::' || h === '';

function clusterOptions(
  o: { host?: string; redis?: string; clusterSecretFile?: string; clusterPort?: number; clusterHost?: string; clusterAdvertise?: string },
  env: NodeJS.ProcessEnv,
): ClusterOptions | undefined {
  // The URL may carry a password: the environment keeps it out of `ps`.
  const url = o.redis ?? (env.VIDEOCHATD_REDIS || undefined);
  if (url === undefined) {
    for (const [flag, v] of [['--cluster-secret-file', o.clusterSecretFile], ['--cluster-port', o.clusterPort], ['--cluster-host', o.clusterHost], ['--cluster-advertise', o.clusterAdvertise]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} needs --redis`);
    }
    return undefined;
  }
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${url.replace(/\/\/[^@/]*@/, '//***@')}'`);
  if (o.clusterSecretFile === undefined) throw new UsageError('--redis needs --cluster-secret-file (a secret all nodes share)');
  let secret: Buffer;
  try {
    secret = readFileSync(o.clusterSecretFile);
  } catch (err) {
    throw new UsageError(`cannot read --cluster-secret-file ${o.clusterSecretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  secret = Buffer.from(secret.toString('latin1').replace(/\r?\n$/, ''), 'latin1');
  if (secret.length < MIN_CLUSTER_SECRET_BYTES) {
    throw new UsageError(`--cluster-secret-file ${o.clusterSecretFile} holds ${secret.length} bytes; at least ${MIN_CLUSTER_SECRET_BYTES} are needed (e.g. openssl rand -hex 32)`);
  }
  const host = o.clusterHost ?? o.host;
  const advertiseHost = o.clusterAdvertise ?? (!isWildcard(host) ? host! : hostname());
  return { redisUrl: url, secret, port: o.clusterPort ?? DEFAULT_CLUSTER_PORT, host: o.clusterHost, advertiseHost };
}
