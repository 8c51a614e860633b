// A camera that works and is then unplugged. This machine has no camera, so the v4l2 device is
// mocked by test/fixtures/fake-camera-ffmpeg.sh (real ffmpeg producing a test pattern for the
// first run, "No such device" afterwards); everything else is the real capture path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VideoCapture } from '../../src/media/capture.js';
import type { MediaWarning } from '../../src/media/errors.js';
import { tempDir, withTimeout } from './helpers.js';

const FAKE_FFMPEG = new URL('../fixtures/fake-camera-ffmpeg.sh', import.meta.url).pathname;

test('an unplugged camera is reported as lost (not as absent) and the capture ends without an error', async () => {
  process.env.FAKE_CAMERA_MARKER = join(tempDir(), 'unplugged');
  const capture = new VideoCapture({ ffmpeg: FAKE_FFMPEG, source: { kind: 'camera', device: '/dev/video9' }, width: 320, height: 240, fps: 15, codec: 'mjpeg' });
  const warnings: MediaWarning[] = [];
  const errors: Error[] = [];
  let frames = 0;
  capture.on('frame', () => frames++);
  capture.on('warning', (w) => warnings.push(w));
  capture.on('error', (e) => errors.push(e));
  const ended = new Promise<void>((resolve) => capture.once('ended', () => resolve()));
  capture.start();
  await withTimeout(ended, 30_000, 'capture end');
  await capture.close();
  assert.ok(frames >= 10, `the camera delivered ${frames} frames before it was pulled`);
  assert.deepEqual(errors, []);
  const lost = warnings.find((w) => w.code === 'W_CAMERA_LOST');
  assert.ok(lost, `warnings: ${JSON.stringify(warnings)}`);
  assert.match(lost.message, /^camera lost, going on without it/);
  assert.ok(!warnings.some((w) => w.code === 'W_NO_CAMERA'), 'not reported as a missing camera');
});
