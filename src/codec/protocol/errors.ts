/**
 * Typed errors of the end-to-end protocol. Every one ends the call (`ended.reason` =
 * `protocol`, exit 6 in src/cli/exit-codes.ts, docs/contract.md): once framing is lost or
 * the peer speaks something else, nothing after it can be trusted.
 */
import { FatalError } from '../errors.js';

/** Stable codes of protocol errors. */
export type ProtocolErrorCode =
  /** The peer's first bytes are not our HELLO magic (e.g. an original Python client). */
  | 'E_NOT_VIDEOCHAT'
  /** The peer speaks another protocol version. */
  | 'E_PROTOCOL_VERSION'
  /** A record (or a payload we were asked to send) is larger than the hard maximum. */
  | 'E_FRAME_TOO_LARGE'
  /** A record does not hold a well-formed message of its (known) type. */
  | 'E_MALFORMED_MESSAGE'
  /** SETUP names a codec we do not know. */
  | 'E_UNSUPPORTED_CODEC';

/** A protocol violation by the peer (or an oversize message we refused to send). */
export class ProtocolError extends FatalError {
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(code, message);
    this.name = 'ProtocolError';
  }
}

/** The peer's HELLO carries another protocol version; both are reported. */
export class ProtocolVersionError extends ProtocolError {
  /** The version we speak. */
  readonly ourVersion: number;
  /** The version the peer's HELLO announced. */
  readonly peerVersion: number;

  constructor(ourVersion: number, peerVersion: number) {
    super(
      'E_PROTOCOL_VERSION',
      `the peer speaks videochat protocol version ${peerVersion}, we speak version ${ourVersion}: ` +
        `both sides need the same version (update the ${peerVersion > ourVersion ? 'local' : 'peer'} client)`,
    );
    this.name = 'ProtocolVersionError';
    this.ourVersion = ourVersion;
    this.peerVersion = peerVersion;
  }
}

/** True for any error this protocol module throws on purpose. */
export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
