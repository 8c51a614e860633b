// What a user reads when something is off: words, not errno codes or doubled prefixes.
// Real `videochat connect` processes against closed loopback ports and an unresolvable name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runClient } from '../helpers/call.js';
import { startDaemon } from '../helpers/relay-client.js';
import { closedPort } from '../helpers/closed-port.js';

const QUIET = ['--video-in', 'none', '--audio-in', 'none', '--render', 'none', '--audio-out', 'none', '--no-reconnect'];


test('relay unreachable: "nothing listens at H:P" and "no such host H", never ECONNREFUSED / ENOTFOUND', async () => {
  const port = await closedPort();
  const refused = runClient(['connect', '--json', '--host', '127.0.0.1', '--video-port', String(port), '--audio-port', String(port), ...QUIET]);
  assert.equal((await refused.exited).code, 3, refused.stderr());
  const end = refused.events.at(-1)!;
  assert.equal(end.message, `cannot reach the relay: nothing listens at 127.0.0.1:${port}`);
  assert.doesNotMatch(refused.stderr(), /ECONNREFUSED/);

  const unknown = runClient(['connect', '--json', '--host', 'nosuch.invalid', ...QUIET]);
  assert.equal((await unknown.exited).code, 3, unknown.stderr());
  assert.match(String(unknown.events.at(-1)!.message), /^cannot reach the relay: (no such host|cannot look up) nosuch\.invalid/);
  assert.doesNotMatch(unknown.stderr(), /ENOTFOUND|EAI_AGAIN/);
});

test('a weak typed code: "warning W_WEAK_CODE: weak session code ...", not "warning: warning:"', async () => {
  const port = await closedPort();
  const run = runClient(['connect', '--headless', '--session', 'abc', '--host', '127.0.0.1', '--video-port', String(port), '--audio-port', String(port), ...QUIET]);
  await run.exited;
  const line = run.stderr().split('\n').find((l) => l.includes('W_WEAK_CODE'));
  assert.ok(line, run.stderr());
  assert.match(line, /^videochat: warning W_WEAK_CODE: weak session code \(about \d+ bits/);
  assert.doesNotMatch(line, /warning.*warning/);
});

test('the man page lists no tests-only variable', () => {
  const man = readFileSync(new URL('../../man/videochat.1', import.meta.url), 'utf8');
  assert.doesNotMatch(man, /VIDEOCHAT_TEST_/);
});

test('headless reconnecting says what was lost and when it gives up', async () => {
  const relay = await startDaemon(['--log-level', 'warn']);
  const run = runClient(['connect', '--headless', '--host', '127.0.0.1', '--video-port', String(relay.videoPort), '--audio-port', String(relay.audioPort),
    '--session', `wording-${process.pid}-walnut-orbit-seven`, '--video-in', 'none', '--audio-in', 'none', '--render', 'none', '--audio-out', 'none'],
  { VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC: '4' });
  try {
    const deadline = Date.now() + 30_000;
    while (!run.stderr().includes('waiting for the peer') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    relay.child.kill('SIGKILL');
    const { code } = await run.exited;
    assert.equal(code, 9, run.stderr());
    assert.match(run.stderr(), /^videochat: connection to the relay lost; reconnecting \(attempt 1, giving up in [1-4] s\)$/m);
  } finally {
    run.child.kill('SIGKILL');
  }
});
