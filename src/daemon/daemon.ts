/**
 * The acceptor: listens on the video and audio ports and runs a connection through the rooms
 * of the daemon: admission (limits, handshake; admission.ts), the waiting room (pairing;
 * waiting-room.ts) or, for a `vcroom1-` code, its room (room-routing.ts), placement (the
 * handler that relays the pair; placement.ts), with telemetry (telemetry.ts, metrics-http.ts)
 * watching all of them. Also runs the graceful shutdown.
 */
import net, { type Server, type Socket } from 'node:net';
import type { Channel } from './ipc.js';
import { Admission, CHANNELS, TCP_KEEPALIVE_IDLE_MS, type Ticket } from './admission.js';
import { LIMITS_PRUNE_INTERVAL_MS } from './limits.js';
import { alwaysLogger, SessionHasher, type Logger } from './logger.js';
import type { DaemonOptions } from './options.js';
import { acceptorCapacity, checkFdLimit, checkForkMemory } from './capacity.js';
import { bind, portOf, type ListeningInfo } from './listen.js';
import { MetricsEndpoint } from './metrics-http.js';
import type { Placement } from './placement.js';
import { PoolPlacement } from './placement-pool.js';
import { ForkPerPairPlacement } from './placement-fork.js';
import { Telemetry } from './telemetry.js';
import { WaitingRoom } from './waiting-room.js';
import { RoomRouter } from './room-routing.js';

export { BindError, DirectoryStartError } from './exit-codes.js';
export { LISTEN_BACKLOG_CONNECTIONS, type ListeningInfo } from './listen.js';
export { TCP_KEEPALIVE_IDLE_MS, PENDING_SHARE_PER_IP, type RejectReason, type WaiterEndReason } from './admission.js';

/** After the drain timeout cut, how long handlers get to report their pairs' ends. */
export const CUT_REPORT_GRACE_MS = 2000;
/** How often shutdown checks whether the last pair has finished. */
const DRAIN_POLL_MS = 50;
/** How often held-back log lines are summarised (and, every few ticks, limits pruned). */
const LIMITS_TICK_MS = 1000;

/** The relay daemon. start(), then shutdown() (or let a signal call it); `done` settles at the end. */
export class RelayDaemon {
  private readonly opts: DaemonOptions;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private readonly admission: Admission;
  private readonly room: WaitingRoom;
  private readonly placement: Placement;
  private readonly roomRouter: RoomRouter;
  private readonly servers = new Map<Channel, Server>();
  private metricsEndpoint: MetricsEndpoint | undefined;
  private limitsTimer: NodeJS.Timeout | undefined;
  private nextPairId = 1;
  private readonly hasher = new SessionHasher();
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;
  /** Settles once the daemon has shut down. */
  readonly done: Promise<void>;

  constructor(opts: DaemonOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.telemetry = new Telemetry(log, { cluster: opts.cluster !== undefined });
    this.admission = new Admission(opts, this.telemetry);
    this.placement = opts.forkPerPair ? new ForkPerPairPlacement() : new PoolPlacement(opts.handlers);
    const c = opts.cluster;
    const cluster = c && { redisUrl: c.redisUrl, secret: c.secret, listenHost: c.host ?? opts.host, listenPort: c.port, advertiseHost: c.advertiseHost };
    const roomOpts = { maxWaiting: opts.maxWaiting, waitTimeoutMs: opts.waitTimeoutMs, maxBufferBytes: opts.maxBufferBytes, ...(cluster ? { cluster } : {}) };
    this.room = new WaitingRoom(roomOpts, this.telemetry, this.hasher, {
      stopping: () => this.stopping !== undefined,
      refusal: (session) => (this.placement.loadWith(1, 0) > opts.maxPairs ? 'E_TOO_MANY_PAIRS' : !this.placement.hasRoom(session) ? 'E_FD_LIMIT' : null),
      place: (channel, session, sockets, rests, tickets) => this.place(channel, session, sockets, rests, tickets),
      reject: (channel, socket, reason) => this.admission.reject(channel, socket, reason),
    });
    this.telemetry.watch(this.placement);
    // The pair's end (or its refusal) gives its clients' places back to their addresses.
    this.placement.on('pair-ended', (pair) => pair.tickets.forEach((t) => t.release()));
    this.placement.on('pair-refused', (pair) => pair.tickets.forEach((t) => t.release()));
    const parts = { admission: this.admission, placement: this.placement, telemetry: this.telemetry, hasher: this.hasher };
    this.roomRouter = new RoomRouter(opts, { ...parts, stopping: () => this.stopping !== undefined });
  }

  /** Counters and gauges (as scraped from --metrics-port). */
  get metrics(): Telemetry['metrics'] {
    return this.telemetry.metrics;
  }

  /** Binds both ports (and metrics), forks the pool, prints the `listening` line. */
  async start(): Promise<ListeningInfo> {
    const nofile = checkFdLimit(this.opts, this.log);
    this.admission.capacity = acceptorCapacity(nofile);
    checkForkMemory(this.opts, this.log);
    const cluster = this.room.cluster;
    try {
      for (const channel of CHANNELS) {
        const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE_IDLE_MS }, (socket) => this.onConnection(channel, socket));
        this.servers.set(channel, server);
        await bind(server, channel === 'video' ? this.opts.videoPort : this.opts.audioPort, `${channel} port`, this.opts.host);
        // Past the bind, an error is a failed accept (EMFILE, ENFILE, ENOBUFS): the
        // connection is dropped by the kernel side, the listener keeps going.
        server.on('error', (err: NodeJS.ErrnoException) => this.telemetry.acceptFailed(channel, err));
      }
      if (this.opts.metricsPort !== undefined) {
        const p = this.placement;
        this.metricsEndpoint = new MetricsEndpoint(this.telemetry, {
          waiting: (channel) => this.room.count(channel),
          activePairs: (channel) => p.activeByChannel(channel),
          rooms: (channel) => p.rooms.byChannel(channel),
          handlers: () => p.handlerCount,
          ...(cluster ? { directoryUp: () => cluster.directoryUp } : {}),
        });
        await this.metricsEndpoint.listen(bind, this.opts.metricsPort, this.opts.metricsHost);
      }
      await cluster?.start((server, port, what) => bind(server, port, what, this.opts.cluster?.host ?? this.opts.host));
    } catch (err) {
      for (const s of this.servers.values()) s.close();
      this.metricsEndpoint?.close();
      throw err;
    }
    this.placement.start();
    let ticks = 0;
    this.limitsTimer = setInterval(() => {
      this.telemetry.flush();
      this.room.forgetDeparted();
      if (++ticks % Math.round(LIMITS_PRUNE_INTERVAL_MS / LIMITS_TICK_MS) === 0) this.admission.prune();
    }, LIMITS_TICK_MS);
    this.limitsTimer.unref();
    const info: ListeningInfo = {
      videoPort: portOf(this.servers.get('video')),
      audioPort: portOf(this.servers.get('audio')),
      metricsPort: this.metricsEndpoint ? this.metricsEndpoint.port : null,
      ...(this.metricsEndpoint ? { metricsHost: this.opts.metricsHost } : {}),
      pid: process.pid,
      ...(cluster ? { clusterPort: cluster.port, nodeId: cluster.nodeId } : {}),
    };
    if (nofile) info.fdLimit = Number.isFinite(nofile.soft) ? nofile.soft : null;
    // `pid` comes from the logger's base fields (every line has it); a second one would
    // make a duplicate JSON key.
    const { pid: _pid, ...fields } = info;
    const handlers = this.opts.forkPerPair ? 'fork-per-pair' : this.opts.handlers;
    alwaysLogger(this.log).info({ ...fields, host: this.opts.host ?? null, handlers, maxPairs: this.opts.maxPairs, maxRoomSize: this.opts.maxRoomSize }, 'listening');
    return info;
  }

  /**
   * Graceful shutdown: stop accepting, close waiters and half-done handshakes, let active
   * pairs run up to the drain timeout, then cut them. Idempotent; a second signal cuts at once.
   */
  shutdown(signal?: string): Promise<void> {
    if (this.stopping) {
      if (signal) this.placement.cut();
      return this.stopping;
    }
    this.stopping = this.runShutdown(signal);
    return this.stopping;
  }

  private async runShutdown(signal: string | undefined): Promise<void> {
    // Listeners close before the line is printed: whoever sees 'shutting down' can rely on new
    // connections being refused.
    for (const s of this.servers.values()) s.close();
    this.log.info({ signal: signal ?? null, activePairs: this.placement.activePairs, rooms: this.placement.rooms.activeRooms, roomMembers: this.placement.rooms.activeMembers, waiting: this.room.count() }, 'shutting down');
    clearInterval(this.limitsTimer);
    this.telemetry.flush(Infinity);
    this.admission.closeAll();
    this.room.closeAll();
    if (!(await this.drained(this.opts.drainTimeoutMs))) {
      this.log.warn({ activePairs: this.placement.activePairs, roomMembers: this.placement.rooms.activeMembers }, 'drain timeout reached: closing active pairs');
      this.placement.cut();
      await this.drained(CUT_REPORT_GRACE_MS);
    }
    this.telemetry.flush(Infinity);
    await this.room.cluster?.close();
    await this.placement.close();
    this.metricsEndpoint?.close();
    this.log.info('stopped');
    this.resolveDone();
  }

  private async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.placement.activePairs > 0 || this.placement.rooms.activeMembers > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(DRAIN_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
    return true;
  }

  private onConnection(channel: Channel, socket: Socket): void {
    // Errors surface as 'close'; without a listener an ECONNRESET would crash the daemon.
    socket.on('error', () => {});
    if (this.stopping) return void socket.destroy();
    this.admission.accept(channel, socket, this.room.count(), (ch, s, hs, ticket) => {
      if (!this.roomRouter.route(ch, s, hs, ticket)) void this.room.enter(ch, s, hs, ticket);
    });
  }

  /** Hands a pair (both sockets, the bytes already read from each) to a handler. */
  private place(channel: Channel, session: string, sockets: [Socket, Socket], rests: [Buffer, Buffer], tickets: Ticket[]): void {
    // From here the pair owns its clients' places in their addresses' limits.
    for (const t of tickets) t.pair();
    this.placement.assign({ pairId: this.nextPairId++, channel, session, sockets, rests, pairedAt: Date.now(), tickets });
  }
}
