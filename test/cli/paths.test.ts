// Paths a call reads and writes are checked before connecting (one line, exit 2), and a
// recording that fails mid-call makes the exit status say so (exit 7). A real videochatd on
// loopback and real ffmpeg; the "disk" that fills up is /dev/full behind a symlink.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { runClient, clientArgs, type ClientRun } from '../helpers/call.js';
import { tempDir } from '../media/helpers.js';

let daemon: StartedDaemon;
let dir: string;
let n = 0;
const code = (): string => `paths-${process.pid}-${++n}-walnut-orbit-lantern`;

before(async () => {
  daemon = await startDaemon(['--log-level', 'warn']);
  dir = tempDir();
});
after(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One connect that must fail before connecting: exit 2, one line on stderr, an `ended` usage line, and the relay never saw it. */
async function refused(extra: string[], expect: RegExp): Promise<void> {
  const args = clientArgs(daemon, code(), extra);
  const run = runClient(args);
  const { code: status } = await run.exited;
  assert.equal(status, 2, `${extra.join(' ')}: ${run.stderr()}`);
  const lines = run.stderr().trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${run.stderr()}`);
  assert.match(lines[0], expect);
  assert.deepEqual(run.events.map((e) => e.event), ['ended'], 'no connecting: checked before connecting');
  assert.equal(run.events[0].reason, 'usage');
}

test('--record, --snapshot and --audio-out FILE.wav into a missing or unwritable directory: exit 2 before connecting', async () => {
  await refused(['--record', join(dir, 'nope', 'call.mkv')], /^videochat: --record .*call\.mkv: the directory .*nope does not exist$/);
  await refused(['--snapshot', join(dir, 'nope', 'peer.png')], /^videochat: --snapshot .*peer\.png: the directory .*nope does not exist$/);
  await refused(['--audio-out', join(dir, 'nope', 'peer.wav')], /^videochat: --audio-out .*peer\.wav: the directory .*nope does not exist$/);
  // /sys refuses new files even to root (file modes would not stop root).
  await refused(['--record', '/sys/call.mkv'], /^videochat: --record \/sys\/call\.mkv: cannot write it \(permission denied\)$/);
  mkdirSync(join(dir, 'adir.mkv'));
  await refused(['--record', join(dir, 'adir.mkv')], /it is a directory, not a file/);
  writeFileSync(join(dir, 'afile'), 'x');
  await refused(['--snapshot', join(dir, 'afile', 'x.png')], /afile is not a directory/);
  assert.deepEqual(readdirSync(dir).sort(), ['adir.mkv', 'afile'], 'the checks leave no file behind');
});

test('--video-in / --audio-in FILE missing or not media: exit 2 before connecting', async () => {
  await refused(['--video-in', join(dir, 'missing.mp4')], /^videochat: --video-in .*missing\.mp4: no such file/);
  await refused(['--audio-in', join(dir, 'missing.wav')], /^videochat: --audio-in .*missing\.wav: no such file/);
  const text = join(dir, 'notes.mp4');
  writeFileSync(text, 'this is not a video\n'.repeat(50));
  await refused(['--video-in', text], /^videochat: --video-in .*notes\.mp4: not a media file ffmpeg can read/);
  const tone = join(dir, 'tone.wav');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=1000:d=1', '-y', tone]);
  await refused(['--video-in', tone], /^videochat: --video-in .*tone\.wav: the file has no video stream$/);
});

test('a good FILE and writable outputs still pass the checks and the call runs', async () => {
  const tone = join(dir, 'tone2.wav');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=1000:d=1', '-y', tone]);
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--audio-in', tone, '--duration', '2']));
  await a.waitFor('waiting');
  const b = runClient(clientArgs(daemon, session, ['--duration', '2', '--record', join(dir, 'ok.mkv'), '--audio-out', join(dir, 'ok.wav')]));
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  assert.ok(existsSync(join(dir, 'ok.mkv')) && existsSync(join(dir, 'ok.wav')));
});

test('a recording that fails mid-call (disk full) is a warning, and the exit status is 7 with the reason said', async () => {
  const full = join(dir, 'full.mkv');
  symlinkSync('/dev/full', full);
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--duration', '4']));
  await a.waitFor('waiting');
  const b: ClientRun = runClient(clientArgs(daemon, session, ['--duration', '4', '--record', full]));
  const warning = await b.waitFor('warning', 30_000);
  assert.equal(warning.code, 'W_RECORD_FAILED', JSON.stringify(warning));
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 7, b.stderr());
  const end = b.events.at(-1)!;
  assert.equal(end.event, 'ended');
  assert.equal(end.reason, 'media');
  assert.equal(end.exitCode, 7);
  assert.match(String(end.message), /recording is incomplete/);
  assert.ok((end.videoFramesReceived as number) > 10, 'the call itself went on');
});
