/**
 * The messages carried in records after HELLO. Each message is a 14-byte header
 * (type u8 | flags u8 | seq u32 | timestampUs u64, big-endian) and a payload whose format
 * depends on the type (docs/protocol.md has a byte table per type).
 */

/** Message type codes (the first byte of every message). Receivers skip codes they do not know. */
export const MessageType = {
  /** Codec setup: JSON (client name/version, video and audio parameters, extradata). */
  SETUP: 0x01,
  /** One encoded video frame (a JPEG, or one H.264 access unit in Annex B). Flag KEYFRAME. */
  VIDEO: 0x02,
  /** One encoded audio packet: a 20 ms Opus packet or a PCM s16le chunk. */
  AUDIO: 0x03,
  /** Clock probe: t0 = the sender's send time. */
  PING: 0x04,
  /** Answer to PING: echoes t0, adds the responder's receive (t1) and send (t2) times. */
  PONG: 0x05,
  /** The sender's media state: muted, camera off. */
  STATE: 0x06,
  /** Asks the peer to send a keyframe soon (the decoder lost sync). No payload. */
  KEYFRAME_REQUEST: 0x07,
  /** The sender hangs up on purpose; optional UTF-8 reason. Nothing follows it. */
  BYE: 0x08,
  /** Receiver report (JSON) so the sender can adapt fps and quality. */
  REPORT: 0x09,
  /** Key confirmation of an encrypted call: the sender's MAC over the handshake (codec/secure/confirm.ts). */
  KEY_CONFIRM: 0x0a,
} as const;

/** A known message type code. */
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Header flag bits. Unknown bits are ignored by receivers and sent as zero. */
export const MessageFlag = {
  /** VIDEO only: the frame is a keyframe (decodable on its own). */
  KEYFRAME: 0x01,
} as const;

/** Video codecs a SETUP may name. */
export const VIDEO_CODECS = ['mjpeg', 'h264'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];
/** Audio codecs a SETUP may name. */
export const AUDIO_CODECS = ['opus', 'pcm'] as const;
export type AudioCodec = (typeof AUDIO_CODECS)[number];

/** Video parameters of a SETUP. */
export interface VideoSetup {
  codec: VideoCodec;
  width: number;
  height: number;
  fps: number;
  /** Codec extradata (e.g. H.264 SPS/PPS), base64; absent when there is none. */
  extradata?: string;
}

/** Audio parameters of a SETUP. */
export interface AudioSetup {
  codec: AudioCodec;
  sampleRate: number;
  channels: number;
  /** Duration of one AUDIO packet in milliseconds (20 for Opus). */
  frameMs?: number;
  /** Codec extradata (e.g. the Opus head), base64; absent when there is none. */
  extradata?: string;
}

/** SETUP payload (JSON). Unknown fields are ignored by receivers (forward compatibility). */
export interface Setup {
  /** Client software name, e.g. `videochat`. */
  client: string;
  /** Client software version, e.g. `0.1.0`. */
  clientVersion: string;
  /** What this side sends on video; null when it sends none (`--video-in none`). */
  video: VideoSetup | null;
  /** What this side sends on audio; null when it sends none. */
  audio: AudioSetup | null;
}

/** REPORT payload (JSON): what the receiver saw since the call started. */
export interface ReceiverReport {
  videoFramesReceived: number;
  videoFramesDropped: number;
  videoFpsIn: number;
  audioMsReceived: number;
  audioBufferMs: number;
  audioUnderruns: number;
  bytesReceived: number;
  /** Latest capture-to-display latency, clock-offset corrected; null while unknown. */
  latencyMs: number | null;
}

/** Fields every message carries in its header. */
export interface MessageHeaderFields {
  /** Per connection and direction: 0, 1, 2, ... over every message sent, wrapping at 2^32. */
  seq: number;
  /** Sender's capture time (media) or send time (others), integer microseconds since the epoch. */
  timestampUs: number;
}

export interface SetupMessage extends MessageHeaderFields {
  type: typeof MessageType.SETUP;
  setup: Setup;
}
export interface VideoMessage extends MessageHeaderFields {
  type: typeof MessageType.VIDEO;
  keyframe: boolean;
  data: Uint8Array;
}
export interface AudioMessage extends MessageHeaderFields {
  type: typeof MessageType.AUDIO;
  data: Uint8Array;
}
export interface PingMessage extends MessageHeaderFields {
  type: typeof MessageType.PING;
  /** Sender's send time, microseconds since the epoch. */
  t0Us: number;
}
export interface PongMessage extends MessageHeaderFields {
  type: typeof MessageType.PONG;
  /** The PING's t0, echoed. */
  t0Us: number;
  /** Responder's clock when the PING arrived. */
  t1Us: number;
  /** Responder's clock when this PONG was sent. */
  t2Us: number;
}
export interface StateMessage extends MessageHeaderFields {
  type: typeof MessageType.STATE;
  muted: boolean;
  cameraOff: boolean;
  /** No camera at all (added; peers that do not know the bit see `cameraOff`). */
  noCamera?: boolean;
  /** No microphone at all (added). */
  noMic?: boolean;
}
export interface KeyframeRequestMessage extends MessageHeaderFields {
  type: typeof MessageType.KEYFRAME_REQUEST;
}
export interface ByeMessage extends MessageHeaderFields {
  type: typeof MessageType.BYE;
  reason: string;
}
export interface ReportMessage extends MessageHeaderFields {
  type: typeof MessageType.REPORT;
  report: ReceiverReport;
}
export interface KeyConfirmMessage extends MessageHeaderFields {
  type: typeof MessageType.KEY_CONFIRM;
  mac: Uint8Array;
}

/** A message of a type this version knows. */
export type KnownMessage =
  | SetupMessage
  | VideoMessage
  | AudioMessage
  | PingMessage
  | PongMessage
  | StateMessage
  | KeyframeRequestMessage
  | ByeMessage
  | ReportMessage
  | KeyConfirmMessage;

/** A message of a type this version does not know: receivers skip it (forward compatibility). */
export interface UnknownMessage extends MessageHeaderFields {
  type: 'unknown';
  /** The type code on the wire. */
  code: number;
  flags: number;
  payload: Uint8Array;
}

/** Anything decodeMessage returns. */
export type Message = KnownMessage | UnknownMessage;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A message to send, before a MessageFramer gives it its sequence number. */
export type MessageInit = DistributiveOmit<KnownMessage, 'seq'>;

/** Human name of a type code, for logs. */
export function messageTypeName(code: number): string {
  for (const [name, value] of Object.entries(MessageType)) if (value === code) return name;
  return `UNKNOWN(0x${code.toString(16).padStart(2, '0')})`;
}
