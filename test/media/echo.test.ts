// The echo canceller (src/media/echo.ts, the real WebRTC AEC addon) in a synthetic room
// (test/helpers/room.ts): the far end's speech is what our sink plays, our microphone hears
// near speech plus that playback delayed 40-150 ms, attenuated and reverberated by ffmpeg.
// Driven in 20 ms steps as a call drives it: sink frame played, then the mic frame processed.
//
// How things are measured (room.ts): ERLE = echo energy in the mic / energy in the output
// while the near end is silent; near speech kept = least-squares gain of the near speech in
// the output at the canceller's own delay (found by cross-correlation); that delay is the
// latency the canceller adds (it returns each frame synchronously). Each test is a new
// canceller: the first 2 s are its convergence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EchoCanceller, echoCancellerStatus } from '../../src/media/echo.js';
import { RATE, bestLag, erleDb, hasEspeak, mix, nearKeptDb, runRoom, speech, throughRoom, window } from '../helpers/room.js';

const status = echoCancellerStatus();
const skip = status.name ? false : `no echo canceller built: ${status.why}`;
const SECONDS = 17;
const far = speech(0, SECONDS);
const near = speech(1, SECONDS);
const silence = new Int16Array(SECONDS * RATE);
/** What the canceller is allowed to add (issue 18). */
const MAX_LAG_SAMPLES = RATE / 100;

function lagOf(): number {
  // The canceller's own delay, from near speech alone (nothing played).
  const out = runRoom(silence, near, new EchoCanceller());
  return bestLag(near, out, 1, 10);
}

test(`the synthetic room speaks (${hasEspeak() ? 'espeak-ng speech' : 'ffmpeg-made speech-like signals'})`, () => {
  const echo = throughRoom(far, 40);
  // The echo is there, 40 ms late, and weaker than the far speech (the room attenuates).
  assert.ok(Math.abs(bestLag(far, echo, 1, 10, RATE / 5) - 0.04 * RATE) < 0.004 * RATE);
  assert.ok(erleDb(far, echo, 1, 10) > 3);
});

test('canceller off (no canceller): the echo comes back whole, so the ERLE test below fails', () => {
  const echo = throughRoom(far, 40);
  const out = runRoom(far, echo, null);
  assert.ok(erleDb(echo, out, 2, SECONDS) < 1, 'without a canceller the output is the mic');
});

for (const delayMs of [40, 100, 150, 250, 350]) {
  test(`far end talking, echo ${delayMs} ms late: ERLE >= 25 dB after 2 s`, { skip }, () => {
    const echo = throughRoom(far, delayMs);
    const out = runRoom(far, echo, new EchoCanceller());
    const erle = erleDb(echo, out, 2, SECONDS);
    assert.ok(erle >= 25, `ERLE ${erle.toFixed(1)} dB`);
  });
}

test('the speaker -> mic delay is estimated: 40, 150, 250, 350 ms', { skip }, () => {
  for (const delayMs of [40, 150, 250, 350]) {
    const aec = new EchoCanceller();
    runRoom(far, throughRoom(far, delayMs), aec);
    assert.ok(Math.abs(aec.delayMs - delayMs) <= 4, `echo ${delayMs} ms late: estimated ${aec.delayMs} ms`);
  }
});

test('adds <= 10 ms: near speech comes out at most 480 samples late, and a frame is processed synchronously', { skip }, () => {
  const lag = lagOf();
  assert.ok(lag <= MAX_LAG_SAMPLES, `lag ${lag} samples`);
  const aec = new EchoCanceller();
  const frame = Buffer.alloc(1920);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    aec.played(frame);
    assert.equal(aec.process(frame).length, 1920);
  }
  // 50 frames (1 s of audio) in well under a second, whatever the machine's load.
  assert.ok(performance.now() - t0 < 1000);
});

test('double talk: the near speech survives (>= -6 dB), and the echo is still cancelled after it', { skip }, () => {
  const echo = throughRoom(far, 40);
  const talk = window(near.map((_, i) => near[i - 5 * RATE] ?? 0), 5, 11);
  const out = runRoom(far, mix(echo, talk), new EchoCanceller());
  const lag = lagOf();
  const kept = nearKeptDb(talk, out, 5, 11, lag);
  assert.ok(kept >= -6, `near speech kept ${kept.toFixed(1)} dB in double talk`);
  const before = erleDb(echo, out, 2, 5, lag);
  const after = erleDb(echo, out, 12, SECONDS, lag);
  assert.ok(before >= 25, `ERLE before double talk ${before.toFixed(1)} dB`);
  assert.ok(after >= 25, `ERLE after double talk ${after.toFixed(1)} dB (the filter must not diverge)`);
});

for (const [from, to] of [[40, 100], [100, 40], [40, 150], [40, 250], [250, 40]] as const) {
  test(`the delay changes mid-call (${from} -> ${to} ms): cancelled again within 3 s`, { skip }, () => {
    const before = throughRoom(far, from);
    const after = throughRoom(far, to);
    const echo = new Int16Array(far.length);
    echo.set(before.subarray(0, 8 * RATE));
    echo.set(after.subarray(8 * RATE), 8 * RATE);
    const out = runRoom(far, echo, new EchoCanceller());
    const erle = erleDb(echo, out, 11, SECONDS);
    assert.ok(erle >= 25, `ERLE ${erle.toFixed(1)} dB from 3 s after the change`);
  });
}

test('far end silent: the near speech passes untouched; when the far end starts, it converges', { skip }, () => {
  const farLate = window(far, 6, SECONDS);
  const echo = throughRoom(farLate, 40);
  const talk = window(near, 0, 6);
  const out = runRoom(farLate, mix(echo, talk), new EchoCanceller());
  const lag = lagOf();
  const kept = nearKeptDb(talk, out, 0.5, 6, lag);
  assert.ok(kept >= -1, `near speech kept ${kept.toFixed(1)} dB with nothing played`);
  const erle = erleDb(echo, out, 8, SECONDS, lag);
  assert.ok(erle >= 25, `ERLE ${erle.toFixed(1)} dB from 2 s after the far end started`);
});
