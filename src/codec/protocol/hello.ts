/**
 * HELLO: the first bytes each client sends on each connection after the relay handshake.
 * Fixed size, and only what key agreement needs (docs/architecture.md): magic, version,
 * flags, an ephemeral public key and a nonce. Everything else travels in later messages.
 *
 * Layout (big-endian): magic[4] `VCHT` | version u16 | flags u16 | publicKey[32] | nonce[32].
 * The first 6 bytes (magic + version) are frozen for every future version, so that any two
 * versions can tell each other apart and fail with a clear error.
 */
import {
  HELLO_BYTES,
  HELLO_MAGIC,
  HELLO_NONCE_BYTES,
  HELLO_PREFIX_BYTES,
  HELLO_PUBLIC_KEY_BYTES,
  HelloFlag,
  PROTOCOL_VERSION,
} from './constants.js';
import { ProtocolError, ProtocolVersionError } from './errors.js';

/** Which of the two relayed connections a HELLO was sent on. */
export type Channel = 'video' | 'audio';

/** A decoded HELLO. */
export interface Hello {
  version: number;
  channel: Channel;
  /** The sender runs with `--insecure` (plaintext, no key agreement). */
  insecure: boolean;
  /** Raw flag bits, unknown ones included (for logging). */
  flags: number;
  /** Ephemeral X25519 public key; all zeros when insecure. */
  publicKey: Uint8Array;
  /** Random nonce of the sender. */
  nonce: Uint8Array;
}

/** What a sender puts in its HELLO. Key and nonce default to zeros (fine when insecure). */
export interface HelloInit {
  channel: Channel;
  insecure: boolean;
  publicKey?: Uint8Array;
  nonce?: Uint8Array;
  /** Only tests set this, to play a peer of another version. */
  version?: number;
}

/** Encodes a HELLO (exactly HELLO_BYTES long). */
export function encodeHello(init: HelloInit): Buffer {
  const publicKey = init.publicKey ?? new Uint8Array(HELLO_PUBLIC_KEY_BYTES);
  const nonce = init.nonce ?? new Uint8Array(HELLO_NONCE_BYTES);
  if (publicKey.length !== HELLO_PUBLIC_KEY_BYTES) throw new RangeError(`HELLO public key must be ${HELLO_PUBLIC_KEY_BYTES} bytes`);
  if (nonce.length !== HELLO_NONCE_BYTES) throw new RangeError(`HELLO nonce must be ${HELLO_NONCE_BYTES} bytes`);
  const version = init.version ?? PROTOCOL_VERSION;
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) throw new RangeError('HELLO version must be a u16');
  const flags = (init.channel === 'audio' ? HelloFlag.CHANNEL_AUDIO : 0) | (init.insecure ? HelloFlag.INSECURE : 0);
  const out = Buffer.alloc(HELLO_BYTES);
  out.set(HELLO_MAGIC, 0);
  out.writeUInt16BE(version, 4);
  out.writeUInt16BE(flags, 6);
  out.set(publicKey, 8);
  out.set(nonce, 8 + HELLO_PUBLIC_KEY_BYTES);
  return out;
}

function describeBytes(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function notVideochat(bytes: Uint8Array): ProtocolError {
  return new ProtocolError(
    'E_NOT_VIDEOCHAT',
    `the peer is not a videochat client (no HELLO; first bytes ${describeBytes(bytes)}): ` +
      'it may be an original client, which cannot talk to this one',
  );
}

/**
 * Checks the bytes of a HELLO seen so far (any prefix): throws E_NOT_VIDEOCHAT on the first
 * byte that differs from the magic, E_PROTOCOL_VERSION as soon as the version is known.
 */
function checkHelloPrefix(bytes: Uint8Array): void {
  const magicSeen = Math.min(bytes.length, HELLO_MAGIC.length);
  for (let i = 0; i < magicSeen; i++) {
    if (bytes[i] !== HELLO_MAGIC[i]) throw notVideochat(bytes);
  }
  if (bytes.length >= HELLO_PREFIX_BYTES) {
    const version = (bytes[4] << 8) | bytes[5];
    if (version !== PROTOCOL_VERSION) throw new ProtocolVersionError(PROTOCOL_VERSION, version);
  }
}

/** Decodes a complete HELLO (the first HELLO_BYTES of `bytes`; copies key and nonce). */
export function decodeHello(bytes: Uint8Array): Hello {
  checkHelloPrefix(bytes);
  if (bytes.length < HELLO_BYTES) {
    throw new ProtocolError('E_MALFORMED_MESSAGE', `HELLO needs ${HELLO_BYTES} bytes, got ${bytes.length}`);
  }
  const flags = (bytes[6] << 8) | bytes[7];
  const keyStart = 8;
  const nonceStart = keyStart + HELLO_PUBLIC_KEY_BYTES;
  return {
    version: (bytes[4] << 8) | bytes[5],
    channel: flags & HelloFlag.CHANNEL_AUDIO ? 'audio' : 'video',
    insecure: (flags & HelloFlag.INSECURE) !== 0,
    flags,
    publicKey: Uint8Array.prototype.slice.call(bytes, keyStart, nonceStart),
    nonce: Uint8Array.prototype.slice.call(bytes, nonceStart, nonceStart + HELLO_NONCE_BYTES),
  };
}

/** A complete HELLO and every byte that arrived after it (never dropped). */
export interface HelloResult {
  hello: Hello;
  /** Bytes after the HELLO: feed them to the record/message parser. */
  rest: Buffer;
}

/**
 * Incremental HELLO reader. Feed chunks as they arrive; `push` returns the result once the
 * HELLO is complete and `null` while more bytes are needed. It fails on the first wrong
 * magic byte and as soon as the version is known, without waiting for the rest. Buffers at
 * most HELLO_BYTES. After an error, every later push throws the same error.
 */
export class HelloParser {
  private readonly buffer = Buffer.alloc(HELLO_BYTES);
  private filled = 0;
  private failure: ProtocolError | null = null;
  private done = false;

  /** Bytes held while waiting for the rest of the HELLO. */
  get bufferedBytes(): number {
    return this.done ? 0 : this.filled;
  }

  push(chunk: Uint8Array): HelloResult | null {
    if (this.failure) throw this.failure;
    if (this.done) throw new Error('HelloParser.push after the HELLO was complete');
    const take = Math.min(chunk.length, HELLO_BYTES - this.filled);
    this.buffer.set(chunk.subarray(0, take), this.filled);
    this.filled += take;
    try {
      checkHelloPrefix(this.buffer.subarray(0, this.filled));
      if (this.filled < HELLO_BYTES) return null;
      const hello = decodeHello(this.buffer);
      this.done = true;
      const rest = Buffer.from(chunk.buffer, chunk.byteOffset + take, chunk.length - take);
      return { hello, rest };
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }
}
