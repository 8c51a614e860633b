import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENCODER_TAP_FILTER, MPJPEG_BOUNDARY, audioCaptureArgs, mpjpegPart, recorderArgs, videoCaptureArgs, videoDecoderArgs, videoInputArgs,
} from '../../src/media/args.js';
import { JITTER_MAX_TARGET_MS, JitterBuffer } from '../../src/media/jitter-buffer.js';
import { parseCodecList, parseDeviceList } from '../../src/media/ffmpeg-path.js';

const P = { width: 320, height: 240, fps: 15 };

test('video sources per platform, exact arrays', () => {
  assert.deepEqual(videoInputArgs({ kind: 'camera' }, P, { platform: 'linux' }), ['-f', 'v4l2', '-framerate', '15', '-video_size', '320x240', '-i', '/dev/video0']);
  assert.deepEqual(videoInputArgs({ kind: 'camera', device: '/dev/video2' }, P, { platform: 'linux' }).at(-1), '/dev/video2');
  assert.deepEqual(videoInputArgs({ kind: 'camera' }, P, { platform: 'darwin' }), ['-f', 'avfoundation', '-framerate', '15', '-video_size', '320x240', '-i', '0:none']);
  assert.deepEqual(videoInputArgs({ kind: 'camera', device: 'USB Cam' }, P, { platform: 'win32' }).slice(-2), ['-i', 'video=USB Cam']);
  assert.deepEqual(videoInputArgs({ kind: 'test' }, P), ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15']);
  assert.deepEqual(videoInputArgs({ kind: 'file', path: 'a.mp4' }, P), ['-stream_loop', '-1', '-re', '-i', 'a.mp4']);
});

test('encoders: mjpeg to stdout, h264 ultrafast/zerolatency with a 1 s GOP in FLV, opus voip 20 ms in Ogg', () => {
  const mjpeg = videoCaptureArgs({ kind: 'test' }, { ...P, codec: 'mjpeg', quality: 70 });
  assert.deepEqual(mjpeg.slice(-16), [
    '-an', '-vf', `scale=320:240,format=yuvj420p,${ENCODER_TAP_FILTER}`, '-fps_mode', 'passthrough',
    '-c:v', 'mjpeg', '-q:v', '11', '-threads', '1', '-flush_packets', '1', '-f', 'mjpeg', 'pipe:1',
  ]);
  // Only a file is resampled to the call's frame rate (the others are opened at it).
  const fromFile = videoCaptureArgs({ kind: 'file', path: 'a.mp4' }, { ...P, codec: 'mjpeg', quality: 70 });
  assert.equal(fromFile[fromFile.indexOf('-vf') + 1], `fps=15,scale=320:240,format=yuvj420p,${ENCODER_TAP_FILTER}`);
  const h264 = videoCaptureArgs({ kind: 'test' }, { ...P, codec: 'h264' });
  // One encoder thread (frame threads hold frames), after the input: an output option.
  for (const [k, v] of [['-preset', 'ultrafast'], ['-tune', 'zerolatency'], ['-g', '15'], ['-bf', '0'], ['-threads', '1'], ['-f', 'flv']]) {
    assert.equal(h264[h264.lastIndexOf(k) + 1], v, k);
  }
  assert.ok(h264.includes('-nostdin'));
  const opus = audioCaptureArgs({ kind: 'test' }, 'opus');
  for (const [k, v] of [['-c:a', 'libopus'], ['-application', 'voip'], ['-frame_duration', '20'], ['-ar', '48000'], ['-ac', '1'], ['-page_duration', '20000'], ['-f', 'ogg']]) {
    assert.equal(opus[opus.lastIndexOf(k) + 1], v, k);
  }
  assert.deepEqual(audioCaptureArgs({ kind: 'mic' }, 'pcm', { platform: 'linux', pulse: true }).slice(4, 11), ['-nostdin', '-f', 'pulse', '-fragment_size', '3840', '-i', 'default']);
  assert.deepEqual(audioCaptureArgs({ kind: 'mic', device: 'hw:1' }, 'pcm', { platform: 'linux', pulse: false }).slice(5, 9), ['-f', 'alsa', '-i', 'hw:1']);
});

test('decoders: MJPEG as multipart parts with their length, -threads 1 before and after -i', () => {
  const d = videoDecoderArgs('mjpeg', 160, 120);
  const i = d.indexOf('-i');
  assert.deepEqual(d.slice(i - 4, i + 4), ['-threads', '1', '-f', 'mpjpeg', '-i', 'pipe:0', '-threads', '1']);
  const h = videoDecoderArgs('h264', 160, 120);
  assert.deepEqual(h.slice(h.indexOf('-i') - 2, h.indexOf('-i') + 4), ['-f', 'h264', '-i', 'pipe:0', '-threads', '1']);
  const part = Buffer.concat(mpjpegPart(Buffer.from([0xff, 0xd8, 0xff, 0xd9])));
  assert.equal(part.toString('latin1'), `--${MPJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n`);
});

test('recorder: video on fd 3, audio on fd 4, copied into Matroska', () => {
  const a = recorderArgs({ path: 'x.mkv', video: 'h264', audio: 'opus' });
  assert.deepEqual(a.slice(-11), ['-i', 'pipe:4', '-map', '0:v', '-map', '1:a', '-c', 'copy', '-f', 'matroska', 'x.mkv']);
  assert.ok(a.includes('pipe:3'));
  const audioOnly = recorderArgs({ path: 'y.mkv', video: null, audio: 'pcm' });
  assert.ok(!audioOnly.includes('pipe:3'));
  assert.deepEqual(audioOnly.slice(-9), ['-i', 'pipe:4', '-map', '0:a', '-c', 'copy', '-f', 'matroska', 'y.mkv']);
});

test('ffmpeg list parsers', () => {
  assert.deepEqual(parseCodecList(' V..... = Video\n ------\n V....D mjpeg   MJPEG\n A....D libopus  Opus\n'), ['mjpeg', 'libopus']);
  assert.deepEqual(parseDeviceList('Devices:\n D. = Demuxing\n --\n DE alsa  ALSA\n  E caca  caca\n D  lavfi  Lavfi\n'), ['alsa', 'lavfi']);
});

const FRAME = 1920; // 20 ms at 48 kHz mono s16le

test('jitter buffer: prebuffers to the target, plays in order, counts an underrun and adapts up to <= 60 ms', () => {
  const jb = new JitterBuffer();
  assert.equal(jb.targetMs, 40);
  const frame = (v: number): Buffer => Buffer.alloc(FRAME, v);
  jb.push(frame(1));
  assert.deepEqual(jb.pull(20), Buffer.alloc(FRAME), 'silence while buffering');
  jb.push(frame(2));
  assert.equal(jb.bufferMs, 40);
  assert.deepEqual(jb.pull(20), frame(1));
  assert.deepEqual(jb.pull(20), frame(2));
  assert.equal(jb.underruns, 0);
  jb.pull(20);
  assert.equal(jb.underruns, 1);
  assert.equal(jb.targetMs, 50);
  for (let i = 0; i < 10; i++) jb.pull(20);
  assert.equal(jb.underruns, 1, 'an underrun is counted once, not per silent tick');
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 4; i++) jb.push(frame(3));
    while (jb.bufferMs >= 20) jb.pull(20);
    jb.pull(20);
  }
  assert.ok(jb.targetMs <= JITTER_MAX_TARGET_MS);
});

test('jitter buffer: a burst is trimmed so delay stays bounded; a long steady run lowers the target', () => {
  const jb = new JitterBuffer();
  for (let i = 0; i < 50; i++) jb.push(Buffer.alloc(FRAME, i));
  assert.ok(jb.bufferMs <= jb.targetMs + 40, `buffer ${jb.bufferMs} ms`);
  assert.ok(jb.droppedMs > 0);
  const kept = jb.pull(20);
  assert.ok(kept[0] > 40, 'the oldest audio was dropped, the newest kept');
  const steady = new JitterBuffer();
  for (let i = 0; i < 3; i++) steady.push(Buffer.alloc(FRAME));
  for (let i = 0; i < 600; i++) {
    steady.push(Buffer.alloc(FRAME));
    steady.pull(20);
  }
  assert.equal(steady.underruns, 0);
  assert.ok(steady.targetMs < 40, `target ${steady.targetMs}`);
});

test('decoder: colour at full resolution (a 4:2:0 JPEG scaled down keeps its colour edges)', async () => {
  const { execFileSync } = await import('node:child_process');
  const { psnr } = await import('../../src/codec/render/quality.js');
  const jpeg = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '2', '-f', 'mjpeg', '-']);
  const args = videoDecoderArgs('mjpeg', 160, 96);
  const out = execFileSync('ffmpeg', args, { input: Buffer.concat(mpjpegPart(jpeg)), maxBuffer: 1 << 24 });
  assert.equal(out.length, 160 * 96 * 3);
  const reference = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-vf', 'format=rgb24,scale=160:96', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  const q = psnr({ width: 160, height: 96, data: new Uint8Array(out) }, { width: 160, height: 96, data: new Uint8Array(reference) });
  assert.ok(q >= 35, `PSNR ${q.toFixed(2)} dB`);
});
