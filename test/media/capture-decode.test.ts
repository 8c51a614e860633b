import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AudioCapture, VideoCapture, type AudioPacket, type VideoFrame } from '../../src/media/capture.js';
import type { MediaWarning } from '../../src/media/errors.js';
import { AudioDecoder } from '../../src/media/audio-decode.js';
import { VideoDecoder, type DecodedFrame } from '../../src/media/decode.js';
import { EncoderTap } from '../../src/media/encoder-tap.js';
import { assertJpeg } from '../../src/codec/mjpeg.js';
import { isKeyframeAnnexB } from '../../src/codec/h264.js';
import { FFMPEG, dominantIs1kHz, sleep, tempDir, withTimeout } from './helpers.js';

const SIZE = { width: 320, height: 240 };
const FPS = 15;

async function captureFor(codec: 'mjpeg' | 'h264', ms: number): Promise<VideoFrame[]> {
  const cap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec, fps: FPS, ...SIZE });
  const frames: VideoFrame[] = [];
  cap.on('frame', (f) => frames.push(f));
  cap.on('error', (e) => assert.fail(e.message));
  const started = once(cap, 'started');
  cap.start();
  await withTimeout(started, 15_000, 'first frame');
  await sleep(ms);
  await withTimeout(cap.close(), 10_000, 'close');
  return frames;
}

async function decodeAll(codec: 'mjpeg' | 'h264', frames: VideoFrame[], width: number, height: number): Promise<DecodedFrame[]> {
  const dec = new VideoDecoder({ ffmpeg: FFMPEG, codec, width, height });
  const out: DecodedFrame[] = [];
  dec.on('frame', (f) => out.push(f));
  dec.on('error', (e) => assert.fail(e.message));
  // Frames pushed while the in-process decoder loads are kept only a few (the newest).
  await dec.ready();
  // At the capture's own pace, as a call delivers them: the decoder drops frames that come
  // faster than it decodes (latency before completeness), and on a loaded machine pushing one
  // every 5 ms lost 2 of 23.
  for (const f of frames) {
    dec.push(f);
    await sleep(1000 / FPS);
  }
  const deadline = Date.now() + 4000;
  while (out.length < frames.length - 1 && Date.now() < deadline) await sleep(50);
  await withTimeout(dec.close(), 10_000, 'decoder close');
  return out;
}

for (const codec of ['mjpeg', 'h264'] as const) {
  test(`${codec}: test source gives ~15 fps of whole frames that decode back to RGB of the asked size`, async () => {
    const t0 = Date.now();
    const frames = await captureFor(codec, 1500);
    const spanMs = (frames[frames.length - 1].captureTimeUs - frames[0].captureTimeUs) / 1000;
    const fps = ((frames.length - 1) * 1000) / spanMs;
    assert.ok(frames.length >= 15, `only ${frames.length} frames`);
    // Paced in real time: neither a burst nor a crawl (generous: 2 busy cores).
    assert.ok(fps > 9 && fps < 22, `rate ${fps.toFixed(1)} fps`);
    assert.ok(Date.now() - t0 < 20_000);
    if (codec === 'mjpeg') {
      for (const f of frames) assertJpeg(f.data);
      assert.ok(frames.every((f) => f.keyframe));
    } else {
      assert.equal(frames[0].keyframe, true, 'first H.264 frame must be a keyframe');
      assert.ok(frames.every((f) => f.keyframe === isKeyframeAnnexB(f.data)));
      const keys = frames.filter((f) => f.keyframe).length;
      assert.ok(keys >= 1 && keys <= 4, `${keys} keyframes in ~1.5 s with a 1 s GOP`);
    }
    const decoded = await decodeAll(codec, frames, 160, 120);
    assert.ok(decoded.length >= frames.length - 1, `decoded ${decoded.length} of ${frames.length}`);
    for (const d of decoded) {
      assert.equal(d.width, 160);
      assert.equal(d.data.length, 160 * 120 * 3);
    }
    // testsrc2 is colourful: a decoded frame is not a flat colour.
    const px = decoded[0].data;
    const distinct = new Set<number>();
    for (let i = 0; i < px.length; i += 3 * 97) distinct.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    assert.ok(distinct.size > 20, `only ${distinct.size} colours`);
  });
}

for (const [codec, inProcess] of [['mjpeg', false], ['mjpeg', true], ['h264', false]] as const) {
  test(`${codec}${codec === 'mjpeg' ? (inProcess ? ' in process' : ' through ffmpeg') : ''}: the decoder hands out frame k before frame k+1 is written`, async () => {
    const frames = await captureFor(codec, 700);
    const dec = new VideoDecoder({ ffmpeg: FFMPEG, codec, width: 80, height: 60, inProcess });
    assert.equal(await dec.ready(), inProcess ? 'in-process' : 'ffmpeg');
    let decoded = 0;
    dec.on('frame', () => decoded++);
    dec.on('error', (e) => assert.fail(e.message));
    dec.start();
    const pushes = 5;
    for (let k = 0; k < pushes; k++) {
      assert.equal(dec.push(frames[k]!), true);
      // Frame k must come out with nothing after it: no decoder stage may wait for frame k+1.
      const deadline = Date.now() + 10_000;
      while (decoded < k + 1 && Date.now() < deadline) await sleep(10);
      assert.equal(decoded, k + 1, `frame ${k} was not handed out before frame ${k + 1} was written`);
    }
    await dec.close();
  });
}

for (const codec of ['mjpeg', 'h264'] as const) {
  test(`${codec}: a frame's capture time is when the raw frame entered the encoder, before it left ffmpeg`, async () => {
    const cap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec, fps: FPS, ...SIZE });
    const seen: Array<{ captureUs: number; emittedUs: number }> = [];
    cap.on('frame', (f) => seen.push({ captureUs: f.captureTimeUs, emittedUs: Math.round((performance.timeOrigin + performance.now()) * 1000) }));
    cap.on('error', (e) => assert.fail(e.message));
    const started = once(cap, 'started');
    cap.start();
    await withTimeout(started, 15_000, 'first frame');
    await sleep(1500);
    await withTimeout(cap.close(), 10_000, 'close');
    assert.ok(seen.length >= 10, `only ${seen.length} frames`);
    // The encoder tap's line comes before the encoded frame: its time is earlier than the
    // moment the frame was handed to us (with the old timestamp the two were the same).
    const earlier = seen.filter((x) => x.captureUs < x.emittedUs).length;
    assert.ok(earlier >= seen.length * 0.8, `${earlier} of ${seen.length} frames stamped before they left ffmpeg`);
    // In order and not far back (the tap and the frames stay in step).
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.captureUs >= seen[i - 1]!.captureUs);
    assert.ok(seen.every((x) => x.emittedUs - x.captureUs < 1_000_000));
  });
}

test('encoder tap: frames pair with their own line by number; a late line is skipped, not shifted onto the next frame', () => {
  const tap = new EncoderTap();
  tap.push(Buffer.from('frame:0    pts:0       pts_time:0\nvc=1\nframe:1    pts:1 '), 100);
  tap.push(Buffer.from('      pts_time:0.0666\nvc=1\n'), 200);
  assert.equal(tap.next(1000), 100);
  assert.equal(tap.next(1000), 200);
  // Frame 2 comes out before its line was read: the fallback; its line, read later, is skipped.
  assert.equal(tap.next(3000), 3000);
  tap.push(Buffer.from('frame:2 pts:2 pts_time:0.13\nvc=1\nframe:3 pts:3 pts_time:0.2\n'), 3100);
  assert.equal(tap.next(4000), 3100);
  assert.equal(tap.fallbacks, 1);
  // A restart (new process) numbers from 0 again.
  tap.reset();
  tap.push(Buffer.from('frame:0 pts:0 pts_time:0\n'), 5000);
  assert.equal(tap.next(6000), 5000);
});

test('h264: a decoder resized mid-stream waits for a keyframe and then gives frames of the new size', async () => {
  const frames = await captureFor('h264', 2300);
  const dec = new VideoDecoder({ ffmpeg: FFMPEG, codec: 'h264', width: 64, height: 48 });
  const out: DecodedFrame[] = [];
  let needKey = 0;
  dec.on('frame', (f) => out.push(f));
  dec.on('need-keyframe', () => needKey++);
  dec.on('error', (e) => assert.fail(e.message));
  dec.start();
  const half = Math.floor(frames.length / 2);
  for (const f of frames.slice(0, half)) { dec.push(f); await sleep(5); }
  await sleep(500);
  await dec.setSize(96, 64);
  for (const f of frames.slice(half)) { dec.push(f); await sleep(5); }
  await sleep(1000);
  await dec.close();
  assert.ok(needKey >= 1, 'asked for a keyframe after the restart');
  assert.ok(out.some((f) => f.width === 64) && out.some((f) => f.width === 96 && f.data.length === 96 * 64 * 3));
});

/** ffmpeg processes whose parent is this test process. */
function ffmpegChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /ffmpeg/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('mjpeg through ffmpeg: setSize while frames keep coming: frames of the new size, one decoder process left, none after close', async () => {
  const frames = await captureFor('mjpeg', 2000);
  const dec = new VideoDecoder({ ffmpeg: FFMPEG, codec: 'mjpeg', width: 64, height: 48, inProcess: false });
  const out: DecodedFrame[] = [];
  dec.on('frame', (f) => out.push(f));
  dec.on('error', (e) => assert.fail(e.message));
  dec.start();
  let i = 0;
  // Frames keep arriving at 15 fps, as from a peer, during and after the resize.
  const feeder = setInterval(() => { dec.push(frames[i++ % frames.length]); }, 1000 / FPS);
  try {
    const deadline = Date.now() + 15_000;
    while (!out.some((f) => f.width === 64) && Date.now() < deadline) await sleep(50);
    assert.ok(out.some((f) => f.width === 64), 'frames of the first size');
    // The old decoder is stopped while frames keep being pushed: before the fix, a push in
    // that window started a decoder of its own, and setSize then started another one.
    await withTimeout(dec.setSize(96, 64), 15_000, 'old decoder stopped');
    while (!out.some((f) => f.width === 96) && Date.now() < deadline) await sleep(20);
    assert.ok(out.some((f) => f.width === 96 && f.data.length === 96 * 64 * 3), 'frames of the new size');
    await sleep(500);
    assert.equal(ffmpegChildren().length, 1, `one decoder process after the resize: ${ffmpegChildren().join(',')}`);
    const at = out.findIndex((f) => f.width === 96);
    assert.ok(out.slice(at).every((f) => f.width === 96), 'no frame of the old size after the first of the new size');
  } finally {
    clearInterval(feeder);
    await withTimeout(dec.close(), 10_000, 'decoder close');
  }
  await sleep(300);
  assert.deepEqual(ffmpegChildren(), [], 'no decoder left after close');
});

test('mjpeg in process: no ffmpeg, the same picture as ffmpeg gives, new sizes at once, damaged, oversized and progressive frames dropped', async () => {
  const frames = await captureFor('mjpeg', 700);
  const decode = async (inProcess: boolean, w: number, h: number) => {
    const dec = new VideoDecoder({ ffmpeg: FFMPEG, codec: 'mjpeg', width: w, height: h, inProcess });
    const out: DecodedFrame[] = [];
    dec.on('frame', (f) => out.push(f));
    dec.on('error', (e) => assert.fail(e.message));
    await dec.ready();
    dec.push(frames[3]!);
    const deadline = Date.now() + 10_000;
    while (out.length < 1 && Date.now() < deadline) await sleep(10);
    return { dec, out };
  };
  for (const [w, h] of [[320, 240], [160, 120], [500, 376]] as const) {
    const ours = await decode(true, w, h);
    const theirs = await decode(false, w, h);
    assert.equal(ours.dec.backend, 'in-process');
    assert.equal(ours.out[0]!.data.length, w * h * 3);
    // The same picture: the mean difference per channel is small (scalers differ a little).
    let diff = 0;
    const a = ours.out[0]!.data;
    const b = theirs.out[0]!.data;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    const mean = diff / a.length;
    assert.ok(mean < (w === 320 ? 3 : 12), `${w}x${h}: mean difference ${mean.toFixed(2)} per channel`);
    await ours.dec.close();
    await theirs.dec.close();
  }
  const { dec, out } = await decode(true, 64, 48);
  assert.deepEqual(ffmpegChildren(), [], 'no ffmpeg for an in-process decoder');
  await dec.setSize(96, 64);
  dec.push(frames[4]!);
  // Damaged: cut in half; oversized: a header claiming 60000x60000.
  const cut = frames[5]!.data.subarray(0, frames[5]!.data.length >> 1);
  dec.push({ data: cut, keyframe: true });
  const huge = Buffer.from(frames[6]!.data);
  for (let i = 2; i + 9 < huge.length; i++) {
    if (huge[i] === 0xff && huge[i + 1] === 0xc0) { huge.writeUInt16BE(60000, i + 5); huge.writeUInt16BE(60000, i + 7); break; }
  }
  dec.push({ data: huge, keyframe: true });
  // Progressive (any number of scans, and decoding runs on our event loop): not taken.
  const progressive = execFileSync('convert', ['jpeg:-', '-interlace', 'JPEG', 'jpeg:-'], { input: frames[6]!.data });
  assert.ok(progressive.includes(Buffer.from([0xff, 0xc2])), 'a progressive JPEG (SOF2)');
  dec.push({ data: progressive, keyframe: true });
  dec.push(frames[7]!);
  const deadline = Date.now() + 10_000;
  while (out.length < 3 && Date.now() < deadline) await sleep(10);
  await sleep(100);
  assert.equal(out.length, 3, 'the good frames only');
  assert.deepEqual(out.slice(1).map((f) => `${f.width}x${f.height}`), ['96x64', '96x64'], 'the new size from the next frame');
  assert.equal(dec.droppedFrames, 3);
  await dec.close();
});

test('opus: 20 ms packets of the 1 kHz test tone decode back to PCM whose dominant frequency is 1 kHz', async () => {
  const cap = new AudioCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: 'opus' });
  const packets: AudioPacket[] = [];
  cap.on('packet', (p) => packets.push(p));
  cap.on('error', (e) => assert.fail(e.message));
  const started = once(cap, 'started');
  cap.start();
  await withTimeout(started, 15_000, 'first packet');
  await sleep(1200);
  await cap.close();
  assert.ok(packets.length >= 30, `${packets.length} packets`);
  assert.ok(packets.every((p) => p.durationMs === 20), 'every packet is 20 ms');
  const dec = new AudioDecoder({ ffmpeg: FFMPEG, codec: 'opus' });
  const pcm: Buffer[] = [];
  dec.on('pcm', (b) => pcm.push(b));
  dec.on('error', (e) => assert.fail(e.message));
  dec.start();
  for (const p of packets) dec.push(p.data, p.durationMs);
  const want = (packets.length - 5) * 1920;
  const deadline = Date.now() + 10_000;
  while (Buffer.concat(pcm).length < want && Date.now() < deadline) await sleep(50);
  await dec.close();
  const all = Buffer.concat(pcm);
  assert.ok(all.length >= want, `decoded ${all.length} bytes, wanted ${want}`);
  assert.ok(dominantIs1kHz(all.subarray(9600)), 'dominant frequency is 1 kHz');
});

test('pcm: the test tone comes as exact 20 ms frames (1920 bytes) of a 1 kHz tone', async () => {
  const cap = new AudioCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: 'pcm' });
  const packets: AudioPacket[] = [];
  cap.on('packet', (p) => packets.push(p));
  const started = once(cap, 'started');
  cap.start();
  await withTimeout(started, 15_000, 'first packet');
  await sleep(600);
  await cap.close();
  assert.ok(packets.length >= 15);
  assert.ok(packets.every((p) => p.data.length === 1920 && p.durationMs === 20));
  assert.ok(dominantIs1kHz(Buffer.concat(packets.map((p) => p.data))));
});

test('a FILE source is paced in real time and loops', async () => {
  const dir = tempDir();
  const file = join(dir, 'short.mkv');
  // 0.5 s of video: looping must keep frames coming for 2 s.
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '0.5', '-c:v', 'mjpeg', file]);
  const cap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'file', path: file }, codec: 'mjpeg', fps: 10, width: 160, height: 120 });
  const frames: VideoFrame[] = [];
  cap.on('frame', (f) => frames.push(f));
  const started = once(cap, 'started');
  cap.start();
  await withTimeout(started, 15_000, 'first frame');
  await sleep(2000);
  await cap.close();
  // 2 s at 10 fps = ~20 frames: many more than the 5 in the file, yet not a burst.
  assert.ok(frames.length >= 12 && frames.length <= 30, `${frames.length} frames`);
});

test('a missing camera or mic is a warning with a code, not an error', async () => {
  const cam = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'camera', device: '/dev/video-none' }, codec: 'mjpeg', fps: 15, ...SIZE });
  const mic = new AudioCapture({ ffmpeg: FFMPEG, source: { kind: 'mic', device: 'no-such-pcm' }, codec: 'opus', pulse: false });
  const warnings: MediaWarning[] = [];
  for (const c of [cam, mic]) {
    c.on('warning', (w) => warnings.push(w));
    c.on('error', (e) => assert.fail(`unexpected error ${e.message}`));
  }
  const ended = Promise.all([once(cam, 'ended'), once(mic, 'ended')]);
  cam.start();
  mic.start();
  await withTimeout(ended, 20_000, 'both captures end');
  assert.deepEqual(warnings.map((w) => w.code).sort(), ['W_NO_CAMERA', 'W_NO_MIC']);
  assert.match(warnings.find((w) => w.code === 'W_NO_CAMERA')?.message ?? '', /video-none/);
  await cam.close();
  await mic.close();
});
