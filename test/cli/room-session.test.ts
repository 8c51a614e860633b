// RoomSession in process, as the grid TUI uses it: member frames at the size asked for,
// member levels with a speaking flag, the mix written through the audio sink (a WAV file),
// through a started videochatd and real ffmpeg test sources.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoomSession, type RoomOptions } from '../../src/cli/room/room-session.js';
import { parseAudioIn, parseAudioOut, parseVideoIn } from '../../src/cli/options.js';
import { startRelay, type Relay } from '../helpers/room-call.js';
import { dominantIs1kHz, tempDir } from '../media/helpers.js';

let relay: Relay | undefined;
after(async () => {
  await relay?.stop();
});

function options(r: Relay, session: string, extra: Partial<RoomOptions> = {}): RoomOptions {
  return {
    host: '127.0.0.1', videoPort: r.videoPort, audioPort: r.audioPort, session,
    videoIn: parseVideoIn('test'), audioIn: parseAudioIn('test'), width: 160, height: 120, fps: 10,
    videoCodec: 'mjpeg', audioCodec: 'opus', audioOut: parseAudioOut('none'), waitSec: 30, graceSec: 5,
    ffmpeg: process.env.VIDEOCHAT_FFMPEG ?? 'ffmpeg', insecure: false, decodeSize: null, reconnect: false, durationSec: 6, ...extra,
  };
}

test('the grid\'s inputs: member-frame at the size asked, member-level with speaking, self-frame, and the mix in the sink', async () => {
  relay = await startRelay();
  const session = `roomsession-${process.pid}-walnut-orbit-lantern`;
  const wav = join(tempDir(), 'mix.wav');
  const a = new RoomSession(options(relay, session, { audioOut: parseAudioOut(wav), name: 'Ann' }));
  const frames: Array<{ memberId: number; width: number; height: number; bytes: number }> = [];
  const levels: Array<{ memberId: number; level: number; speaking: boolean }> = [];
  let selfFrames = 0;
  const joined: number[] = [];
  a.on('member-joined', ({ memberId }) => {
    joined.push(memberId);
    a.setVideoSize(80, 60);
  });
  a.on('member-frame', (f) => frames.push({ memberId: f.memberId, width: f.width, height: f.height, bytes: f.data.length }));
  a.on('member-level', (l) => levels.push(l));
  a.on('self-frame', () => selfFrames++);
  a.setSelfView(true);
  const endedA = a.run();
  await new Promise((r) => a.once('waiting', () => r(undefined)));
  a.setSelfView(true);
  // Two others: one sends the tone, one is muted (no audio at all).
  const b = new RoomSession(options(relay, session, { durationSec: 8 }));
  const c = new RoomSession(options(relay, session, { durationSec: 8, audioIn: parseAudioIn('none') }));
  const [ea] = await Promise.all([endedA, b.run(), c.run()]);
  assert.equal(ea.reason, 'hangup');
  assert.equal(joined.length, 2);
  // Frames of both others, RGB24 at 80x60 (after the first few at their own size).
  for (const id of joined) {
    const mine = frames.filter((f) => f.memberId === id);
    assert.ok(mine.length > 20, `${mine.length} frames of ${id}`);
    const last = mine[mine.length - 1]!;
    assert.deepEqual([last.width, last.height, last.bytes], [80, 60, 80 * 60 * 3]);
  }
  assert.ok(selfFrames > 10, `${selfFrames} self frames`);
  // The tone member speaks; the one without a mic never does.
  const toneId = joined.find((id) => ea.members.find((m) => m.id === id)!.audioMsReceived > 0)!;
  const silentId = joined.find((id) => id !== toneId)!;
  assert.ok(levels.filter((l) => l.memberId === toneId && l.speaking && l.level > 0.1).length > 20, 'the tone member speaks');
  assert.ok(levels.filter((l) => l.memberId === silentId).every((l) => !l.speaking && l.level === 0), 'the member without a mic is silent');
  // The mix reached the sink: a WAV of the call's length, carrying the 1 kHz tone.
  const data = readFileSync(wav).subarray(44);
  assert.ok(data.length / 96_000 > 4, `wav of ${(data.length / 96_000).toFixed(1)} s`);
  assert.ok(dominantIs1kHz(data.subarray(data.length / 2 - 48_000, data.length / 2 + 48_000)), 'the mix carries the tone');
});
