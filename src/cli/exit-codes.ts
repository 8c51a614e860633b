/**
 * videochat's exit statuses: the one table the EXIT STATUS section of man/videochat.1 and
 * section 4 of docs/contract.md document (test/cli/exit-codes.test.ts holds them together),
 * and the one place that says which error ends the program, or a call, with which. Errors
 * carry only their stable code (`E_...`); the status and the `ended.reason` are looked up here.
 */
import type { EndReason } from './session/events.js';

/** Exit status for each `ended.reason` (docs/contract.md). */
export const EXIT_CODES: Readonly<Record<EndReason, number>> = {
  hangup: 0,
  usage: 2,
  'relay-unreachable': 3,
  'no-peer': 4,
  'peer-lost': 5,
  protocol: 6,
  media: 7,
  'key-confirmation': 8,
  'reconnect-failed': 9,
  // `--room` only: the room already holds the relay's --max-room-size members.
  'room-full': 10,
};

/** An internal error (a bug), or (doctor) something needed is missing: no `ended.reason` of its own. */
export const EXIT_FAILURE = 1;

/** The `ended.reason` of each error code that ends a call, or the program, on purpose. */
const REASON_OF_CODE: Readonly<Record<string, EndReason>> = {
  // Bad options or arguments; a session code that cannot be used.
  E_USAGE: 'usage',
  E_SESSION_CODE: 'usage',
  E_RELAY_UNREACHABLE: 'relay-unreachable',
  E_DEMO_RELAY: 'relay-unreachable',
  // The connection closed between the peer's HELLO and its KEY_CONFIRM.
  E_PEER_VANISHED: 'peer-lost',
  // The peer speaks something else, or broke the framing: nothing after it can be trusted.
  E_NOT_VIDEOCHAT: 'protocol',
  E_PROTOCOL_VERSION: 'protocol',
  E_FRAME_TOO_LARGE: 'protocol',
  E_MALFORMED_MESSAGE: 'protocol',
  E_UNSUPPORTED_CODEC: 'protocol',
  E_BAD_PICKLE: 'protocol',
  // ffmpeg missing, or a media process that failed beyond recovery.
  E_FFMPEG_MISSING: 'media',
  E_CAPTURE_FAILED: 'media',
  E_DECODE_FAILED: 'media',
  E_MEDIA_CORRUPT: 'media',
  E_MEDIA_UNREADABLE: 'media',
  // The peer could not prove it knows the session code.
  E_KEY_CONFIRMATION: 'key-confirmation',
  E_BAD_PEER_KEY: 'key-confirmation',
  E_INSECURE_MISMATCH: 'key-confirmation',
};

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' ? code : undefined;
}

/** The `ended.reason` an error ends the program or a call with; undefined for anything unexpected. */
export function endReasonOf(err: unknown): EndReason | undefined {
  const code = codeOf(err);
  return code !== undefined && Object.hasOwn(REASON_OF_CODE, code) ? REASON_OF_CODE[code] : undefined;
}

/** The exit status an error thrown out of a command ends `videochat` with. */
export function exitStatusOf(err: unknown): number {
  const reason = endReasonOf(err);
  return reason === undefined ? EXIT_FAILURE : EXIT_CODES[reason];
}

/** How an error ends a call: its reason and message; anything unexpected is a media failure, said as internal. */
export function callEndOf(err: unknown): { reason: EndReason; message: string } {
  const reason = endReasonOf(err);
  if (reason !== undefined) return { reason, message: (err as Error).message };
  return { reason: 'media', message: `internal error: ${(err as Error | undefined)?.message ?? String(err)}` };
}

/** The table as `--help` prints it: `0 hangup, 1 internal error, 2 usage, ...`. */
export function exitStatusSummary(): string {
  const rows: Array<[number, string]> = [...Object.entries(EXIT_CODES).map(([reason, code]) => [code, reason] as [number, string]), [EXIT_FAILURE, 'internal error']];
  return rows.sort((a, b) => a[0] - b[0]).map(([code, reason]) => `${code} ${reason}`).join(', ');
}
