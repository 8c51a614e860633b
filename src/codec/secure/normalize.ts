/**
 * Session-code normalization: both peers must turn what they typed into the same bytes
 * before any derivation, or they would never meet. Rules (docs/security.md):
 * - every code: Unicode NFC (the same word typed on two keyboards can differ in
 *   composition), leading and trailing whitespace removed;
 * - a code shaped like a generated one (a number, then words of ASCII letters, separated by
 *   dashes, spaces, dots or underscores): lower-cased and joined with single dashes, so
 *   `7 Crossover CLOCKWORK` and `7-crossover-clockwork` are the same code;
 * - any other code is used exactly as typed: its case carries entropy the user chose.
 */
import { MAX_SESSION_CODE_BYTES } from './constants.js';
import { SessionCodeError } from './errors.js';

/** A number, then one or more ASCII words; separators may be repeated or mixed. */
const GENERATED_SHAPE = /^(\d+)(?:[-\s._]+[A-Za-z]+)+$/;
const SEPARATORS = /[-\s._]+/;

/** True when `code` (already trimmed) has the shape of a generated code. */
export function hasGeneratedShape(code: string): boolean {
  return GENERATED_SHAPE.test(code);
}

/**
 * The canonical form of a session code. Throws E_SESSION_CODE when nothing is left after
 * trimming or the result exceeds MAX_SESSION_CODE_BYTES of UTF-8.
 */
export function normalizeSessionCode(code: string): string {
  const trimmed = code.normalize('NFC').trim();
  if (trimmed.length === 0) throw new SessionCodeError('the session code is empty');
  const canonical = hasGeneratedShape(trimmed) ? trimmed.toLowerCase().split(SEPARATORS).join('-') : trimmed;
  const bytes = Buffer.byteLength(canonical, 'utf8');
  if (bytes > MAX_SESSION_CODE_BYTES) {
    throw new SessionCodeError(`the session code is ${bytes} bytes long; the limit is ${MAX_SESSION_CODE_BYTES}`);
  }
  return canonical;
}
