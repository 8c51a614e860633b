// `--audio-out speaker:PCM` on a machine whose ALSA has no `default` PCM: speaker opens
// `default` as it loads, so the sink child must point `default` at the named device first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AudioSink } from '../../src/media/audio-sink.js';
import type { MediaWarning } from '../../src/media/errors.js';
import { dominantIs1kHz, sleep, tempDir, withTimeout } from './helpers.js';

function tone(ms: number, offset: { n: number }): Buffer {
  const samples = (48_000 * ms) / 1000;
  const buf = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++, offset.n++) buf.writeInt16LE(Math.round(12_000 * Math.sin((2 * Math.PI * 1000 * offset.n) / 48_000)), i * 2);
  return buf;
}

test('speaker:PCM works when ALSA has no default PCM at all', async () => {
  const dir = tempDir();
  const conf = join(dir, 'asoundrc');
  // Like a headless server: no `default`; only the device the user names.
  writeFileSync(conf, `pcm.null { type null }
pcm.tofile { type file slave.pcm "null" format "raw"
  file { @func getenv vars [ VC_AUDIO_OUT ] default "vc-audio-out.raw" } }
`);
  const out = join(dir, 'out.raw');
  const sink = new AudioSink({ kind: 'speaker', device: 'tofile' }, { env: { ...process.env, ALSA_CONFIG_PATH: conf, VC_AUDIO_OUT: out } });
  const warnings: MediaWarning[] = [];
  sink.on('warning', (w) => warnings.push(w));
  sink.start();
  // Frames are played only once the child has the device open (pushed before, they are not played late).
  await withTimeout((async () => { while (!sink.speakerReady) await sleep(10); })(), 10_000, 'speaker child ready');
  const phase = { n: 0 };
  for (let i = 0; i < 40; i++) {
    sink.push(tone(20, phase));
    await sleep(20);
  }
  await sleep(300);
  await withTimeout(sink.close(), 10_000, 'sink close');
  assert.deepEqual(warnings, []);
  const pcm = readFileSync(out);
  assert.ok(pcm.length >= 48_000, `only ${pcm.length} bytes reached the device`);
  assert.ok(dominantIs1kHz(pcm), 'the named device got the tone');
});
