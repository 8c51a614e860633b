/**
 * One connection of a room member (video or audio): the socket to the relay, the envelope
 * parser and the RoomMember (src/codec/room/member.ts) that runs the keys. It tells a
 * room-aware relay from one without rooms by the first four bytes that come back
 * (startsWithPeerHello): then it emits `one-to-one` and stops reading.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Channel as ChannelName } from '../../codec/protocol/hello.js';
import { EnvelopeParser, RoomMember, startsWithPeerHello, type MemberEvent } from '../../codec/room/index.js';
import { createLocalHelloSecrets } from '../../codec/secure/key-exchange.js';
import { ROOM_CODE_PREFIX } from '../../codec/room/index.js';
import { deriveCodeSecrets } from '../../codec/secure/rendezvous.js';
import { openRelayChannel, RELAY_CONNECT_TIMEOUT_MS, SOCKET_HIGH_WATER_BYTES } from '../session/relay-link.js';

/**
 * TEST-ONLY: join the room of this code (its rendezvous id) while keeping the key of our own
 * --session code: how a test puts a member with a wrong code into a room (a wrong code
 * otherwise lands in an empty room of its own and waits, exit 4).
 */
export const TEST_ROOM_RENDEZVOUS_ENV = 'VIDEOCHAT_TEST_ROOM_RENDEZVOUS_CODE';

/**
 * Both connections to the relay's room of a session code (`vcroom1-` + its rendezvous id),
 * through the handshake: the sockets and the code's key. One that fails closes the other.
 */
export async function openRoomSockets(
  where: { host: string; videoPort: number; audioPort: number }, session: string, env: NodeJS.ProcessEnv,
): Promise<{ video: net.Socket; audio: net.Socket; codeKey: Uint8Array }> {
  const secrets = await deriveCodeSecrets(session);
  const testRendezvous = env[TEST_ROOM_RENDEZVOUS_ENV];
  const rendezvousId = testRendezvous ? (await deriveCodeSecrets(testRendezvous)).rendezvousId : secrets.rendezvousId;
  const code = ROOM_CODE_PREFIX + rendezvousId;
  const [v, a] = await Promise.allSettled([
    openRelayChannel(where.host, where.videoPort, code, RELAY_CONNECT_TIMEOUT_MS),
    openRelayChannel(where.host, where.audioPort, code, RELAY_CONNECT_TIMEOUT_MS),
  ]);
  if (v.status !== 'fulfilled' || a.status !== 'fulfilled') {
    if (v.status === 'fulfilled') v.value.destroy();
    if (a.status === 'fulfilled') a.value.destroy();
    throw v.status === 'rejected' ? v.reason : (a as PromiseRejectedResult).reason;
  }
  return { video: v.value, audio: a.value, codeKey: secrets.codeKey };
}

export interface RoomLinkEvents {
  event: [MemberEvent];
  /** The relay knows no rooms: what came back starts with a peer's HELLO. */
  'one-to-one': [];
  /** The envelope stream broke (the relay sent what does not parse). */
  error: [Error];
  close: [];
}

export class RoomLink extends EventEmitter<RoomLinkEvents> {
  readonly member: RoomMember;
  bytesSent = 0;
  bytesReceived = 0;
  /** Members (their ids on this connection) that proved the code to us / that we refused. */
  readonly confirmed = new Set<number>();
  readonly refused = new Set<number>();
  readonly present = new Set<number>();
  private readonly parser = new EnvelopeParser();
  private first: Buffer | null = Buffer.alloc(0);
  private closed = false;

  constructor(readonly name: ChannelName, private readonly socket: net.Socket, codeKey: Uint8Array) {
    super();
    this.member = new RoomMember({ channel: name, codeKey, local: createLocalHelloSecrets(), send: (b) => this.write(b) });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.emit('close');
    });
    this.write(this.member.hello());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Too much queued in the socket: media should be dropped, not queued. */
  get backedUp(): boolean {
    return this.socket.writableLength > SOCKET_HIGH_WATER_BYTES;
  }

  /** Sends what is queued, then closes our side. */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  /**
   * A refusal on this connection says our code is wrong when every member that was in the
   * room before us failed to prove the code to us (and none did); members that came after
   * us are theirs to blame.
   */
  ourCodeLooksWrong(refusal: string): boolean {
    const ours = this.member.memberId ?? 0;
    const earlier = [...this.present].filter((id) => id < ours);
    return refusal === 'E_KEY_CONFIRMATION' && this.confirmed.size === 0 && earlier.length > 0 && earlier.every((id) => this.refused.has(id));
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private write(bytes: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.bytesSent += bytes.length;
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesReceived += chunk.length;
    if (this.first) {
      // Until four bytes are in we cannot tell an envelope length from a HELLO magic.
      const head = Buffer.concat([this.first, chunk]);
      if (head.length < 4) {
        this.first = head;
        return;
      }
      this.first = null;
      if (startsWithPeerHello(head)) {
        this.closed = true;
        this.emit('one-to-one');
        return;
      }
      chunk = head;
    }
    try {
      this.parser.parse(chunk, (envelope) => {
        // The parser's payload may be a view of the socket's chunk: the member keeps nothing of it past this call.
        for (const e of this.member.receive(envelope)) {
          this.track(e);
          this.emit('event', e);
          if (this.closed) return;
        }
      });
    } catch (err) {
      this.emit('error', err as Error);
    }
  }

  private track(e: MemberEvent): void {
    switch (e.type) {
      case 'member-joined': this.present.add(e.memberId); break;
      case 'member-confirmed': this.confirmed.add(e.memberId); break;
      case 'member-refused': this.refused.add(e.memberId); break;
      case 'member-left':
        this.present.delete(e.memberId);
        this.confirmed.delete(e.memberId);
        this.refused.delete(e.memberId);
        break;
      default:
    }
  }
}
