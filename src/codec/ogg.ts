/**
 * Ogg pages <-> packets, for Opus: ffmpeg's Opus encoder writes Ogg (`-f ogg`), and ffmpeg's
 * Opus decoder needs a container on stdin, so packets from the wire are wrapped back into
 * Ogg pages. Pure and incremental. Page layout and CRC per RFC 3533; Opus mapping
 * (OpusHead, OpusTags, granule positions at 48 kHz) per RFC 7845.
 */
import { VideochatError } from './errors.js';

const PAGE_HEADER_BYTES = 27;
const CAPTURE_PATTERN = 'OggS';
const MAX_SEGMENTS = 255;
const MAX_SEGMENT_BYTES = 255;
/** A packet larger than this is corrupt (Opus packets are at most ~1.3 kB per 20 ms). */
export const MAX_OGG_PACKET_BYTES = 1024 * 1024;
/** Opus granule positions always count 48 kHz samples, whatever the input rate. */
export const OPUS_GRANULE_RATE_HZ = 48_000;

const HEADER_CONTINUED = 0x01;
const HEADER_BOS = 0x02;
const HEADER_EOS = 0x04;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor. */
export function oggCrc32(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

/** One packet out of an Ogg stream. */
export interface OggPacket {
  data: Buffer;
  /** Granule position of the page on which this packet ended (-1 when none ended there). */
  granule: bigint;
  serial: number;
}

/** Incremental Ogg page parser: bytes in, whole packets out. Pages with a bad CRC are an error. */
export class OggReader {
  private buf: Buffer = Buffer.alloc(0);
  private partial: Buffer[] = [];
  private partialBytes = 0;

  push(chunk: Uint8Array): OggPacket[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: OggPacket[] = [];
    while (this.buf.length >= PAGE_HEADER_BYTES) {
      if (this.buf.toString('latin1', 0, 4) !== CAPTURE_PATTERN) {
        throw new VideochatError('E_BAD_OGG', 'Ogg stream lost sync (no OggS capture pattern)');
      }
      const segments = this.buf[26];
      const headerBytes = PAGE_HEADER_BYTES + segments;
      if (this.buf.length < headerBytes) break;
      let bodyBytes = 0;
      for (let k = 0; k < segments; k++) bodyBytes += this.buf[PAGE_HEADER_BYTES + k];
      if (this.buf.length < headerBytes + bodyBytes) break;
      const page = this.buf.subarray(0, headerBytes + bodyBytes);
      this.buf = this.buf.subarray(headerBytes + bodyBytes);
      const stored = page.readUInt32LE(22);
      const copy = Buffer.from(page);
      copy.writeUInt32LE(0, 22);
      if (oggCrc32(copy) !== stored) throw new VideochatError('E_BAD_OGG', 'Ogg page with a bad CRC');
      const granule = page.readBigInt64LE(6);
      const serial = page.readUInt32LE(14);
      if (!(page[5] & HEADER_CONTINUED)) this.resetPartial();
      let p = headerBytes;
      for (let k = 0; k < segments; k++) {
        const len = page[PAGE_HEADER_BYTES + k];
        this.partial.push(page.subarray(p, p + len));
        this.partialBytes += len;
        p += len;
        if (this.partialBytes > MAX_OGG_PACKET_BYTES) throw new VideochatError('E_BAD_OGG', 'Ogg packet too large');
        if (len < MAX_SEGMENT_BYTES) {
          out.push({ data: Buffer.concat(this.partial), granule, serial });
          this.resetPartial();
        }
      }
    }
    return out;
  }

  private resetPartial(): void {
    this.partial = [];
    this.partialBytes = 0;
  }
}

/** Writes packets as Ogg pages, one packet per page so that every page can be sent at once. */
export class OggWriter {
  private seq = 0;
  private granule = 0n;

  constructor(private readonly serial: number = 0x5643) {}

  /**
   * One page holding `packet`. `granuleAdvance` is added to the running granule position
   * first (for Opus: the packet's duration in 48 kHz samples; 0 for header packets).
   */
  page(packet: Uint8Array, granuleAdvance = 0, flags: { bos?: boolean; eos?: boolean } = {}): Buffer {
    if (packet.length > MAX_OGG_PACKET_BYTES) throw new VideochatError('E_BAD_OGG', 'packet too large for Ogg');
    this.granule += BigInt(granuleAdvance);
    const lacing: number[] = [];
    let rest = packet.length;
    while (rest >= MAX_SEGMENT_BYTES) {
      lacing.push(MAX_SEGMENT_BYTES);
      rest -= MAX_SEGMENT_BYTES;
    }
    lacing.push(rest);
    if (lacing.length > MAX_SEGMENTS) throw new VideochatError('E_BAD_OGG', 'packet too large for one Ogg page');
    const header = Buffer.alloc(PAGE_HEADER_BYTES + lacing.length);
    header.write(CAPTURE_PATTERN, 0, 'latin1');
    header[4] = 0;
    header[5] = (flags.bos ? HEADER_BOS : 0) | (flags.eos ? HEADER_EOS : 0);
    header.writeBigInt64LE(this.granule, 6);
    header.writeUInt32LE(this.serial, 14);
    header.writeUInt32LE(this.seq++, 18);
    header[26] = lacing.length;
    lacing.forEach((v, k) => (header[PAGE_HEADER_BYTES + k] = v));
    const page = Buffer.concat([header, packet]);
    page.writeUInt32LE(oggCrc32(page), 22);
    return page;
  }
}

/** An OpusHead packet (RFC 7845 5.1) for a mono or stereo stream. */
export function opusHead(channels = 1, preSkip = 312, inputRateHz = 48_000): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(inputRateHz, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

/** A minimal OpusTags packet (RFC 7845 5.2). */
export function opusTags(vendor = 'videochat'): Buffer {
  const v = Buffer.from(vendor, 'utf8');
  const tags = Buffer.alloc(8 + 4 + v.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(v.length, 8);
  v.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + v.length);
  return tags;
}

/** True for the OpusHead / OpusTags header packets. */
export function isOpusHeader(packet: Uint8Array): boolean {
  if (packet.length < 8) return false;
  const magic = Buffer.from(packet.buffer, packet.byteOffset, 8).toString('latin1');
  return magic === 'OpusHead' || magic === 'OpusTags';
}

const OPUS_FRAME_MS_SILK = [10, 20, 40, 60];
const OPUS_FRAME_MS_HYBRID = [10, 20];
const OPUS_FRAME_MS_CELT = [2.5, 5, 10, 20];

/** Duration of an Opus packet in ms, from its TOC byte (RFC 6716 3.1); 0 if malformed. */
export function opusPacketDurationMs(packet: Uint8Array): number {
  if (packet.length < 1) return 0;
  const toc = packet[0];
  const config = toc >> 3;
  const frameMs = config < 12 ? OPUS_FRAME_MS_SILK[config % 4] : config < 16 ? OPUS_FRAME_MS_HYBRID[config % 2] : OPUS_FRAME_MS_CELT[config % 4];
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (packet.length < 2) return 0;
    frames = packet[1] & 0x3f;
  }
  return frameMs * frames;
}
