/**
 * Numbers of the end-to-end protocol (docs/protocol.md). Every limit carries its unit in
 * its name; changing one of the wire sizes is a protocol version change.
 */

/** Magic that opens every HELLO: ASCII `VCHT` ("VideoCHaT"). As a little-endian u32 it reads
 * as ~1.4 GB, a length no original client ever sends, so an original peer is told apart at once. */
export const HELLO_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x56, 0x43, 0x48, 0x54);

/** The protocol version we speak. Peers must speak exactly this version (docs/protocol.md). */
export const PROTOCOL_VERSION = 1;

/** Size of the ephemeral X25519 public key carried in HELLO (zeros when insecure). */
export const HELLO_PUBLIC_KEY_BYTES = 32;
/** Size of the random nonce carried in HELLO. */
export const HELLO_NONCE_BYTES = 32;
/** Bytes of HELLO before the version-specific part: magic (4) + version (2). Stable forever. */
export const HELLO_PREFIX_BYTES = 6;
/** Size of a whole version-1 HELLO: magic 4 + version 2 + flags 2 + key 32 + nonce 32. */
export const HELLO_BYTES = HELLO_PREFIX_BYTES + 2 + HELLO_PUBLIC_KEY_BYTES + HELLO_NONCE_BYTES;

/** HELLO flag bits. Unknown bits are ignored by receivers and sent as zero. */
export const HelloFlag = {
  /** This connection carries audio; clear = video. Lets a peer detect crossed connections. */
  CHANNEL_AUDIO: 0x0001,
  /** The sender runs with `--insecure`: plaintext records, no key agreement. */
  INSECURE: 0x0002,
} as const;

/** Size of the record length prefix (u32 big-endian). */
export const RECORD_HEADER_BYTES = 4;
/** Hard maximum record body, checked before anything is allocated. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** Size of the message header inside a record: type 1 + flags 1 + seq 4 + timestamp 8. */
export const MESSAGE_HEADER_BYTES = 14;
/** Room kept in every record for the AEAD seal (tag, and slack for future framing). */
export const SEAL_OVERHEAD_RESERVED_BYTES = 64;
/** Largest payload a sender may put in one message so that the sealed record still fits. */
export const MAX_PAYLOAD_BYTES = MAX_RECORD_BYTES - MESSAGE_HEADER_BYTES - SEAL_OVERHEAD_RESERVED_BYTES;

/** Largest SETUP JSON document. */
export const MAX_SETUP_BYTES = 64 * 1024;
/** Largest REPORT JSON document. */
export const MAX_REPORT_BYTES = 4 * 1024;
/** Largest BYE reason text (UTF-8). Longer reasons are truncated by the sender. */
export const MAX_BYE_REASON_BYTES = 256;
/** Largest KEY_CONFIRM MAC. */
export const MAX_KEY_CONFIRM_BYTES = 64;

/** Sequence numbers are u32 and wrap to 0 after this value. */
export const MAX_SEQ = 0xffff_ffff;
