/**
 * HKDF-SHA256 (RFC 5869) written out with HMAC, as a second computation independent of
 * node's hkdf, for known-answer checks of the key schedule.
 */
import { createHmac } from 'node:crypto';

const HASH_BYTES = 32;

/** HMAC-SHA256 of the concatenation of `parts`. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** HKDF-Extract then HKDF-Expand; an empty salt means HashLen zero bytes, as the RFC says. */
export function hkdfByHand(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  const prk = hmac(salt.length === 0 ? Buffer.alloc(HASH_BYTES) : salt, ikm);
  const blocks: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 1; blocks.length * HASH_BYTES < length; i++) {
    previous = hmac(prk, previous, info, Buffer.of(i));
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}
