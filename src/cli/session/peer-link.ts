/**
 * What the peer says and what we say to it, as typed events and calls: the messages of
 * docs/protocol.md on the current channels. PING is answered here and PONG feeds the clock
 * estimate (video path: the one whose latency is shown); the rest become events. A HELLO of
 * another version, or on the wrong channel, ends the call as a protocol error.
 */
import { EventEmitter } from 'node:events';
import {
  ClockEstimator, MessageType, PROTOCOL_VERSION, wallClockUs, type Hello, type Message, type ReceiverReport, type Setup,
} from '../../codec/protocol/index.js';
import type { Channel } from './channel.js';
import type { ChannelPair } from './channel-pair.js';
import type { EndReason, PeerState } from './events.js';

export interface PeerLinkEvents {
  /** A current channel got a good HELLO (the key exchange runs; pairing is checked). */
  hello: [Channel];
  setup: [Setup];
  video: [{ data: Uint8Array; keyframe: boolean; timestampUs: number }];
  audio: [Uint8Array];
  state: [PeerState];
  'keyframe-request': [];
  /** The peer's receiver report, on the video channel (`timestampUs`: the peer's clock). */
  report: [{ report: ReceiverReport; timestampUs: number; channel: Channel }];
  bye: [];
  /** The peer broke the protocol in a way that ends the call. */
  violation: [{ reason: EndReason; message: string }];
}

export class PeerLink extends EventEmitter<PeerLinkEvents> {
  /** Round trip and clock offset from PING/PONG. */
  readonly clock = new ClockEstimator();

  /** `offsetUs`: test-only, our clock runs this far ahead of the wall clock. */
  constructor(private readonly pair: ChannelPair, private readonly offsetUs = 0) {
    super();
    pair.on('hello', (ch, hello) => this.onHello(ch, hello));
    pair.on('message', (ch, msg) => this.onMessage(ch, msg));
  }

  /** Our clock in µs since the epoch (with the test-only offset). */
  nowUs(): number {
    return wallClockUs() + this.offsetUs;
  }

  /** Our local ms for a time in the peer's clock; before the offset is known, half an RTT ago. */
  peerTimeToLocalMs(timestampUs: number): number {
    return this.clock.offsetMs !== null
      ? (this.clock.toLocalUs(timestampUs) - this.offsetUs) / 1000
      : Date.now() - (this.clock.rttMs ?? 0) / 2;
  }

  sendSetup(setup: Setup): void {
    this.pair.video?.send({ type: MessageType.SETUP, timestampUs: this.nowUs(), setup });
  }

  /** PING on both channels: the peer's PONG on each also proves that channel alive (--peer-timeout). */
  ping(): void {
    for (const ch of [this.pair.video, this.pair.audio]) ch?.send({ type: MessageType.PING, timestampUs: this.nowUs(), t0Us: this.nowUs() });
  }

  sendState(state: { muted: boolean; cameraOff: boolean; noCamera: boolean; noMic: boolean }): void {
    this.pair.video?.send({ type: MessageType.STATE, timestampUs: this.nowUs(), ...state });
  }

  sendReport(report: ReceiverReport): void {
    this.pair.video?.send({ type: MessageType.REPORT, timestampUs: this.nowUs(), report });
  }

  requestKeyframe(): void {
    this.pair.video?.send({ type: MessageType.KEYFRAME_REQUEST, timestampUs: this.nowUs() });
  }

  sendBye(reason: string): void {
    for (const ch of [this.pair.video, this.pair.audio]) ch?.send({ type: MessageType.BYE, timestampUs: this.nowUs(), reason });
  }

  private onHello(ch: Channel, hello: Hello): void {
    if (hello.version !== PROTOCOL_VERSION) {
      this.emit('violation', { reason: 'protocol', message: `peer speaks protocol version ${hello.version}, we speak ${PROTOCOL_VERSION}` });
      return;
    }
    if (hello.channel !== ch.name) {
      this.emit('violation', { reason: 'protocol', message: `peer sent its ${hello.channel} HELLO on our ${ch.name} channel` });
      return;
    }
    this.emit('hello', ch);
  }

  private onMessage(ch: Channel, msg: Message): void {
    switch (msg.type) {
      case MessageType.SETUP:
        this.emit('setup', msg.setup);
        return;
      case MessageType.VIDEO:
        this.emit('video', { data: msg.data, keyframe: msg.keyframe, timestampUs: msg.timestampUs });
        return;
      case MessageType.AUDIO:
        this.emit('audio', msg.data);
        return;
      case MessageType.PING:
        ch.send({ type: MessageType.PONG, timestampUs: this.nowUs(), t0Us: msg.t0Us, t1Us: this.nowUs(), t2Us: this.nowUs() });
        return;
      case MessageType.PONG:
        if (ch === this.pair.video) this.clock.add({ t0Us: msg.t0Us, t1Us: msg.t1Us, t2Us: msg.t2Us, t3Us: this.nowUs() });
        return;
      case MessageType.STATE:
        this.emit('state', { muted: msg.muted, cameraOff: msg.cameraOff, noCamera: msg.noCamera === true, noMic: msg.noMic === true });
        return;
      case MessageType.KEYFRAME_REQUEST:
        this.emit('keyframe-request');
        return;
      case MessageType.REPORT:
        if (ch === this.pair.video) this.emit('report', { report: msg.report, timestampUs: msg.timestampUs, channel: ch });
        return;
      case MessageType.BYE:
        this.emit('bye');
        return;
      default:
        // KEY_CONFIRM and unknown types: nothing to do here.
        return;
    }
  }
}
