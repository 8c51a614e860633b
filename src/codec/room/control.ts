/**
 * The relay's own envelopes (sender RELAY_MEMBER_ID): who you are, who came and who went.
 * Each payload is a type byte and fixed fields; receivers ignore unknown types and bytes
 * after the fields they know, so the relay can say more later without a version change.
 */
import { HELLO_BYTES } from '../protocol/constants.js';
import { MAX_MEMBER_ID } from './constants.js';
import { RoomProtocolError } from './errors.js';

/** Type codes of control envelopes. */
export const ControlType = {
  /** First envelope a member receives: its own id and the room's size limit. */
  WELCOME: 0x01,
  /** A member is in the room (sent for every member already there, then for each newcomer): its id and HELLO. */
  MEMBER_JOINED: 0x02,
  /** A member left the room. */
  MEMBER_LEFT: 0x03,
  /** The room is full; the relay closes the connection after it. */
  ROOM_FULL: 0x04,
  /** The relay dropped envelopes of one sender for you (your queue was too old). */
  DROPPED: 0x05,
} as const;

/** Why a member left (MEMBER_LEFT). */
export const LeaveReason = {
  /** It closed its connection (FIN). */
  LEFT: 0,
  /** Its connection was reset, timed out or broke the framing. */
  LOST: 1,
  /** It read too slowly: what it had not read passed the relay's bound. */
  TOO_SLOW: 2,
} as const;
export type LeaveReasonCode = (typeof LeaveReason)[keyof typeof LeaveReason];

/** A decoded control envelope. */
export type ControlMessage =
  | { type: 'welcome'; memberId: number; maxMembers: number }
  | { type: 'member-joined'; memberId: number; hello: Buffer }
  | { type: 'member-left'; memberId: number; reason: number }
  | { type: 'room-full'; maxMembers: number }
  | { type: 'dropped'; memberId: number; envelopes: number }
  | { type: 'unknown'; code: number };

function malformed(what: string): RoomProtocolError {
  return new RoomProtocolError('E_MALFORMED_ENVELOPE', `malformed ${what} control envelope`);
}

function memberIdAt(payload: Buffer, offset: number, what: string): number {
  const id = payload.readUInt16BE(offset);
  if (id < 1 || id > MAX_MEMBER_ID) throw malformed(what);
  return id;
}

/** Encodes WELCOME. */
export function encodeWelcome(memberId: number, maxMembers: number): Buffer {
  const out = Buffer.alloc(4);
  out[0] = ControlType.WELCOME;
  out.writeUInt16BE(memberId, 1);
  out[3] = maxMembers;
  return out;
}

/** Encodes MEMBER_JOINED with the member's HELLO (HELLO_BYTES, passed through unread). */
export function encodeMemberJoined(memberId: number, hello: Uint8Array): Buffer {
  if (hello.length !== HELLO_BYTES) throw new RangeError(`a HELLO is ${HELLO_BYTES} bytes, not ${hello.length}`);
  const out = Buffer.alloc(3 + HELLO_BYTES);
  out[0] = ControlType.MEMBER_JOINED;
  out.writeUInt16BE(memberId, 1);
  out.set(hello, 3);
  return out;
}

/** Encodes MEMBER_LEFT. */
export function encodeMemberLeft(memberId: number, reason: LeaveReasonCode): Buffer {
  const out = Buffer.alloc(4);
  out[0] = ControlType.MEMBER_LEFT;
  out.writeUInt16BE(memberId, 1);
  out[3] = reason;
  return out;
}

/** Encodes ROOM_FULL. */
export function encodeRoomFull(maxMembers: number): Buffer {
  return Buffer.of(ControlType.ROOM_FULL, maxMembers);
}

/** Encodes DROPPED (count saturates at 2^32 - 1). */
export function encodeDropped(memberId: number, envelopes: number): Buffer {
  const out = Buffer.alloc(7);
  out[0] = ControlType.DROPPED;
  out.writeUInt16BE(memberId, 1);
  out.writeUInt32BE(Math.min(envelopes, 0xffffffff), 3);
  return out;
}

/** Decodes one control payload. Throws E_MALFORMED_ENVELOPE for a known type that does not parse. */
export function decodeControl(payload: Buffer): ControlMessage {
  if (payload.length < 1) throw malformed('empty');
  const type = payload[0];
  switch (type) {
    case ControlType.WELCOME:
      if (payload.length < 4) throw malformed('WELCOME');
      return { type: 'welcome', memberId: memberIdAt(payload, 1, 'WELCOME'), maxMembers: payload[3] };
    case ControlType.MEMBER_JOINED:
      if (payload.length < 3 + HELLO_BYTES) throw malformed('MEMBER_JOINED');
      return {
        type: 'member-joined',
        memberId: memberIdAt(payload, 1, 'MEMBER_JOINED'),
        hello: Buffer.from(payload.subarray(3, 3 + HELLO_BYTES)),
      };
    case ControlType.MEMBER_LEFT:
      if (payload.length < 4) throw malformed('MEMBER_LEFT');
      return { type: 'member-left', memberId: memberIdAt(payload, 1, 'MEMBER_LEFT'), reason: payload[3] };
    case ControlType.ROOM_FULL:
      if (payload.length < 2) throw malformed('ROOM_FULL');
      return { type: 'room-full', maxMembers: payload[1] };
    case ControlType.DROPPED:
      if (payload.length < 7) throw malformed('DROPPED');
      return { type: 'dropped', memberId: memberIdAt(payload, 1, 'DROPPED'), envelopes: payload.readUInt32BE(3) };
    default:
      return { type: 'unknown', code: type };
  }
}
