/**
 * The record layer: after HELLO, each connection is a sequence of records, each a u32
 * big-endian body length followed by the body. The layer knows nothing of what a body
 * holds: in plaintext mode it is one encoded message, once encryption exists it is that
 * message sealed with an AEAD. So the security work changes bodies, never framing.
 */
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from './constants.js';
import { ProtocolError } from './errors.js';

function tooLarge(length: number, max: number, what: string): ProtocolError {
  return new ProtocolError('E_FRAME_TOO_LARGE', `${what} of ${length} bytes exceeds the maximum of ${max} bytes`);
}

/** Writes a record header for a body of `length` bytes into `out` at `offset`. */
export function writeRecordHeader(out: Uint8Array, offset: number, length: number, maxRecordBytes = MAX_RECORD_BYTES): void {
  if (length > maxRecordBytes) throw tooLarge(length, maxRecordBytes, 'record');
  out[offset] = length >>> 24;
  out[offset + 1] = (length >>> 16) & 0xff;
  out[offset + 2] = (length >>> 8) & 0xff;
  out[offset + 3] = length & 0xff;
}

/** Frames one body as a record (one copy). Throws E_FRAME_TOO_LARGE above the maximum. */
export function encodeRecord(body: Uint8Array, maxRecordBytes = MAX_RECORD_BYTES): Buffer {
  if (body.length > maxRecordBytes) throw tooLarge(body.length, maxRecordBytes, 'record');
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  writeRecordHeader(out, 0, body.length, maxRecordBytes);
  out.set(body, RECORD_HEADER_BYTES);
  return out;
}

/** Options of a RecordParser. */
export interface RecordParserOptions {
  /** Hard maximum body size; a larger length prefix fails before any allocation. */
  maxRecordBytes?: number;
}

/**
 * Incremental record parser. Push chunks exactly as they arrive (one byte at a time, or
 * many records glued together); get back every record body completed by that chunk.
 *
 * Memory: a record that lies whole inside one chunk is returned as a view of that chunk
 * (no copy; `push` takes the chunk over, so do not modify it afterwards). A record split
 * across chunks is assembled in one buffer allocated at its exact size, and only after its
 * length has been checked against the maximum: the parser never holds more than
 * RECORD_HEADER_BYTES + maxRecordBytes. After an error (including one thrown by the
 * `parse` callback) the stream has lost its framing: every later push throws it again.
 */
export class RecordParser {
  private readonly maxRecordBytes: number;
  private readonly header = new Uint8Array(RECORD_HEADER_BYTES);
  private headerFilled = 0;
  /** The record being assembled, allocated once its length is known. */
  private body: Buffer | null = null;
  private bodyFilled = 0;
  /** Set once the stream lost its framing (or a callback threw mid-chunk): rethrown on every push. */
  private failure: unknown = null;

  constructor(options: RecordParserOptions = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  }

  /** Bytes this parser holds (allocated) between pushes. */
  get bufferedBytes(): number {
    return this.headerFilled + (this.body ? this.body.length : 0);
  }

  /** True when the stream stands at a record boundary (nothing partial buffered). */
  get idle(): boolean {
    return this.headerFilled === 0 && this.body === null;
  }

  /** Parses one chunk and returns the record bodies it completed, in order. */
  push(chunk: Uint8Array): Buffer[] {
    const records: Buffer[] = [];
    this.parse(chunk, (body) => records.push(body));
    return records;
  }

  /**
   * Parses one chunk, calling `onRecord` for each completed body in order; on a framing
   * error, the records before it have already been delivered when it throws.
   */
  parse(chunk: Uint8Array, onRecord: (body: Buffer) => void): void {
    if (this.failure !== null) throw this.failure;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    try {
      while (pos < data.length) {
        if (this.body) {
          // Continue the record already being assembled.
          const take = Math.min(this.body.length - this.bodyFilled, data.length - pos);
          data.copy(this.body, this.bodyFilled, pos, pos + take);
          this.bodyFilled += take;
          pos += take;
          if (this.bodyFilled === this.body.length) {
            const body = this.body;
            this.body = null;
            onRecord(body);
          }
          continue;
        }
        let length: number;
        if (this.headerFilled === 0 && data.length - pos >= RECORD_HEADER_BYTES) {
          // Fast path: a whole header inside this chunk.
          length = data.readUInt32BE(pos);
          pos += RECORD_HEADER_BYTES;
        } else {
          const take = Math.min(RECORD_HEADER_BYTES - this.headerFilled, data.length - pos);
          data.copy(this.header, this.headerFilled, pos, pos + take);
          this.headerFilled += take;
          pos += take;
          if (this.headerFilled < RECORD_HEADER_BYTES) break;
          this.headerFilled = 0;
          length = ((this.header[0] << 24) | (this.header[1] << 16) | (this.header[2] << 8) | this.header[3]) >>> 0;
        }
        if (length > this.maxRecordBytes) throw tooLarge(length, this.maxRecordBytes, 'record');
        if (data.length - pos >= length) {
          // Whole body inside this chunk: hand out a view, no copy.
          const body = data.subarray(pos, pos + length);
          pos += length;
          onRecord(body);
        } else {
          this.body = Buffer.allocUnsafe(length);
          this.bodyFilled = 0;
        }
      }
    } catch (err) {
      // The rest of the chunk is lost, so the stream cannot be resynchronised.
      this.failure = err;
      this.body = null;
      this.headerFilled = 0;
      throw err;
    }
  }
}
