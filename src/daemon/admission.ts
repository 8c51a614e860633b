/**
 * Admission: which connections the daemon takes and what each one costs its address. A
 * connection that passes the limits gets a Ticket, which holds its share of the address's
 * pending handshakes (released once the handshake is read or fails) and its place in the
 * address's connection count (released when the socket closes, or, once the socket belongs to
 * a pair, when the pair ends). Then its handshake is read, never blocking the accept loop.
 */
import type { Socket } from 'node:net';
import { HandshakeError, HandshakeReader, type HandshakeResult } from '../codec/handshake.js';
import type { Channel } from './ipc.js';
import { addressKey, ConnectionCounter, RateLimiter } from './limits.js';
import type { Telemetry } from './telemetry.js';

export const CHANNELS: readonly Channel[] = ['video', 'audio'];

/**
 * Idle time before TCP keepalive probes start on every client connection (the kernel then
 * probes every net.ipv4.tcp_keepalive_intvl, 75 s by default, 9 times). Without it, a pair
 * whose two hosts vanished without a FIN (suspended laptop, NAT entry expired) and that sends
 * nothing would be held forever; with it such a pair ends as `errory` in about 12 minutes.
 * The setting is on the socket itself, so it survives the hand-over to a handler.
 */
export const TCP_KEEPALIVE_IDLE_MS = 60_000;

/**
 * Rejections and handshake failures, each a stable reason code in logs and metrics.
 * `E_TOO_MANY_PENDING`: --max-pending-handshakes; `E_IP_CONN_LIMIT`: --max-connections-per-ip;
 * `E_IP_RATE_LIMIT`: --max-connection-rate-per-ip; `E_IP_PENDING_LIMIT`: one address holds its
 * share (PENDING_SHARE_PER_IP) of --max-pending-handshakes; `E_FD_LIMIT`: no handler has a file
 * descriptor left for the pair (RLIMIT_NOFILE). `E_HANDSHAKE_ROOM_CODE`: a code with the
 * reserved room prefix (`vcroom1-`) that is not the prefix and 64 lower-case hex characters.
 */
export type RejectReason =
  | HandshakeError['code']
  | 'E_HANDSHAKE_ROOM_CODE'
  | 'E_TOO_MANY_WAITING'
  | 'E_TOO_MANY_PAIRS'
  | 'E_TOO_MANY_PENDING'
  | 'E_IP_CONN_LIMIT'
  | 'E_IP_RATE_LIMIT'
  | 'E_IP_PENDING_LIMIT'
  | 'E_FD_LIMIT';

/** Why a waiter never got a peer. `shutdown`: the daemon stopped while it waited. */
export type WaiterEndReason = 'lonely' | 'impatient' | 'shutdown';

/**
 * One address (IPv6: one /64) may hold at most this share of --max-pending-handshakes, so
 * taking the whole table takes this many addresses, not ceil(1000/256) = 4.
 */
export const PENDING_SHARE_PER_IP = 1 / 16;

export interface AdmissionOptions {
  maxConnectionRatePerIp: number;
  maxConnectionsPerIp: number;
  maxPendingHandshakes: number;
  handshakeTimeoutMs: number;
}

/** What one admitted connection holds against its address's limits. */
export class Ticket {
  private pendingHeld = true;
  private connectionHeld = true;
  private paired = false;
  private readonly pending: ConnectionCounter;
  private readonly connections: ConnectionCounter;
  private readonly key: string;
  /** Runs when a pending share taken again (a room member's HELLO) is given back. */
  private onPendingReleased: (() => void) | undefined;

  constructor(key: string, socket: Socket, pending: ConnectionCounter, connections: ConnectionCounter) {
    this.key = key;
    this.pending = pending;
    this.connections = connections;
    socket.once('close', () => {
      if (!this.paired) this.release();
    });
  }

  /** The handshake was read (or failed): the address's pending share is free again. */
  handshakeDone(): void {
    if (!this.pendingHeld) return;
    this.pendingHeld = false;
    this.pending.release(this.key);
    const released = this.onPendingReleased;
    this.onPendingReleased = undefined;
    released?.();
  }

  /**
   * Takes the address's pending share again, until handshakeDone() (a room member: its
   * HELLO is the rest of its handshake). False when the address holds its whole share.
   */
  holdPendingAgain(onReleased: () => void): boolean {
    if (this.pendingHeld || !this.connectionHeld) return false;
    if (!this.pending.acquire(this.key)) return false;
    this.pendingHeld = true;
    this.onPendingReleased = onReleased;
    return true;
  }

  /** The socket now belongs to a pair: the pair's end releases the ticket, not the close. */
  pair(): void {
    this.paired = true;
  }

  /** The connection no longer counts against its address. Idempotent. */
  release(): void {
    this.handshakeDone();
    if (!this.connectionHeld) return;
    this.connectionHeld = false;
    this.connections.release(this.key);
  }
}

/** Hands a connection whose handshake was read on (to the waiting room). */
export type Admitted = (channel: Channel, socket: Socket, hs: HandshakeResult, ticket: Ticket) => void;

/** The limits on new connections and the handshakes in progress. */
export class Admission {
  /** Connections the acceptor may hold (handshaking plus waiting) within its descriptors. */
  capacity = Infinity;
  private readonly opts: AdmissionOptions;
  private readonly telemetry: Telemetry;
  private readonly rate: RateLimiter;
  private readonly perIp: ConnectionCounter;
  /** Handshakes in progress per address, against its share of --max-pending-handshakes. */
  private readonly pendingPerIp: ConnectionCounter;
  private readonly handshaking = new Set<Socket>();
  /** Room members whose HELLO has not arrived yet: the rest of their handshake is pending. */
  private helloPending = 0;

  constructor(opts: AdmissionOptions, telemetry: Telemetry) {
    this.opts = opts;
    this.telemetry = telemetry;
    this.rate = new RateLimiter(opts.maxConnectionRatePerIp);
    this.perIp = new ConnectionCounter(opts.maxConnectionsPerIp);
    this.pendingPerIp = new ConnectionCounter(Math.max(1, Math.ceil(opts.maxPendingHandshakes * PENDING_SHARE_PER_IP)));
  }

  /** Handshakes being read right now (room members' HELLOs included). */
  get pending(): number {
    return this.handshaking.size + this.helloPending;
  }

  /**
   * A room member goes to its handler with its HELLO still to come: until it arrives (the
   * caller's handshakeDone()) it holds a pending handshake, globally and in its address's
   * share, so a slow-loris HELLO is bounded like a slow-loris handshake. Null, or why not.
   */
  holdHello(ticket: Ticket): RejectReason | null {
    if (this.pending >= this.opts.maxPendingHandshakes) return 'E_TOO_MANY_PENDING';
    if (!ticket.holdPendingAgain(() => this.helloPending--)) return 'E_IP_PENDING_LIMIT';
    this.helloPending++;
    return null;
  }

  /**
   * Takes a new connection (`waiting`: clients the waiting room holds) through the limits,
   * cheapest check first, and reads its handshake; a refused connection never counts
   * against its address.
   */
  accept(channel: Channel, socket: Socket, waiting: number, admitted: Admitted): void {
    this.telemetry.metrics.inc('videochatd_connections_total', { channel });
    const ipKey = addressKey(socket.remoteAddress);
    if (!this.rate.take(ipKey)) return this.reject(channel, socket, 'E_IP_RATE_LIMIT');
    if (this.handshaking.size + waiting >= this.capacity) {
      this.telemetry.fdExhausted('accept');
      return this.reject(channel, socket, 'E_FD_LIMIT');
    }
    if (this.pending >= this.opts.maxPendingHandshakes) return this.reject(channel, socket, 'E_TOO_MANY_PENDING');
    if (!this.pendingPerIp.acquire(ipKey)) return this.reject(channel, socket, 'E_IP_PENDING_LIMIT');
    if (!this.perIp.acquire(ipKey)) {
      this.pendingPerIp.release(ipKey);
      return this.reject(channel, socket, 'E_IP_CONN_LIMIT');
    }
    this.readHandshake(channel, socket, new Ticket(ipKey, socket, this.pendingPerIp, this.perIp), admitted);
  }

  /** Turns a connection away: counted, logged (throttled), closed. */
  reject(channel: Channel, socket: Socket, reason: RejectReason): void {
    this.telemetry.rejected(channel, remoteOf(socket), reason);
    socket.destroy();
  }

  /** Forgets rate buckets that have refilled. */
  prune(): void {
    this.rate.prune();
  }

  /** Shutdown: closes every half-done handshake. */
  closeAll(): void {
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
  }

  private readHandshake(channel: Channel, socket: Socket, ticket: Ticket, admitted: Admitted): void {
    this.handshaking.add(socket);
    const reader = new HandshakeReader();
    const cleanup = (): void => {
      clearTimeout(timer);
      ticket.handshakeDone();
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
        admitted(channel, socket, result, ticket);
      }
    };
    const onClosed = (): void => fail(reader.truncated().code);
    const timer = setTimeout(() => fail('E_HANDSHAKE_TIMEOUT'), this.opts.handshakeTimeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
  }
}

/** `address:port` of a socket's peer, for log lines. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
