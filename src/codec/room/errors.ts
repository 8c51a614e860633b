/**
 * Typed errors of room mode. They carry only their stable code: the programs decide what an
 * error means for them (the relay closes the member's connection; a client ends the call).
 */
import { VideochatError } from '../errors.js';

/** Stable codes of room envelope and control errors. */
export type RoomErrorCode =
  /** An envelope announces a payload above MAX_ENVELOPE_PAYLOAD_BYTES. */
  | 'E_ENVELOPE_TOO_LARGE'
  /** A control envelope (or a member id) that does not parse. */
  | 'E_MALFORMED_ENVELOPE';

/** A room framing error: the stream has lost its framing and cannot go on. */
export class RoomProtocolError extends VideochatError {
  declare readonly code: RoomErrorCode;

  constructor(code: RoomErrorCode, message: string) {
    super(code, message);
    this.name = 'RoomProtocolError';
  }
}

/** Why a sender-key media body was refused. Not fatal: the receiver counts it and goes on. */
export type MediaRejectionCode =
  /** No key for this sender and epoch (not yet received, or the epoch is in the past). */
  | 'E_NO_SENDER_KEY'
  /** The body does not authenticate under the sender's key for its epoch. */
  | 'E_AUTH'
  /** Authentic, but its counter is not above the last one accepted in this epoch. */
  | 'E_REPLAY';

/** A sender-key media body was refused; the opener's state is unchanged. */
export class MediaRejectedError extends VideochatError {
  declare readonly code: MediaRejectionCode;

  constructor(code: MediaRejectionCode, message: string) {
    super(code, message);
    this.name = 'MediaRejectedError';
  }
}
