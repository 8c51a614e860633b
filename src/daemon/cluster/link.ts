/**
 * The node-to-node splice link (docs/operations.md, "Several nodes"). When a client on node B
 * has the session of a client waiting on node A, B dials A's cluster port and claims that
 * waiter; after the link handshake the connection carries the two clients' bytes unchanged,
 * relayed by a handler on each node exactly as a local pair.
 *
 * Both nodes prove they hold the cluster secret (--cluster-secret-file) without sending it,
 * so no client can use the cluster port:
 *
 *   B -> A  "VCL1" + nonceB (16 bytes)
 *   A -> B  nonceA (16) + HMAC-SHA256(secret, "A" | nonceB | nonceA)
 *   B -> A  HMAC-SHA256(secret, "B" | nonceA | nonceB | claim) + u16 BE claim length + claim
 *           (claim: UTF-8 JSON {"channel":"video"|"audio","ticket":"<hex>"})
 *   A -> B  one byte: 0x01 the waiter is B's now, 0x00 it is gone (B looks again)
 *
 * Everything after that byte is the clients' traffic. Each step has a hard size; the
 * listener side gives a link LINK_HANDSHAKE_TIMEOUT_MS in all.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net, { type Socket } from 'node:net';
import type { Channel } from '../ipc.js';

/** Whole link handshake, either side. */
export const LINK_HANDSHAKE_TIMEOUT_MS = 5000;
/** Longest claim accepted. */
export const MAX_CLAIM_BYTES = 512;
/** The shortest secret accepted from --cluster-secret-file. */
export const MIN_CLUSTER_SECRET_BYTES = 16;

const MAGIC = Buffer.from('VCL1');
const NONCE_BYTES = 16;
const MAC_BYTES = 32;
const ACK = 0x01;
const NACK = 0x00;

/** A waiter on another node, as the directory names it. */
export interface Claim {
  channel: Channel;
  ticket: string;
}

function mac(secret: Buffer, role: 'A' | 'B', ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', secret).update(role);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Reads exactly what each step needs from a socket, with one deadline for the whole handshake. */
class StepReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (c: Buffer): void => {
    this.chunks.push(c);
    this.have += c.length;
    this.wake?.();
  };
  private readonly onEnd = (): void => this.fail(new Error('the link closed during its handshake'));

  constructor(private readonly socket: Socket, timeoutMs: number) {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onEnd);
    this.timer = setTimeout(() => this.fail(new Error('link handshake timed out')), timeoutMs);
  }

  private readonly timer: NodeJS.Timeout;

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  async read(n: number): Promise<Buffer> {
    while (this.have < n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = undefined;
    }
    const all = Buffer.concat(this.chunks, this.have);
    this.chunks = [all.subarray(n)];
    this.have -= n;
    return all.subarray(0, n);
  }

  /** Stops reading; returns what arrived beyond the handshake (the clients' first bytes). */
  finish(): Buffer {
    clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    return Buffer.concat(this.chunks, this.have);
  }
}

/**
 * Listener side: authenticates a dialing node, reads its claim and asks `decide` whether
 * the waiter is still there. Resolves with the socket's leftover bytes, or rejects (the
 * caller destroys the socket). `decide` runs only for an authenticated claim.
 */
export async function acceptLink(
  socket: Socket,
  secret: Buffer,
  decide: (claim: Claim) => boolean,
  timeoutMs = LINK_HANDSHAKE_TIMEOUT_MS,
): Promise<{ claim: Claim; accepted: boolean; rest: Buffer }> {
  const reader = new StepReader(socket, timeoutMs);
  try {
    const hello = await reader.read(MAGIC.length + NONCE_BYTES);
    if (!hello.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a videochatd node');
    const nonceB = Buffer.from(hello.subarray(MAGIC.length));
    const nonceA = randomBytes(NONCE_BYTES);
    socket.write(Buffer.concat([nonceA, mac(secret, 'A', nonceB, nonceA)]));
    const head = await reader.read(MAC_BYTES + 2);
    const length = head.readUInt16BE(MAC_BYTES);
    if (length === 0 || length > MAX_CLAIM_BYTES) throw new Error('bad claim length');
    const body = await reader.read(length);
    if (!timingSafeEqual(head.subarray(0, MAC_BYTES), mac(secret, 'B', nonceA, nonceB, body))) throw new Error('bad cluster secret');
    const claim = parseClaim(body);
    const accepted = decide(claim);
    socket.write(Buffer.from([accepted ? ACK : NACK]));
    return { claim, accepted, rest: reader.finish() };
  } catch (err) {
    reader.finish();
    throw err;
  }
}

function parseClaim(body: Buffer): Claim {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('bad claim');
  }
  const c = v as Partial<Claim>;
  if ((c.channel !== 'video' && c.channel !== 'audio') || typeof c.ticket !== 'string' || !/^[0-9a-f]{1,64}$/.test(c.ticket)) {
    throw new Error('bad claim');
  }
  return { channel: c.channel, ticket: c.ticket };
}

/**
 * Dialer side: connects to another node's cluster port and claims a waiter. Resolves with
 * the linked socket and any bytes after the answer when the waiter was ours, null when it
 * had gone; rejects when the node cannot be reached or does not prove the secret.
 */
export async function dialLink(
  address: { host: string; port: number },
  secret: Buffer,
  claim: Claim,
  timeoutMs = LINK_HANDSHAKE_TIMEOUT_MS,
): Promise<{ socket: Socket; rest: Buffer } | null> {
  const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
  // Errors surface through the reader (close) or the connect race below.
  socket.on('error', () => {});
  const connected = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    socket.once('connect', () => { clearTimeout(t); resolve(true); });
    socket.once('close', () => { clearTimeout(t); resolve(false); });
  });
  if (!connected) {
    socket.destroy();
    throw new Error(`cannot reach node ${address.host}:${address.port}`);
  }
  const reader = new StepReader(socket, timeoutMs);
  try {
    const nonceB = randomBytes(NONCE_BYTES);
    socket.write(Buffer.concat([MAGIC, nonceB]));
    const answer = await reader.read(NONCE_BYTES + MAC_BYTES);
    const nonceA = Buffer.from(answer.subarray(0, NONCE_BYTES));
    if (!timingSafeEqual(answer.subarray(NONCE_BYTES), mac(secret, 'A', nonceB, nonceA))) throw new Error('the node does not hold the cluster secret');
    const body = Buffer.from(JSON.stringify(claim), 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length, 0);
    socket.write(Buffer.concat([mac(secret, 'B', nonceA, nonceB, body), len, body]));
    const verdict = (await reader.read(1))[0];
    const rest = reader.finish();
    if (verdict !== ACK) {
      socket.destroy();
      return null;
    }
    return { socket, rest };
  } catch (err) {
    reader.finish();
    socket.destroy();
    throw err;
  }
}
