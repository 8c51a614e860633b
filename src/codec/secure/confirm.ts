/**
 * Key confirmation: right after key agreement each side sends one KEY_CONFIRM message
 * whose payload is its MAC over the transcript (KEY_CONFIRM_MAC_BYTES), then waits for the
 * peer's. Both sides send without waiting, so both learn the outcome and both report a
 * failure (exit 8). Nothing else may be sent or accepted before the peer's MAC verifies.
 */
import { timingSafeEqual } from 'node:crypto';
import { KEY_CONFIRM_MAC_BYTES } from './constants.js';
import { KeyConfirmationError } from './errors.js';
import type { SessionKeys } from './key-exchange.js';

/** Our KEY_CONFIRM payload (a copy: KEY_CONFIRM_MAC_BYTES). */
export function keyConfirmPayload(keys: SessionKeys): Buffer {
  return Buffer.from(keys.ourConfirmMac);
}

/**
 * Checks the peer's KEY_CONFIRM payload in constant time. Throws E_KEY_CONFIRMATION (exit 8)
 * when it is wrong: the peer does not know the session code, or someone on the path
 * replaced the public keys.
 */
export function verifyKeyConfirm(keys: SessionKeys, payload: Uint8Array): void {
  const expected = keys.peerConfirmMac;
  // The length is public (fixed by the protocol); only the content needs constant time.
  const ok = payload.length === KEY_CONFIRM_MAC_BYTES && timingSafeEqual(expected, payload);
  if (!ok) {
    throw new KeyConfirmationError(
      'E_KEY_CONFIRMATION',
      `key confirmation failed on the ${keys.channel} connection: the peer does not know this session code ` +
        '(a mistyped code, or someone in the middle)',
    );
  }
}

/**
 * The error for a peer whose first record after HELLO is not a KEY_CONFIRM (or whose
 * connection ends before one): it has not proved it knows the code. `what` names what came.
 */
export function keyConfirmationMissing(channel: string, what: string): KeyConfirmationError {
  return new KeyConfirmationError(
    'E_KEY_CONFIRMATION',
    `key confirmation failed on the ${channel} connection: expected KEY_CONFIRM, got ${what}`,
  );
}

/**
 * Decides whether a connection runs sealed, from our `--insecure` and the peer's HELLO flag.
 * Both insecure: plaintext. Both secure: sealed. A mismatch throws E_INSECURE_MISMATCH
 * (exit 8): a secure client never falls back to plaintext, whatever the peer (or a path
 * that flips the flag) says.
 */
export function resolveSecurityMode(ourInsecure: boolean, peerInsecure: boolean): 'sealed' | 'plaintext' {
  if (ourInsecure === peerInsecure) return ourInsecure ? 'plaintext' : 'sealed';
  throw new KeyConfirmationError(
    'E_INSECURE_MISMATCH',
    ourInsecure
      ? 'the peer requires encryption but this side runs with --insecure: both sides must agree'
      : 'the peer runs with --insecure (plaintext); this side refuses to send anything unencrypted',
  );
}
