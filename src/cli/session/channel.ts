/**
 * One end-to-end channel of a call (video or audio): a TCP socket to the relay, after the
 * relay handshake. Outgoing: our HELLO (with an ephemeral key), KEY_CONFIRM, then sealed
 * records. Incoming: the peer's HELLO, its KEY_CONFIRM, then records -> messages. The
 * security state machine (src/codec/secure/connection.ts) decides sealed or plaintext
 * (`--insecure` on both sides); nothing but HELLO and KEY_CONFIRM leaves before the peer
 * proved it knows the session code.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import {
  HelloParser, MessageFramer, RecordParser, encodeFramedMessage, encodeHello, type Hello, type Message, type MessageInit,
} from '../../codec/protocol/index.js';
import { ConnectionSecurity } from '../../codec/secure/connection.js';
import { RecordRejectedError } from '../../codec/secure/errors.js';
import { SOCKET_HIGH_WATER_BYTES } from './relay-link.js';
import { SendLog } from './send-log.js';
import { FatalError } from '../../codec/errors.js';

export interface ChannelEvents {
  hello: [Hello];
  /** Keys are confirmed (or both sides chose plaintext): messages may flow. */
  ready: [];
  message: [Message];
  /** A sealed record failed authentication or was replayed: dropped and counted. */
  rejected: [RecordRejectedError];
  /**
   * A protocol, key-confirmation or cipher error, or the connection closed mid key exchange
   * (E_PEER_VANISHED, reason peer-lost): the channel is unusable from here on.
   */
  error: [Error];
  /** The socket closed (`hadError` when it failed rather than ended). */
  close: [hadError: boolean];
}

export interface ChannelOptions {
  insecure: boolean;
  /** From deriveCodeSecrets; null only when insecure. */
  codeKey: Uint8Array | null;
}

export class Channel extends EventEmitter<ChannelEvents> {
  readonly name: 'video' | 'audio';
  readonly socket: net.Socket;
  private readonly security: ConnectionSecurity;
  private readonly helloParser = new HelloParser();
  private readonly records = new RecordParser();
  private readonly framer = new MessageFramer();
  private peerHelloSeen = false;
  private isReady = false;
  private failed = false;
  private closed = false;
  bytesSent = 0;
  bytesReceived = 0;
  /** When each byte left, to turn the peer's receiver reports into a path delay. */
  readonly sendLog = new SendLog();
  recordsRejected = 0;
  /** When the last message (an authenticated one, when sealed) arrived; 0 before any. */
  lastMessageMs = 0;

  constructor(name: 'video' | 'audio', socket: net.Socket, opts: ChannelOptions) {
    super();
    this.name = name;
    this.socket = socket;
    this.security = new ConnectionSecurity({ channel: name, insecure: opts.insecure, codeKey: opts.codeKey });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows with hadError; nothing else to do here.
    });
    socket.on('close', (hadError) => {
      this.closed = true;
      // The connection ended after the peer's HELLO and before its KEY_CONFIRM: the peer (or
      // the path) vanished mid-exchange. Nothing failed to verify, so this is a lost peer
      // (exit 5), not a failed key confirmation (exit 8, only for a KEY_CONFIRM that is wrong).
      if (!this.failed && this.security.onEnd()) {
        this.failed = true;
        this.emit('error', new FatalError('E_PEER_VANISHED',
          `the peer vanished during the key exchange: the ${name} connection closed before it confirmed the session code`));
      }
      this.emit('close', hadError);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** True once the peer's HELLO arrived: the relay paired this socket with the peer's. */
  get paired(): boolean {
    return this.peerHelloSeen;
  }

  /** True once records are sealed end to end. */
  get encrypted(): boolean {
    return this.security.encrypted;
  }

  /** True when more is queued than we allow: drop media instead of queueing it. */
  get backedUp(): boolean {
    return this.socket.writableLength > SOCKET_HIGH_WATER_BYTES;
  }


  /** Sends our HELLO (call once, right after the relay handshake). */
  sendHello(): void {
    this.write(encodeHello(this.security.helloInit()));
  }

  /** Frames, seals and sends one message; returns false when the channel is not ready (nothing sent). */
  send(init: MessageInit): boolean {
    if (!this.isReady || this.closed || this.failed) return false;
    this.write(this.security.encodeRecord(this.framer.number(init)));
    return true;
  }

  /** Sends what is queued and closes our side. */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private write(buf: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.bytesSent += buf.length;
    this.sendLog.wrote(this.bytesSent, Date.now());
    this.socket.write(buf);
  }

  private setReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.emit('ready');
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
        const confirm = this.security.onPeerHello(result.hello);
        this.emit('hello', result.hello);
        // KEY_CONFIRM is the one plaintext record: it proves we know the code, reveals nothing.
        if (confirm) this.write(encodeFramedMessage(this.framer.number(confirm)));
        else this.setReady();
        rest = result.rest;
      }
      if (rest.length === 0) return;
      this.records.parse(rest, (body) => {
        if (this.failed) return;
        let message: Message | null;
        try {
          message = this.security.onRecord(body);
        } catch (err) {
          if (err instanceof RecordRejectedError) {
            this.recordsRejected++;
            this.emit('rejected', err);
            return;
          }
          throw err;
        }
        if (message === null) {
          this.setReady();
        } else {
          this.lastMessageMs = Date.now();
          this.emit('message', message);
        }
      });
    } catch (err) {
      this.failed = true;
      this.emit('error', err as Error);
    }
  }
}
