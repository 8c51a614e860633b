/**
 * The room envelope: the only thing a room-mode relay reads of what members send.
 *
 *   length u32 BE | member id u16 BE | flags u8 | payload (length bytes)
 *
 * Member to relay, the id names the recipient (BROADCAST_MEMBER_ID: every other member);
 * relay to member, the relay overwrites it with the sender's id (RELAY_MEMBER_ID for the
 * relay's own control envelopes), so no member can speak in another's name. The payload is
 * opaque to the relay: a sealed record of a pairwise channel, or sender-key sealed media.
 * One header for both directions keeps one parser, and lets the relay forward an envelope by
 * rewriting two bytes.
 */
import { HELLO_MAGIC } from '../protocol/constants.js';
import {
  BROADCAST_MEMBER_ID, ENVELOPE_HEADER_BYTES, MAX_ENVELOPE_PAYLOAD_BYTES, RELAY_MEMBER_ID,
} from './constants.js';
import { RoomProtocolError } from './errors.js';

/** One parsed envelope. */
export interface Envelope {
  /** Recipient (member to relay) or sender (relay to member). */
  memberId: number;
  flags: number;
  payload: Buffer;
}

function tooLarge(length: number, max: number): RoomProtocolError {
  return new RoomProtocolError('E_ENVELOPE_TOO_LARGE', `envelope of ${length} bytes exceeds the maximum of ${max} bytes`);
}

function checkMemberId(id: number): void {
  if (!Number.isInteger(id) || id < RELAY_MEMBER_ID || id > BROADCAST_MEMBER_ID) {
    throw new RangeError(`member id ${id} is not a u16`);
  }
}

/** Writes an envelope header for a payload of `length` bytes into `out` at `offset`. */
export function writeEnvelopeHeader(
  out: Buffer, offset: number, memberId: number, flags: number, length: number, maxPayloadBytes = MAX_ENVELOPE_PAYLOAD_BYTES,
): void {
  if (length > maxPayloadBytes) throw tooLarge(length, maxPayloadBytes);
  checkMemberId(memberId);
  out.writeUInt32BE(length, offset);
  out.writeUInt16BE(memberId, offset + 4);
  out.writeUInt8(flags & 0xff, offset + 6);
}

/** Frames one payload as an envelope (one copy). Throws E_ENVELOPE_TOO_LARGE above the maximum. */
export function encodeEnvelope(memberId: number, flags: number, payload: Uint8Array, maxPayloadBytes = MAX_ENVELOPE_PAYLOAD_BYTES): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + payload.length);
  writeEnvelopeHeader(out, 0, memberId, flags, payload.length, maxPayloadBytes);
  out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

/**
 * True when the first four bytes a room member receives are a peer's HELLO magic rather
 * than an envelope length: the relay knows no rooms (the original server) and paired us with
 * one other member, so the call goes on one to one. The magic read as a length is ~1.4 GB,
 * above any envelope, so the two can never be confused.
 */
export function startsWithPeerHello(first: Uint8Array): boolean {
  if (first.length < HELLO_MAGIC.length) return false;
  for (let i = 0; i < HELLO_MAGIC.length; i++) if (first[i] !== HELLO_MAGIC[i]) return false;
  return true;
}

/** Options of an EnvelopeParser. */
export interface EnvelopeParserOptions {
  /** Hard maximum payload; a larger length fails before anything is allocated. */
  maxPayloadBytes?: number;
}

/**
 * Incremental envelope parser: push chunks as they arrive (any size, glued or split at any
 * byte) and get every completed envelope. A payload whole inside one chunk is a view of it
 * (no copy); a split one is assembled in one buffer of its checked size, so the parser never
 * holds more than ENVELOPE_HEADER_BYTES + maxPayloadBytes. After an error every later push
 * throws it again: the stream has lost its framing.
 */
export class EnvelopeParser {
  private readonly maxPayloadBytes: number;
  private readonly header = Buffer.alloc(ENVELOPE_HEADER_BYTES);
  private headerFilled = 0;
  private pending: { memberId: number; flags: number; payload: Buffer; filled: number } | null = null;
  private failure: unknown = null;

  constructor(options: EnvelopeParserOptions = {}) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? MAX_ENVELOPE_PAYLOAD_BYTES;
  }

  /** Bytes held between pushes (header bytes plus any payload being assembled). */
  get bufferedBytes(): number {
    return this.headerFilled + (this.pending ? this.pending.payload.length : 0);
  }

  /** True at an envelope boundary. */
  get idle(): boolean {
    return this.headerFilled === 0 && this.pending === null;
  }

  /** Parses one chunk and returns the envelopes it completed, in order. */
  push(chunk: Uint8Array): Envelope[] {
    const out: Envelope[] = [];
    this.parse(chunk, (e) => out.push(e));
    return out;
  }

  /** Parses one chunk, calling `onEnvelope` for each completed envelope in order. */
  parse(chunk: Uint8Array, onEnvelope: (envelope: Envelope) => void): void {
    if (this.failure !== null) throw this.failure;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    try {
      while (pos < data.length) {
        if (this.pending) {
          const p = this.pending;
          const take = Math.min(p.payload.length - p.filled, data.length - pos);
          data.copy(p.payload, p.filled, pos, pos + take);
          p.filled += take;
          pos += take;
          if (p.filled === p.payload.length) {
            this.pending = null;
            onEnvelope({ memberId: p.memberId, flags: p.flags, payload: p.payload });
          }
          continue;
        }
        let header: Buffer;
        let at: number;
        if (this.headerFilled === 0 && data.length - pos >= ENVELOPE_HEADER_BYTES) {
          header = data;
          at = pos;
          pos += ENVELOPE_HEADER_BYTES;
        } else {
          const take = Math.min(ENVELOPE_HEADER_BYTES - this.headerFilled, data.length - pos);
          data.copy(this.header, this.headerFilled, pos, pos + take);
          this.headerFilled += take;
          pos += take;
          // The length is checked as soon as its four bytes are in, before the rest.
          if (this.headerFilled >= 4 && this.header.readUInt32BE(0) > this.maxPayloadBytes) {
            throw tooLarge(this.header.readUInt32BE(0), this.maxPayloadBytes);
          }
          if (this.headerFilled < ENVELOPE_HEADER_BYTES) break;
          this.headerFilled = 0;
          header = this.header;
          at = 0;
        }
        const length = header.readUInt32BE(at);
        if (length > this.maxPayloadBytes) throw tooLarge(length, this.maxPayloadBytes);
        const memberId = header.readUInt16BE(at + 4);
        const flags = header.readUInt8(at + 6);
        if (data.length - pos >= length) {
          const payload = data.subarray(pos, pos + length);
          pos += length;
          onEnvelope({ memberId, flags, payload });
        } else {
          this.pending = { memberId, flags, payload: Buffer.allocUnsafe(length), filled: 0 };
        }
      }
    } catch (err) {
      this.failure = err;
      this.pending = null;
      this.headerFilled = 0;
      throw err;
    }
  }
}
