import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endReasonOf, exitStatusOf } from '../../src/cli/exit-codes.js';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AudioSink } from '../../src/media/audio-sink.js';
import { AudioCapture, VideoCapture } from '../../src/media/capture.js';
import type { MediaWarning } from '../../src/media/errors.js';
import { Recorder } from '../../src/media/recorder.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.js';
import { FatalError } from '../../src/codec/errors.js';
import { FFMPEG, dominantIs1kHz, sleep, tempDir, withTimeout } from './helpers.js';

const ASOUNDRC = new URL('../fixtures/asoundrc', import.meta.url).pathname;

function tone(ms: number): Buffer {
  const n = (48_000 * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 48_000)), i * 2);
  return b;
}

function sinkEnv(out: string): NodeJS.ProcessEnv {
  return { ...process.env, ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out };
}

test('speaker:tofile: the real speaker in the child process plays the 1 kHz tone into the ALSA file device', async () => {
  const out = join(tempDir(), 'out.raw');
  const sink = new AudioSink({ kind: 'speaker', device: 'tofile' }, { env: sinkEnv(out) });
  const warnings: MediaWarning[] = [];
  sink.on('warning', (w) => warnings.push(w));
  sink.start();
  // Frames are played only once the child has the device open (pushed before, they are not played late).
  await withTimeout((async () => { while (!sink.speakerReady) await sleep(10); })(), 10_000, 'speaker child ready');
  for (let i = 0; i < 40; i++) {
    sink.push(tone(20));
    await sleep(20);
  }
  await sleep(200);
  const stats = sink.stats();
  await withTimeout(sink.close(), 10_000, 'sink close');
  assert.deepEqual(warnings, []);
  assert.ok(stats.audioBufferMs <= 100, `buffer ${stats.audioBufferMs} ms`);
  const pcm = readFileSync(out);
  assert.ok(pcm.length >= 48_000, `only ${pcm.length} bytes reached the device`);
  assert.ok(dominantIs1kHz(pcm), 'the device got the tone');
});

test('a speaker child killed with SIGKILL is one warning and the parent lives on', async () => {
  const out = join(tempDir(), 'out.raw');
  const sink = new AudioSink({ kind: 'speaker', device: 'tofile' }, { env: sinkEnv(out) });
  const warnings: MediaWarning[] = [];
  sink.on('warning', (w) => warnings.push(w));
  sink.start();
  sink.push(tone(100));
  await sleep(500);
  const pid = sink.speakerPid;
  assert.ok(pid !== undefined, 'the speaker child runs');
  process.kill(pid, 'SIGKILL');
  await sleep(500);
  sink.push(tone(100));
  await sleep(200);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].code, 'W_AUDIO_OUT');
  assert.match(warnings[0].message, /SIGKILL/);
  await sink.close();
});

test('speaker with no usable ALSA default (the abort case) is one warning, never our crash', async () => {
  const sink = new AudioSink({ kind: 'speaker' }, { env: { ...process.env, ALSA_CONFIG_PATH: '/nonexistent/asound.conf' } });
  const warned = once(sink, 'warning');
  sink.start();
  sink.push(tone(200));
  const [w] = (await withTimeout(warned, 15_000, 'warning')) as [MediaWarning];
  assert.equal(w.code, 'W_AUDIO_OUT');
  await sink.close();
});

test('FILE.wav: a valid WAV of real-time length holding the tone', async () => {
  const path = join(tempDir(), 'out.wav');
  const sink = new AudioSink({ kind: 'wav', path });
  sink.start();
  for (let i = 0; i < 25; i++) {
    sink.push(tone(20));
    await sleep(20);
  }
  await sleep(100);
  await sink.close();
  const wav = readFileSync(path);
  assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
  assert.equal(wav.readUInt32LE(40), wav.length - 44);
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=sample_rate,channels', '-of', 'json', path]).toString();
  assert.deepEqual(JSON.parse(probe).streams[0], { sample_rate: '48000', channels: 1 });
  assert.ok(dominantIs1kHz(wav.subarray(44)));
});

for (const [video, audio] of [['mjpeg', 'opus'], ['h264', 'pcm']] as const) {
  test(`recorder (${video}+${audio}): an mkv that ffprobe reads with one video and one audio stream`, async () => {
    const path = join(tempDir(), 'rec.mkv');
    const rec = new Recorder({ ffmpeg: FFMPEG, path, video, audio });
    const vcap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: video, fps: 15, width: 160, height: 120 });
    const acap = new AudioCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: audio });
    const warnings: MediaWarning[] = [];
    rec.on('warning', (w) => warnings.push(w));
    vcap.on('frame', (f) => rec.writeVideo(f));
    acap.on('packet', (p) => rec.writeAudio(p.data, p.durationMs));
    rec.start();
    vcap.start();
    acap.start();
    await sleep(2500);
    await Promise.all([vcap.close(), acap.close()]);
    await withTimeout(rec.close(), 10_000, 'recorder finalize');
    assert.deepEqual(warnings, []);
    assert.ok(existsSync(path));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:format=duration', '-of', 'json', path]).toString());
    const types = probe.streams.map((s: { codec_type: string }) => s.codec_type).sort();
    assert.deepEqual(types, ['audio', 'video']);
    assert.ok(Number(probe.format.duration) > 0.5, `duration ${probe.format.duration}`);
  });
}

test('a recording that can only fail as ffmpeg finalizes it (a full disk, a short call) is a W_RECORD_FAILED warning from close()', async () => {
  const dir = tempDir();
  const path = join(dir, 'full.mkv');
  symlinkSync('/dev/full', path);
  const rec = new Recorder({ ffmpeg: FFMPEG, path, video: 'mjpeg', audio: null });
  const vcap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: 'mjpeg', fps: 15, width: 160, height: 120 });
  const warnings: MediaWarning[] = [];
  rec.on('warning', (w) => warnings.push(w));
  rec.start();
  // One frame, then close at once: whatever ffmpeg had buffered fails to reach the disk only
  // now, as it writes out and finalizes, so no death during the call could have told us.
  const [frame] = (await once(vcap.start(), 'frame')) as [{ data: Uint8Array; keyframe: boolean }];
  rec.writeVideo(frame);
  await vcap.close();
  await withTimeout(rec.close(), 10_000, 'recorder finalize');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]!.code, 'W_RECORD_FAILED');
  assert.match(warnings[0]!.message, /^recording not finished: ffmpeg-recorder exited with code \d+: .*(No space left|Error writing)/);
  await rec.close();
  assert.equal(warnings.length, 1, 'close() is idempotent and warns once');
});

test('a recorder that was handed nothing closes without a warning', async () => {
  const rec = new Recorder({ ffmpeg: FFMPEG, path: join(tempDir(), 'empty.mkv'), video: 'mjpeg', audio: 'opus' });
  const warnings: MediaWarning[] = [];
  rec.on('warning', (w) => warnings.push(w));
  rec.start();
  await withTimeout(rec.close(), 10_000, 'recorder close');
  assert.deepEqual(warnings, []);
});

test('missing ffmpeg: E_FFMPEG_MISSING, exit 7, one line naming what was tried', async () => {
  const env = { ...process.env, PATH: '/nonexistent' };
  await assert.rejects(resolveFfmpeg({ env, skipStatic: true }), (err: unknown) => {
    assert.ok(err instanceof FatalError);
    assert.equal(err.code, 'E_FFMPEG_MISSING');
    assert.equal(exitStatusOf(err), 7);
    assert.equal(endReasonOf(err), 'media');
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /ffmpeg/);
    return true;
  });
  await assert.rejects(resolveFfmpeg({ flag: '/nonexistent/ffmpeg' }), /--ffmpeg \/nonexistent\/ffmpeg \(not found\)/);
  const found = await resolveFfmpeg({ env: { ...process.env, VIDEOCHAT_FFMPEG: FFMPEG === 'ffmpeg' ? '/usr/bin/ffmpeg' : FFMPEG } });
  assert.equal(found.source, 'env');
  const onPath = await resolveFfmpeg({});
  assert.ok(onPath.source === 'path' || onPath.source === 'ffmpeg-static');
  assert.match(onPath.version, /ffmpeg version/);
});
