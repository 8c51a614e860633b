/**
 * Typed errors of the security layer. Key-confirmation failures end the call
 * (`ended.reason` = `key-confirmation`, exit 8, docs/contract.md); a rejected record is not
 * fatal by itself: the session counts it and decides.
 */
import { FatalError, VideochatError } from '../errors.js';

/** Stable codes of key-agreement failures (all exit 8). */
export type KeyConfirmationErrorCode =
  /** The peer's KEY_CONFIRM MAC is wrong or missing: it does not know the code, or keys were swapped. */
  | 'E_KEY_CONFIRMATION'
  /** The peer's public key is unusable (a low-order point, or our own key reflected back). */
  | 'E_BAD_PEER_KEY'
  /** One side runs `--insecure`, the other does not: a secure client never falls back to plaintext. */
  | 'E_INSECURE_MISMATCH';

/** The peer could not prove it knows the session code; nothing but HELLO and KEY_CONFIRM was exchanged. */
export class KeyConfirmationError extends FatalError {
  declare readonly code: KeyConfirmationErrorCode;

  constructor(code: KeyConfirmationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'KeyConfirmationError';
  }
}

/** Why a sealed record was refused. */
export type RecordRejectionCode =
  /** The record does not authenticate: altered, truncated, or sealed with another key. */
  | 'E_AUTH'
  /** The record authenticates but its counter is not above the last accepted one: replayed or reordered. */
  | 'E_REPLAY';

/**
 * A sealed record was refused; the opener's state is unchanged, so the stream can go on
 * (the session decides whether to end the call). Never carries plaintext.
 */
export class RecordRejectedError extends VideochatError {
  declare readonly code: RecordRejectionCode;
  /** The record's counter when it authenticated (E_REPLAY), otherwise null. */
  readonly counter: bigint | null;

  constructor(code: RecordRejectionCode, message: string, counter: bigint | null = null) {
    super(code, message);
    this.name = 'RecordRejectedError';
    this.counter = counter;
  }
}

/** A sealer used its last nonce; sealing more would repeat one. Unreachable in practice (2^64 records). */
export class NonceExhaustedError extends VideochatError {
  declare readonly code: 'E_NONCE_EXHAUSTED';

  constructor() {
    super('E_NONCE_EXHAUSTED', 'this connection sealed its last record counter: reconnect to get fresh keys');
    this.name = 'NonceExhaustedError';
  }
}

/** A session code that cannot be used (empty after trimming, or too long). Exit 2 like other bad options. */
export class SessionCodeError extends FatalError {
  declare readonly code: 'E_SESSION_CODE';

  constructor(message: string) {
    super('E_SESSION_CODE', message);
    this.name = 'SessionCodeError';
  }
}
