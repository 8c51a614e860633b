/**
 * The session code of a call: the one the user typed, or a new generated one (a number and
 * words, strong enough that the rendezvous id resists offline guessing: docs/security.md).
 */
import { codeStrength, generateSessionCode } from '../../codec/secure/session-code.js';

export interface SessionCode {
  code: string;
  generated: boolean;
  /** One line for the user when a typed code is weak. */
  warning?: string;
}

export function sessionCodeFor(typed: string | undefined): SessionCode {
  if (typed === undefined) return { code: generateSessionCode(), generated: true };
  const strength = codeStrength(typed);
  return strength.weak && strength.warning ? { code: typed, generated: false, warning: strength.warning } : { code: typed, generated: false };
}
