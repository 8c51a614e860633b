/**
 * The two channels of a call (video, audio) as one: opened together (if either fails,
 * neither is kept), retired together (their byte counts kept for the call's totals), and
 * watched together (the relay pairs each on its own: one paired and the other not for
 * PAIRING_TIMEOUT_MS means a pairing went astray in a reconnect race). Events of channels
 * already retired are not passed on.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Hello, Message } from '../../codec/protocol/index.js';
import type { RecordRejectedError } from '../../codec/secure/errors.js';
import { deriveCodeSecrets } from '../../codec/secure/rendezvous.js';
import { Channel } from './channel.js';
import { openRelayChannel } from './relay-link.js';
import { PAIRING_TIMEOUT_MS } from './reconnect.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { AttemptResult } from './reconnector.js';

export interface ChannelPairEvents {
  hello: [Channel, Hello];
  ready: [Channel];
  message: [Channel, Message];
  /** A record was rejected (also on a retired channel: it still says something about the path). */
  rejected: [Channel, RecordRejectedError];
  error: [Channel, Error];
  close: [Channel];
  /** Both current channels are paired with the peer's. */
  paired: [];
  /** One channel paired and the other not for PAIRING_TIMEOUT_MS. */
  'pairing-timeout': [];
  /** Two fresh channels are at the relay, our HELLOs sent. */
  attached: [];
}

export interface ChannelPairOptions {
  host: string;
  videoPort: number;
  audioPort: number;
  insecure: boolean;
  /** Watch the pairing (only when a stray pairing can be undone by reconnecting). */
  watchPairing: boolean;
}

export class ChannelPair extends EventEmitter<ChannelPairEvents> {
  video: Channel | undefined;
  audio: Channel | undefined;
  private rendezvousId = '';
  private codeKey: Uint8Array | null = null;
  private pairingTimer: NodeJS.Timeout | undefined;
  /** Counters of channels already closed: totals accumulate across reconnects. */
  private readonly retired = { bytesSent: 0, bytesReceived: 0, recordsRejected: 0 };
  /** Both channels of the last pair were sealed (reported while reconnecting). */
  private wasEncrypted = false;

  constructor(private readonly opts: ChannelPairOptions) {
    super();
  }

  /**
   * Derives the rendezvous id and the code key from the session code, once: the KDF is slow
   * (and memory-hard) on purpose. The relay only ever sees the rendezvous id, even with
   * --insecure; the code key from the same derivation binds the key agreement.
   */
  async useCode(session: string, rendezvousPrefix = ''): Promise<void> {
    const secrets = await deriveCodeSecrets(session);
    // A room member falling back to one-to-one keeps its `vcroom1-` prefix (src/cli/room).
    this.rendezvousId = rendezvousPrefix + secrets.rendezvousId;
    this.codeKey = this.opts.insecure ? null : secrets.codeKey;
  }

  /** True once both channels seal their records end to end. */
  get encrypted(): boolean {
    return !!this.video?.encrypted && !!this.audio?.encrypted;
  }

  /** Sealed now, or the last pair was (while reconnecting there is no confirmed pair). */
  get everEncrypted(): boolean {
    if (this.encrypted) this.wasEncrypted = true;
    return this.wasEncrypted;
  }

  get bothPaired(): boolean {
    return !!this.video?.paired && !!this.audio?.paired;
  }

  get open(): boolean {
    return !!this.video || !!this.audio;
  }

  isCurrent(ch: Channel): boolean {
    return ch === this.video || ch === this.audio;
  }

  totals(): { bytesSent: number; bytesReceived: number; recordsRejected: number } {
    const sum = (k: 'bytesSent' | 'bytesReceived' | 'recordsRejected'): number => this.retired[k] + (this.video?.[k] ?? 0) + (this.audio?.[k] ?? 0);
    return { bytesSent: sum('bytesSent'), bytesReceived: sum('bytesReceived'), recordsRejected: sum('recordsRejected') };
  }

  /** Opens both relay sockets (handshake sent); if either fails, neither is kept. */
  async openSockets(timeoutMs: number): Promise<[net.Socket, net.Socket]> {
    const { host, videoPort, audioPort } = this.opts;
    const [v, a] = await Promise.allSettled([
      openRelayChannel(host, videoPort, this.rendezvousId, timeoutMs),
      openRelayChannel(host, audioPort, this.rendezvousId, timeoutMs),
    ]);
    if (v.status === 'fulfilled' && a.status === 'fulfilled') return [v.value, a.value];
    if (v.status === 'fulfilled') v.value.destroy();
    if (a.status === 'fulfilled') a.value.destroy();
    throw v.status === 'rejected' ? v.reason : (a as PromiseRejectedResult).reason;
  }

  /**
   * Opens both sockets and attaches them, unless the call `ended()` meanwhile (then false).
   * A failure rejects: the first connection failing is exit 3 (relay-unreachable).
   */
  async connect(timeoutMs: number, ended: () => boolean): Promise<boolean> {
    const sockets = await this.openSockets(timeoutMs);
    if (ended()) {
      sockets.forEach((s) => s.destroy());
      return false;
    }
    this.attach(sockets);
    return true;
  }

  /** One reconnect attempt (reconnector.ts): what it came to. */
  async reconnect(timeoutMs: number, ended: () => boolean): Promise<AttemptResult> {
    try {
      return (await this.connect(timeoutMs, ended)) ? { ok: true } : { ok: 'ended' };
    } catch (err) {
      return ended() ? { ok: 'ended' } : { ok: false, error: (err as Error).message };
    }
  }

  /** Makes two fresh channels (new ephemeral keys) on new sockets and sends our HELLOs. */
  attach([videoSocket, audioSocket]: [net.Socket, net.Socket]): void {
    const sec = { insecure: this.opts.insecure, codeKey: this.codeKey };
    this.video = this.wire(new Channel('video', videoSocket, sec));
    this.audio = this.wire(new Channel('audio', audioSocket, sec));
    // Both sides send HELLO at once, without waiting: a version mismatch is seen by both.
    this.video.sendHello();
    this.audio.sendHello();
    this.emit('attached');
  }

  /** Closes both channels, keeping their counts for the totals. */
  retire(): void {
    this.stopWatching();
    if (this.encrypted) this.wasEncrypted = true;
    for (const ch of [this.video, this.audio]) {
      if (!ch) continue;
      this.retired.bytesSent += ch.bytesSent;
      this.retired.bytesReceived += ch.bytesReceived;
      this.retired.recordsRejected += ch.recordsRejected;
    }
    const old = [this.video, this.audio];
    this.video = undefined;
    this.audio = undefined;
    // The relay then closes the peer's side of the other channel too: both ends start over.
    for (const ch of old) ch?.destroy();
  }

  /** Sends what is queued (a BYE), gives it `flushMs` to leave, then closes both for good. */
  async close(flushMs: number): Promise<void> {
    const { open } = this;
    for (const ch of [this.video, this.audio]) ch?.end();
    await delay(open ? flushMs : 0);
    this.destroy();
  }

  destroy(): void {
    this.stopWatching();
    for (const ch of [this.video, this.audio]) ch?.destroy();
  }

  stopWatching(): void {
    if (this.pairingTimer) clearTimeout(this.pairingTimer);
    this.pairingTimer = undefined;
  }

  private wire(ch: Channel): Channel {
    // Channels of an earlier connection may still report (a close after destroy): ignored.
    ch.on('hello', (hello) => {
      if (!this.isCurrent(ch)) return;
      this.emit('hello', ch, hello);
    });
    ch.on('ready', () => {
      if (this.isCurrent(ch)) this.emit('ready', ch);
    });
    ch.on('rejected', (err) => this.emit('rejected', ch, err));
    ch.on('message', (msg) => {
      if (this.isCurrent(ch)) this.emit('message', ch, msg);
    });
    ch.on('error', (err) => {
      if (this.isCurrent(ch)) this.emit('error', ch, err);
    });
    ch.on('close', () => {
      if (this.isCurrent(ch)) this.emit('close', ch);
    });
    return ch;
  }

  /** After a HELLO: both paired clears the watchdog; one alone starts it. */
  checkPairing(): void {
    if (this.bothPaired) {
      this.stopWatching();
      this.emit('paired');
      return;
    }
    if (this.pairingTimer || !this.opts.watchPairing) return;
    this.pairingTimer = setTimeout(() => {
      this.pairingTimer = undefined;
      if (!this.bothPaired) this.emit('pairing-timeout');
    }, PAIRING_TIMEOUT_MS);
  }
}
