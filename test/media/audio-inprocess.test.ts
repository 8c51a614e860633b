// The in-process audio path: raw PCM from the real ffmpeg, Opus encoded and decoded by
// @discordjs/opus, the jitter buffer letting go of standing audio, and the sink handing the
// echo canceller exactly what the real speaker child plays into the ALSA file device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AudioCapture, type AudioPacket } from '../../src/media/capture.js';
import { AudioDecoder } from '../../src/media/audio-decode.js';
import { AudioSink } from '../../src/media/audio-sink.js';
import { JITTER_TRIM_WINDOW_MS, JitterBuffer } from '../../src/media/jitter-buffer.js';
import { hasInProcessOpus, opusLoadError } from '../../src/media/opus.js';
import { planAudioPath } from '../../src/media/audio-path.js';
import { FFMPEG, dominantIs1kHz, sleep, tempDir, withTimeout } from './helpers.js';

const ASOUNDRC = new URL('../fixtures/asoundrc', import.meta.url).pathname;
const skip = hasInProcessOpus() ? false : `no in-process Opus: ${opusLoadError()}`;

test('in-process Opus: ffmpeg hands over PCM, packets are Opus that decode in-process to the 1 kHz tone', { skip }, async () => {
  const cap = new AudioCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec: 'opus', inProcessOpus: true });
  assert.equal(cap.inProcess, true);
  const packets: AudioPacket[] = [];
  cap.on('packet', (p) => packets.push(p));
  cap.start();
  await withTimeout(new Promise<void>((r) => { const t = setInterval(() => { if (packets.length >= 40) { clearInterval(t); r(); } }, 20); }), 15_000, '40 packets');
  await cap.close();
  // Opus packets are small (32 kb/s: ~80 bytes per 20 ms), not 1920-byte PCM frames.
  assert.ok(packets.every((p) => p.data.length < 400 && p.durationMs === 20), `sizes ${packets.slice(0, 5).map((p) => p.data.length)}`);
  const dec = new AudioDecoder({ ffmpeg: FFMPEG, codec: 'opus', inProcessOpus: true }).start();
  assert.equal(dec.inProcess, true);
  const pcm: Buffer[] = [];
  dec.on('pcm', (b) => pcm.push(b));
  for (const p of packets) assert.equal(dec.push(p.data, p.durationMs), true);
  // Synchronous: every packet gave its 20 ms at once, no process in between.
  assert.equal(pcm.length, packets.length);
  assert.ok(pcm.every((b) => b.length === 1920));
  assert.ok(dominantIs1kHz(Buffer.concat(pcm.slice(10))));
  assert.equal(dec.push(Buffer.from([0xff, 0xff, 0xff]), 20), false, 'garbage is dropped, not thrown');
  await dec.close();
});

test('jitter buffer: audio standing above target for a second is let go (a burst does not stay as delay)', () => {
  const jb = new JitterBuffer({ bytesPerMs: 96 });
  const frame = Buffer.alloc(1920, 1);
  // Start, then a burst of 2 extra frames (40 ms, within the headroom: not dropped on arrival), then one frame per tick.
  for (let i = 0; i < 2; i++) jb.push(frame);
  jb.pull(20);
  for (let i = 0; i < 2; i++) jb.push(frame);
  const before = jb.bufferMs;
  for (let t = 0; t < (JITTER_TRIM_WINDOW_MS / 20) * 2; t++) {
    jb.push(frame);
    jb.pull(20);
  }
  assert.ok(before >= 60, `burst buffered ${before} ms`);
  assert.ok(jb.bufferMs <= jb.targetMs + 10, `after two windows ${jb.bufferMs} ms buffered, target ${jb.targetMs}`);
  assert.equal(jb.underruns, 0);
});

test('the sink hands the canceller exactly what the speaker child plays into the ALSA file device, nothing before it is ready', async () => {
  const out = join(tempDir(), 'out.raw');
  const played: Buffer[] = [];
  // Counted as each frame is handed over, not when the test next looks (a loaded machine
  // polled late and counted frames handed over after the child was ready).
  let early = 0;
  const sink: AudioSink = new AudioSink({ kind: 'speaker', device: 'tofile' }, {
    env: { ...process.env, ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out },
    onPlayed: (f) => {
      played.push(f);
      if (!sink.speakerReady) early++;
    },
  });
  sink.start();
  // Tone pushed from the start: what arrives while the child is still starting is not played late.
  const tone = Buffer.alloc(1920);
  for (let i = 0; i < 960; i++) tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 48_000)), i * 2);
  const feeder = setInterval(() => sink.push(tone), 20);
  // A failed assertion must not leave the speaker child running (the file would never end).
  try {
    const t0 = Date.now();
    await withTimeout((async () => { while (!sink.speakerReady) await sleep(5); })(), 10_000, 'speaker child ready');
    // Nothing was handed over while the child was starting (it would have been played late all call).
    assert.equal(early, 0, `${early} frames handed over in the ${Date.now() - t0} ms before the child was ready`);
    await sleep(2500);
  } finally {
    clearInterval(feeder);
    await sink.close();
  }
  const file = readFileSync(out);
  assert.ok(played.length > 20, `${played.length} frames played`);
  // The file is the child's opening 20 ms of silence, then exactly the frames given to the canceller.
  assert.equal(file.length, 1920 + played.length * 1920);
  assert.ok(file.subarray(1920).equals(Buffer.concat(played)));
});

test('audio path: the canceller runs only with a mic, a loudspeaker and without --no-echo-cancel', () => {
  const base = { audioCodec: 'opus' as const, audioIn: { kind: 'test' }, audioOut: { kind: 'speaker' } };
  const on = planAudioPath(base);
  assert.equal(planAudioPath({ ...base, echoCancel: false }).echoCanceller, null);
  assert.match(planAudioPath({ ...base, echoCancel: false }).echoWhyNot, /--no-echo-cancel/);
  assert.equal(planAudioPath({ ...base, audioIn: { kind: 'none' } }).echoCanceller, null);
  assert.equal(planAudioPath({ ...base, audioOut: { kind: 'wav' } }).echoCanceller, null);
  if (on.echoCanceller) assert.match(on.echoCanceller, /WebRTC/);
  else assert.ok(on.echoWhyNot.length > 0);
});

test('the headphones tip: not when the canceller runs, back with --no-echo-cancel or the original peer', async () => {
  const { showEchoHint } = await import('../../src/cli/commands/connect-tui.js');
  const call = { audioIn: { kind: 'mic' }, audioOut: { kind: 'speaker' }, audioCodec: 'opus' as const };
  const canceller = planAudioPath(call).echoCanceller;
  assert.equal(showEchoHint(call), canceller === null);
  assert.equal(showEchoHint({ ...call, echoCancel: false }), true);
  assert.equal(showEchoHint(call, 'original'), true);
  assert.equal(showEchoHint({ ...call, audioOut: { kind: 'none' } }), false);
});
