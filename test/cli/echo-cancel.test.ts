// The echo canceller in a real call (two real clients through a real videochatd): on by
// default when we capture and play through `speaker` (here the ALSA file device), named in
// the `connecting` event; off with --no-echo-cancel (and its VIDEOCHAT_ variable); not run
// without a loudspeaker. The canceller's effect is tested in test/media/echo.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { runClient, clientArgs, ASOUNDRC } from '../helpers/call.js';
import { tempDir } from '../media/helpers.js';
import { echoCancellerStatus } from '../../src/media/echo.js';
import { hasInProcessOpus } from '../../src/media/opus.js';

let daemon: StartedDaemon;
before(async () => { daemon = await startDaemon(['--log-level', 'warn']); });
after(async () => { await daemon.stop(); });

const built = echoCancellerStatus().name !== null && hasInProcessOpus();

async function connecting(tag: string, extraB: string[], envB: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const session = `echo-${tag}-${process.pid}-walnut-orbit-lantern`;
  const out = join(tempDir(), 'played.raw');
  const a = runClient(clientArgs(daemon, session, ['--video-in', 'none', '--duration', '3']));
  const b = runClient(clientArgs(daemon, session, ['--video-in', 'none', '--audio-out', 'speaker:tofile', '--duration', '3', ...extraB]),
    { ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out, ...envB });
  try {
    const c = await b.waitFor('connecting', 30_000);
    await b.waitFor('ended', 40_000);
    const ended = await b.waitFor('ended');
    assert.equal(ended.exitCode, 0, b.stderr());
    assert.ok(Number(ended.audioMsReceived) > 500, 'audio flowed');
    return c;
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await Promise.all([a.exited, b.exited]);
  }
}

test('on by default: connecting names the canceller', { skip: built ? false : 'no canceller built here' }, async () => {
  const c = await connecting('on', []);
  assert.match(String(c.echoCanceller), /WebRTC/);
  assert.equal(c.echoWhyNot, '');
});

test('--no-echo-cancel and VIDEOCHAT_NO_ECHO_CANCEL=1 turn it off; no loudspeaker, none', async () => {
  const off = await connecting('off', ['--no-echo-cancel']);
  assert.equal(off.echoCanceller, null);
  assert.match(String(off.echoWhyNot), /--no-echo-cancel/);
  const env = await connecting('env', [], { VIDEOCHAT_NO_ECHO_CANCEL: '1' });
  assert.equal(env.echoCanceller, null);
  const session = `echo-none-${process.pid}-walnut-orbit-lantern`;
  const a = runClient(clientArgs(daemon, session, ['--video-in', 'none', '--duration', '2']));
  const b = runClient(clientArgs(daemon, session, ['--video-in', 'none', '--duration', '2']));
  const c = await b.waitFor('connecting', 30_000);
  assert.equal(c.echoCanceller, null);
  assert.match(String(c.echoWhyNot), /loudspeaker/);
  await Promise.all([a.exited, b.exited]);
});
