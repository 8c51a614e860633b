/**
 * The 44.1 <-> 48 kHz resampler of the original-client path: a tone keeps its frequency, the
 * output rate is right, and the result does not depend on how the input was chunked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcmResampler } from '../../../src/codec/original/resample.js';
import { jpegSize } from '../../../src/codec/jpeg-info.js';
import { execFileSync } from 'node:child_process';

function tone(hz: number, rate: number, seconds: number): Buffer {
  const n = Math.round(rate * seconds);
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12000), i * 2);
  return b;
}

/** Frequency from rising zero crossings over the whole buffer. */
function frequency(pcm: Buffer, rate: number): number {
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = 1; i < pcm.length / 2; i++) {
    if (pcm.readInt16LE((i - 1) * 2) < 0 && pcm.readInt16LE(i * 2) >= 0) {
      if (first < 0) first = i; else crossings++;
      last = i;
    }
  }
  return (crossings * rate) / (last - first);
}

for (const [from, to] of [[44_100, 48_000], [48_000, 44_100]] as const) {
  test(`${from} -> ${to} Hz keeps a 1 kHz and a 440 Hz tone, at the right rate`, () => {
    for (const hz of [1000, 440]) {
      const out = new PcmResampler(from, to).push(tone(hz, from, 2));
      assert.ok(Math.abs(out.length / 2 - 2 * to) <= 2, `${out.length / 2} samples for 2 s at ${to}`);
      assert.ok(Math.abs(frequency(out, to) - hz) < 1, `${frequency(out, to)} Hz`);
    }
  });

  test(`${from} -> ${to} Hz: the same output whatever the chunking (odd byte counts too)`, () => {
    const input = tone(700, from, 0.5);
    const whole = new PcmResampler(from, to).push(input);
    const r = new PcmResampler(from, to);
    const parts: Buffer[] = [];
    let i = 0;
    for (const size of [1, 2, 3, 2047, 2048, 5, 1919, 1920]) {
      parts.push(r.push(input.subarray(i, i + size)));
      i += size;
    }
    while (i < input.length) {
      parts.push(r.push(input.subarray(i, i + 777)));
      i += 777;
    }
    assert.deepEqual(Buffer.concat(parts), whole);
  });
}

test('jpegSize reads the frame header of ffmpeg and ImageMagick (progressive) JPEGs, and refuses non-JPEGs', () => {
  for (const [w, h] of [[640, 480], [322, 18]] as const) {
    const jpeg = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}`,
      '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1']);
    assert.deepEqual(jpegSize(jpeg), { width: w, height: h });
  }
  // Progressive (SOF2), with JFIF and comment segments in front.
  const progressive = execFileSync('/usr/bin/convert', ['-size', '161x97', 'xc:red', '-set', 'comment', 'hi', '-interlace', 'JPEG', 'jpeg:-']);
  assert.deepEqual(jpegSize(progressive), { width: 161, height: 97 });
  assert.equal(jpegSize(Buffer.from('not a jpeg')), null);
  assert.equal(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), null);
});
