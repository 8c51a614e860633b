// Splitters fed real ffmpeg output, split at every byte offset, and glued together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MjpegSplitter, assertJpeg } from '../../src/codec/mjpeg.js';
import { AnnexBSplitter, FlvH264Demuxer, isKeyframeAnnexB } from '../../src/codec/h264.js';
import { OggReader, OggWriter, isOpusHeader, oggCrc32, opusHead, opusPacketDurationMs, opusTags } from '../../src/codec/ogg.js';

const ff = (args: string[]): Buffer =>
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { maxBuffer: 64 * 1024 * 1024 });
const src = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-frames:v', '6'];
const MJPEG = ff([...src, '-c:v', 'mjpeg', '-f', 'mjpeg', '-']);
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '3', '-bf', '0', '-x264-params', 'sliced-threads=0'];
const FLV = ff([...src, ...X264, '-f', 'flv', '-']);
const ANNEXB = ff([...src, ...X264, '-f', 'h264', '-']);
const OGG = ff(['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '0.2', '-c:a', 'libopus', '-frame_duration', '20', '-page_duration', '20000', '-f', 'ogg', '-']);

/** Feeds `data` split at `at` (and as one piece) and returns what `push` produced. */
function splitRun<T>(make: () => { push(b: Buffer): T[] }, data: Buffer, at: number, flush?: (s: unknown) => T[]): T[] {
  const s = make();
  const out = [...s.push(data.subarray(0, at)), ...s.push(data.subarray(at))];
  return flush ? [...out, ...flush(s)] : out;
}

test('MJPEG: 6 whole JPEGs at every split point, and with garbage in front', () => {
  const whole = new MjpegSplitter().push(MJPEG);
  assert.equal(whole.length, 6);
  whole.forEach((f) => assertJpeg(f));
  assert.deepEqual(Buffer.concat(whole), MJPEG);
  for (let at = 0; at <= MJPEG.length; at += 1) {
    const frames = splitRun(() => new MjpegSplitter(), MJPEG, at);
    assert.equal(frames.length, 6, `split at ${at}`);
  }
  const s = new MjpegSplitter();
  const frames = [...s.push(Buffer.from([1, 2, 0xff, 3])), ...s.push(MJPEG)];
  assert.equal(frames.length, 6);
  assert.equal(s.discardedBytes, 4);
});

test('MJPEG: an FF D9 inside a segment (APP1 payload) does not end the frame', () => {
  const jpeg = new MjpegSplitter().push(MJPEG)[0];
  const app1 = Buffer.from([0xff, 0xe1, 0x00, 0x06, 0xff, 0xd9, 0xff, 0xd8]);
  const tricky = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
  const out = new MjpegSplitter().push(Buffer.concat([tricky, jpeg]));
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], tricky);
});

test('FLV H.264: 6 access units at every split point, keyframes self-contained with SPS/PPS', () => {
  const whole = new FlvH264Demuxer().push(FLV);
  assert.equal(whole.length, 6);
  assert.deepEqual(whole.map((a) => a.keyframe), [true, false, false, true, false, false]);
  for (const au of whole) {
    assert.equal(au.keyframe, isKeyframeAnnexB(au.data));
    if (au.keyframe) assert.equal(au.data[4] & 0x1f, 7, 'keyframe starts with an SPS');
  }
  for (let at = 0; at <= FLV.length; at++) {
    assert.equal(splitRun(() => new FlvH264Demuxer(), FLV, at).length, 6, `split at ${at}`);
  }
});

test('Annex B H.264: 6 access units at every split point', () => {
  const flush = (s: unknown): ReturnType<AnnexBSplitter['flush']> => (s as AnnexBSplitter).flush();
  for (let at = 0; at <= ANNEXB.length; at++) {
    const aus = splitRun(() => new AnnexBSplitter(), ANNEXB, at, flush);
    assert.equal(aus.length, 6, `split at ${at}`);
    assert.deepEqual(aus.map((a) => a.keyframe), [true, false, false, true, false, false]);
  }
});

test('Ogg/Opus: header packets then 20 ms packets at every split point; the writer round-trips', () => {
  const whole = new OggReader().push(OGG);
  assert.ok(isOpusHeader(whole[0].data) && isOpusHeader(whole[1].data));
  const audio = whole.slice(2);
  assert.ok(audio.length >= 10);
  assert.ok(audio.every((p) => opusPacketDurationMs(p.data) === 20));
  for (let at = 0; at <= OGG.length; at++) {
    assert.equal(splitRun(() => new OggReader(), OGG, at).length, whole.length, `split at ${at}`);
  }
  const w = new OggWriter();
  const big = Buffer.alloc(700, 7); // needs 255-byte lacing
  const pages = Buffer.concat([w.page(opusHead(), 0, { bos: true }), w.page(opusTags()), ...audio.map((p) => w.page(p.data, 960)), w.page(big, 960)]);
  const back = new OggReader().push(pages);
  assert.equal(back.length, audio.length + 3);
  assert.deepEqual(back[back.length - 1].data, big);
  assert.equal(back[back.length - 1].granule, BigInt((audio.length + 1) * 960));
  // ffprobe accepts what the writer wrote (so the CRC is right).
  assert.match(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv', '-'], { input: pages }).toString(), /opus/);
  const corrupt = Buffer.from(pages);
  corrupt[40] ^= 1;
  assert.throws(() => new OggReader().push(corrupt), /bad CRC/);
  // Known vector: Ogg's CRC (poly 0x04C11DB7, init 0, no reflection) of '123456789'.
  assert.equal(oggCrc32(Buffer.from('123456789')), 0x89a1897f);
});
