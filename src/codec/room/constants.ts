/**
 * Numbers of room mode (docs/rooms.md): the envelope the relay reads and the sender-key
 * media seal it cannot open. Changing a wire size here is a protocol version change.
 */
import { MAX_RECORD_BYTES } from '../protocol/constants.js';

/**
 * A relay handshake whose code starts with this prefix joins a room. Clients send the
 * prefix followed by the session code's rendezvous id (64 hex characters), never the code.
 */
export const ROOM_CODE_PREFIX = 'vcroom1-';

/** Envelope header: payload length u32 BE (4) + member id u16 BE (2) + flags u8 (1). */
export const ENVELOPE_HEADER_BYTES = 7;
/** Largest envelope payload: one sealed record body of the member protocol. */
export const MAX_ENVELOPE_PAYLOAD_BYTES = MAX_RECORD_BYTES;

/** Member id of the relay itself (the sender of control envelopes). */
export const RELAY_MEMBER_ID = 0;
/** Recipient id meaning "every other member of the room". */
export const BROADCAST_MEMBER_ID = 0xffff;
/** Highest id the relay gives a member (ids 1..MAX_MEMBER_ID). */
export const MAX_MEMBER_ID = 0xfffe;

/** Envelope flag bits; unknown bits are ignored and sent as zero. */
export const EnvelopeFlag = {
  /**
   * The relay may drop this envelope for a receiver whose queue is too old (media frames).
   * Never set on key distribution or control: those are never dropped.
   */
  DROPPABLE: 0x01,
  /** The payload is audio: dropped after video when a receiver falls behind. */
  AUDIO: 0x02,
} as const;

/** Default and hard maximum number of members in one room. */
export const DEFAULT_MAX_ROOM_MEMBERS = 8;
export const MAX_ROOM_MEMBERS_LIMIT = 32;

/** Sender-key media body: epoch u32 (4) + counter u64 (8) + ciphertext + tag (16). */
export const MEDIA_EPOCH_BYTES = 4;
export const MEDIA_COUNTER_BYTES = 8;
export const MEDIA_TAG_BYTES = 16;
export const MEDIA_SEAL_OVERHEAD_BYTES = MEDIA_EPOCH_BYTES + MEDIA_COUNTER_BYTES + MEDIA_TAG_BYTES;
/** Size of one sender secret (the value SENDER_KEY distributes). */
export const SENDER_SECRET_BYTES = 32;
/** HKDF labels that expand a sender secret into its AEAD key and IV. */
export const SENDER_KEY_LABELS = {
  key: 'videochat/v1 room sender key',
  iv: 'videochat/v1 room sender iv',
} as const;
/** Last epoch a member may start; one more would wrap and repeat a key's epoch number. */
export const MAX_SENDER_EPOCH = 0xffffffff;
