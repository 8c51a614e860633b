/**
 * The process that owns `speaker`. `speaker` (libasound underneath) can abort the whole
 * process when ALSA has no usable device, which nothing in JavaScript can catch, so it
 * lives here and never in the call's process. Protocol: raw 48 kHz mono s16le PCM on
 * stdin; the device name (an ALSA PCM such as `default` or `tofile`) in
 * VIDEOCHAT_SPEAKER_DEVICE. It exits 0 when stdin ends and 3 when the device fails.
 */
import Speaker from 'speaker';

const EXIT_DEVICE_FAILED = 3;

const device = process.env.VIDEOCHAT_SPEAKER_DEVICE || undefined;
// `device` is a real speaker option (passed to the audio backend) missing from its typings.
const options: Speaker.Options & { device?: string } = { channels: 1, bitDepth: 16, sampleRate: 48_000, device };
const speaker = new Speaker(options);

speaker.on('error', (err: Error) => {
  process.stderr.write(`speaker: ${err.message}\n`);
  process.exit(EXIT_DEVICE_FAILED);
});
speaker.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.pipe(speaker);
