/**
 * The security state of one relayed connection, as a pure state machine the call session
 * drives with what arrives on the socket: HELLO, then KEY_CONFIRM, then sealed records
 * (or, with `--insecure` on both sides, plaintext records). It owns no socket and no timer.
 *
 *   awaiting-hello --peer HELLO--> awaiting-key-confirm --valid MAC--> sealed
 *                             \--both insecure--> plaintext
 *   any failure of agreement or confirmation --> failed (KeyConfirmationError, exit 8)
 */
import type { Hello, HelloInit, Channel } from '../protocol/hello.js';
import { MessageType, messageTypeName, type KnownMessage, type Message, type MessageInit } from '../protocol/messages.js';
import { decodeMessage } from '../protocol/parse.js';
import { encodeFramedMessage, encodeMessage } from '../protocol/serialize.js';
import { createRecordCiphers, type RecordCiphers } from './aead.js';
import { keyConfirmationMissing, keyConfirmPayload, resolveSecurityMode, verifyKeyConfirm } from './confirm.js';
import { createLocalHelloSecrets, deriveSessionKeys, type LocalHelloSecrets, type SessionKeys } from './key-exchange.js';

/** Where a connection stands. */
export type ConnectionSecurityState = 'awaiting-hello' | 'awaiting-key-confirm' | 'sealed' | 'plaintext' | 'failed';

/** Record counters of one connection, for stats. */
export interface ConnectionSecurityStats {
  encrypted: boolean;
  sealedRecords: number;
  openedRecords: number;
  /** Altered records (E_AUTH). */
  rejectedAuth: number;
  /** Replayed or reordered records (E_REPLAY). */
  rejectedReplay: number;
  /** Counter values skipped by accepted records (records deleted on the path). */
  missingRecords: number;
}

/** Options of a ConnectionSecurity. */
export interface ConnectionSecurityOptions {
  channel: Channel;
  /** This side runs with `--insecure`. */
  insecure: boolean;
  /** From deriveCodeSecrets; required unless insecure. */
  codeKey: Uint8Array | null;
}

/** One connection's key agreement, key confirmation and record protection. */
export class ConnectionSecurity {
  readonly channel: Channel;
  readonly insecure: boolean;
  private readonly codeKey: Uint8Array | null;
  private readonly local: LocalHelloSecrets | null;
  private keys: SessionKeys | null = null;
  private ciphers: RecordCiphers | null = null;
  private current: ConnectionSecurityState = 'awaiting-hello';

  constructor(options: ConnectionSecurityOptions) {
    this.channel = options.channel;
    this.insecure = options.insecure;
    if (!options.insecure && !options.codeKey) throw new TypeError('a secure connection needs the code key');
    this.codeKey = options.codeKey;
    this.local = options.insecure ? null : createLocalHelloSecrets();
  }

  /** Current state. */
  get state(): ConnectionSecurityState {
    return this.current;
  }

  /** True once records are sealed (after key confirmation). */
  get encrypted(): boolean {
    return this.current === 'sealed';
  }

  /** What to pass to encodeHello: our ephemeral public key and nonce (zeros when insecure). */
  helloInit(): HelloInit {
    return this.local
      ? { channel: this.channel, insecure: false, publicKey: this.local.keyPair.publicKey, nonce: this.local.nonce }
      : { channel: this.channel, insecure: true };
  }

  /**
   * The peer's HELLO arrived. Returns the KEY_CONFIRM message to number and send as a
   * plaintext record (frame it with the connection's MessageFramer), or null when both
   * sides are insecure. Throws KeyConfirmationError (exit 8) for a mode mismatch or an
   * unusable peer key.
   */
  onPeerHello(hello: Hello): MessageInit | null {
    if (this.current !== 'awaiting-hello') throw new Error(`ConnectionSecurity.onPeerHello in state ${this.current}`);
    try {
      if (resolveSecurityMode(this.insecure, hello.insecure) === 'plaintext') {
        this.current = 'plaintext';
        return null;
      }
      // resolveSecurityMode returned 'sealed', so we are secure and have local secrets and a code key.
      const keys = deriveSessionKeys({ channel: this.channel, codeKey: this.codeKey as Uint8Array, local: this.local as LocalHelloSecrets, peer: hello });
      this.keys = keys;
      this.current = 'awaiting-key-confirm';
      // timestampUs 0: the one plaintext message after HELLO reveals no clock.
      return { type: MessageType.KEY_CONFIRM, mac: keyConfirmPayload(keys), timestampUs: 0 };
    } catch (err) {
      this.current = 'failed';
      throw err;
    }
  }

  /**
   * One record body arrived. Before confirmation it must be the peer's KEY_CONFIRM:
   * verified and consumed (returns null), anything else throws E_KEY_CONFIRMATION. After
   * it, returns the decoded message; a sealed record that fails throws RecordRejectedError
   * (counted in stats; the connection stays usable), a malformed message ProtocolError.
   */
  onRecord(body: Uint8Array): Message | null {
    switch (this.current) {
      case 'plaintext':
        return decodeMessage(body);
      case 'sealed':
        return decodeMessage((this.ciphers as RecordCiphers).opener.open(body));
      case 'awaiting-key-confirm':
        this.confirm(body);
        return null;
      default:
        throw new Error(`ConnectionSecurity.onRecord in state ${this.current}`);
    }
  }

  private confirm(body: Uint8Array): void {
    const keys = this.keys as SessionKeys;
    try {
      let message: Message;
      try {
        message = decodeMessage(body);
      } catch {
        throw keyConfirmationMissing(this.channel, 'an undecodable record');
      }
      if (message.type !== MessageType.KEY_CONFIRM) {
        throw keyConfirmationMissing(this.channel, message.type === 'unknown' ? messageTypeName(message.code) : messageTypeName(message.type));
      }
      verifyKeyConfirm(keys, message.mac);
    } catch (err) {
      this.current = 'failed';
      throw err;
    }
    this.ciphers = createRecordCiphers(keys);
    this.current = 'sealed';
  }

  /**
   * The connection ended. Before the peer confirmed, that is a key-confirmation failure:
   * returns the error to report (exit 8); otherwise null.
   */
  onEnd(): Error | null {
    if (this.current === 'awaiting-key-confirm') {
      this.current = 'failed';
      return keyConfirmationMissing(this.channel, 'the end of the connection');
    }
    return null;
  }

  /**
   * A complete record (header + body) for one numbered message: sealed, or plaintext when
   * both sides are insecure. Throws before the connection is ready: nothing but HELLO and
   * KEY_CONFIRM may leave before the peer is confirmed.
   */
  encodeRecord(message: KnownMessage): Buffer {
    if (this.current === 'sealed') return (this.ciphers as RecordCiphers).sealer.sealRecord(encodeMessage(message));
    if (this.current === 'plaintext') return encodeFramedMessage(message);
    throw new Error(`ConnectionSecurity: cannot send ${messageTypeName(message.type)} in state ${this.current}`);
  }

  /** Record counters, for stats (all zero in plaintext mode). */
  get stats(): ConnectionSecurityStats {
    const sealer = this.ciphers?.sealer.stats;
    const opener = this.ciphers?.opener.stats;
    return {
      encrypted: this.encrypted,
      sealedRecords: sealer?.sealedRecords ?? 0,
      openedRecords: opener?.openedRecords ?? 0,
      rejectedAuth: opener?.rejectedAuth ?? 0,
      rejectedReplay: opener?.rejectedReplay ?? 0,
      missingRecords: opener?.missingRecords ?? 0,
    };
  }
}
