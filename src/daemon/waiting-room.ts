/**
 * The waiting room: clients whose handshake was read wait here for the peer with the same
 * code. Pairing goes through the `find or wait` interface (pairing.ts), one directory per port;
 * with --redis the cluster node (cluster/node.ts) also offers each waiter to the other nodes.
 * While a client waits it is still read (up to --max-buffer-bytes), so that one that leaves is
 * noticed at once; one at the cap is not read, and the kernel is asked once a tick whether it
 * is still there (tcp-state.ts).
 */
import type { Socket } from 'node:net';
import type { HandshakeResult } from '../codec/handshake.js';
import { ClusterNode, type ClusterHost, type ClusterNodeOptions } from './cluster/node.js';
import type { Channel } from './ipc.js';
import type { SessionHasher } from './logger.js';
import { MemoryPairingDirectory, type PairingDirectory } from './pairing.js';
import { connectionKey, departed } from './tcp-state.js';
import { remoteOf, TCP_KEEPALIVE_IDLE_MS, type RejectReason, type Ticket, type WaiterEndReason } from './admission.js';
import type { Telemetry } from './telemetry.js';

/** A client waiting for its peer. */
export interface Waiter {
  channel: Channel;
  socket: Socket;
  /** Its place in its address's limits; the pair takes it over. */
  ticket: Ticket;
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

export interface WaitingRoomOptions {
  maxWaiting: number;
  waitTimeoutMs: number;
  maxBufferBytes: number;
  /** With --redis: this node's part in the shared directory. */
  cluster?: ClusterNodeOptions;
}

/** What the room needs from the daemon to turn two waiters into a pair. */
export interface PairPlacer {
  stopping(): boolean;
  /** Why a new pair of this session cannot be relayed now, or null. */
  refusal(session: string): 'E_TOO_MANY_PAIRS' | 'E_FD_LIMIT' | null;
  /** Relays the pair: [the one that waited, the newcomer], the bytes read from each. */
  place(channel: Channel, session: string, sockets: [Socket, Socket], rests: [Buffer, Buffer], tickets: Ticket[]): void;
  reject(channel: Channel, socket: Socket, reason: RejectReason): void;
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

/** Waiters, their departures and timeouts, and the pairing of newcomers with them. */
export class WaitingRoom {
  readonly cluster: ClusterNode<Waiter> | undefined;
  private readonly opts: WaitingRoomOptions;
  private readonly telemetry: Telemetry;
  private readonly hasher: SessionHasher;
  private readonly placer: PairPlacer;
  private readonly directories: Record<Channel, PairingDirectory<Waiter>>;
  private readonly waiters = new Set<Waiter>();

  constructor(opts: WaitingRoomOptions, telemetry: Telemetry, hasher: SessionHasher, placer: PairPlacer) {
    this.opts = opts;
    this.telemetry = telemetry;
    this.hasher = hasher;
    this.placer = placer;
    const room = (): number => this.opts.maxWaiting - this.waiters.size;
    this.directories = { video: new MemoryPairingDirectory(room), audio: new MemoryPairingDirectory(room) };
    if (opts.cluster) this.cluster = new ClusterNode<Waiter>(opts.cluster, this.clusterHost());
  }

  /** Clients waiting right now (on one channel, or on both). */
  count(channel?: Channel): number {
    if (!channel) return this.waiters.size;
    let n = 0;
    for (const w of this.waiters) if (w.channel === channel) n++;
    return n;
  }

  /** A client whose handshake was read: pair it with its peer, or let it wait. */
  async enter(channel: Channel, socket: Socket, hs: HandshakeResult, ticket: Ticket): Promise<void> {
    let attached = false;
    const w: Waiter = {
      channel,
      socket,
      ticket,
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
        if (w.restBytes >= this.opts.maxBufferBytes) this.limit(w);
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
    const onData = (chunk: Buffer): void => {
      w.rest.push(chunk);
      w.restBytes += chunk.length;
      // Past the cap the kernel holds the bytes and TCP slows the client down.
      if (w.restBytes >= this.opts.maxBufferBytes) this.limit(w);
    };
    const onGone = (): void => this.end(w, 'impatient');
    w.attach();
    await this.findOrWait(w);
  }

  /** Ends every waiter (shutdown). */
  closeAll(): void {
    for (const w of [...this.waiters]) this.end(w, 'shutdown');
  }

  /**
   * Waiters at --max-buffer-bytes are not read, so their FIN or RST raises no event: ask the
   * kernel once a tick and forget those whose client has gone.
   */
  forgetDeparted(): void {
    const limited: Waiter[] = [];
    for (const w of this.waiters) if (w.limited) limited.push(w);
    for (const w of departed(limited)) this.end(w, 'impatient');
  }

  private async findOrWait(w: Waiter): Promise<void> {
    if (this.placer.stopping()) {
      w.detach();
      w.socket.destroy();
      return;
    }
    const result = await this.directories[w.channel].findOrWait(w.key, w);
    if (result.kind === 'full') {
      w.detach();
      this.placer.reject(w.channel, w.socket, 'E_TOO_MANY_WAITING');
      return;
    }
    if (result.kind === 'waiting') {
      if (w.socket.destroyed) {
        this.end(w, 'impatient');
        return;
      }
      // A waiter put back (its newcomer was refused, a splice failed) is watched again.
      w.attach();
      this.waiters.add(w);
      clearTimeout(w.timer);
      w.timer = setTimeout(() => this.end(w, 'lonely'), this.opts.waitTimeoutMs);
      this.telemetry.log.debug({ channel: w.channel, session: w.session }, 'waiting for a peer');
      this.cluster?.offer(w);
      return;
    }
    const peer = result.peer;
    this.waiters.delete(peer);
    this.cluster?.withdraw(peer);
    peer.detach();
    if (peer.socket.destroyed) {
      // It left between the lookup and now: it is simply gone, the newcomer waits instead.
      this.ended(peer, 'impatient');
      await this.findOrWait(w);
      return;
    }
    const refusal = this.refusal(w.session);
    if (refusal) {
      // Keep the peer waiting; turn the newcomer away.
      w.detach();
      this.placer.reject(w.channel, w.socket, refusal);
      await this.findOrWait(peer);
      return;
    }
    w.detach();
    this.placer.place(w.channel, w.session, [peer.socket, w.socket], [Buffer.concat(peer.rest), Buffer.concat(w.rest)], [peer.ticket, w.ticket]);
  }

  private refusal(session: string): RejectReason | null {
    const refusal = this.placer.refusal(session);
    if (refusal === 'E_FD_LIMIT') this.telemetry.fdExhausted('handler');
    return refusal;
  }

  /** What the cluster node may do with this node's waiters. */
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
        if (w.socket.destroyed || this.placer.stopping()) {
          if (w.socket.destroyed) this.ended(w, 'impatient');
          else w.socket.destroy();
          link.destroy();
          return;
        }
        const refusal = this.refusal(w.session);
        if (refusal) {
          this.placer.reject(w.channel, w.socket, refusal);
          link.destroy();
          return;
        }
        this.placer.place(w.channel, w.session, [w.socket, link], [Buffer.concat(w.rest), linkRest], [w.ticket]);
      },
      requeue: (w) => {
        if (this.placer.stopping()) {
          this.end(w, 'shutdown');
          return;
        }
        void this.findOrWait(w);
      },
      localWaiters: () => this.waiters,
      warn: (reason, fields, message) => this.telemetry.clusterWarn(reason, fields, message),
      count: (metric) => this.telemetry.metrics.inc(`videochatd_cluster_${metric}_total`),
    };
  }

  private end(w: Waiter, reason: WaiterEndReason): void {
    w.detach();
    // leave() is false when it already paired or was already removed: nothing to report.
    const wasWaiting = this.directories[w.channel].leave(w.key, w);
    this.waiters.delete(w);
    clearTimeout(w.timer);
    this.cluster?.withdraw(w);
    if (reason !== 'impatient') w.socket.destroy();
    if (wasWaiting) this.ended(w, reason);
  }

  private ended(w: Waiter, reason: WaiterEndReason): void {
    w.socket.destroy();
    this.telemetry.waiterEnded({ channel: w.channel, session: w.session, reason, waitedMs: Date.now() - w.since, bytesHeld: w.restBytes });
  }

  /** Stops reading a waiter that holds --max-buffer-bytes; TCP then slows the client down. */
  private limit(w: Waiter): void {
    stopReading(w.socket);
    if (w.limited) return;
    w.limited = true;
    this.telemetry.bufferLimited(w.channel, w.session, remoteOf(w.socket), w.restBytes);
  }
}
