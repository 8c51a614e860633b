/**
 * One end-to-end channel of a call (video or audio): a TCP socket to the relay, after the
 * relay handshake. Outgoing: our HELLO, then framed messages with sequence numbers.
 * Incoming: the peer's HELLO, then records -> messages. A `RecordCipher` can sit between
 * records and messages (end-to-end encryption) without the rest of the session knowing.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import {
  HelloParser, MessageFramer, RecordParser, decodeMessage, encodeHello, encodeMessage, encodeRecord,
  type Hello, type Message, type MessageInit,
} from '../../codec/protocol/index.js';
import { SOCKET_HIGH_WATER_BYTES } from './relay-link.js';

/** Seals and opens record bodies (encryption), or passes them through (plaintext). */
export interface RecordCipher {
  seal(body: Buffer): Buffer;
  open(body: Buffer): Buffer;
}

export interface ChannelEvents {
  hello: [Hello];
  message: [Message];
  /** A protocol or cipher error: the channel is unusable from here on. */
  error: [Error];
  /** The socket closed (`hadError` when it failed rather than ended). */
  close: [hadError: boolean];
}

export class Channel extends EventEmitter<ChannelEvents> {
  readonly name: 'video' | 'audio';
  readonly socket: net.Socket;
  private readonly helloParser = new HelloParser();
  private readonly records = new RecordParser();
  private readonly framer = new MessageFramer();
  private peerHelloSeen = false;
  private failed = false;
  private closed = false;
  /** Set once keys are agreed; until then records travel in plaintext. */
  cipher: RecordCipher | null = null;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(name: 'video' | 'audio', socket: net.Socket) {
    super();
    this.name = name;
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows with hadError; nothing else to do here.
    });
    socket.on('close', (hadError) => {
      this.closed = true;
      this.emit('close', hadError);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True when the kernel and Node buffers hold more than we allow: drop media instead of queueing it. */
  get backedUp(): boolean {
    return this.socket.writableLength > SOCKET_HIGH_WATER_BYTES;
  }

  /** Bytes waiting in our socket's send queue. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  sendHello(init: Parameters<typeof encodeHello>[0]): void {
    this.write(encodeHello(init));
  }

  /** Frames and sends one message; returns its sequence number. */
  send(init: MessageInit): number {
    const seq = this.framer.nextSeq;
    const msg = this.framer.number(init);
    const body = encodeMessage(msg);
    this.write(encodeRecord(this.cipher ? this.cipher.seal(body) : body));
    return seq;
  }

  /** Sends what is queued and closes our side; the socket closes when the peer's side does too. */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private write(buf: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.bytesSent += buf.length;
    this.socket.write(buf);
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    this.bytesReceived += chunk.length;
    try {
      let rest: Buffer = chunk;
      if (!this.peerHelloSeen) {
        const result = this.helloParser.push(chunk);
        if (!result) return;
        this.peerHelloSeen = true;
        this.emit('hello', result.hello);
        rest = result.rest;
        if (this.failed) return;
      }
      if (rest.length === 0) return;
      this.records.parse(rest, (body) => {
        if (this.failed) return;
        const plain = this.cipher ? this.cipher.open(body) : body;
        this.emit('message', decodeMessage(plain));
      });
    } catch (err) {
      this.failed = true;
      this.emit('error', err as Error);
    }
  }
}
