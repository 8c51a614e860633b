/**
 * What the daemon tells its operator: the `videochatd_*` metrics and the log lines about
 * rejections, waiters and handlers, throttled so that a flood of connections never becomes a
 * flood of lines (past a few per second per reason they are only counted, and summarised once
 * a second). The rest of the daemon reports events here and never formats a line itself.
 */
import type { Logger } from './logger.js';
import { LogThrottle } from './limits.js';
import { Metrics } from './metrics.js';
import { MEMBER_END_REASONS, type Channel, type MemberEndReason, type PairEndReason } from './ipc.js';
import type { ActivePair, PairHandover, PlacementEvents } from './placement.js';
import type { EventEmitter } from 'node:events';
import { CHANNELS, type RejectReason, type WaiterEndReason } from './admission.js';

/** Connections the metrics port holds at once; more are closed on arrival (and counted). */
export const METRICS_MAX_CONNECTIONS = 16;
/** Code of the (throttled) line logged when accepting fails for want of descriptors. */
export const FD_EXHAUSTED_WARNING = 'W_FD_EXHAUSTED';
/** Reason code of the line logged when a waiting client reaches --max-buffer-bytes. */
export const BUFFER_LIMIT_REASON = 'E_BUFFER_LIMIT';

const REJECT_REASONS = ['E_TOO_MANY_WAITING', 'E_TOO_MANY_PAIRS', 'E_TOO_MANY_PENDING', 'E_IP_CONN_LIMIT', 'E_IP_RATE_LIMIT', 'E_IP_PENDING_LIMIT', 'E_FD_LIMIT'] satisfies RejectReason[];

/** A waiter's end as the log line reports it. */
export interface WaiterEnd {
  channel: Channel;
  session: string;
  reason: WaiterEndReason;
  waitedMs: number;
  bytesHeld: number;
}

/** The gauges, read at scrape time. */
export interface Gauges {
  waiting(channel: Channel): number;
  activePairs(channel: Channel): number;
  handlers(): number;
  /** Rooms open and their members, per channel. */
  rooms?: (channel: Channel) => { rooms: number; members: number };
  /** With --redis: whether the directory answers. */
  directoryUp?: () => boolean;
}

/** Metrics and throttled log lines of one daemon. */
export class Telemetry {
  readonly metrics = new Metrics();
  readonly log: Logger;
  private readonly rejectLog = new LogThrottle();
  private readonly waiterLog = new LogThrottle();
  private readonly clusterLog = new LogThrottle();
  private readonly memberLog = new LogThrottle();

  constructor(log: Logger, opts: { cluster: boolean }) {
    this.log = log;
    this.define(opts.cluster);
  }

  /** A connection turned away (a limit) or dropped during its handshake. */
  rejected(channel: Channel, remote: string, reason: RejectReason): void {
    const isHandshake = reason.startsWith('E_HANDSHAKE');
    this.metrics.inc(isHandshake ? 'videochatd_handshake_failures_total' : 'videochatd_rejected_total', { reason });
    const { show, suppressedBefore } = this.rejectLog.admit(reason);
    if (suppressedBefore > 0) this.log.warn({ reason, suppressed: suppressedBefore }, 'rejections not logged');
    if (show) this.log.warn({ channel, reason, remote }, isHandshake ? 'handshake failed' : 'connection rejected');
  }

  /** The descriptor limit was hit: where="accept" or where="handler". */
  fdExhausted(where: 'accept' | 'handler'): void {
    this.metrics.inc('videochatd_fd_exhausted_total', { where });
  }

  /** A listener's accept failed (EMFILE, ENFILE, ENOBUFS): the connection is lost, not the port. */
  acceptFailed(channel: Channel | 'metrics', err: NodeJS.ErrnoException): void {
    const fd = err.code === 'EMFILE' || err.code === 'ENFILE';
    this.metrics.inc('videochatd_accept_errors_total', { channel, code: err.code ?? 'unknown' });
    if (fd) this.fdExhausted('accept');
    const { show, suppressedBefore } = this.rejectLog.admit(FD_EXHAUSTED_WARNING);
    if (suppressedBefore > 0) this.log.warn({ reason: FD_EXHAUSTED_WARNING, suppressed: suppressedBefore }, 'rejections not logged');
    if (show) this.log.warn({ channel, reason: FD_EXHAUSTED_WARNING, code: err.code ?? null }, fd ? 'accept failed: out of file descriptors' : 'accept failed');
  }

  /** A waiter reached --max-buffer-bytes and is no longer read. */
  bufferLimited(channel: Channel, session: string, remote: string, bytesHeld: number): void {
    this.metrics.inc('videochatd_buffer_limit_total', { channel });
    this.log.info({ channel, session, reason: BUFFER_LIMIT_REASON, remote, bytesHeld }, 'buffer limit reached');
  }

  /** A waiter that never got a peer. */
  waiterEnded(end: WaiterEnd): void {
    this.metrics.inc('videochatd_waiters_ended_total', { channel: end.channel, reason: end.reason });
    // Garbage handshakes by the thousand must not become log lines by the thousand.
    const { show, suppressedBefore } = this.waiterLog.admit(end.reason);
    if (suppressedBefore > 0) this.log.info({ kind: 'waiter', reason: end.reason, suppressed: suppressedBefore }, 'waiter lines not logged');
    if (show) this.log.info({ kind: 'waiter', ...end }, 'waiter ended');
  }

  /** Something the cluster node wants an operator to see. */
  clusterWarn(reason: string, fields: Record<string, unknown>, message: string): void {
    const { show, suppressedBefore } = this.clusterLog.admit(reason);
    if (suppressedBefore > 0) this.log.warn({ reason, suppressed: suppressedBefore }, 'cluster messages not logged');
    if (show) this.log.warn({ reason, ...fields }, message);
  }

  /** Summarises the lines held back in windows that have closed (all of them: now = Infinity). */
  flush(now = Date.now()): void {
    for (const { key, suppressed } of this.rejectLog.flush(now)) this.log.warn({ reason: key, suppressed }, 'rejections not logged');
    for (const { key, suppressed } of this.waiterLog.flush(now)) this.log.info({ kind: 'waiter', reason: key, suppressed }, 'waiter lines not logged');
    for (const { key, suppressed } of this.memberLog.flush(now)) this.log.info({ kind: 'member', reason: key, suppressed }, 'member lines not logged');
  }

  /** The Prometheus text, with the gauges read now. */
  scrape(gauges: Gauges): string {
    for (const channel of CHANNELS) {
      this.metrics.set('videochatd_waiting', { channel }, gauges.waiting(channel));
      this.metrics.set('videochatd_active_pairs', { channel }, gauges.activePairs(channel));
    }
    this.metrics.set('videochatd_handlers', {}, gauges.handlers());
    if (gauges.rooms) {
      for (const channel of CHANNELS) {
        const r = gauges.rooms(channel);
        this.metrics.set('videochatd_rooms', { channel }, r.rooms);
        this.metrics.set('videochatd_room_members', { channel }, r.members);
      }
    }
    if (gauges.directoryUp) this.metrics.set('videochatd_directory_up', {}, gauges.directoryUp() ? 1 : 0);
    return this.metrics.render();
  }

  /** Logs and counts what the handlers and their pairs do. */
  watch(placement: EventEmitter<PlacementEvents>): void {
    const p = placement;
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
    p.on('handler-gave-up', (death, slot) => this.log.error({ slot, handlerPid: death.pid ?? null }, 'handler keeps dying: slot left empty'));
    p.on('handler-stalled', (pid, slot, silentMs) => {
      this.metrics.inc('videochatd_handler_stalls_total');
      this.log.warn({ handlerPid: pid ?? null, slot, silentMs, reason: 'W_HANDLER_SILENT' }, 'handler not answering: no new pairs for it');
    });
    p.on('handler-recovered', (pid, slot) => this.log.info({ handlerPid: pid ?? null, slot }, 'handler answers again'));
    p.on('handler-killed', (pid, slot, silentMs) => this.log.warn({ handlerPid: pid ?? null, slot, silentMs, reason: 'W_HANDLER_SILENT' }, 'handler silent too long: killed'));
    p.on('handler-stderr', (line, pid) => this.log.warn({ handlerPid: pid ?? null, line }, 'handler stderr'));
    p.on('bytes', (channel, n) => this.metrics.inc('videochatd_bytes_relayed_total', { channel }, n));
    p.on('room-opened', (room) => {
      this.metrics.inc('videochatd_rooms_total', { channel: room.channel });
      this.log.info({ kind: 'room', channel: room.channel, session: room.session, roomId: room.roomId, handlerPid: room.handler?.child?.pid ?? null }, 'room opened');
    });
    p.on('room-closed', (room) => {
      if (!room.opened) return;
      this.log.info(
        { kind: 'room', channel: room.channel, session: room.session, roomId: room.roomId, durationMs: Date.now() - room.openedAt, members: room.membersSeen, peakMembers: room.peak },
        'room closed',
      );
    });
    p.on('member-joined', (room, m) => {
      this.metrics.inc('videochatd_room_members_total', { channel: room.channel });
      const { show } = this.memberLog.admit('joined');
      if (show) this.log.debug({ kind: 'member', channel: room.channel, session: room.session, roomId: room.roomId, memberId: m.memberId }, 'room member joined');
    });
    p.on('member-ended', (room, m, reason: MemberEndReason) => {
      this.metrics.inc('videochatd_room_members_ended_total', { channel: room.channel, reason });
      // A hostile address cycling connections must not become a flood of lines.
      const { show, suppressedBefore } = this.memberLog.admit(reason);
      if (suppressedBefore > 0) this.log.info({ kind: 'member', reason, suppressed: suppressedBefore }, 'member lines not logged');
      if (show) {
        this.log.info(
          { kind: 'member', channel: room.channel, session: room.session, roomId: room.roomId, memberId: m.memberId, handlerPid: m.handlerPid ?? null, reason, remote: m.member.remote, durationMs: Date.now() - m.member.since },
          'room member ended',
        );
      }
    });
    p.on('room-stats', (channel, envIn, bytesIn, envOut, misrouted, dropped) => {
      this.metrics.inc('videochatd_room_envelopes_received_total', { channel }, envIn);
      this.metrics.inc('videochatd_room_bytes_received_total', { channel }, bytesIn);
      this.metrics.inc('videochatd_room_envelopes_relayed_total', { channel }, envOut);
      this.metrics.inc('videochatd_room_envelopes_dropped_total', { channel, reason: 'misrouted' }, misrouted);
      this.metrics.inc('videochatd_room_envelopes_dropped_total', { channel, reason: 'too-slow' }, dropped);
    });
    p.on('pair-started', (pair) => {
      this.metrics.inc('videochatd_pairs_total', { channel: pair.channel });
      this.log.info({ channel: pair.channel, session: pair.session, pairId: pair.pairId, handlerPid: pair.handlerPid ?? null }, 'pair started');
    });
    p.on('pair-refused', (pair: PairHandover) => {
      this.fdExhausted('handler');
      this.metrics.inc('videochatd_rejected_total', { reason: 'E_FD_LIMIT' });
      const { show } = this.rejectLog.admit('E_FD_LIMIT');
      if (show) this.log.warn({ channel: pair.channel, session: pair.session, reason: 'E_FD_LIMIT' }, 'pair refused: no handler has file descriptors left');
    });
    p.on('pair-ended', (pair: ActivePair, reason: PairEndReason, error) => {
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

  private define(cluster: boolean): void {
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
    if (cluster) {
      m.define('videochatd_directory_up', 'gauge', 'With --redis: 1 while Redis answers (pairing across nodes), 0 while new sessions pair on this node only.');
      m.define('videochatd_cluster_splices_total', 'counter', 'Pairs whose two clients are on different nodes, spliced over the cluster port.');
      m.define('videochatd_cluster_splice_failures_total', 'counter', 'Splices that failed because the waiting peer\'s node could not be reached.');
      m.define('videochatd_cluster_directory_errors_total', 'counter', 'Directory lookups that failed (Redis away or slow); the client then waited on this node only.');
      m.define('videochatd_cluster_link_rejected_total', 'counter', 'Connections to the cluster port refused (no cluster secret, malformed, too many).');
      for (const name of ['splices', 'splice_failures', 'directory_errors', 'link_rejected']) m.inc(`videochatd_cluster_${name}_total`, {}, 0);
    }
    m.define('videochatd_rooms', 'gauge', 'Group call rooms open (codes starting vcroom1-), per channel.');
    m.define('videochatd_room_members', 'gauge', 'Members in open rooms (handed to a handler, HELLO sent or not), per channel.');
    m.define('videochatd_rooms_total', 'counter', 'Rooms opened, per channel.');
    m.define('videochatd_room_members_total', 'counter', 'Room members that sent their HELLO and got a member id, per channel.');
    m.define('videochatd_room_members_ended_total', 'counter', 'Room member connections that ended, per channel and reason (left, lost, too-slow, framing, control-flood, hello-timeout, full, shutdown, handler-died, errory).');
    m.define('videochatd_room_envelopes_received_total', 'counter', 'Envelopes room members sent the relay, per channel; reported by handlers every second.');
    m.define('videochatd_room_bytes_received_total', 'counter', 'Envelope bytes room members sent the relay (after their HELLO), per channel.');
    m.define('videochatd_room_envelopes_relayed_total', 'counter', 'Envelopes the relay wrote to room members (each copy of a broadcast counts), per channel.');
    m.define('videochatd_room_envelopes_dropped_total', 'counter', 'Envelopes not delivered, per channel and reason: too-slow (media dropped for a receiver that fell behind), misrouted (to no member of the room).');
    for (const channel of CHANNELS) {
      m.set('videochatd_rooms', { channel }, 0);
      m.set('videochatd_room_members', { channel }, 0);
      for (const name of ['rooms', 'room_members', 'room_envelopes_received', 'room_bytes_received', 'room_envelopes_relayed']) m.inc(`videochatd_${name}_total`, { channel }, 0);
      for (const reason of ['too-slow', 'misrouted']) m.inc('videochatd_room_envelopes_dropped_total', { channel, reason }, 0);
      for (const reason of MEMBER_END_REASONS) m.inc('videochatd_room_members_ended_total', { channel, reason }, 0);
      m.inc('videochatd_connections_total', { channel }, 0);
      m.inc('videochatd_bytes_relayed_total', { channel }, 0);
    }
    m.inc('videochatd_handler_restarts_total', {}, 0);
    for (const reason of REJECT_REASONS) m.inc('videochatd_rejected_total', { reason }, 0);
  }
}
