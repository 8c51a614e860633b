/**
 * The process that owns `speaker`. `speaker` (libasound underneath) can abort the whole
 * process when ALSA has no usable device, which nothing in JavaScript can catch, so it
 * lives here and never in the call's process. Protocol: raw 48 kHz mono s16le PCM on
 * stdin; the device name (an ALSA PCM such as `default` or `tofile`) in
 * VIDEOCHAT_SPEAKER_DEVICE. It prints `ready` on stdout once the device is open (the parent
 * writes nothing before). It exits 0 when stdin ends and 3 when the device fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EXIT_DEVICE_FAILED = 3;
/** The system ALSA configuration, used when ALSA_CONFIG_PATH does not name another. */
const SYSTEM_ALSA_CONFIG = '/usr/share/alsa/alsa.conf';

const device = process.env.VIDEOCHAT_SPEAKER_DEVICE || undefined;
if (device && device !== 'default') {
  // speaker opens ALSA's `default` PCM the moment it loads (to list formats) and aborts the
  // process when there is none, even when another device is asked for. So for `speaker:PCM`
  // the configuration gets `default` pointed at that PCM before speaker loads.
  const base = (process.env.ALSA_CONFIG_PATH || SYSTEM_ALSA_CONFIG).split(':').filter(Boolean);
  const dir = mkdtempSync(join(tmpdir(), 'videochat-alsa-'));
  const path = join(dir, 'asound.conf');
  writeFileSync(path, `${base.map((f) => `<${f}>`).join('\n')}\npcm.!default { type plug slave.pcm ${JSON.stringify(device)} }\n`);
  process.env.ALSA_CONFIG_PATH = path;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}
// Loaded only now: its native side reads the ALSA configuration as it loads.
const { default: Speaker } = await import('speaker');
// `device` is a real speaker option (passed to the audio backend) missing from its typings.
const options: NonNullable<ConstructorParameters<typeof Speaker>[0]> & { device?: string } = { channels: 1, bitDepth: 16, sampleRate: 48_000, device };
const speaker = new Speaker(options);

speaker.on('error', (err: Error) => {
  process.stderr.write(`speaker: ${err.message}\n`);
  process.exit(EXIT_DEVICE_FAILED);
});
speaker.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdout.on('error', () => undefined);
// speaker opens the device on its first write: one frame of silence (20 ms), then `ready`.
speaker.write(Buffer.alloc(1920), () => {
  process.stdout.write('ready\n');
  process.stdin.pipe(speaker);
});
