import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callReducer, initialCallView, type CallViewState } from '../../../src/cli/ui/call-state.js';
import { statusRowOne, statusRowTwo, encryptionItem } from '../../../src/cli/ui/status-line.js';
import { peerCommand } from '../../../src/cli/ui/format.js';
import { audioOutLost } from '../../../src/media/audio-sink.js';
import { zeroStats } from '../../helpers/fake-session.js';

const text = (pieces: Array<{ text: string }>): string => pieces.map((p) => p.text).join('');
const CODE = '481-sight-flight-fault-kingdom-peanut';

function inCall(over: Partial<CallViewState> = {}): CallViewState {
  let s = initialCallView({ session: CODE, muted: false, cameraOff: false, encrypted: false, renderMode: 'blocks' });
  s = callReducer(s, { type: 'peer-joined', peer: { video: { width: 320, height: 240 }, audio: {} } });
  s = callReducer(s, { type: 'stats', stats: zeroStats({ encrypted: true, rttMs: 12, latencyMs: 85, videoFpsIn: 15, videoFpsOut: 15 }), nowMs: 1000 });
  return { ...s, ...over };
}

test('the first status row: full words when they fit, compact at 80 columns, never over the width', () => {
  assert.equal(text(statusRowOne(inCall(), 200)), ` ${CODE} │ peer live │ encrypted │ blocks │ mic on │ camera on`);
  for (const cols of [80, 60, 50, 40]) {
    const row = text(statusRowOne(inCall({ muted: true, cameraOff: true }), cols));
    assert.ok([...row].length <= cols, `${cols}: ${row}`);
    assert.match(row, /peer live │ encrypted │ muted │ cam off$/, `${cols}: every state word whole`);
  }
  assert.equal(text(statusRowOne(inCall(), 80)), ` ${CODE} │ peer live │ encrypted │ mic on │ cam on`, 'short labels, no render mode');
  assert.match(text(statusRowOne(inCall(), 70)), /^ 481-sight-flight.*… │ peer live/, 'the code keeps its start');
  assert.equal(text(statusRowOne({ ...inCall(), session: 'apple-river' }, 80)), ' apple-river │ peer live │ encrypted │ blocks │ mic on │ camera on');
});

test('the second status row compacts its units before it would be cut', () => {
  const s = { ...inCall(), kbpsIn: 12_345, kbpsOut: 9_999 };
  assert.equal(text(statusRowTwo(s, 120)), ' in 15 fps 12.3 Mbps │ out 15 fps 9999 kbps │ rtt 12 ms │ latency 85 ms │ ? help');
  const narrow = text(statusRowTwo(s, 75));
  assert.ok(narrow.length <= 75, narrow);
  assert.equal(narrow, ' in 15fps 12.3Mbps │ out 15fps 9999kbps │ rtt 12ms │ lat 85ms │ ? help');
});

test('encryption: pending while waiting or before the first stats, then what the stats say; --insecure says NOT', () => {
  const waiting = callReducer(initialCallView({ session: CODE, muted: false, cameraOff: false, encrypted: false, renderMode: 'blocks' }), { type: 'waiting', session: CODE });
  assert.equal(encryptionItem(waiting).full, 'encryption pending');
  const joined = callReducer(waiting, { type: 'peer-joined', peer: {} });
  assert.equal(encryptionItem(joined).full, 'encryption pending');
  assert.equal(encryptionItem(inCall()).full, 'encrypted');
  assert.equal(encryptionItem({ ...inCall(), encrypted: false }).full, 'NOT encrypted');
  assert.equal(encryptionItem({ ...waiting, insecure: true }).full, 'NOT encrypted');
});

test('no camera / no mic: from our warnings, and from the peer (STATE bits or a SETUP without video/audio)', () => {
  let s = inCall();
  s = callReducer(s, { type: 'warning', code: 'W_NO_CAMERA', message: 'x' });
  s = callReducer(s, { type: 'warning', code: 'W_NO_MIC', message: 'x' });
  assert.match(text(statusRowOne(s, 200)), /│ no mic │ no camera$/);
  assert.equal(s.echoHint, false, 'no mic: no headphones tip');
  const peer = callReducer(inCall(), { type: 'peer-state', state: { muted: false, cameraOff: true, noCamera: true, noMic: true } });
  assert.match(text(statusRowOne(peer, 200)), /peer no mic, no camera/);
  const setup = callReducer(inCall(), { type: 'peer-joined', peer: { video: null, audio: null } });
  assert.match(text(statusRowOne(setup, 200)), /peer no mic, no camera/);
});

test('the command the peer runs names this relay: --host, non-default ports, --insecure, a quoted code', () => {
  assert.equal(peerCommand({ relay: { host: 'relay.example.org', videoPort: 12345, audioPort: 12346 }, insecure: false, session: 'a-b' }),
    'videochat connect --host relay.example.org --session a-b');
  assert.equal(peerCommand({ relay: { host: '::1', videoPort: 4000, audioPort: 4001 }, insecure: true, session: "it's me" }),
    "videochat connect --host ::1 --video-port 4000 --audio-port 4001 --insecure --session 'it'\\''s me'");
});

test('a speaker child that aborts at start is said in doctor words; another death is quoted', () => {
  const death = { name: 'audio-sink', pid: 1, code: null, signal: 'SIGABRT' as const, failedStart: true, uptimeMs: 5,
    stderrTail: ["node: pcm_params.c:2354: snd_pcm_hw_params_set_rate_near: Assertion `params' failed."] };
  assert.equal(audioOutLost(death, undefined, { HOME: '/nonexistent' }), 'no sound card and no ALSA configuration: going on without sound');
  assert.match(audioOutLost(death, undefined, { ALSA_CONFIG_PATH: '/x' }), /^no sound: ALSA's default output cannot be opened/);
  // The same abort after the start-up grace (a loaded machine starts the child slowly).
  assert.equal(audioOutLost({ ...death, failedStart: false, uptimeMs: 2500 }, undefined, { HOME: '/nonexistent' }),
    'no sound card and no ALSA configuration: going on without sound');
  assert.match(audioOutLost({ ...death, signal: null, code: 1, failedStart: false, stderrTail: ['broken pipe'] }, undefined, {}),
    /^audio output lost, going on without sound: audio-sink exited with code 1: broken pipe$/);
});
