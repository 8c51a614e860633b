// `videochat devices` on this machine (no camera, no mic, no sound card), and the parsers of
// the listings of machines that have them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VIDEOCHAT_BIN } from '../helpers/call.js';
import { tempDir } from '../media/helpers.js';
import {
  listDevices, parseArecordList, parseFfmpegDeviceList, parsePactlSources, parseProcAsoundPcm,
} from '../../src/cli/commands/device-list.js';

test('devices: exit 0 and says clearly that there is no camera and no microphone', () => {
  const r = spawnSync(process.execPath, [VIDEOCHAT_BIN, 'devices'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Cameras: none found/m);
  assert.match(r.stdout, /^Microphones: none found/m);
  assert.match(r.stdout, /--video-in test/);
});

test('devices --json: one object with empty camera and microphone lists here', () => {
  const r = spawnSync(process.execPath, [VIDEOCHAT_BIN, 'devices', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { cameras: unknown[]; microphones: unknown[]; notes: string[] };
  assert.deepEqual(list.cameras, []);
  assert.deepEqual(list.microphones, []);
  assert.ok(list.notes.some((n) => /no camera/.test(n)));
});

test('V4L2 nodes are named from sysfs (unchecked without ffmpeg)', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'dev'));
  mkdirSync(join(root, 'sys', 'video0'), { recursive: true });
  writeFileSync(join(root, 'dev', 'video0'), '');
  writeFileSync(join(root, 'dev', 'video10'), '');
  writeFileSync(join(root, 'sys', 'video0', 'name'), 'HD Webcam C525\n');
  const list = await listDevices({ devDir: join(root, 'dev'), sysVideoDir: join(root, 'sys'), platform: 'linux' });
  assert.deepEqual(list.cameras.map((c) => [c.id.replace(root, ''), c.name]), [['/dev/video0', 'HD Webcam C525'], ['/dev/video10', 'video10']]);
});

test('the listing parsers: pactl, arecord, /proc/asound/pcm, avfoundation, dshow', () => {
  assert.deepEqual(parsePactlSources('0\talsa_output.pci.analog-stereo.monitor\tmodule-alsa-card.c\ts16le 2ch 44100Hz\tSUSPENDED\n1\talsa_input.usb-mic.mono\tmodule-alsa-card.c\ts16le 1ch 48000Hz\tRUNNING\n'),
    [{ id: 'alsa_input.usb-mic.mono', name: 'alsa_input.usb-mic.mono', backend: 'pulse' }]);
  assert.deepEqual(parseArecordList('**** List of CAPTURE Hardware Devices ****\ncard 1: C525 [HD Webcam C525], device 0: USB Audio [USB Audio]\n  Subdevices: 1/1\n'),
    [{ id: 'hw:1,0', name: 'HD Webcam C525: USB Audio', backend: 'alsa' }]);
  assert.deepEqual(parseProcAsoundPcm('00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1\n00-03: HDMI 0 : HDMI 0 : playback 1\n'),
    [{ id: 'hw:0,0', name: 'ALC892 Analog', backend: 'alsa' }]);
  const mac = parseFfmpegDeviceList(`[AVFoundation indev @ 0x7f8] AVFoundation video devices:
[AVFoundation indev @ 0x7f8] [0] FaceTime HD Camera
[AVFoundation indev @ 0x7f8] [1] Capture screen 0
[AVFoundation indev @ 0x7f8] AVFoundation audio devices:
[AVFoundation indev @ 0x7f8] [0] MacBook Pro Microphone`, 'avfoundation');
  assert.deepEqual(mac.cameras.map((d) => d.id + d.name), ['0FaceTime HD Camera']);
  assert.deepEqual(mac.microphones.map((d) => d.id + d.name), ['0MacBook Pro Microphone']);
  const win = parseFfmpegDeviceList(`[dshow @ 000001] "Integrated Camera" (video)
[dshow @ 000001]   Alternative name "@device_pnp_\\\\?\\usb#vid"
[dshow @ 000001] "Microphone Array (Realtek)" (audio)`, 'dshow');
  assert.deepEqual(win.cameras.map((d) => d.id), ['Integrated Camera']);
  assert.deepEqual(win.microphones.map((d) => d.id), ['Microphone Array (Realtek)']);
});
