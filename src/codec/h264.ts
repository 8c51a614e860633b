/**
 * H.264 framing helpers, pure and incremental.
 *
 * Capture side: ffmpeg writes H.264 inside FLV (`-f flv`) because FLV frames every access
 * unit with its length and a keyframe flag. A raw Annex B stream (`-f h264`) cannot tell
 * where an access unit ends until the next one starts, which would add one frame interval
 * of latency at the sender. `FlvH264Demuxer` turns the FLV stream back into Annex B access
 * units (what the wire and the decoders carry), and puts SPS/PPS in front of every
 * keyframe, so that each keyframe is decodable on its own (a receiver that joins late or
 * dropped frames needs nothing else).
 *
 * Receiver side: `AnnexBSplitter` splits an Annex B byte stream into access units (for
 * files and for tests); `AUD_NAL` is appended after a frame fed to a decoder so that its
 * parser sees the frame end at once.
 */
import { VideochatError } from './errors.js';

/** A larger FLV tag or access unit is treated as corrupt. */
export const MAX_H264_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

const START_CODE = Buffer.from([0, 0, 0, 1]);
/** An access unit delimiter NAL (type 9, primary_pic_type 7 = any) with its start code. */
export const AUD_NAL = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);

/** NAL unit types we care about (H.264 table 7-1). */
export const enum NalType {
  /** Coded slice of a non-IDR picture. */
  Slice = 1,
  /** Coded slice of an IDR picture: a keyframe. */
  Idr = 5,
  Sei = 6,
  Sps = 7,
  Pps = 8,
  /** Access unit delimiter. */
  Aud = 9,
}

/** One access unit (one picture) in Annex B form. */
export interface AccessUnit {
  data: Buffer;
  keyframe: boolean;
}

/** Splits an Annex B buffer holding whole NAL units into their payloads (without start codes). */
export function splitNals(data: Uint8Array): Buffer[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const starts: Array<{ at: number; payload: number }> = [];
  let i = 0;
  while (i + 2 < buf.length) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      starts.push({ at: i > 0 && buf[i - 1] === 0 ? i - 1 : i, payload: i + 3 });
      i += 3;
    } else i++;
  }
  return starts.map((s, k) => buf.subarray(s.payload, k + 1 < starts.length ? starts[k + 1].at : buf.length));
}

/** True when the Annex B data holds an IDR slice. */
export function isKeyframeAnnexB(data: Uint8Array): boolean {
  return splitNals(data).some((nal) => nal.length > 0 && (nal[0] & 0x1f) === NalType.Idr);
}

const FLV_HEADER_MIN_BYTES = 9;
const FLV_TAG_HEADER_BYTES = 11;
const FLV_PREV_TAG_SIZE_BYTES = 4;
const FLV_TAG_VIDEO = 9;
const FLV_CODEC_AVC = 7;
const FLV_FRAME_KEY = 1;
const AVC_SEQUENCE_HEADER = 0;
const AVC_NALU = 1;

/** Incremental FLV (H.264 video) -> Annex B access units. Audio and script tags are skipped. */
export class FlvH264Demuxer {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private nalLengthBytes = 4;
  private parameterSets: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the access units it completed. Throws E_BAD_FLV on garbage. */
  push(chunk: Uint8Array): AccessUnit[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: AccessUnit[] = [];
    if (!this.headerDone) {
      if (this.buf.length < FLV_HEADER_MIN_BYTES) return out;
      if (this.buf.toString('latin1', 0, 3) !== 'FLV') throw new VideochatError('E_BAD_FLV', 'H.264 capture stream is not FLV');
      const headerBytes = this.buf.readUInt32BE(5);
      if (this.buf.length < headerBytes + FLV_PREV_TAG_SIZE_BYTES) return out;
      this.buf = this.buf.subarray(headerBytes + FLV_PREV_TAG_SIZE_BYTES);
      this.headerDone = true;
    }
    while (this.buf.length >= FLV_TAG_HEADER_BYTES) {
      const type = this.buf[0] & 0x1f;
      const size = this.buf.readUIntBE(1, 3);
      if (size > MAX_H264_ACCESS_UNIT_BYTES) throw new VideochatError('E_BAD_FLV', `FLV tag of ${size} bytes is too large`);
      const total = FLV_TAG_HEADER_BYTES + size + FLV_PREV_TAG_SIZE_BYTES;
      if (this.buf.length < total) break;
      const body = this.buf.subarray(FLV_TAG_HEADER_BYTES, FLV_TAG_HEADER_BYTES + size);
      this.buf = this.buf.subarray(total);
      if (type !== FLV_TAG_VIDEO || body.length < 5) continue;
      if ((body[0] & 0x0f) !== FLV_CODEC_AVC) throw new VideochatError('E_BAD_FLV', 'FLV video is not H.264');
      const flvKey = body[0] >> 4 === FLV_FRAME_KEY;
      if (body[1] === AVC_SEQUENCE_HEADER) this.readConfig(body.subarray(5));
      else if (body[1] === AVC_NALU) {
        const au = this.toAnnexB(body.subarray(5), flvKey);
        if (au) out.push(au);
      }
    }
    return out;
  }

  /** Reads an AVCDecoderConfigurationRecord: NAL length size, SPS and PPS. */
  private readConfig(rec: Buffer): void {
    if (rec.length < 7) throw new VideochatError('E_BAD_FLV', 'truncated AVC configuration');
    this.nalLengthBytes = (rec[4] & 0x03) + 1;
    const sets: Buffer[] = [];
    let p = 5;
    for (const countMask of [0x1f, 0xff]) {
      const count = rec[p] & countMask;
      p++;
      for (let k = 0; k < count; k++) {
        const len = rec.readUInt16BE(p);
        sets.push(START_CODE, rec.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
    }
    this.parameterSets = Buffer.concat(sets);
  }

  private toAnnexB(payload: Buffer, flvKey: boolean): AccessUnit | undefined {
    const parts: Buffer[] = [];
    let keyframe = false;
    let hasParameterSets = false;
    let p = 0;
    while (p + this.nalLengthBytes <= payload.length) {
      const len = payload.readUIntBE(p, this.nalLengthBytes);
      p += this.nalLengthBytes;
      if (p + len > payload.length) throw new VideochatError('E_BAD_FLV', 'truncated NAL unit in FLV');
      const nal = payload.subarray(p, p + len);
      p += len;
      const nalType = nal[0] & 0x1f;
      if (nalType === NalType.Idr) keyframe = true;
      if (nalType === NalType.Sps) hasParameterSets = true;
      parts.push(START_CODE, nal);
    }
    if (parts.length === 0) return undefined;
    keyframe = keyframe || flvKey;
    if (keyframe && !hasParameterSets && this.parameterSets.length > 0) parts.unshift(this.parameterSets);
    return { data: Buffer.concat(parts), keyframe };
  }
}

/**
 * Incremental Annex B -> access units. An access unit ends where the next one begins: at an
 * AUD, SPS, PPS or SEI after a slice, or at a slice whose first_mb_in_slice is 0 (its first
 * bit after the NAL header is 1). The last unit of a stream comes out of `flush()`.
 */
export class AnnexBSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private scanFrom = 0;
  private current: Buffer[] = [];
  private currentHasSlice = false;
  private currentKey = false;

  push(chunk: Uint8Array): AccessUnit[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: AccessUnit[] = [];
    // Find complete NAL units: each one ends at the next start code.
    for (;;) {
      const first = findStartCode(this.buf, 0);
      if (first < 0) break;
      const payload = first + 3;
      const next = findStartCode(this.buf, Math.max(payload, this.scanFrom));
      if (next < 0) {
        this.scanFrom = Math.max(payload, this.buf.length - 3);
        break;
      }
      const end = next > payload && this.buf[next - 1] === 0 ? next - 1 : next;
      this.addNal(this.buf.subarray(payload, end), out);
      this.buf = this.buf.subarray(end);
      this.scanFrom = 0;
    }
    if (this.buf.length > MAX_H264_ACCESS_UNIT_BYTES) throw new VideochatError('E_BAD_H264', 'H.264 NAL unit too large');
    return out;
  }

  /** Ends the stream: returns the last access unit, if any. */
  flush(): AccessUnit[] {
    const out: AccessUnit[] = [];
    const first = findStartCode(this.buf, 0);
    if (first >= 0) this.addNal(this.buf.subarray(first + 3), out);
    this.buf = Buffer.alloc(0);
    this.scanFrom = 0;
    this.finish(out);
    return out;
  }

  private addNal(nal: Buffer, out: AccessUnit[]): void {
    if (nal.length === 0) return;
    const type = nal[0] & 0x1f;
    const isSlice = type === NalType.Slice || type === NalType.Idr;
    const startsNew = this.currentHasSlice
      && (type === NalType.Aud || type === NalType.Sps || type === NalType.Pps || type === NalType.Sei
        || (isSlice && nal.length > 1 && (nal[1] & 0x80) !== 0));
    if (startsNew) this.finish(out);
    this.current.push(START_CODE, Buffer.from(nal));
    if (isSlice) this.currentHasSlice = true;
    if (type === NalType.Idr) this.currentKey = true;
  }

  private finish(out: AccessUnit[]): void {
    if (this.current.length > 0 && this.currentHasSlice) out.push({ data: Buffer.concat(this.current), keyframe: this.currentKey });
    this.current = [];
    this.currentHasSlice = false;
    this.currentKey = false;
  }
}

function findStartCode(buf: Buffer, from: number): number {
  for (let i = from; i + 2 < buf.length; i++) {
    if (buf[i + 2] > 1) {
      i += 2;
      continue;
    }
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) return i;
  }
  return -1;
}
