import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callReducer, initialCallView, peerPictureSize, videoIsLive, type CallAction } from '../../../src/cli/ui/call-state.js';
import { zeroStats } from '../../helpers/fake-session.js';

const start = () => initialCallView({ session: 'x', muted: false, cameraOff: false, encrypted: false, renderMode: 'blocks' });
const run = (...actions: CallAction[]) => actions.reduce(callReducer, start());

test('the headphones hint comes with the first peer only', () => {
  const joined = run({ type: 'peer-joined', peer: {} });
  assert.equal(joined.echoHint, true);
  const again = [{ type: 'dismiss-echo-hint' }, { type: 'peer-left', reason: 'lost' }, { type: 'peer-joined', peer: {} }] as CallAction[];
  assert.equal(again.reduce(callReducer, joined).echoHint, false);
  const off = initialCallView({ session: 'x', muted: false, cameraOff: false, encrypted: false, renderMode: 'blocks', echoHint: false });
  assert.equal(callReducer(off, { type: 'peer-joined', peer: {} }).echoHint, false);
});

test('kbps is the byte delta over the time between two stats events', () => {
  const s = run(
    { type: 'stats', stats: zeroStats({ bytesReceived: 0, bytesSent: 0 }), nowMs: 1000 },
    { type: 'stats', stats: zeroStats({ bytesReceived: 125_000, bytesSent: 12_500 }), nowMs: 2000 },
  );
  assert.equal(s.kbpsIn, 1000);
  assert.equal(s.kbpsOut, 100);
  // A counter that went backwards (a reconnect) is not a rate.
  assert.equal(callReducer(s, { type: 'stats', stats: zeroStats(), nowMs: 3000 }).kbpsIn, null);
});

test('video is live only in a call, with the peer camera on and no overlay', () => {
  const inCall = run({ type: 'peer-joined', peer: {} });
  assert.equal(videoIsLive(inCall), true);
  assert.equal(videoIsLive(callReducer(inCall, { type: 'toggle-help' })), false);
  assert.equal(videoIsLive(callReducer(inCall, { type: 'peer-state', state: { muted: false, cameraOff: true } })), false);
  assert.equal(videoIsLive(callReducer(inCall, { type: 'reconnecting', attempt: 1 })), false);
  assert.equal(videoIsLive(run({ type: 'waiting', session: 'x' })), false);
});

test('the peer picture shape comes from what the peer said, else 4:3', () => {
  assert.deepEqual(peerPictureSize({ width: 640, height: 360 }), { width: 640, height: 360 });
  assert.deepEqual(peerPictureSize({ video: { size: '1280x720' } }), { width: 1280, height: 720 });
  assert.deepEqual(peerPictureSize({ width: 0, height: 10 }), { width: 4, height: 3 });
  assert.deepEqual(peerPictureSize(null), { width: 4, height: 3 });
});

test('a lost peer: back at the relay we say we wait for them; their return restores the call with their new setup', () => {
  const base = start();
  const inCall = callReducer(base, { type: 'peer-joined', peer: { client: 'videochat', video: { width: 320, height: 240 } } });
  const lost = callReducer(inCall, { type: 'peer-left', reason: 'lost' });
  const relayDown = callReducer(lost, { type: 'reconnecting', attempt: 2 });
  assert.equal(relayDown.phase, 'reconnecting');
  const backAtRelay = callReducer(relayDown, { type: 'waiting', session: 'x' });
  assert.equal(backAtRelay.phase, 'peer-left');
  assert.equal(backAtRelay.peerLeftReason, 'lost');
  const back = callReducer(backAtRelay, { type: 'reconnected', peer: { client: 'videochat', video: { width: 640, height: 480 } } });
  assert.equal(back.phase, 'in-call');
  assert.equal(back.peerLeftReason, null);
  assert.deepEqual((back.peer as { video: unknown }).video, { width: 640, height: 480 });
  // Before anyone joined, `waiting` is plain waiting.
  assert.equal(callReducer(base, { type: 'waiting', session: 'x' }).phase, 'waiting');
});
