/**
 * What a room member's client puts inside the room's sealed bodies (docs/rooms.md section 5):
 * the media body sealed once under the sender key, and the application messages carried in
 * a pairwise MESSAGE. Pure encode/decode; anything malformed decodes to null (skipped).
 */

/** First byte of a sealed media body. */
export const RoomMediaKind = { VIDEO: 0x01, AUDIO: 0x02 } as const;
/** Media body header: kind u8, flags u8 (0x01 keyframe), capture time µs u64 BE. */
export const ROOM_MEDIA_HEADER_BYTES = 10;

export interface RoomMedia {
  kind: 'video' | 'audio';
  keyframe: boolean;
  timestampUs: number;
  data: Buffer;
}

export function encodeRoomMedia(kind: 'video' | 'audio', keyframe: boolean, timestampUs: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ROOM_MEDIA_HEADER_BYTES + data.length);
  out[0] = kind === 'video' ? RoomMediaKind.VIDEO : RoomMediaKind.AUDIO;
  out[1] = keyframe ? 0x01 : 0;
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(timestampUs))), 2);
  out.set(data, ROOM_MEDIA_HEADER_BYTES);
  return out;
}

export function decodeRoomMedia(body: Buffer): RoomMedia | null {
  if (body.length < ROOM_MEDIA_HEADER_BYTES) return null;
  const kind = body[0] === RoomMediaKind.VIDEO ? 'video' : body[0] === RoomMediaKind.AUDIO ? 'audio' : null;
  if (!kind) return null;
  return { kind, keyframe: (body[1]! & 0x01) !== 0, timestampUs: Number(body.readBigUInt64BE(2)), data: body.subarray(ROOM_MEDIA_HEADER_BYTES) };
}

/** First byte of a pairwise MESSAGE body. */
export const RoomMessageType = {
  /** JSON RoomIntro: who we are (the participant token ties our two connections together) and what we send. */
  INTRO: 0x01,
  /** JSON { muted, cameraOff }. */
  STATE: 0x02,
  /** We are leaving (UTF-8 reason); the relay's MEMBER_LEFT follows. */
  BYE: 0x03,
  /** Send a keyframe soon (H.264: our decoder of your video starts over). No body. */
  KEYFRAME_REQUEST: 0x04,
  /** Our clock, µs u64 BE: answer with PONG (round trip, clock offset; also the keepalive). */
  PING: 0x05,
  /** The PING's clock echoed (u64 BE), then ours when we answered (u64 BE). */
  PONG: 0x06,
} as const;

/** Largest INTRO/STATE JSON accepted. */
export const MAX_ROOM_MESSAGE_BYTES = 4096;

/** INTRO: sent to every member once it proved the code, on both connections. */
export interface RoomIntro {
  /** 32 hex characters, random per client run: the same on the video and the audio connection. */
  participant: string;
  client: string;
  clientVersion: string;
  name?: string;
  video: { codec: 'mjpeg' | 'h264'; width: number; height: number; fps: number } | null;
  audio: { codec: 'opus' | 'pcm'; sampleRate: number; channels: number; frameMs: number } | null;
}

export type RoomMessage =
  | { type: 'intro'; intro: RoomIntro }
  | { type: 'state'; muted: boolean; cameraOff: boolean }
  | { type: 'bye'; reason: string }
  | { type: 'keyframe-request' }
  | { type: 'ping'; timeUs: number }
  | { type: 'pong'; echoUs: number; timeUs: number };

const json = (type: number, value: unknown): Buffer => Buffer.concat([Buffer.of(type), Buffer.from(JSON.stringify(value), 'utf8')]);

export function encodeRoomMessage(msg: RoomMessage): Buffer {
  switch (msg.type) {
    case 'intro': return json(RoomMessageType.INTRO, msg.intro);
    case 'state': return json(RoomMessageType.STATE, { muted: msg.muted, cameraOff: msg.cameraOff });
    case 'bye': return Buffer.concat([Buffer.of(RoomMessageType.BYE), Buffer.from(msg.reason.slice(0, 200), 'utf8')]);
    case 'keyframe-request': return Buffer.of(RoomMessageType.KEYFRAME_REQUEST);
    case 'ping': {
      const out = Buffer.alloc(9);
      out[0] = RoomMessageType.PING;
      out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(msg.timeUs))), 1);
      return out;
    }
    case 'pong': {
      const out = Buffer.alloc(17);
      out[0] = RoomMessageType.PONG;
      out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(msg.echoUs))), 1);
      out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(msg.timeUs))), 9);
      return out;
    }
  }
}

const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function parseIntro(doc: Record<string, unknown>): RoomIntro | null {
  if (typeof doc.participant !== 'string' || !/^[0-9a-f]{32}$/.test(doc.participant)) return null;
  const str = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
  let video: RoomIntro['video'] = null;
  const v = doc.video as Record<string, unknown> | null | undefined;
  if (v && typeof v === 'object') {
    if ((v.codec !== 'mjpeg' && v.codec !== 'h264') || !isInt(v.width, 2, 4096) || !isInt(v.height, 2, 4096) || !isInt(v.fps, 1, 120)) return null;
    video = { codec: v.codec, width: v.width, height: v.height, fps: v.fps };
  }
  let audio: RoomIntro['audio'] = null;
  const a = doc.audio as Record<string, unknown> | null | undefined;
  if (a && typeof a === 'object') {
    if (a.codec !== 'opus' && a.codec !== 'pcm') return null;
    audio = { codec: a.codec, sampleRate: 48_000, channels: 1, frameMs: isInt(a.frameMs, 1, 120) ? a.frameMs : 20 };
  }
  const name = str(doc.name, 64);
  return {
    participant: doc.participant, client: str(doc.client, 64) ?? 'unknown', clientVersion: str(doc.clientVersion, 32) ?? '',
    ...(name !== undefined ? { name } : {}), video, audio,
  };
}

export function decodeRoomMessage(body: Buffer): RoomMessage | null {
  if (body.length < 1) return null;
  const type = body[0];
  if (type === RoomMessageType.BYE) return { type: 'bye', reason: body.subarray(1, 201).toString('utf8') };
  if (type === RoomMessageType.KEYFRAME_REQUEST) return { type: 'keyframe-request' };
  if (type === RoomMessageType.PING) return body.length >= 9 ? { type: 'ping', timeUs: Number(body.readBigUInt64BE(1)) } : null;
  if (type === RoomMessageType.PONG) {
    return body.length >= 17 ? { type: 'pong', echoUs: Number(body.readBigUInt64BE(1)), timeUs: Number(body.readBigUInt64BE(9)) } : null;
  }
  if (type !== RoomMessageType.INTRO && type !== RoomMessageType.STATE) return null;
  if (body.length - 1 > MAX_ROOM_MESSAGE_BYTES) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(body.subarray(1).toString('utf8'));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const d = doc as Record<string, unknown>;
  if (type === RoomMessageType.STATE) return { type: 'state', muted: d.muted === true, cameraOff: d.cameraOff === true };
  const intro = parseIntro(d);
  return intro ? { type: 'intro', intro } : null;
}
