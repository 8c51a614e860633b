import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VideoCapture, type VideoFrame } from '../../../src/media/capture.js';
import { ReceivePipeline, audioPacketMs, type TaggedFrame } from '../../../src/cli/session/receive-pipeline.js';
import { AUDIO_FRAME_BYTES, AUDIO_FRAME_MS } from '../../../src/media/args.js';
import { FFMPEG, sleep, tempDir, withTimeout } from '../../media/helpers.js';

async function capture(codec: 'mjpeg' | 'h264', ms: number): Promise<VideoFrame[]> {
  const cap = new VideoCapture({ ffmpeg: FFMPEG, source: { kind: 'test' }, codec, fps: 15, width: 320, height: 240 });
  const frames: VideoFrame[] = [];
  cap.on('frame', (f) => frames.push(f));
  const started = once(cap, 'started');
  cap.start();
  await withTimeout(started, 15_000, 'first frame');
  await sleep(ms);
  await withTimeout(cap.close(), 10_000, 'capture close');
  return frames;
}

for (const codec of ['mjpeg', 'h264'] as const) {
  test(`${codec}: every decoded frame comes back with the tag its encoded frame was pushed with, and the recording holds them`, async () => {
    const frames = await capture(codec, 1200);
    assert.ok(frames.length >= 8, `only ${frames.length} frames captured`);
    const record = join(tempDir(), `rx-${codec}.mkv`);
    const rx = new ReceivePipeline({ ffmpeg: FFMPEG, record });
    const out: TaggedFrame[] = [];
    rx.on('frame', (f) => out.push(f));
    rx.on('error', (e) => assert.fail(e.message));
    rx.start({ video: { codec, width: 160, height: 120 }, audio: { codec: 'pcm' } });
    // Tags the caller chooses (here: 1000 + the frame's index), not capture times.
    for (const [i, f] of frames.entries()) {
      rx.pushVideo({ data: f.data, keyframe: f.keyframe, tag: 1000 + i });
      await sleep(1000 / 15);
    }
    const deadline = Date.now() + 5000;
    while (out.length < frames.length - 1 && Date.now() < deadline) await sleep(50);
    await withTimeout(rx.close(), 15_000, 'pipeline close');
    assert.ok(out.length >= frames.length - 2, `decoded ${out.length} of ${frames.length}`);
    const tags = out.map((f) => f.tag);
    assert.ok(tags.every((t) => typeof t === 'number' && t >= 1000 && t < 1000 + frames.length), `tags ${tags.join(',')}`);
    // In order, each once.
    for (let i = 1; i < tags.length; i++) assert.ok(tags[i]! > tags[i - 1]!, `tags out of order: ${tags.join(',')}`);
    for (const f of out) assert.equal(f.data.length, 160 * 120 * 3);
    assert.ok(existsSync(record) && statSync(record).size > 1000, 'the recording was written');
    assert.equal(rx.recordFailure, undefined);
  });
}

test('a frame pushed without a tag comes back without one; audio durations follow the codec', async () => {
  assert.equal(audioPacketMs('pcm', new Uint8Array(AUDIO_FRAME_BYTES * 2)), AUDIO_FRAME_MS * 2);
  const [frame] = await capture('mjpeg', 300);
  const rx = new ReceivePipeline({ ffmpeg: FFMPEG });
  // No size yet: nothing decodes until setSize (the size of the first frame decides).
  rx.start({ video: { codec: 'mjpeg' }, audio: null });
  assert.equal(rx.pushVideo({ data: frame!.data, keyframe: true }), false);
  rx.setSize(64, 48);
  const got = once(rx, 'frame');
  rx.pushVideo({ data: frame!.data, keyframe: true });
  const [decoded] = (await withTimeout(got, 10_000, 'decoded frame')) as [TaggedFrame];
  assert.equal(decoded.tag, undefined);
  assert.deepEqual([decoded.width, decoded.height], [64, 48]);
  await rx.close();
});
