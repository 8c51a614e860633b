import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveSpeaker, SPEAKER_MIN_HOLD_MS, SPEAKER_RELEASE_MS } from '../../../../src/cli/ui/grid/active-speaker.js';
import { ACTIVE_LABEL_SGR, labelText, renderLabel, tileMessage, type TileFacts } from '../../../../src/cli/ui/grid/tile-label.js';
import { initialRoomView, roomReducer } from '../../../../src/cli/ui/grid/room-state.js';
import { roomStatusRowOne, roomStatusRowTwo } from '../../../../src/cli/ui/grid/room-status-line.js';

const plain = (t: ReturnType<typeof labelText>) => t.left + t.flags + t.right;

test('the loudest speaker wins; a new one takes over only after the hold; silence releases it', () => {
  const s = new ActiveSpeaker();
  assert.equal(s.active, null);
  assert.equal(s.update(1, 0.2, true, 0), true);
  assert.equal(s.active, 1);
  // Louder, but too soon: 1 keeps it (two people talking do not flicker the highlight).
  s.update(2, 0.6, true, SPEAKER_MIN_HOLD_MS / 2);
  assert.equal(s.active, 1);
  s.update(1, 0.2, true, SPEAKER_MIN_HOLD_MS + 10);
  assert.equal(s.active, 2, 'after the hold the loudest takes it');
  // 2 stops; 1 is still talking: 1 takes it at once (2 is not speaking).
  s.update(2, 0.01, false, SPEAKER_MIN_HOLD_MS + 20);
  s.update(1, 0.2, true, SPEAKER_MIN_HOLD_MS + 30);
  assert.equal(s.active, 1);
  // Everybody quiet: the highlight stays through a pause, then goes.
  const t = SPEAKER_MIN_HOLD_MS + 40;
  s.update(1, 0.01, false, t);
  assert.equal(s.active, 1, 'kept through a short pause');
  s.tick(t + SPEAKER_RELEASE_MS + 50);
  assert.equal(s.active, null, 'released after the release time');
  // A member who leaves is no candidate.
  s.update(3, 0.5, true, t + SPEAKER_RELEASE_MS + 100);
  assert.equal(s.active, 3);
  assert.equal(s.remove(3, t + SPEAKER_RELEASE_MS + 110), true);
  assert.equal(s.active, null);
});

const facts = (over: Partial<TileFacts> = {}): TileFacts => ({ name: 'Alice', self: false, active: false, speaking: false, latencyMs: 85, ...over });

test('labels are exactly as wide as the tile; latency, then flags give way; the name is cut last', () => {
  for (const cols of [3, 8, 12, 20, 40]) {
    for (const f of [facts(), facts({ muted: true, cameraOff: true }), facts({ active: true, name: 'A very long member name indeed' })]) {
      assert.equal([...plain(labelText(f, cols))].length, cols, `${cols} cols: ${JSON.stringify(plain(labelText(f, cols)))}`);
    }
  }
  assert.equal(plain(labelText(facts({ muted: true }), 30)), '  Alice  muted          85 ms ');
  assert.equal(plain(labelText(facts({ muted: true }), 16)), '  Alice  muted  ');
  assert.equal(plain(labelText(facts({ muted: true }), 8)), '  Alice ');
  assert.equal(plain(labelText(facts({ active: true }), 12)), '» Alice     ');
  assert.equal(plain(labelText(facts({ speaking: true, name: 'Bartholomew' }), 8)), '· Barth…');
  assert.equal(plain(labelText(facts({ self: true, name: 'you', noMic: true }), 20)), '  you  no mic       ', 'no latency for ourselves');
  assert.ok(renderLabel(facts({ active: true }), 12).startsWith(ACTIVE_LABEL_SGR), 'the active speaker on the green bar');
  assert.ok(!renderLabel(facts(), 12).includes(ACTIVE_LABEL_SGR));
});

test('tile messages', () => {
  assert.equal(tileMessage({ self: false }, false), 'connecting…');
  assert.equal(tileMessage({ self: false }, true), null);
  assert.equal(tileMessage({ self: false, cameraOff: true }, true), 'camera off');
  assert.equal(tileMessage({ self: true, noCamera: true }, false), 'no camera');
  assert.equal(tileMessage({ self: true }, false), 'no video yet');
  assert.equal(tileMessage({ self: false, stale: true }, false), 'no video');
  assert.equal(plain(labelText(facts({ stale: true }), 30)), '  Alice  no video       85 ms ');
});

test('room state: joins and leaves in order, the notice names who left, the status bar counts', () => {
  let s = initialRoomView({ session: 'river-code', muted: false, cameraOff: false, renderMode: 'blocks' });
  s = roomReducer(s, { type: 'waiting', session: 'river-code' });
  assert.equal(s.phase, 'waiting');
  s = roomReducer(s, { type: 'member-joined', id: 4, name: 'Dee' });
  s = roomReducer(s, { type: 'member-joined', id: 2 });
  s = roomReducer(s, { type: 'member-joined', id: 4, name: 'Dee' });
  assert.deepEqual(s.members, [4, 2]);
  assert.equal(s.phase, 'in-room');
  assert.match(roomStatusRowOne(s, 120, 3).map((p) => p.text).join(''), /river-code │ 3 in room │ encryption pending │ blocks │ mic on │ camera on/);
  assert.match(roomStatusRowOne(s, 120, 2).map((p) => p.text).join(''), /3 in room \(1 not shown\)/);
  s = roomReducer(s, { type: 'stats', stats: { videoFpsIn: 30, videoFpsOut: 15, encrypted: true, members: [{ id: 4, videoFramesReceived: 1, audioMsReceived: 1, latencyMs: 70 }, { id: 2, videoFramesReceived: 1, audioMsReceived: 1, latencyMs: 120 }] } });
  assert.equal(s.encrypted, true);
  assert.equal(roomStatusRowTwo(s, 120)[0]!.text, ' in 30 fps │ out 15 fps │ latency max 120 ms │ ? help');
  for (const cols of [40, 60, 80]) {
    for (const row of [roomStatusRowOne(s, cols, 3), roomStatusRowTwo(s, cols)]) assert.ok(row.map((p) => p.text).join('').length <= cols, `fits ${cols}`);
  }
  s = roomReducer(s, { type: 'member-left', id: 4, reason: 'lost' });
  assert.equal(s.notice?.message, "Dee's connection was lost");
  s = roomReducer(s, { type: 'member-left', id: 2, reason: 'left' });
  assert.equal(s.notice?.message, 'member 2 left');
  assert.equal(s.phase, 'waiting', 'alone again');
  s = roomReducer(s, { type: 'ended', reason: 'hangup', exitCode: 0 });
  assert.equal(s.phase, 'ended');
});
