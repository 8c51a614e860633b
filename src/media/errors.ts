/**
 * What the media classes report: a MediaWarning is something the call goes on without (a
 * restart, a missing device, a lost recording); a MediaError ends it (exit 7, reason `media`).
 */
import { FatalError } from '../codec/errors.js';

/** A warning for the session's `warning` event. */
export interface MediaWarning {
  code: string;
  message: string;
}

/** A media process failed beyond recovery: exit 7, reason `media`. */
export class MediaError extends FatalError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'MediaError';
  }
}
