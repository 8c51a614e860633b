/**
 * Numbers of the end-to-end security layer (docs/security.md). Changing any of the KDF
 * parameters, labels or sizes changes what both sides derive: it is a protocol version
 * change, and clients of the old and new version would never meet (different rendezvous
 * ids) or fail key confirmation.
 */

/**
 * Fixed application salt of the scrypt call. Fixed because both peers must derive the same
 * rendezvous id without having talked to each other; docs/security.md explains what that
 * costs (one precomputation serves against every session, hence long generated codes).
 */
export const CODE_KDF_SALT = 'videochat/session-code/v1';

/**
 * scrypt cost N (CPU/memory cost, a power of two). With r = 8 one evaluation touches
 * 128 * N * r bytes = 32 MiB and took about 160 ms on the reference machine (2-core VM,
 * Node 20): slow and memory-hard enough to make guessing expensive, fast enough to be
 * invisible next to the relay connection. Measured figures are in docs/security.md.
 */
export const CODE_KDF_COST_N = 2 ** 15;
/** scrypt block size r. */
export const CODE_KDF_BLOCK_SIZE_R = 8;
/** scrypt parallelism p (1: the client computes it once, on one core). */
export const CODE_KDF_PARALLELISM_P = 1;
/** Memory one scrypt evaluation needs: 128 * N * r bytes. */
export const CODE_KDF_MEMORY_BYTES = 128 * CODE_KDF_COST_N * CODE_KDF_BLOCK_SIZE_R;
/** Node's scrypt refuses above `maxmem`: leave headroom over the exact need. */
export const CODE_KDF_MAXMEM_BYTES = 2 * CODE_KDF_MEMORY_BYTES;
/** Size of the scrypt output (the code root, never sent). */
export const CODE_ROOT_BYTES = 32;

/** HKDF label of the rendezvous id (the relay sees this value). */
export const RENDEZVOUS_ID_LABEL = 'videochat/v1 rendezvous id';
/** HKDF label of the code key (never leaves the client). */
export const CODE_KEY_LABEL = 'videochat/v1 code key';
/** Size of the rendezvous id in bytes; as hex text it is twice as long (64 characters). */
export const RENDEZVOUS_ID_BYTES = 32;
/** Size of the code key. */
export const CODE_KEY_BYTES = 32;

/** Longest session code accepted (UTF-8 bytes after normalization), as the original relay. */
export const MAX_SESSION_CODE_BYTES = 1024;

/** Size of a raw X25519 public key (as carried in HELLO). */
export const X25519_PUBLIC_KEY_BYTES = 32;
/** Size of a raw X25519 private key. */
export const X25519_PRIVATE_KEY_BYTES = 32;
/** Size of the random nonce each side puts in its HELLO. */
export const HELLO_RANDOM_BYTES = 32;

/** Domain label that opens the key-exchange transcript. */
export const TRANSCRIPT_LABEL = 'videochat/v1 transcript';
/** HKDF labels of the per-call keys (followed by the transcript hash in `info`). */
export const KEY_LABELS = {
  keyLowToHigh: 'videochat/v1 key low->high',
  keyHighToLow: 'videochat/v1 key high->low',
  ivLowToHigh: 'videochat/v1 iv low->high',
  ivHighToLow: 'videochat/v1 iv high->low',
  confirmKey: 'videochat/v1 confirm key',
} as const;
/** HMAC labels of the two key-confirmation MACs (followed by the transcript hash). */
export const CONFIRM_LABELS = {
  low: 'videochat/v1 confirm low',
  high: 'videochat/v1 confirm high',
} as const;

/** Size of the KEY_CONFIRM payload: one HMAC-SHA256. */
export const KEY_CONFIRM_MAC_BYTES = 32;

/** The AEAD: ChaCha20-Poly1305 (RFC 8439), constant-time in software on any CPU. */
export const AEAD_ALGORITHM = 'chacha20-poly1305';
/** AEAD key size. */
export const AEAD_KEY_BYTES = 32;
/** AEAD nonce size (96 bits). */
export const AEAD_NONCE_BYTES = 12;
/** AEAD tag size. */
export const AEAD_TAG_BYTES = 16;
/** Explicit record counter at the start of every sealed body (u64 big-endian). */
export const RECORD_COUNTER_BYTES = 8;
/** Bytes a seal adds to a plaintext: counter + tag. */
export const SEAL_OVERHEAD_BYTES = RECORD_COUNTER_BYTES + AEAD_TAG_BYTES;
/** Last counter value a sealer may use; one more record would repeat a nonce. */
export const MAX_RECORD_COUNTER = 2n ** 64n - 1n;
