import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerSet } from '../../../src/cli/session/call-timers.js';
import { PEER_LIVENESS_CHECK_MS, PeerWatch, type WatchedChannel } from '../../../src/cli/session/peer-watch.js';
import { FakeClock } from '../../helpers/fake-clock.js';

type Ch = { -readonly [K in keyof WatchedChannel]: WatchedChannel[K] };

function setup(timeoutMs = 10_000) {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  const video: Ch = { name: 'video', lastMessageMs: clock.now(), isClosed: false, ready: false };
  const audio: Ch = { name: 'audio', lastMessageMs: clock.now(), isClosed: false, ready: false };
  const state = { live: false, ending: false, channels: { video: video as Ch | undefined, audio: audio as Ch | undefined } };
  const said: string[] = [];
  const watch = new PeerWatch(timeoutMs, timers, {
    channels: () => state.channels, live: () => state.live, ending: () => state.ending,
    stalled: (why) => said.push(`stalled: ${why}`), silent: (why) => said.push(`silent: ${why}`),
    defer: (fn) => fn(),
  });
  return { clock, video, audio, state, said, watch };
}

test('a peer silent on one channel for the timeout is lost; messages on both keep it', async () => {
  const { clock, video, audio, state, said, watch } = setup();
  state.live = true;
  watch.joined();
  for (let i = 0; i < 30; i++) {
    await clock.advance(1000);
    video.lastMessageMs = audio.lastMessageMs = clock.now();
  }
  assert.deepEqual(said, []);
  // Audio flows, video is stuck in one record.
  for (let i = 0; i < 12; i++) {
    await clock.advance(1000);
    audio.lastMessageMs = clock.now();
  }
  assert.equal(said.length > 0, true);
  assert.match(said[0]!, /^silent: nothing from the peer on the video connection for 10(\.\d)? s \(--peer-timeout 10\)$/);
});

test('silence counts from the join or the resume, not from the last message before it', async () => {
  const { clock, state, said, watch } = setup();
  await clock.advance(60_000);
  state.live = true;
  watch.joined();
  await clock.advance(9_000);
  assert.deepEqual(said, []);
  watch.resumed();
  await clock.advance(9_000);
  assert.deepEqual(said, []);
  await clock.advance(1_000 - PEER_LIVENESS_CHECK_MS);
  assert.deepEqual(said, []);
  await clock.advance(PEER_LIVENESS_CHECK_MS);
  assert.equal(said.length, 1);
});

test('not live (waiting, reconnecting) or --peer-timeout 0: nobody is declared silent', async () => {
  const off = setup(0);
  off.state.live = true;
  off.watch.joined();
  off.watch.helloFrom(off.video);
  await off.clock.advance(120_000);
  assert.deepEqual(off.said, []);
  const waiting = setup();
  waiting.watch.joined();
  await waiting.clock.advance(120_000);
  assert.deepEqual(waiting.said, []);
});

test('a peer that stops after its HELLO stalls; one that confirmed and sent SETUP does not', async () => {
  const stuck = setup();
  stuck.watch.helloFrom(stuck.video);
  await stuck.clock.advance(10_000);
  assert.deepEqual(stuck.said, ['stalled: the peer stalled during the key exchange: nothing more on the video connection for 10 s after its HELLO (--peer-timeout)']);

  const fine = setup();
  fine.watch.helloFrom(fine.video);
  fine.watch.helloFrom(fine.audio);
  fine.video.ready = fine.audio.ready = true;
  fine.state.live = true;
  await fine.clock.advance(10_000);
  assert.deepEqual(fine.said, []);

  // Confirmed but no SETUP on video: still stalled. Audio needs only the confirmation.
  const noSetup = setup();
  noSetup.watch.helloFrom(noSetup.video);
  noSetup.watch.helloFrom(noSetup.audio);
  noSetup.video.ready = noSetup.audio.ready = true;
  await noSetup.clock.advance(10_000);
  assert.equal(noSetup.said.length, 1);
  assert.match(noSetup.said[0]!, /on the video connection/);
});

test('a stalled channel that was retired, closed, or a call that is ending: nothing said', async () => {
  for (const change of ['retired', 'closed', 'ending'] as const) {
    const s = setup();
    s.watch.helloFrom(s.video);
    if (change === 'retired') s.state.channels = { video: undefined, audio: undefined };
    if (change === 'closed') s.video.isClosed = true;
    if (change === 'ending') s.state.ending = true;
    await s.clock.advance(10_000);
    assert.deepEqual(s.said, [], change);
  }
});
