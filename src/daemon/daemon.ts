/**
 * The acceptor: listens on the video and audio ports, reads each client's handshake without
 * ever blocking the accept loop, pairs clients per port through a PairingDirectory, and hands
 * each pair (sockets + bytes already read) to the handler pool. Also serves metrics and runs
 * the graceful shutdown.
 */
import net, { type Server, type Socket } from 'node:net';
import http from 'node:http';
import { once } from 'node:events';
import { FatalError } from '../codec/errors.js';
import { HandshakeError, HandshakeReader, type HandshakeResult } from '../codec/handshake.js';
import type { Channel, PairEndReason } from './ipc.js';
import { HandlerPool, type ActivePair } from './handler-pool.js';
import { addressKey, ConnectionCounter, LIMITS_PRUNE_INTERVAL_MS, LogThrottle, RateLimiter } from './limits.js';
import { alwaysLogger, SessionHasher, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { FORK_PER_PAIR_BYTES, FORK_PER_PAIR_MEMORY_SHARE, forkPerPairMaxPairs, type DaemonOptions } from './options.js';
import { totalmem } from 'node:os';
import { MemoryPairingDirectory, type PairingDirectory } from './pairing.js';
import { ClusterNode, type ClusterHost } from './cluster/node.js';
import { RedisUnavailableError } from './cluster/directory.js';
import { FD_HEADROOM, FDS_PER_PAIR, openFds, raiseNofile, type NofileLimit } from './fd-limits.js';
import { MAX_PENDING_LINKS } from './cluster/node.js';
import { connectionKey, departed } from './tcp-state.js';

/** listen() backlog (the original used 10, far too few for bursts). */
export const LISTEN_BACKLOG_CONNECTIONS = 511;
/**
 * Idle time before TCP keepalive probes start on every client connection (the kernel then
 * probes every net.ipv4.tcp_keepalive_intvl, 75 s by default, 9 times). Without it, a pair
 * whose two hosts vanished without a FIN (suspended laptop, NAT entry expired) and that sends
 * nothing would be held forever; with it such a pair ends as `errory` in about 12 minutes.
 * The setting is on the socket itself, so it survives the hand-over to a handler.
 */
export const TCP_KEEPALIVE_IDLE_MS = 60_000;
/** Connections the metrics port holds at once; more are closed on arrival (and counted). */
export const METRICS_MAX_CONNECTIONS = 16;
/** A metrics connection idle (or still sending its request) this long is closed. */
export const METRICS_IDLE_TIMEOUT_MS = 10_000;
/** After the drain timeout cut, how long handlers get to report their pairs' ends. */
export const CUT_REPORT_GRACE_MS = 2000;
/** How often shutdown checks whether the last pair has finished. */
const DRAIN_POLL_MS = 50;
/** How often held-back rejection lines are summarised (and, every few ticks, limits pruned). */
const LIMITS_TICK_MS = 1000;

/** Why a waiter never got a peer. `shutdown`: the daemon stopped while it waited. */
export type WaiterEndReason = 'lonely' | 'impatient' | 'shutdown';

/**
 * Rejections and handshake failures, each a stable reason code in logs and metrics.
 * `E_TOO_MANY_PENDING`: --max-pending-handshakes; `E_IP_CONN_LIMIT`: --max-connections-per-ip;
 * `E_IP_RATE_LIMIT`: --max-connection-rate-per-ip; `E_IP_PENDING_LIMIT`: one address holds its
 * share (PENDING_SHARE_PER_IP) of --max-pending-handshakes; `E_FD_LIMIT`: no handler has a file
 * descriptor left for the pair (RLIMIT_NOFILE).
 */
export type RejectReason =
  | HandshakeError['code']
  | 'E_TOO_MANY_WAITING'
  | 'E_TOO_MANY_PAIRS'
  | 'E_TOO_MANY_PENDING'
  | 'E_IP_CONN_LIMIT'
  | 'E_IP_RATE_LIMIT'
  | 'E_IP_PENDING_LIMIT'
  | 'E_FD_LIMIT';

/**
 * One address (IPv6: one /64) may hold at most this share of --max-pending-handshakes, so
 * taking the whole table takes this many addresses, not ceil(1000/256) = 4.
 */
export const PENDING_SHARE_PER_IP = 1 / 16;

/** Code of the start-up warning that the descriptor limit cannot hold what the limits allow. */
export const FD_LIMIT_WARNING = 'W_FD_LIMIT';
/** Code of the start-up warning that --fork-per-pair with --max-pairs cannot fit in memory. */
export const FORK_MEMORY_WARNING = 'W_FORK_MEMORY';
/** Code of the (throttled) line logged when accepting fails for want of descriptors. */
export const FD_EXHAUSTED_WARNING = 'W_FD_EXHAUSTED';

/** Reason code of the line logged when a waiting client reaches --max-buffer-bytes. */
export const BUFFER_LIMIT_REASON = 'E_BUFFER_LIMIT';

/** The `listening` line's fields. */
export interface ListeningInfo {
  videoPort: number;
  audioPort: number;
  metricsPort: number | null;
  /** With --metrics-port: the address it listens on. */
  metricsHost?: string;
  pid: number;
  /** With --redis: the cluster port and this node's id in the directory. */
  clusterPort?: number;
  nodeId?: string;
  /** The soft RLIMIT_NOFILE after start (null: unlimited; absent: unknown, not Linux). */
  fdLimit?: number | null;
}

/** Exit status 4: --redis was given and Redis could not be reached at start. */
export class DirectoryStartError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS', message, 4, 'redis', options);
    this.name = 'DirectoryStartError';
  }
}

/** Exit status 3: a port could not be bound. */
export class BindError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BIND', message, 3, 'bind', options);
    this.name = 'BindError';
  }
}

interface Waiter {
  channel: Channel;
  socket: Socket;
  key: string;
  session: string;
  rest: Buffer[];
  restBytes: number;
  /** Set once --max-buffer-bytes was reached (reading stopped, logged once). */
  limited: boolean;
  /** The connection as the kernel lists it (tcp-state.ts), to notice a departure unread. */
  connKey: string | null;
  since: number;
  timer: NodeJS.Timeout | undefined;
  /** (Re)starts watching the socket: its bytes (up to the cap) and its departure. Idempotent. */
  attach: () => void;
  /** Stops watching and reading it (before a handover, or a rejection). Idempotent. */
  detach: () => void;
}

const CHANNELS: readonly Channel[] = ['video', 'audio'];

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/**
 * Stops a socket's reading at the source, like pause() but also for the chunk Node would
 * otherwise still read into the stream's buffer: a waiter at its cap then holds at most
 * --max-buffer-bytes plus one read.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop && handle.reading) {
    handle.reading = false;
    handle.readStop();
  }
}

/** The relay daemon. start(), then shutdown() (or let a signal call it); `done` settles at the end. */
export class RelayDaemon {
  readonly metrics = new Metrics();
  private readonly opts: DaemonOptions;
  private readonly log: Logger;
  private readonly hasher = new SessionHasher();
  private readonly pool: HandlerPool;
  private readonly servers = new Map<Channel, Server>();
  private metricsServer: http.Server | undefined;
  private readonly directories: Record<Channel, PairingDirectory<Waiter>>;
  private readonly waiters = new Set<Waiter>();
  private readonly handshaking = new Set<Socket>();
  private readonly rate: RateLimiter;
  private readonly perIp: ConnectionCounter;
  /** Handshakes in progress per address, against its share of --max-pending-handshakes. */
  private readonly pendingPerIp: ConnectionCounter;
  private acceptorCapacity = Infinity;
  private readonly rejectLog = new LogThrottle();
  private readonly waiterLog = new LogThrottle();
  /** The limits key of every socket the daemon accepted and still counts. */
  private readonly ipKeyOf = new WeakMap<Socket, string>();
  /** Sockets handed to the pool: their per-address count is released with their pair. */
  private readonly handedOver = new WeakSet<Socket>();
  private readonly pairIpKeys = new Map<number, string[]>();
  private limitsTimer: NodeJS.Timeout | undefined;
  private nextPairId = 1;
  /** With --redis: this node's part in the shared directory. */
  private readonly cluster: ClusterNode<Waiter> | undefined;
  private readonly clusterLog = new LogThrottle();
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;
  /** Settles once the daemon has shut down. */
  readonly done: Promise<void>;

  constructor(opts: DaemonOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const room = (): number => this.opts.maxWaiting - this.waiters.size;
    this.directories = { video: new MemoryPairingDirectory(room), audio: new MemoryPairingDirectory(room) };
    this.pool = new HandlerPool({ handlers: opts.handlers, forkPerPair: opts.forkPerPair });
    this.rate = new RateLimiter(opts.maxConnectionRatePerIp);
    this.perIp = new ConnectionCounter(opts.maxConnectionsPerIp);
    this.pendingPerIp = new ConnectionCounter(Math.max(1, Math.ceil(opts.maxPendingHandshakes * PENDING_SHARE_PER_IP)));
    if (opts.cluster) {
      this.cluster = new ClusterNode<Waiter>({
        redisUrl: opts.cluster.redisUrl, secret: opts.cluster.secret, listenHost: opts.cluster.host ?? opts.host,
        listenPort: opts.cluster.port, advertiseHost: opts.cluster.advertiseHost,
      }, this.clusterHost());
    }
    this.defineMetrics();
    this.wirePool();
  }

  /** Binds both ports (and metrics), forks the pool, prints the `listening` line. */
  async start(): Promise<ListeningInfo> {
    const nofile = this.checkFdLimit();
    // Connections the acceptor may hold (handshaking or waiting) within its descriptors.
    // libuv survives EMFILE on accept by closing the connection unseen, so the acceptor stops
    // short of it, and a refusal is counted and logged (E_FD_LIMIT, where="accept").
    if (nofile && Number.isFinite(nofile.soft)) this.acceptorCapacity = Math.max(1, nofile.soft - (openFds() ?? FD_HEADROOM) - FD_HEADROOM);
    this.checkForkMemory();
    try {
      for (const channel of CHANNELS) {
        const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE_IDLE_MS }, (socket) => this.onConnection(channel, socket));
        this.servers.set(channel, server);
        await this.bind(server, channel === 'video' ? this.opts.videoPort : this.opts.audioPort, `${channel} port`);
        // Past the bind, an error is a failed accept (EMFILE, ENFILE, ENOBUFS): the
        // connection is dropped by the kernel side, the listener keeps going.
        server.on('error', (err: NodeJS.ErrnoException) => this.onAcceptError(channel, err));
      }
      if (this.opts.metricsPort !== undefined) {
        // Never a way around the relay's limits: a few connections, each closed when idle.
        const ms = http.createServer({ requestTimeout: METRICS_IDLE_TIMEOUT_MS, headersTimeout: METRICS_IDLE_TIMEOUT_MS, keepAliveTimeout: METRICS_IDLE_TIMEOUT_MS, connectionsCheckingInterval: 1000 }, (req, res) => this.serveMetrics(req, res));
        ms.maxConnections = METRICS_MAX_CONNECTIONS;
        ms.timeout = METRICS_IDLE_TIMEOUT_MS;
        ms.on('connection', (socket: Socket) => socket.on('error', () => {}));
        ms.on('drop', () => this.metrics.inc('videochatd_metrics_dropped_total'));
        this.metricsServer = ms;
        await this.bind(ms, this.opts.metricsPort, 'metrics port', this.opts.metricsHost);
        ms.on('error', (err: NodeJS.ErrnoException) => this.onAcceptError('metrics', err));
      }
      if (this.cluster) {
        await this.cluster.start((server, port, what) => this.bind(server, port, what, this.opts.cluster?.host ?? this.opts.host)).catch((err: unknown) => {
          if (err instanceof RedisUnavailableError) throw new DirectoryStartError(`cannot reach redis at ${redactUrl(this.opts.cluster!.redisUrl)}: ${err.message}`, { cause: err });
          throw err;
        });
      }
    } catch (err) {
      for (const s of [...this.servers.values(), this.metricsServer]) s?.close();
      throw err;
    }
    this.pool.start();
    let ticks = 0;
    this.limitsTimer = setInterval(() => {
      this.flushRejectLog();
      this.forgetDeparted();
      if (++ticks % Math.round(LIMITS_PRUNE_INTERVAL_MS / LIMITS_TICK_MS) === 0) this.rate.prune();
    }, LIMITS_TICK_MS);
    this.limitsTimer.unref();
    const info: ListeningInfo = {
      videoPort: this.portOf(this.servers.get('video')),
      audioPort: this.portOf(this.servers.get('audio')),
      metricsPort: this.metricsServer ? this.portOf(this.metricsServer) : null,
      ...(this.metricsServer ? { metricsHost: this.opts.metricsHost } : {}),
      pid: process.pid,
      ...(this.cluster ? { clusterPort: this.cluster.port, nodeId: this.cluster.nodeId } : {}),
    };
    if (nofile) info.fdLimit = Number.isFinite(nofile.soft) ? nofile.soft : null;
    // `pid` comes from the logger's base fields (every line has it); a second one would
    // make a duplicate JSON key.
    const { pid: _pid, ...fields } = info;
    alwaysLogger(this.log).info(
      { ...fields, host: this.opts.host ?? null, handlers: this.opts.forkPerPair ? 'fork-per-pair' : this.opts.handlers, maxPairs: this.opts.maxPairs },
      'listening',
    );
    return info;
  }

  /**
   * Graceful shutdown: stop accepting, close waiters and half-done handshakes, let active
   * pairs run up to the drain timeout, then cut them. Idempotent.
   */
  shutdown(signal?: string): Promise<void> {
    if (this.stopping) {
      // A second signal: stop waiting for the drain.
      if (signal) this.pool.cut();
      return this.stopping;
    }
    this.stopping = this.runShutdown(signal);
    return this.stopping;
  }

  private async runShutdown(signal: string | undefined): Promise<void> {
    // Listeners close before the line is printed: whoever sees 'shutting down' can rely on new
    // connections being refused.
    for (const s of this.servers.values()) s.close();
    this.log.info({ signal: signal ?? null, activePairs: this.pool.activePairs, waiting: this.waiters.size }, 'shutting down');
    clearInterval(this.limitsTimer);
    this.flushRejectLog(Infinity);
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
    for (const w of [...this.waiters]) this.endWaiter(w, 'shutdown');
    if (!(await this.drained(this.opts.drainTimeoutMs))) {
      this.log.warn({ activePairs: this.pool.activePairs }, 'drain timeout reached: closing active pairs');
      this.pool.cut();
      await this.drained(CUT_REPORT_GRACE_MS);
    }
    this.flushRejectLog(Infinity);
    await this.cluster?.close();
    await this.pool.close();
    if (this.metricsServer) {
      this.metricsServer.closeAllConnections();
      this.metricsServer.close();
    }
    this.log.info('stopped');
    this.resolveDone();
  }

  private async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pool.activePairs > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(DRAIN_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
    return true;
  }

  /**
   * Raises the soft descriptor limit to the hard one and warns (one line) when it still
   * cannot hold what the limits allow: every handshaking and waiting client is one
   * descriptor in the acceptor, every pair two in a handler.
   */
  private checkFdLimit(): NofileLimit | null {
    const { before, after, error } = raiseNofile();
    if (!after) return null;
    const baseline = openFds() ?? FD_HEADROOM;
    const links = this.opts.cluster ? MAX_PENDING_LINKS : 0;
    // Fork-per-pair: the acceptor holds two descriptors per handler (IPC channel, stderr).
    const perPairInAcceptor = this.opts.forkPerPair ? 2 : 0;
    const acceptor = baseline + FD_HEADROOM + this.opts.maxPendingHandshakes + this.opts.maxWaiting + links + perPairInAcceptor * this.opts.maxPairs;
    const handlers = this.opts.forkPerPair ? 1 : this.opts.handlers;
    const handler = FD_HEADROOM * 2 + FDS_PER_PAIR * Math.ceil(this.opts.maxPairs / handlers);
    const need = Math.max(acceptor, handler);
    if (after.soft >= need) return after;
    this.log.warn(
      {
        code: FD_LIMIT_WARNING,
        soft: Number.isFinite(after.soft) ? after.soft : null,
        hard: Number.isFinite(after.hard) ? after.hard : null,
        softAtStart: before && Number.isFinite(before.soft) ? before.soft : null,
        needed: need,
        ...(error ? { error } : {}),
      },
      `file descriptor limit ${after.soft} cannot hold what the limits allow (${need} needed): raise LimitNOFILE / ulimit -n, or lower --max-pairs and --max-waiting; past it pairs are refused with E_FD_LIMIT`,
    );
    return after;
  }

  /** --fork-per-pair: a process per pair; say once what that costs against the machine's memory. */
  private checkForkMemory(): void {
    if (!this.opts.forkPerPair) return;
    const need = this.opts.maxPairs * FORK_PER_PAIR_BYTES;
    const have = totalmem();
    const fields = { maxPairs: this.opts.maxPairs, bytesPerPair: FORK_PER_PAIR_BYTES, memoryBytes: have };
    if (this.opts.maxPairsFromMemory) {
      this.log.info(fields, `fork-per-pair: --max-pairs ${this.opts.maxPairs} (what ${Math.round(FORK_PER_PAIR_MEMORY_SHARE * 100)}% of memory holds at ${FORK_PER_PAIR_BYTES / 1024 / 1024} MiB a pair)`);
    } else if (need > have * FORK_PER_PAIR_MEMORY_SHARE) {
      this.log.warn(
        { code: FORK_MEMORY_WARNING, ...fields, neededBytes: need },
        `--fork-per-pair with --max-pairs ${this.opts.maxPairs} needs ~${Math.ceil(need / 2 ** 30)} GiB (${FORK_PER_PAIR_BYTES / 1024 / 1024} MiB a pair) of ${Math.floor(have / 2 ** 30)} GiB: lower --max-pairs to ${forkPerPairMaxPairs(have)} or use the pool`,
      );
    }
  }

  private onAcceptError(channel: Channel | 'metrics', err: NodeJS.ErrnoException): void {
    const fd = err.code === 'EMFILE' || err.code === 'ENFILE';
    this.metrics.inc('videochatd_accept_errors_total', { channel, code: err.code ?? 'unknown' });
    if (fd) this.metrics.inc('videochatd_fd_exhausted_total', { where: 'accept' });
    const { show, suppressedBefore } = this.rejectLog.admit(FD_EXHAUSTED_WARNING);
    if (suppressedBefore > 0) this.log.warn({ reason: FD_EXHAUSTED_WARNING, suppressed: suppressedBefore }, 'rejections not logged');
    if (show) this.log.warn({ channel, reason: FD_EXHAUSTED_WARNING, code: err.code ?? null }, fd ? 'accept failed: out of file descriptors' : 'accept failed');
  }

  private async bind(server: Server | http.Server, port: number, what: string, host = this.opts.host): Promise<void> {
    const failed = once(server, 'error') as Promise<[NodeJS.ErrnoException]>;
    const listening = once(server, 'listening');
    // No host: Node listens on :: dual-stack when IPv6 is available, else on 0.0.0.0.
    server.listen({ port, host, backlog: LISTEN_BACKLOG_CONNECTIONS, ipv6Only: false });
    const outcome = await Promise.race([listening.then(() => undefined), failed.then(([e]) => e)]);
    if (outcome) {
      const where = `${host ?? '*'}:${port}`;
      throw new BindError(`cannot bind ${what} ${where}: ${outcome.code ?? outcome.message}`, { cause: outcome });
    }
  }

  private portOf(server: Server | http.Server | undefined): number {
    const addr = server?.address();
    return addr && typeof addr === 'object' ? addr.port : 0;
  }

  private onConnection(channel: Channel, socket: Socket): void {
    // Errors surface as 'close'; without a listener an ECONNRESET would crash the daemon.
    socket.on('error', () => {});
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.metrics.inc('videochatd_connections_total', { channel });
    // Cheapest checks first; a refused connection is never counted against its address.
    const ipKey = addressKey(socket.remoteAddress);
    if (!this.rate.take(ipKey)) {
      this.reject(channel, socket, 'E_IP_RATE_LIMIT');
      return;
    }
    if (this.handshaking.size + this.waiters.size >= this.acceptorCapacity) {
      this.metrics.inc('videochatd_fd_exhausted_total', { where: 'accept' });
      this.reject(channel, socket, 'E_FD_LIMIT');
      return;
    }
    if (this.handshaking.size >= this.opts.maxPendingHandshakes) {
      this.reject(channel, socket, 'E_TOO_MANY_PENDING');
      return;
    }
    if (!this.pendingPerIp.acquire(ipKey)) {
      this.reject(channel, socket, 'E_IP_PENDING_LIMIT');
      return;
    }
    if (!this.perIp.acquire(ipKey)) {
      this.pendingPerIp.release(ipKey);
      this.reject(channel, socket, 'E_IP_CONN_LIMIT');
      return;
    }
    this.ipKeyOf.set(socket, ipKey);
    socket.once('close', () => {
      if (!this.handedOver.has(socket)) this.perIp.release(ipKey);
    });
    this.handshaking.add(socket);
    const reader = new HandshakeReader();
    let pendingHeld = true;
    const cleanup = (): void => {
      clearTimeout(timer);
      if (pendingHeld) this.pendingPerIp.release(ipKey);
      pendingHeld = false;
      this.handshaking.delete(socket);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
    };
    const fail = (reason: RejectReason): void => {
      cleanup();
      this.reject(channel, socket, reason);
    };
    const onData = (chunk: Buffer): void => {
      let result: HandshakeResult | undefined;
      try {
        result = reader.push(chunk);
      } catch (err) {
        fail(err instanceof HandshakeError ? err.code : 'E_HANDSHAKE_LENGTH');
        return;
      }
      if (result) {
        cleanup();
        void this.onHandshake(channel, socket, result);
      }
    };
    const onClosed = (): void => fail(reader.truncated().code);
    const timer = setTimeout(() => fail('E_HANDSHAKE_TIMEOUT'), this.opts.handshakeTimeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
  }

  private reject(channel: Channel, socket: Socket, reason: RejectReason): void {
    const isHandshake = reason.startsWith('E_HANDSHAKE');
    this.metrics.inc(isHandshake ? 'videochatd_handshake_failures_total' : 'videochatd_rejected_total', { reason });
    // A flood must not turn into a flood of log lines: past a few per second per reason,
    // rejections are only counted, and summarised once a second.
    const { show, suppressedBefore } = this.rejectLog.admit(reason);
    if (suppressedBefore > 0) this.log.warn({ reason, suppressed: suppressedBefore }, 'rejections not logged');
    if (show) this.log.warn({ channel, reason, remote: remoteOf(socket) }, isHandshake ? 'handshake failed' : 'connection rejected');
    socket.destroy();
  }

  /**
   * Waiters at --max-buffer-bytes are not read, so their FIN or RST raises no event: ask the
   * kernel once a tick and forget those whose client has gone.
   */
  private forgetDeparted(): void {
    const limited: Waiter[] = [];
    for (const w of this.waiters) if (w.limited) limited.push(w);
    for (const w of departed(limited)) this.endWaiter(w, 'impatient');
  }

  private flushRejectLog(now = Date.now()): void {
    for (const { key, suppressed } of this.rejectLog.flush(now)) this.log.warn({ reason: key, suppressed }, 'rejections not logged');
    for (const { key, suppressed } of this.waiterLog.flush(now)) this.log.info({ kind: 'waiter', reason: key, suppressed }, 'waiter lines not logged');
  }

  /** Stops reading a waiter that holds --max-buffer-bytes; TCP then slows the client down. */
  private limitWaiter(w: Waiter): void {
    stopReading(w.socket);
    if (w.limited) return;
    w.limited = true;
    this.metrics.inc('videochatd_buffer_limit_total', { channel: w.channel });
    this.log.info(
      { channel: w.channel, session: w.session, reason: BUFFER_LIMIT_REASON, remote: remoteOf(w.socket), bytesHeld: w.restBytes },
      'buffer limit reached',
    );
  }

  private async onHandshake(channel: Channel, socket: Socket, hs: HandshakeResult): Promise<void> {
    let attached = false;
    const w: Waiter = {
      channel,
      socket,
      key: hs.code.toString('hex'),
      session: this.hasher.hash(hs.code),
      rest: hs.rest.length > 0 ? [hs.rest] : [],
      restBytes: hs.rest.length,
      limited: false,
      connKey: connectionKey(socket),
      since: Date.now(),
      timer: undefined,
      attach: () => {
        if (attached) return;
        attached = true;
        socket.on('data', onData);
        socket.once('end', onGone);
        socket.once('close', onGone);
        if (w.restBytes >= this.opts.maxBufferBytes) this.limitWaiter(w);
        else socket.resume();
      },
      detach: () => {
        if (w.timer) clearTimeout(w.timer);
        if (!attached) return;
        attached = false;
        // A flowing socket without a 'data' listener drops what it reads: hold the bytes in
        // the stream (then the kernel) until the handler takes over.
        socket.pause();
        socket.off('data', onData);
        socket.off('end', onGone);
        socket.off('close', onGone);
      },
    };
    // Keep reading while waiting (bounded) so a client that leaves is noticed at once.
    const onData = (chunk: Buffer): void => {
      w.rest.push(chunk);
      w.restBytes += chunk.length;
      // Past the cap the kernel holds the bytes and TCP slows the client down.
      if (w.restBytes >= this.opts.maxBufferBytes) this.limitWaiter(w);
    };
    const onGone = (): void => this.endWaiter(w, 'impatient');
    w.attach();
    await this.findOrWait(w);
  }

  private async findOrWait(w: Waiter): Promise<void> {
    if (this.stopping) {
      w.detach();
      w.socket.destroy();
      return;
    }
    const dir = this.directories[w.channel];
    const result = await dir.findOrWait(w.key, w);
    if (result.kind === 'full') {
      w.detach();
      this.reject(w.channel, w.socket, 'E_TOO_MANY_WAITING');
      return;
    }
    if (result.kind === 'waiting') {
      if (w.socket.destroyed) {
        this.endWaiter(w, 'impatient');
        return;
      }
      // A waiter put back (its newcomer was refused, a splice failed) is watched again.
      w.attach();
      this.waiters.add(w);
      clearTimeout(w.timer);
      w.timer = setTimeout(() => this.endWaiter(w, 'lonely'), this.opts.waitTimeoutMs);
      this.log.debug({ channel: w.channel, session: w.session }, 'waiting for a peer');
      this.cluster?.offer(w);
      return;
    }
    const peer = result.peer;
    this.waiters.delete(peer);
    this.cluster?.withdraw(peer);
    peer.detach();
    if (peer.socket.destroyed) {
      // It left between the lookup and now: it is simply gone, the newcomer waits instead.
      this.logWaiter(peer, 'impatient');
      await this.findOrWait(w);
      return;
    }
    const full = this.pool.activePairs >= this.opts.maxPairs ? 'E_TOO_MANY_PAIRS' : !this.pool.hasRoom(w.session) ? 'E_FD_LIMIT' : null;
    if (full) {
      // Keep the peer waiting; turn the newcomer away.
      w.detach();
      if (full === 'E_FD_LIMIT') this.metrics.inc('videochatd_fd_exhausted_total', { where: 'handler' });
      this.reject(w.channel, w.socket, full);
      await this.findOrWait(peer);
      return;
    }
    w.detach();
    this.placePair(w.channel, w.session, [peer.socket, w.socket], [Buffer.concat(peer.rest), Buffer.concat(w.rest)]);
  }

  /** Hands a pair (both sockets, the bytes already read from each) to the pool. */
  private placePair(channel: Channel, session: string, sockets: [Socket, Socket], rests: [Buffer, Buffer]): void {
    const pairId = this.nextPairId++;
    // From here the pair owns both sockets' per-address counts (released at its end).
    const keys: string[] = [];
    for (const s of sockets) {
      this.handedOver.add(s);
      const key = this.ipKeyOf.get(s);
      if (key !== undefined) keys.push(key);
    }
    this.pairIpKeys.set(pairId, keys);
    this.pool.assign({ pairId, channel, session, sockets, rests, pairedAt: Date.now() });
  }

  /** What the cluster node may do with this acceptor's waiters. */
  private clusterHost(): ClusterHost<Waiter> {
    return {
      takeLocal: (w) => {
        if (!this.waiters.has(w) || !this.directories[w.channel].leave(w.key, w)) return false;
        this.waiters.delete(w);
        clearTimeout(w.timer);
        this.cluster?.withdraw(w);
        return true;
      },
      placeSplice: (w, link, linkRest) => {
        w.detach();
        link.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS);
        if (w.socket.destroyed || this.stopping) {
          if (w.socket.destroyed) this.logWaiter(w, 'impatient');
          else w.socket.destroy();
          link.destroy();
          return;
        }
        const full = this.pool.activePairs >= this.opts.maxPairs ? 'E_TOO_MANY_PAIRS' : !this.pool.hasRoom(w.session) ? 'E_FD_LIMIT' : null;
        if (full) {
          if (full === 'E_FD_LIMIT') this.metrics.inc('videochatd_fd_exhausted_total', { where: 'handler' });
          this.reject(w.channel, w.socket, full);
          link.destroy();
          return;
        }
        this.placePair(w.channel, w.session, [w.socket, link], [Buffer.concat(w.rest), linkRest]);
      },
      requeue: (w) => {
        if (this.stopping) {
          this.endWaiter(w, 'shutdown');
          return;
        }
        void this.findOrWait(w);
      },
      localWaiters: () => this.waiters,
      warn: (reason, fields, message) => {
        const { show, suppressedBefore } = this.clusterLog.admit(reason);
        if (suppressedBefore > 0) this.log.warn({ reason, suppressed: suppressedBefore }, 'cluster messages not logged');
        if (show) this.log.warn({ reason, ...fields }, message);
      },
      count: (metric) => this.metrics.inc(`videochatd_cluster_${metric}_total`),
    };
  }

  private endWaiter(w: Waiter, reason: WaiterEndReason): void {
    w.detach();
    // leave() is false when it already paired or was already removed: nothing to report.
    const wasWaiting = this.directories[w.channel].leave(w.key, w);
    this.waiters.delete(w);
    clearTimeout(w.timer);
    this.cluster?.withdraw(w);
    if (reason !== 'impatient') w.socket.destroy();
    if (wasWaiting) this.logWaiter(w, reason);
  }

  private logWaiter(w: Waiter, reason: WaiterEndReason): void {
    w.socket.destroy();
    this.metrics.inc('videochatd_waiters_ended_total', { channel: w.channel, reason });
    // Garbage handshakes by the thousand must not become log lines by the thousand.
    const { show, suppressedBefore } = this.waiterLog.admit(reason);
    if (suppressedBefore > 0) this.log.info({ kind: 'waiter', reason, suppressed: suppressedBefore }, 'waiter lines not logged');
    if (!show) return;
    this.log.info(
      { kind: 'waiter', channel: w.channel, session: w.session, reason, waitedMs: Date.now() - w.since, bytesHeld: w.restBytes },
      'waiter ended',
    );
  }

  private wirePool(): void {
    const p = this.pool;
    p.on('handler-started', (pid, slot) => this.log.info({ handlerPid: pid, slot }, 'handler started'));
    p.on('handler-died', (death, slot) => {
      const normal = slot === null && death.code === 0 && death.signal === null;
      if (normal) return;
      this.log.warn({ handlerPid: death.pid ?? null, slot, code: death.code, signal: death.signal, failedStart: death.failedStart, stderr: death.stderrTail }, 'handler died');
    });
    p.on('handler-restarting', (slot, attempt, delayMs) => {
      this.metrics.inc('videochatd_handler_restarts_total');
      this.log.info({ slot, attempt, delayMs }, 'restarting handler');
    });
    p.on('handler-gave-up', (death, slot) =>
      this.log.error({ slot, handlerPid: death.pid ?? null }, 'handler keeps dying: slot left empty'),
    );
    p.on('handler-stalled', (pid, slot, silentMs) => {
      this.metrics.inc('videochatd_handler_stalls_total');
      this.log.warn({ handlerPid: pid ?? null, slot, silentMs, reason: 'W_HANDLER_SILENT' }, 'handler not answering: no new pairs for it');
    });
    p.on('handler-recovered', (pid, slot) => this.log.info({ handlerPid: pid ?? null, slot }, 'handler answers again'));
    p.on('handler-killed', (pid, slot, silentMs) => this.log.warn({ handlerPid: pid ?? null, slot, silentMs, reason: 'W_HANDLER_SILENT' }, 'handler silent too long: killed'));
    p.on('handler-stderr', (line, pid) => this.log.warn({ handlerPid: pid ?? null, line }, 'handler stderr'));
    p.on('bytes', (channel, n) => this.metrics.inc('videochatd_bytes_relayed_total', { channel }, n));
    p.on('pair-started', (pair) => {
      this.metrics.inc('videochatd_pairs_total', { channel: pair.channel });
      this.log.info({ channel: pair.channel, session: pair.session, pairId: pair.pairId, handlerPid: pair.handlerPid ?? null }, 'pair started');
    });
    p.on('pair-refused', (pair) => {
      // Never relayed, never counted: its sockets are closed, their addresses released.
      for (const key of this.pairIpKeys.get(pair.pairId) ?? []) this.perIp.release(key);
      this.pairIpKeys.delete(pair.pairId);
      this.metrics.inc('videochatd_fd_exhausted_total', { where: 'handler' });
      this.metrics.inc('videochatd_rejected_total', { reason: 'E_FD_LIMIT' });
      const { show } = this.rejectLog.admit('E_FD_LIMIT');
      if (show) this.log.warn({ channel: pair.channel, session: pair.session, reason: 'E_FD_LIMIT' }, 'pair refused: no handler has file descriptors left');
    });
    p.on('pair-ended', (pair: ActivePair, reason: PairEndReason, error) => {
      for (const key of this.pairIpKeys.get(pair.pairId) ?? []) this.perIp.release(key);
      this.pairIpKeys.delete(pair.pairId);
      this.metrics.inc('videochatd_pairs_ended_total', { channel: pair.channel, reason });
      this.log.info(
        {
          kind: 'pair',
          channel: pair.channel,
          session: pair.session,
          pairId: pair.pairId,
          handlerPid: pair.handlerPid ?? null,
          reason,
          durationMs: Date.now() - pair.pairedAt,
          bytesAtoB: pair.bytes01,
          bytesBtoA: pair.bytes10,
          ...(error ? { error } : {}),
        },
        'pair ended',
      );
    });
  }

  private defineMetrics(): void {
    const m = this.metrics;
    m.define('videochatd_connections_total', 'counter', 'TCP connections accepted, per channel.');
    m.define('videochatd_handshake_failures_total', 'counter', 'Connections dropped during the handshake, by reason.');
    m.define('videochatd_rejected_total', 'counter', 'Connections turned away by a limit, by reason.');
    m.define('videochatd_buffer_limit_total', 'counter', 'Waiting clients that reached --max-buffer-bytes (no longer read until paired), per channel.');
    m.define('videochatd_waiting', 'gauge', 'Clients waiting for a peer, per channel.');
    m.define('videochatd_active_pairs', 'gauge', 'Pairs being relayed, per channel.');
    m.define('videochatd_pairs_total', 'counter', 'Pairs that started relaying, per channel.');
    m.define('videochatd_pairs_ended_total', 'counter', 'Pairs that ended, per channel and reason.');
    m.define('videochatd_waiters_ended_total', 'counter', 'Waiters that never got a peer, per channel and reason.');
    m.define('videochatd_bytes_relayed_total', 'counter', 'Bytes relayed (both directions), per channel; reported by handlers every second.');
    m.define('videochatd_handlers', 'gauge', 'Handler processes running.');
    m.define('videochatd_handler_restarts_total', 'counter', 'Pool handlers forked again after a death.');
    m.define('videochatd_handler_stalls_total', 'counter', 'Handlers that stopped answering their heartbeat for 3 s (given no new pairs; killed and replaced at 20 s).');
    m.inc('videochatd_handler_stalls_total', {}, 0);
    m.define('videochatd_fd_exhausted_total', 'counter', 'Times the file descriptor limit was hit: where="accept" (a connection the kernel could not hand over), where="handler" (a pair refused with E_FD_LIMIT).');
    m.define('videochatd_metrics_dropped_total', 'counter', `Connections to the metrics port closed on arrival: ${METRICS_MAX_CONNECTIONS} were open already.`);
    m.inc('videochatd_metrics_dropped_total', {}, 0);
    m.define('videochatd_accept_errors_total', 'counter', 'Failed accepts, per channel and errno code (EMFILE: out of descriptors).');
    for (const where of ['accept', 'handler']) m.inc('videochatd_fd_exhausted_total', { where }, 0);
    if (this.opts.cluster) {
      m.define('videochatd_directory_up', 'gauge', 'With --redis: 1 while Redis answers (pairing across nodes), 0 while new sessions pair on this node only.');
      m.define('videochatd_cluster_splices_total', 'counter', 'Pairs whose two clients are on different nodes, spliced over the cluster port.');
      m.define('videochatd_cluster_splice_failures_total', 'counter', 'Splices that failed because the waiting peer\'s node could not be reached.');
      m.define('videochatd_cluster_directory_errors_total', 'counter', 'Directory lookups that failed (Redis away or slow); the client then waited on this node only.');
      m.define('videochatd_cluster_link_rejected_total', 'counter', 'Connections to the cluster port refused (no cluster secret, malformed, too many).');
      for (const name of ['splices', 'splice_failures', 'directory_errors', 'link_rejected']) m.inc(`videochatd_cluster_${name}_total`, {}, 0);
    }
    for (const channel of CHANNELS) {
      m.inc('videochatd_connections_total', { channel }, 0);
      m.inc('videochatd_bytes_relayed_total', { channel }, 0);
    }
    m.inc('videochatd_handler_restarts_total', {}, 0);
    for (const reason of ['E_TOO_MANY_WAITING', 'E_TOO_MANY_PAIRS', 'E_TOO_MANY_PENDING', 'E_IP_CONN_LIMIT', 'E_IP_RATE_LIMIT', 'E_IP_PENDING_LIMIT', 'E_FD_LIMIT'] satisfies RejectReason[]) {
      m.inc('videochatd_rejected_total', { reason }, 0);
    }
  }

  private serveMetrics(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    for (const channel of CHANNELS) {
      let waiting = 0;
      for (const w of this.waiters) if (w.channel === channel) waiting++;
      this.metrics.set('videochatd_waiting', { channel }, waiting);
      this.metrics.set('videochatd_active_pairs', { channel }, this.pool.activeByChannel(channel));
    }
    this.metrics.set('videochatd_handlers', {}, this.pool.handlerCount);
    if (this.cluster) this.metrics.set('videochatd_directory_up', {}, this.cluster.directoryUp ? 1 : 0);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metrics.render());
  }
}

/** A Redis URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}
