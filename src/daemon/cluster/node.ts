/**
 * One videochatd node of several (`--redis`): the glue between the acceptor's local pairing,
 * the Redis directory (directory.ts) and the splice links (link.ts).
 *
 * A client that finds no local peer waits locally and is offered to the directory: if a
 * waiter with its session sits on another live node, this node takes that entry, dials the
 * node and claims the waiter; both nodes then relay their client <-> the link as an
 * ordinary pair. Otherwise the client's entry is claimed in Redis (SET NX) and it waits
 * until a local newcomer or a claim over the cluster port takes it. Local pairing always
 * comes first and never waits on Redis; when Redis is away, pairing is local only.
 */
import { randomBytes } from 'node:crypto';
import net, { type Server, type Socket } from 'node:net';
import type { Channel } from '../ipc.js';
import { DirectoryStartError } from '../exit-codes.js';
import { RedisDirectory, RedisUnavailableError } from './directory.js';
import { acceptLink, dialLink, type Claim } from './link.js';

/** How many taken-but-gone entries one newcomer looks past before it just waits. */
export const MAX_MATCH_ATTEMPTS = 4;
/** Link handshakes in progress on the cluster port at once (more are refused). */
export const MAX_PENDING_LINKS = 256;

/** What the node needs to know of a waiting client. */
export interface ClusterWaiter {
  channel: Channel;
  /** The code the client presented (hex), as the local directory keys it. */
  key: string;
  socket: Socket;
}

/** What the acceptor lends the node. */
export interface ClusterHost<W extends ClusterWaiter> {
  /** Removes `w` from local waiting if it is still there (true: the node may splice it). */
  takeLocal(w: W): boolean;
  /** `w` is spliced to a link: relay w <-> link as a pair. */
  placeSplice(w: W, link: Socket, linkRest: Buffer): void;
  /** A splice attempt failed after takeLocal: let `w` wait again (or pair locally). */
  requeue(w: W): void;
  /** Local waiters (for re-offering them when Redis comes back). */
  localWaiters(): Iterable<W>;
  /** Something worth an operator's attention (throttled by the host). */
  warn(reason: string, fields: Record<string, unknown>, message: string): void;
  count(metric: 'splices' | 'splice_failures' | 'directory_errors' | 'link_rejected'): void;
}

export interface ClusterNodeOptions {
  redisUrl: string;
  secret: Buffer;
  /** Where the cluster port listens. */
  listenHost: string | undefined;
  listenPort: number;
  /** Host other nodes dial for this one (the port is the cluster port's). */
  advertiseHost: string;
}

export class ClusterNode<W extends ClusterWaiter> {
  readonly nodeId = randomBytes(8).toString('hex');
  private directory: RedisDirectory | undefined;
  private server: Server | undefined;
  private readonly ticketOf = new Map<W, string>();
  private readonly byTicket = new Map<string, W>();
  private pendingLinks = 0;
  private closed = false;

  constructor(private readonly opts: ClusterNodeOptions, private readonly host: ClusterHost<W>) {}

  get directoryUp(): boolean {
    return this.directory?.up ?? false;
  }

  /** The cluster port's bound port (after start). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /**
   * Binds the cluster port, then connects to Redis and registers. Throws on either failure:
   * Redis out of reach is a DirectoryStartError (exit 4), its URL without the password.
   */
  async start(bind: (server: Server, port: number, what: string) => Promise<void>): Promise<void> {
    this.server = net.createServer({ noDelay: true, pauseOnConnect: false }, (s) => this.onLink(s));
    await bind(this.server, this.opts.listenPort, 'cluster port');
    // Past the bind, an error is a failed accept (EMFILE...): that link is lost, the port goes on.
    this.server.on('error', (err: NodeJS.ErrnoException) => {
      this.host.count('link_rejected');
      this.host.warn('W_FD_EXHAUSTED', { code: err.code ?? null }, 'cluster port: accept failed');
    });
    const advertise = `${this.opts.advertiseHost.includes(':') ? `[${this.opts.advertiseHost}]` : this.opts.advertiseHost}:${this.port}`;
    this.directory = new RedisDirectory(this.opts.redisUrl, this.opts.secret, this.nodeId, advertise);
    try {
      await this.directory.start();
    } catch (err) {
      this.server.close();
      if (err instanceof RedisUnavailableError) throw new DirectoryStartError(`cannot reach redis at ${redactUrl(this.opts.redisUrl)}: ${err.message}`, { cause: err });
      throw err;
    }
    this.directory.on('lost', (ticket) => {
      const w = this.byTicket.get(ticket);
      if (!w) return;
      this.byTicket.delete(ticket);
      this.ticketOf.delete(w);
      if (!w.socket.destroyed && this.stillLocal(w)) this.offer(w);
    });
    this.directory.on('up', (up) => {
      if (up) {
        this.host.warn('I_DIRECTORY_BACK', {}, 'redis is back: pairing across nodes resumes');
        // Redis may have lost everything (a restart without persistence): offer every waiter anew.
        this.ticketOf.clear();
        this.byTicket.clear();
        for (const w of [...this.host.localWaiters()]) this.offer(w);
      } else {
        this.host.warn('W_DIRECTORY_DOWN', {}, 'redis is unreachable: new sessions pair on this node only');
      }
    });
  }

  /** `w` found no local peer and waits here: look for it on the other nodes, or register it. */
  offer(w: W): void {
    void this.match(w).catch((err: Error) => {
      this.host.count('directory_errors');
      this.host.warn('W_DIRECTORY_ERROR', { channel: w.channel, error: err.message }, 'directory lookup failed: the client waits on this node only');
    });
  }

  private async match(w: W): Promise<void> {
    const dir = this.directory;
    if (!dir || !dir.up || this.closed) return;
    const key = dir.keyOf(w.channel, w.key);
    for (let attempt = 0; attempt < MAX_MATCH_ATTEMPTS; attempt++) {
      const remote = await dir.take(key);
      if (remote === null) {
        if (w.socket.destroyed || this.ticketOf.has(w)) return;
        const ticket = randomBytes(12).toString('hex');
        if (await dir.claim(key, ticket)) {
          if (w.socket.destroyed || !this.stillLocal(w)) {
            // It left or paired locally while we registered it.
            await dir.release(key, ticket);
            return;
          }
          this.ticketOf.set(w, ticket);
          this.byTicket.set(ticket, w);
          return;
        }
        continue; // someone registered the session meanwhile: take theirs
      }
      if (remote.address === null) continue; // its node is dead: that waiter is gone with it
      if (remote.nodeId === this.nodeId) {
        // Our own entry (a local pairing has not released it yet): nothing to splice.
        continue;
      }
      if (!this.host.takeLocal(w)) return; // paired locally meanwhile
      let linked: { socket: Socket; rest: Buffer } | null = null;
      try {
        linked = await dialLink(remote.address, this.opts.secret, { channel: w.channel, ticket: remote.ticket });
      } catch (err) {
        this.host.count('splice_failures');
        this.host.warn('W_SPLICE_FAILED', { channel: w.channel, node: remote.nodeId, error: (err as Error).message }, 'could not reach the node of a waiting peer');
      }
      if (linked) {
        if (w.socket.destroyed) {
          linked.socket.destroy();
          this.host.requeue(w);
          return;
        }
        this.host.count('splices');
        this.host.placeSplice(w, linked.socket, linked.rest);
        return;
      }
      // The waiter had gone (or its node failed): wait again, which may pair locally or look again.
      this.host.requeue(w);
      return;
    }
  }

  private stillLocal(w: W): boolean {
    for (const x of this.host.localWaiters()) if (x === w) return true;
    return false;
  }

  /** `w` stopped waiting here (paired locally, left, timed out, spliced): drop its entry. */
  withdraw(w: W): void {
    const ticket = this.ticketOf.get(w);
    if (ticket === undefined) return;
    this.ticketOf.delete(w);
    this.byTicket.delete(ticket);
    const dir = this.directory;
    if (dir?.up) void dir.release(dir.keyOf(w.channel, w.key), ticket).catch(() => undefined);
  }

  private onLink(socket: Socket): void {
    socket.on('error', () => {});
    if (this.closed || this.pendingLinks >= MAX_PENDING_LINKS) {
      this.host.count('link_rejected');
      socket.destroy();
      return;
    }
    this.pendingLinks++;
    let taken: W | undefined;
    const decide = (claim: Claim): boolean => {
      const w = this.byTicket.get(claim.ticket);
      if (!w || w.channel !== claim.channel) return false;
      this.byTicket.delete(claim.ticket);
      this.ticketOf.delete(w);
      if (w.socket.destroyed || !this.host.takeLocal(w)) return false;
      taken = w;
      return true;
    };
    acceptLink(socket, this.opts.secret, decide).then(({ accepted, rest }) => {
      this.pendingLinks--;
      if (!accepted || !taken) {
        socket.end();
        return;
      }
      this.host.count('splices');
      this.host.placeSplice(taken, socket, rest);
    }, (err: Error) => {
      this.pendingLinks--;
      this.host.count('link_rejected');
      this.host.warn('W_LINK_REJECTED', { remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, error: err.message }, 'cluster link refused');
      socket.destroy();
      // A waiter taken for a link that then failed must not be lost.
      if (taken) this.host.requeue(taken);
    });
  }

  /** Closes the cluster port and deregisters (waiters on this node then expire in Redis). */
  async close(): Promise<void> {
    this.closed = true;
    this.server?.close();
    await this.directory?.close();
  }
}

/** A Redis URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}
