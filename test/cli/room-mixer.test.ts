// The room's audio mix (src/cli/room/mixer.ts): per-member jitter buffers, a sum that
// saturates instead of wrapping, silence for a member that has nothing, levels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioMixer, MIX_FRAME_SAMPLES, MIX_PREBUFFER_MS } from '../../src/cli/room/mixer.js';

const pcm = (samples: number, value: number | ((i: number) => number)): Buffer => {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(typeof value === 'number' ? value : value(i), i * 2);
  return b;
};
const samplesOf = (frame: Buffer): number[] => Array.from({ length: frame.length / 2 }, (_, i) => frame.readInt16LE(i * 2));
const FRAMES_PREBUFFER = MIX_PREBUFFER_MS / 20;

test('loud members saturate at the 16-bit limits instead of wrapping around', () => {
  const m = new AudioMixer();
  for (const id of [1, 2, 3]) m.push(id, pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, 30_000));
  const up = samplesOf(m.mixFrame().pcm);
  assert.ok(up.every((s) => s === 32767), `max ${Math.max(...up)} min ${Math.min(...up)}`);
  const down = new AudioMixer();
  for (const id of [1, 2]) down.push(id, pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, -30_000));
  assert.ok(samplesOf(down.mixFrame().pcm).every((s) => s === -32768));
  // Quiet members add up exactly.
  const sum = new AudioMixer();
  sum.push(1, pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, 1000));
  sum.push(2, pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, -300));
  assert.ok(samplesOf(sum.mixFrame().pcm).every((s) => s === 700));
});

test('a member with nothing buffered is silence; the others are heard unchanged', () => {
  const m = new AudioMixer();
  m.push(1, pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, (i) => (i % 100) * 10));
  m.push(2, Buffer.alloc(0));
  const out = samplesOf(m.mixFrame().pcm);
  assert.deepEqual(out, Array.from({ length: MIX_FRAME_SAMPLES }, (_, i) => (i % 100) * 10));
  // Nobody at all: a frame of silence, still 20 ms long.
  const empty = new AudioMixer().mixFrame();
  assert.equal(empty.pcm.length, MIX_FRAME_SAMPLES * 2);
  assert.ok(samplesOf(empty.pcm).every((s) => s === 0));
});

test('per-member jitter buffer: heard after the prebuffer, silence and a refill after an underrun, one member\'s gap not the others\'', () => {
  const m = new AudioMixer();
  // Member 1 steady; member 2 delivers 40 ms: below the 60 ms prebuffer, not heard yet.
  m.push(1, pcm(MIX_FRAME_SAMPLES * 10, 100));
  m.push(2, pcm(MIX_FRAME_SAMPLES * 2, 1000));
  assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 100), 'member 2 waits for its prebuffer');
  m.push(2, pcm(MIX_FRAME_SAMPLES, 1000));
  // Now 60 ms buffered: member 2 plays three frames, then runs dry.
  for (let f = 0; f < 3; f++) assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 1100), `frame ${f}`);
  assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 100), 'member 2 ran dry: silence from it, member 1 goes on');
  assert.equal(m.stats(2)!.underruns, 1);
  assert.equal(m.stats(1)!.underruns, 0);
  // A single 20 ms packet after the underrun is not enough: it refills to the prebuffer first.
  m.push(2, pcm(MIX_FRAME_SAMPLES, 1000));
  assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 100));
  m.push(2, pcm(MIX_FRAME_SAMPLES * 2, 1000));
  assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 1100));
  // A member that left is dropped with its sound.
  m.remove(2);
  assert.ok(samplesOf(m.mixFrame().pcm).every((s) => s === 100));
  assert.equal(m.has(2), false);
});

test('a burst is cut back (bounded delay); split samples are reassembled', () => {
  const m = new AudioMixer({ prebufferMs: 60, maxBufferMs: 300 });
  m.push(1, pcm(48_000, 5)); // one second at once
  assert.ok(m.stats(1)!.bufferedMs <= 300, `buffered ${m.stats(1)!.bufferedMs} ms`);
  assert.ok(m.stats(1)!.droppedMs >= 700);
  const s = new AudioMixer();
  const whole = pcm(MIX_FRAME_SAMPLES * FRAMES_PREBUFFER, (i) => i - 1000);
  // Chunks of odd lengths, as a pipe may cut them.
  for (let at = 0; at < whole.length; at += 333) s.push(7, whole.subarray(at, Math.min(whole.length, at + 333)));
  assert.deepEqual(samplesOf(s.mixFrame().pcm), samplesOf(whole.subarray(0, MIX_FRAME_SAMPLES * 2)));
});

test('levels: peak per member and a speaking flag that holds between words', () => {
  const m = new AudioMixer();
  m.push(1, pcm(MIX_FRAME_SAMPLES * 4, (i) => (i % 2 ? 16_384 : -16_384)));
  m.push(2, pcm(MIX_FRAME_SAMPLES * 4, 50));
  const { levels } = m.mixFrame();
  const l1 = levels.find((l) => l.memberId === 1)!;
  const l2 = levels.find((l) => l.memberId === 2)!;
  assert.ok(Math.abs(l1.level - 0.5) < 0.01, `level ${l1.level}`);
  assert.equal(l1.speaking, true);
  assert.equal(l2.speaking, false);
  // Silence after speech: still speaking for the hold, then not.
  m.mixFrame(); m.mixFrame(); m.mixFrame();
  let frames = 0;
  while (m.mixFrame().levels.find((l) => l.memberId === 1)!.speaking) frames++;
  assert.ok(frames >= 10 && frames <= 25, `held ${frames} frames`);
});
