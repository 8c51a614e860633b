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
import { SOCKET_HIGH_WATER_BYTES } from '../session/relay-link.js';

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
