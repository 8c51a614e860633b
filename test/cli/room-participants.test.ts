import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Participants, noteLatency, notePong } from '../../src/cli/room/participants.js';
import { RoomStatsBuilder } from '../../src/cli/room/room-stats.js';
import type { RoomIntro } from '../../src/cli/room/room-wire.js';

const intro = (participant: string, name?: string): RoomIntro => ({
  participant, client: 'videochat', clientVersion: '0', ...(name ? { name } : {}),
  video: { codec: 'mjpeg', width: 160, height: 120, fps: 10 }, audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameMs: 20 },
});

test('participants: a member\'s video and audio connections are one participant by its INTRO token, in either order', () => {
  const members = new Participants();
  const a = members.introduced('audio', 7, intro('aa'), 0)!;
  const v = members.introduced('video', 3, intro('aa', 'ann'), 0)!;
  assert.equal(a, v);
  assert.deepEqual({ videoId: v.videoId, audioId: v.audioId, name: v.intro?.name }, { videoId: 3, audioId: 7, name: 'ann' });
  assert.equal(members.on('video', 3), v);
  assert.equal(members.on('audio', 7), v);
  // A second video connection under the same token is ignored.
  assert.equal(members.introduced('video', 4, intro('aa'), 0), null);
  assert.equal(members.on('video', 4), undefined);
  // Another token is another participant.
  assert.notEqual(members.introduced('video', 5, intro('bb'), 0), v);
});

test('participants: the audio connection may leave alone; a member that left stays on record once, and its token may come back', () => {
  const members = new Participants();
  const p = members.introduced('video', 3, intro('aa'), 0)!;
  members.introduced('audio', 7, intro('aa'), 0);
  p.joined = true;
  assert.equal(members.audioLeft(7), p);
  assert.equal(p.audioId, null);
  assert.deepEqual(members.inCall(), [p]);
  assert.equal(members.retire(p, 'lost'), true);
  assert.equal(members.retire(p, 'left'), false, 'retired once');
  assert.equal(p.leftReason, 'lost');
  assert.deepEqual(members.inCall(), []);
  assert.equal(members.on('video', 3), undefined);
  const again = members.introduced('video', 9, intro('aa'), 0)!;
  assert.notEqual(again, p);
  assert.equal([...members.all()].length, 2);
});

test('member clock: the offset comes from the PONG, latency is capture to arrival on our clock, never below 0', () => {
  const p = new Participants().introduced('video', 1, intro('aa'), 0)!;
  noteLatency(p, 0, 1_000_000);
  assert.equal(p.latencyMs, null, 'no latency before the clock is known');
  // Its clock runs 5 s ahead; the round trip is 20 ms.
  notePong(p, 1_000_000, 6_010_000, 1_020_000);
  assert.equal(p.rttMs, 20);
  assert.equal(p.offsetUs, 5_000_000);
  noteLatency(p, 5_000_000 + 2_000_000, 2_030_000);
  assert.equal(p.latencyMs, 30);
  noteLatency(p, 5_000_000 + 3_000_000, 2_900_000);
  assert.equal(p.latencyMs, 27, 'smoothed, and a frame from "the future" counts as 0');
});

test('room stats: one entry per member seen, the worst present member\'s latency and round trip as the room\'s', () => {
  const members = new Participants();
  const a = members.introduced('video', 1, intro('aa', 'ann'), 0)!;
  const b = members.introduced('video', 2, intro('bb'), 0)!;
  members.introduced('video', 3, intro('cc'), 0); // not joined: not listed
  Object.assign(a, { joined: true, latencyMs: 40.04, rttMs: 12.26, videoFramesReceived: 5, audioMsReceived: 99.6 });
  Object.assign(b, { joined: true, latencyMs: 90, rttMs: 80 });
  members.retire(b, 'left');
  const stats = new RoomStatsBuilder({ participants: () => members.all(), links: () => [], sink: () => undefined, epoch: () => 4 }).snapshot();
  assert.equal(stats.latencyMs, 40);
  assert.equal(stats.rttMs, 12.3);
  assert.equal((stats as unknown as Record<string, unknown>).senderEpoch, 4, 'NDJSON carries the sender epoch beside the typed fields');
  assert.deepEqual(stats.members.map((m) => [m.id, m.name, m.present, m.videoFramesReceived, m.audioMsReceived]), [
    [1, 'ann', true, 5, 100], [2, undefined, false, 0, 0],
  ]);
});
