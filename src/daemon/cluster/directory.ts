/**
 * The rendezvous directory shared by several videochatd nodes, on Redis (`--redis URL`).
 * What Redis holds (docs/operations.md, "Several nodes"):
 *
 *   <prefix>node:<nodeId>               -> "host:port" of its cluster port   (TTL NODE_TTL_MS, refreshed)
 *   <prefix>wait:<channel>:<sessionId>  -> "<nodeId> <ticket>"               (TTL WAITER_TTL_MS, refreshed)
 *
 * sessionId is HMAC-SHA256(cluster secret, channel | the bytes the client presented): Redis
 * never sees a session code, and cannot test guesses of one without the secret. A waiter's
 * key is claimed with SET NX; a newcomer takes it with one script that deletes it and says
 * whether its node is still registered, so two newcomers never get the same waiter and
 * nobody is sent to a dead node. Every command has a short timeout: when Redis is away
 * the acceptor pairs locally and says so (`up` false), and nothing waits on Redis.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Channel } from '../ipc.js';

/** A node's registration lives this long unless refreshed (every third of it). */
export const NODE_TTL_MS = 6000;
/** A waiter's entry lives this long unless refreshed (every third of it) while it waits. */
export const WAITER_TTL_MS = 15_000;
/** One Redis command may take this long before Redis counts as unavailable for it. */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;
/** How long the first connection at start may take. */
export const REDIS_CONNECT_TIMEOUT_MS = 5000;
export const KEY_PREFIX = 'videochatd:';

/** Deletes a waiter entry and returns it with its node's cluster address ('' = node gone). */
const TAKE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return nil end
redis.call('DEL', KEYS[1])
local node = string.match(v, '^(%S+) ')
if not node then return nil end
local addr = redis.call('GET', ARGV[1] .. node)
if not addr then addr = '' end
return {v, addr}`;
/** Deletes (or re-arms) an entry only while it still names the same waiter. */
const DEL_IF_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const PEXPIRE_IF_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** A waiter found on some node. */
export interface RemoteWaiter {
  nodeId: string;
  ticket: string;
  /** Its node's cluster address; null when that node is no longer registered (dead). */
  address: { host: string; port: number } | null;
}

export interface DirectoryEvents {
  /** Redis became unavailable (true -> false) or available again (false -> true). */
  up: [boolean];
  /**
   * Our waiter's entry is gone though the waiter was never claimed: another node took it
   * and its splice failed (or Redis lost it). The node offers the waiter again.
   */
  lost: [ticket: string];
}

/** Thrown by start() when Redis cannot be reached: exit 4. */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

function parseAddress(text: string): { host: string; port: number } | null {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m) return null;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

export class RedisDirectory extends EventEmitter<DirectoryEvents> {
  private readonly redis: Redis;
  private isUp = false;
  private nodeTimer: NodeJS.Timeout | undefined;
  private waiterTimer: NodeJS.Timeout | undefined;
  /** Entries this node holds: key -> value, refreshed while they wait. */
  private readonly held = new Map<string, string>();
  private closed = false;

  constructor(
    url: string,
    private readonly secret: Buffer,
    readonly nodeId: string,
    private readonly advertise: string,
  ) {
    super();
    this.redis = new Redis(url, {
      lazyConnect: true,
      // Fail fast instead of queueing while Redis is away: the acceptor pairs locally meanwhile.
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(200 * times, 2000),
    });
    this.redis.on('error', () => {});
    this.redis.on('ready', () => this.setUp(true));
    this.redis.on('close', () => this.setUp(false));
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Connects (once, at start) and registers the node. Rejects with RedisUnavailableError. */
  async start(): Promise<void> {
    try {
      await this.redis.connect();
      await this.register();
    } catch (err) {
      this.redis.disconnect();
      throw new RedisUnavailableError((err as Error).message);
    }
    this.nodeTimer = setInterval(() => void this.register().catch(() => undefined), NODE_TTL_MS / 3);
    this.waiterTimer = setInterval(() => void this.refreshWaiters().catch(() => undefined), WAITER_TTL_MS / 3);
    this.nodeTimer.unref();
    this.waiterTimer.unref();
  }

  private setUp(up: boolean): void {
    if (this.closed || up === this.isUp) return;
    this.isUp = up;
    if (up) {
      // What we held may be gone (a restart) or stale: the node offers its waiters anew.
      this.held.clear();
      void this.register().catch(() => undefined);
    }
    this.emit('up', up);
  }

  private register(): Promise<unknown> {
    return this.redis.set(`${KEY_PREFIX}node:${this.nodeId}`, this.advertise, 'PX', NODE_TTL_MS);
  }

  private async refreshWaiters(): Promise<void> {
    if (!this.isUp || this.held.size === 0) return;
    const entries = [...this.held];
    const p = this.redis.pipeline();
    for (const [key, value] of entries) p.eval(PEXPIRE_IF_SCRIPT, 1, key, value, String(WAITER_TTL_MS));
    const results = (await p.exec()) ?? [];
    results.forEach(([err, armed], i) => {
      const [key, value] = entries[i]!;
      if (err || armed !== 0 || this.held.get(key) !== value) return;
      this.held.delete(key);
      this.emit('lost', value.split(' ')[1]!);
    });
  }

  /** The Redis key of a session (never the code itself). */
  keyOf(channel: Channel, code: string): string {
    const id = createHmac('sha256', this.secret).update(channel).update('\0').update(code).digest('hex');
    return `${KEY_PREFIX}wait:${channel}:${id}`;
  }

  /** Takes the waiter registered under `key`, if any (it is removed whatever its node's state). */
  async take(key: string): Promise<RemoteWaiter | null> {
    const r = (await this.redis.eval(TAKE_SCRIPT, 1, key, `${KEY_PREFIX}node:`)) as [string, string] | null;
    if (!r) return null;
    const [value, addr] = r;
    const [nodeId, ticket] = value.split(' ');
    if (!nodeId || !ticket) return null;
    if (this.held.get(key) === value) this.held.delete(key);
    return { nodeId, ticket, address: addr ? parseAddress(addr) : null };
  }

  /** Registers our waiter `ticket` under `key`; false when another waiter holds it already. */
  async claim(key: string, ticket: string): Promise<boolean> {
    const value = `${this.nodeId} ${ticket}`;
    const ok = await this.redis.set(key, value, 'PX', WAITER_TTL_MS, 'NX');
    if (ok === 'OK') this.held.set(key, value);
    return ok === 'OK';
  }

  /** Removes our waiter's entry (it paired here, left, or timed out). Best effort. */
  async release(key: string, ticket: string): Promise<void> {
    const value = `${this.nodeId} ${ticket}`;
    if (this.held.get(key) === value) this.held.delete(key);
    await this.redis.eval(DEL_IF_SCRIPT, 1, key, value);
  }

  /** Stops refreshing and deregisters the node (its waiters then expire with their TTL). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.nodeTimer);
    clearInterval(this.waiterTimer);
    try {
      if (this.isUp) {
        const p = this.redis.pipeline();
        p.del(`${KEY_PREFIX}node:${this.nodeId}`);
        for (const [key, value] of this.held) p.eval(DEL_IF_SCRIPT, 1, key, value);
        await p.exec();
      }
    } catch {
      // Redis away: the entries expire by themselves.
    }
    this.held.clear();
    this.redis.disconnect();
  }
}
