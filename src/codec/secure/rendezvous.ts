/**
 * From the session code to the two values a call needs, without the code ever leaving the
 * client: the rendezvous id (sent to the relay in place of the code, so that the two peers
 * meet) and the code key (mixed into key agreement, never sent).
 *
 * One memory-hard scrypt call turns the code into a 32-byte code root; HKDF-SHA256 expands
 * the root into the two values under distinct labels. One slow call rather than two: an
 * attacker who wants the code key must first guess the code, and every guess already costs
 * a full scrypt evaluation, so a second scrypt would double the client's wait and not the
 * attacker's; meanwhile HKDF outputs under different labels are independent, so the relay,
 * which sees the rendezvous id, learns nothing about the code key (docs/security.md).
 */
import { hkdfSync, scrypt } from 'node:crypto';
import {
  CODE_KDF_BLOCK_SIZE_R,
  CODE_KDF_COST_N,
  CODE_KDF_MAXMEM_BYTES,
  CODE_KDF_PARALLELISM_P,
  CODE_KDF_SALT,
  CODE_KEY_BYTES,
  CODE_KEY_LABEL,
  CODE_ROOT_BYTES,
  RENDEZVOUS_ID_BYTES,
  RENDEZVOUS_ID_LABEL,
} from './constants.js';
import { normalizeSessionCode } from './normalize.js';

/** What one session code yields. */
export interface CodeSecrets {
  /**
   * Lower-case hex (RENDEZVOUS_ID_BYTES * 2 = 64 characters): what the client sends as the
   * "session code" of the relay handshake. Fits the original handshake's 1..1024 bytes.
   */
  rendezvousId: string;
  /** CODE_KEY_BYTES of secret: input of key agreement and key confirmation. Never sent. */
  codeKey: Buffer;
}

/** HKDF-SHA256 with an empty salt: the code root is already uniformly random. */
function expand(root: Buffer, label: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), Buffer.from(label, 'utf8'), length));
}

/** scrypt of the normalized code (the slow step), off the main thread via libuv's pool. */
function codeRoot(normalizedCode: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(normalizedCode, 'utf8'),
      Buffer.from(CODE_KDF_SALT, 'utf8'),
      CODE_ROOT_BYTES,
      { N: CODE_KDF_COST_N, r: CODE_KDF_BLOCK_SIZE_R, p: CODE_KDF_PARALLELISM_P, maxmem: CODE_KDF_MAXMEM_BYTES },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/**
 * Derives the rendezvous id and the code key of a session code (one scrypt evaluation,
 * about 160 ms and 32 MiB). The code is normalized first (normalizeSessionCode); throws
 * E_SESSION_CODE for an empty or oversized code. Call once per call and reuse the result
 * for both connections.
 */
export async function deriveCodeSecrets(code: string): Promise<CodeSecrets> {
  const root = await codeRoot(normalizeSessionCode(code));
  try {
    return {
      rendezvousId: expand(root, RENDEZVOUS_ID_LABEL, RENDEZVOUS_ID_BYTES).toString('hex'),
      codeKey: expand(root, CODE_KEY_LABEL, CODE_KEY_BYTES),
    };
  } finally {
    root.fill(0);
  }
}

/** The rendezvous id alone (hex). Prefer deriveCodeSecrets when the code key is needed too. */
export async function deriveRendezvousId(code: string): Promise<string> {
  return (await deriveCodeSecrets(code)).rendezvousId;
}

/** The code key alone. Prefer deriveCodeSecrets when the rendezvous id is needed too. */
export async function deriveCodeKey(code: string): Promise<Buffer> {
  return (await deriveCodeSecrets(code)).codeKey;
}
