/**
 * One member's end of a room, on one connection: pure state, envelopes in, envelopes out
 * (docs/rooms.md section 3). For every other member it runs the one-to-one key agreement
 * over unicast envelopes (their HELLOs come from the relay's MEMBER_JOINED), checks the
 * other's KEY_CONFIRM, and only then gives it our sender key. Our media is sealed once,
 * under our sender key, and broadcast; on every change of membership a new epoch starts and
 * its key goes to the confirmed members present, so no newcomer reads the past and no
 * leaver the future.
 *
 * Inside a pairwise channel every sealed body starts with one byte saying what it holds
 * (PairwiseKind): a sender key, or an application message (SETUP, STATE, ... encoded by the
 * caller). The first unicast envelope each way is the plaintext KEY_CONFIRM MAC.
 */
import type { Channel } from '../protocol/hello.js';
import { decodeHello, encodeHello } from '../protocol/hello.js';
import { RecordOpener, RecordSealer } from '../secure/aead.js';
import { verifyKeyConfirm } from '../secure/confirm.js';
import { deriveSessionKeys, type LocalHelloSecrets, type SessionKeys } from '../secure/key-exchange.js';
import { BROADCAST_MEMBER_ID, EnvelopeFlag, RELAY_MEMBER_ID } from './constants.js';
import { decodeControl } from './control.js';
import { encodeEnvelope, type Envelope } from './envelope.js';
import { SenderKeyOpener, SenderKeySealer, decodeSenderKey, encodeSenderKey } from './sender-key.js';

/** First byte of every sealed pairwise body. */
export const PairwiseKind = {
  /** A SENDER_KEY: epoch u32 + secret, for the media the sender broadcasts. */
  SENDER_KEY: 0x01,
  /** An application message, opaque here. */
  MESSAGE: 0x02,
} as const;

/** Where one other member stands with us. */
export type PeerState = 'confirming' | 'confirmed' | 'refused';

/** Why another member could not join our side of the room. */
export type PeerRefusal = 'E_KEY_CONFIRMATION' | 'E_BAD_PEER_KEY' | 'E_INSECURE_MISMATCH' | 'E_WRONG_CHANNEL' | 'E_MALFORMED_HELLO';

/** What happened, for the caller to act on. */
export type MemberEvent =
  | { type: 'welcome'; memberId: number; maxMembers: number }
  | { type: 'member-joined'; memberId: number }
  | { type: 'member-confirmed'; memberId: number }
  | { type: 'member-refused'; memberId: number; code: PeerRefusal; message: string }
  | { type: 'member-left'; memberId: number; reason: number }
  | { type: 'media'; memberId: number; flags: number; payload: Buffer }
  | { type: 'message'; memberId: number; payload: Buffer }
  | { type: 'room-full'; maxMembers: number }
  | { type: 'dropped'; memberId: number; envelopes: number };

/** Counters, for stats. */
export interface RoomMemberStats {
  /** Media refused: no key for its epoch yet (before confirmation), altered, replayed. */
  mediaRejected: number;
  /** Envelopes from members we refused or do not know. */
  ignored: number;
  /** Sealed pairwise bodies that did not open. */
  pairwiseRejected: number;
}

interface Peer {
  id: number;
  state: PeerState;
  keys: SessionKeys | null;
  sealer: RecordSealer | null;
  opener: RecordOpener | null;
  media: SenderKeyOpener;
  /** Our epoch we last gave it (to give each new one exactly once). */
  gaveEpoch: number | null;
}

/** Options of a RoomMember. */
export interface RoomMemberOptions {
  channel: Channel;
  /** From deriveCodeSecrets: binds every pairwise key to the session code. */
  codeKey: Uint8Array;
  /** Our HELLO's key pair and nonce (one HELLO for the whole room on this connection). */
  local: LocalHelloSecrets;
  /** Writes bytes to the relay. */
  send: (bytes: Buffer) => void;
}

/** Our end of the room on one connection. */
export class RoomMember {
  private readonly options: RoomMemberOptions;
  private readonly peers = new Map<number, Peer>();
  private sealer: SenderKeySealer | null = null;
  private ourId: number | null = null;
  private readonly counters: RoomMemberStats = { mediaRejected: 0, ignored: 0, pairwiseRejected: 0 };

  constructor(options: RoomMemberOptions) {
    this.options = options;
  }

  /** The HELLO to send right after the relay handshake. */
  hello(): Buffer {
    return encodeHello({
      channel: this.options.channel,
      insecure: false,
      publicKey: this.options.local.keyPair.publicKey,
      nonce: this.options.local.nonce,
    });
  }

  /** Our member id once WELCOME arrived. */
  get memberId(): number | null {
    return this.ourId;
  }

  /** Our current sender epoch (null before WELCOME). */
  get epoch(): number | null {
    return this.sealer ? this.sealer.epoch : null;
  }

  get stats(): RoomMemberStats {
    return { ...this.counters };
  }

  /** Handles one envelope from the relay and returns what happened. */
  receive(envelope: Envelope): MemberEvent[] {
    if (envelope.memberId === RELAY_MEMBER_ID) return this.onControl(envelope.payload);
    const peer = this.peers.get(envelope.memberId);
    if (!peer || peer.state === 'refused') {
      this.counters.ignored++;
      return [];
    }
    // Broadcast media carries DROPPABLE; pairwise envelopes never do.
    if (envelope.flags & EnvelopeFlag.DROPPABLE) return this.onMedia(peer, envelope);
    return peer.state === 'confirming' ? this.onKeyConfirm(peer, envelope.payload) : this.onPairwise(peer, envelope.payload);
  }

  /** Seals one media message under our sender key and broadcasts it. False before WELCOME. */
  sendMedia(payload: Uint8Array, audio: boolean): boolean {
    if (!this.sealer) return false;
    const flags = EnvelopeFlag.DROPPABLE | (audio ? EnvelopeFlag.AUDIO : 0);
    this.options.send(encodeEnvelope(BROADCAST_MEMBER_ID, flags, this.sealer.seal(payload)));
    return true;
  }

  /** Sends one application message to one confirmed member. False when it is not confirmed. */
  sendTo(memberId: number, payload: Uint8Array): boolean {
    const peer = this.peers.get(memberId);
    if (!peer || peer.state !== 'confirmed') return false;
    this.sendPairwise(peer, PairwiseKind.MESSAGE, payload);
    return true;
  }

  /** Sends one application message to every confirmed member (each over its own channel). */
  sendToAll(payload: Uint8Array): number {
    let n = 0;
    for (const peer of this.peers.values()) if (this.sendTo(peer.id, payload)) n++;
    return n;
  }

  private onControl(payload: Buffer): MemberEvent[] {
    const c = decodeControl(payload);
    switch (c.type) {
      case 'welcome':
        this.ourId = c.memberId;
        this.sealer = new SenderKeySealer(c.memberId);
        this.sealer.rotate();
        return [{ type: 'welcome', memberId: c.memberId, maxMembers: c.maxMembers }];
      case 'member-joined':
        return this.onJoined(c.memberId, c.hello);
      case 'member-left': {
        const peer = this.peers.get(c.memberId);
        if (!peer) return [];
        this.peers.delete(c.memberId);
        this.rotate();
        return [{ type: 'member-left', memberId: c.memberId, reason: c.reason }];
      }
      case 'room-full':
        return [{ type: 'room-full', maxMembers: c.maxMembers }];
      case 'dropped':
        return [{ type: 'dropped', memberId: c.memberId, envelopes: c.envelopes }];
      case 'unknown':
        return [];
    }
  }

  private onJoined(memberId: number, helloBytes: Buffer): MemberEvent[] {
    const peer: Peer = {
      id: memberId, state: 'confirming', keys: null, sealer: null, opener: null, media: new SenderKeyOpener(memberId), gaveEpoch: null,
    };
    this.peers.set(memberId, peer);
    const joined: MemberEvent = { type: 'member-joined', memberId };
    const refuse = (code: PeerRefusal, message: string): MemberEvent[] => {
      peer.state = 'refused';
      return [joined, { type: 'member-refused', memberId, code, message }];
    };
    let hello;
    try {
      hello = decodeHello(helloBytes);
    } catch (err) {
      return refuse('E_MALFORMED_HELLO', (err as Error).message);
    }
    if (hello.channel !== this.options.channel) return refuse('E_WRONG_CHANNEL', `member ${memberId} sent a ${hello.channel} HELLO on the ${this.options.channel} connection`);
    if (hello.insecure) return refuse('E_INSECURE_MISMATCH', `member ${memberId} runs with --insecure; a room is always encrypted`);
    try {
      peer.keys = deriveSessionKeys({ channel: this.options.channel, codeKey: this.options.codeKey, local: this.options.local, peer: hello });
    } catch (err) {
      return refuse('E_BAD_PEER_KEY', (err as Error).message);
    }
    peer.sealer = new RecordSealer(peer.keys.sendKey, peer.keys.sendIv);
    peer.opener = new RecordOpener(peer.keys.receiveKey, peer.keys.receiveIv);
    this.options.send(encodeEnvelope(memberId, 0, peer.keys.ourConfirmMac));
    // A new member: a new epoch, so that it never holds a key of what came before. The
    // members already confirmed get it now; the newcomer once it has proved the code.
    this.rotate();
    return [joined];
  }

  private onKeyConfirm(peer: Peer, payload: Buffer): MemberEvent[] {
    try {
      verifyKeyConfirm(peer.keys!, payload);
    } catch (err) {
      peer.state = 'refused';
      return [{ type: 'member-refused', memberId: peer.id, code: 'E_KEY_CONFIRMATION', message: (err as Error).message }];
    }
    peer.state = 'confirmed';
    this.giveKey(peer);
    return [{ type: 'member-confirmed', memberId: peer.id }];
  }

  private onPairwise(peer: Peer, body: Buffer): MemberEvent[] {
    let plain: Buffer;
    try {
      plain = peer.opener!.open(body);
    } catch {
      this.counters.pairwiseRejected++;
      return [];
    }
    if (plain.length < 1) return [];
    const kind = plain[0];
    if (kind === PairwiseKind.SENDER_KEY) {
      const key = decodeSenderKey(plain.subarray(1));
      if (key) peer.media.setKey(key);
      return [];
    }
    if (kind === PairwiseKind.MESSAGE) return [{ type: 'message', memberId: peer.id, payload: plain.subarray(1) }];
    return []; // a later kind: skipped, as unknown message types are
  }

  private onMedia(peer: Peer, envelope: Envelope): MemberEvent[] {
    try {
      return [{ type: 'media', memberId: peer.id, flags: envelope.flags, payload: peer.media.open(envelope.payload) }];
    } catch {
      this.counters.mediaRejected++;
      return [];
    }
  }

  private rotate(): void {
    if (!this.sealer) return;
    this.sealer.rotate();
    for (const peer of this.peers.values()) if (peer.state === 'confirmed') this.giveKey(peer);
  }

  private giveKey(peer: Peer): void {
    const key = this.sealer?.currentKey;
    if (!key || peer.gaveEpoch === key.epoch) return;
    peer.gaveEpoch = key.epoch;
    this.sendPairwise(peer, PairwiseKind.SENDER_KEY, encodeSenderKey(key));
    key.secret.fill(0);
  }

  private sendPairwise(peer: Peer, kind: number, payload: Uint8Array): void {
    const plain = Buffer.allocUnsafe(1 + payload.length);
    plain[0] = kind;
    plain.set(payload, 1);
    this.options.send(encodeEnvelope(peer.id, 0, peer.sealer!.seal(plain)));
  }
}
