/**
 * Test helper: a room member (src/codec/room/member.ts) through a real relay on loopback.
 * It sends the relay handshake `vcroom1-` + the code's rendezvous id, then its HELLO, and
 * from then on speaks envelopes; every byte it sends and receives is kept (`wire`): the
 * member's socket is the other end of the relay's, so this is what a tap on the relay's
 * sockets would see.
 */
import net from 'node:net';
import { encodeHandshake } from '../../src/codec/handshake.js';
import { EnvelopeParser, ROOM_CODE_PREFIX, RoomMember, type MemberEvent } from '../../src/codec/room/index.js';
import { createLocalHelloSecrets, deriveCodeSecrets } from '../../src/codec/secure/index.js';
import type { Channel } from '../../src/daemon/ipc.js';

/** What deriveCodeSecrets gives for a code (one scrypt per code, cached). */
const secretsCache = new Map<string, Promise<{ rendezvousId: string; codeKey: Buffer }>>();
export function roomSecrets(code: string): Promise<{ rendezvousId: string; codeKey: Buffer }> {
  let p = secretsCache.get(code);
  if (!p) {
    p = deriveCodeSecrets(code);
    secretsCache.set(code, p);
  }
  return p;
}

/** The relay handshake's code for a room: the prefix and the rendezvous id. */
export async function roomHandshakeCode(code: string): Promise<string> {
  return `${ROOM_CODE_PREFIX}${(await roomSecrets(code)).rendezvousId}`;
}

export interface RoomClientOptions {
  channel?: Channel;
  /** Connect from this address (127.0.0.2 for a hostile one). */
  localAddress?: string;
  /** Use this code key instead of the code's (a member with a wrong code). */
  codeKey?: Uint8Array;
  /**
   * Read at most about this many bytes a second (a member behind a slow link): past its
   * budget for the current 500 ms window the socket is paused, and TCP pushes back.
   */
  readBytesPerS?: number;
}

/** One member on one port. */
export class RoomClient {
  readonly member: RoomMember;
  readonly socket: net.Socket;
  readonly events: MemberEvent[] = [];
  /** Every byte sent and received, in order of occurrence. */
  readonly wire: Buffer[] = [];
  /** Set when the socket closed. */
  closed = false;
  private readonly mediaBy = new Map<number, Buffer[]>();
  private parserFailed = false;

  private constructor(socket: net.Socket, member: RoomMember) {
    this.socket = socket;
    this.member = member;
  }

  static async connect(port: number, code: string, opts: RoomClientOptions = {}): Promise<RoomClient> {
    const secrets = await roomSecrets(code);
    const socket = net.connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const box: { client?: RoomClient } = {};
    const member = new RoomMember({
      channel: opts.channel ?? 'video',
      codeKey: opts.codeKey ?? secrets.codeKey,
      local: createLocalHelloSecrets(),
      send: (bytes) => box.client!.write(bytes),
    });
    const c = new RoomClient(socket, member);
    box.client = c;
    const parser = new EnvelopeParser();
    socket.on('data', (chunk: Buffer) => {
      c.wire.push(Buffer.from(chunk));
      if (c.parserFailed) return;
      let envelopes;
      try {
        envelopes = parser.push(chunk);
      } catch {
        c.parserFailed = true;
        return;
      }
      for (const e of envelopes) {
        for (const ev of member.receive({ ...e, payload: Buffer.from(e.payload) })) {
          if (ev.type === 'media') {
            let list = c.mediaBy.get(ev.memberId);
            if (!list) c.mediaBy.set(ev.memberId, (list = []));
            list.push(ev.payload);
          } else {
            c.events.push(ev);
          }
        }
      }
    });
    if (opts.readBytesPerS !== undefined) {
      const perWindow = opts.readBytesPerS / 2;
      let used = 0;
      socket.on('data', (chunk: Buffer) => {
        used += chunk.length;
        if (used >= perWindow) socket.pause();
      });
      const timer = setInterval(() => {
        used = Math.max(0, used - perWindow);
        if (used < perWindow && !socket.destroyed) socket.resume();
      }, 500);
      socket.once('close', () => clearInterval(timer));
    }
    socket.once('close', () => (c.closed = true));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    c.write(Buffer.concat([encodeHandshake(`${ROOM_CODE_PREFIX}${secrets.rendezvousId}`), member.hello()]));
    return c;
  }

  write(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    this.wire.push(Buffer.from(bytes));
    this.socket.write(bytes);
  }

  get id(): number {
    return this.member.memberId ?? 0;
  }

  /** Media payloads received from one member, in order. */
  media(from: number): Buffer[] {
    return this.mediaBy.get(from) ?? [];
  }

  confirmed(): number[] {
    return this.events.flatMap((e) => (e.type === 'member-confirmed' ? [e.memberId] : []));
  }

  has(pred: (e: MemberEvent) => boolean): boolean {
    return this.events.some(pred);
  }

  async until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects `n` members one after the other (each waits for its WELCOME). */
export async function joinRoom(port: number, code: string, n: number, opts: RoomClientOptions = {}): Promise<RoomClient[]> {
  const out: RoomClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RoomClient.connect(port, code, opts);
    await c.until(`member ${i} welcomed`, () => c.id > 0);
    out.push(c);
  }
  for (const c of out) await c.until(`member ${c.id} confirms ${n - 1}`, () => c.confirmed().length >= n - 1);
  // Sender keys follow confirmation; let them land before media starts.
  await new Promise((r) => setTimeout(r, 100));
  return out;
}
