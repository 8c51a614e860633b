// `videochat connect --room` in a real terminal (tmux): the grid of the room's real members,
// through a started videochatd, two headless members with test sources; q hangs up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasTmux } from '../helpers/has-tmux.js';
import { VIDEOCHAT_BIN } from '../helpers/call.js';
import { allGone, killStarted, member, sleep, startRelay, type Relay } from '../helpers/room-call.js';

const SOCKET = `videochat-roomtui-${process.pid}`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmux = (...args: string[]): string => execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, ...args], { encoding: 'utf8' });

let relay: Relay;
let dir: string;
before(async () => {
  relay = await startRelay();
  dir = mkdtempSync(join(tmpdir(), 'videochat-roomtui-'));
});
after(async () => {
  try { tmux('kill-server'); } catch { /* none */ }
  killStarted();
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('the grid shows the room\'s members, then q hangs up with exit 0 and the ended line', { skip: !hasTmux() && 'no tmux' }, async () => {
  const session = `roomtui-${process.pid}-walnut-orbit-lantern`;
  const others = [member(relay, session, ['--duration', '30', '--name', 'Bob']), member(relay, session, ['--duration', '30', '--name', 'Cy'])];
  await Promise.all(others.map((r) => r.waitFor('waiting')));
  const err = join(dir, 'stderr');
  const status = join(dir, 'status');
  const args = ['connect', '--room', '--host', '127.0.0.1', '--video-port', String(relay.videoPort), '--audio-port', String(relay.audioPort),
    '--session', session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--size', '160x120', '--fps', '10', '--name', 'Ann', '--render', 'blocks'];
  const command = `cd ${ROOT} && env -u CI ${process.execPath} ${VIDEOCHAT_BIN} ${args.join(' ')} 2>${err}; echo $? > ${status}; sleep 60`;
  tmux('new-session', '-d', '-s', 'room', '-x', '100', '-y', '30', command);
  const text = (): string => tmux('capture-pane', '-p', '-t', 'room');
  await waitFor(() => /3 in room/.test(text()) && /Bob/.test(text()) && /Cy/.test(text()), 'the grid with Bob and Cy and the count');
  assert.match(text(), /encrypted/);
  // Pictures: the test source's colour bars fill the tiles (half blocks, not blank).
  await sleep(1500);
  const blocks = [...text()].filter((c) => c === '▀' || c === '▄' || c === '█').length;
  assert.ok(blocks > 200, `${blocks} block cells drawn:\n${text()}`);
  // Both others' frames are decoded for the grid: about 2 x 10 fps in; our tile is there too.
  await waitFor(() => /in (1[4-9]|2\d) fps/.test(text()), `the frame rate in: ${text()}`);
  assert.match(text(), /you/);
  tmux('send-keys', '-t', 'room', 'q');
  await waitFor(() => existsSync(status) && readFileSync(status, 'utf8').trim() !== '', 'the exit status');
  assert.equal(readFileSync(status, 'utf8').trim(), '0', readFileSync(err, 'utf8'));
  assert.match(readFileSync(err, 'utf8'), /room call ended \(hangup, exit 0\)/);
  // The others saw Ann come and go.
  await Promise.all(others.map((r) => r.waitFor('member-left', 10_000)));
  for (const r of others) {
    const joined = r.events.find((e) => e.event === 'member-joined' && (e.member as { name?: string }).name === 'Ann');
    assert.ok(joined, 'Ann joined');
  }
  for (const r of others) r.child.kill('SIGTERM');
  await allGone(others);
});
