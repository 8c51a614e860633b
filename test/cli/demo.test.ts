// `videochat demo --headless --json` as a script runs it: the real daemon and two real peers
// as child processes; both peers' NDJSON on stdout, tagged; nothing left running after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { VIDEOCHAT_BIN } from '../helpers/call.js';
import { sleep } from '../media/helpers.js';
import { tagLine } from '../../src/cli/commands/demo.js';

type Line = Record<string, unknown> & { event: string; peer: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runDemo(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000) {
  const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { err += d; });
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { clearTimeout(t); resolve(code); }));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** The pids the demo reported on stderr: relay, peer a, peer b. */
function pids(stderr: string): number[] {
  return [...stderr.matchAll(/(?:relay pid|peer [ab] pid) (\d+)/g)].map((m) => Number(m[1]));
}

test('demo --headless --json --duration 5: both peers tagged, both receive frames, exit 0, nothing left behind', async () => {
  const d = runDemo(['--headless', '--json', '--duration', '5']);
  const code = await d.exited;
  assert.equal(code, 0, d.stderr());
  const lines = d.stdout().trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.ok(lines.every((l) => l.peer === 'a' || l.peer === 'b'), 'every line is tagged');
  assert.ok(lines.every((l) => typeof l.ts === 'number' && typeof l.event === 'string'));
  for (const peer of ['a', 'b']) {
    const mine = lines.filter((l) => l.peer === peer);
    assert.equal(mine[mine.length - 1].event, 'ended', `${peer}: ended is its last line`);
    const ended = mine[mine.length - 1];
    assert.equal(ended.reason, 'hangup');
    assert.ok((ended.videoFramesReceived as number) > 0, `${peer} received ${ended.videoFramesReceived} frames`);
    assert.ok((ended.audioMsReceived as number) > 0, `${peer} received ${ended.audioMsReceived} ms of audio`);
    const joined = mine.find((l) => l.event === 'peer-joined');
    assert.ok(joined, `${peer} saw the other join`);
    assert.equal((joined.remote as { client: string }).client, 'videochat', 'the remote HELLO moved to `remote`');
  }
  const reported = pids(d.stderr());
  assert.equal(reported.length, 3, `relay and peer pids on stderr: ${d.stderr()}`);
  await sleep(200);
  for (const pid of reported) assert.equal(alive(pid), false, `pid ${pid} still running`);
});

test('SIGTERM to the demo stops the peers and the relay; exit 0', async () => {
  const d = runDemo(['--headless', '--json']);
  const deadline = Date.now() + 60_000;
  while (!/"event":"stats"[^\n]*"peer":"b"|"peer":"b"[^\n]*"event":"stats"/.test(d.stdout()) && Date.now() < deadline) await sleep(200);
  const reported = pids(d.stderr());
  assert.equal(reported.length, 3, d.stderr());
  d.child.kill('SIGTERM');
  const code = await d.exited;
  assert.equal(code, 0, d.stderr());
  await sleep(200);
  for (const pid of reported) assert.equal(alive(pid), false, `pid ${pid} still running`);
});

test('without ffmpeg: the same clear message as connect, exit 7, an ended line per peer', async () => {
  const d = runDemo(['--headless', '--json', '--ffmpeg', '/nonexistent/ffmpeg']);
  const code = await d.exited;
  assert.equal(code, 7);
  assert.match(d.stderr(), /ffmpeg not found: tried --ffmpeg \/nonexistent\/ffmpeg/);
  const lines = d.stdout().trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(lines.map((l) => [l.peer, l.event, l.reason, l.exitCode]), [['a', 'ended', 'media', 7], ['b', 'ended', 'media', 7]]);
});

test('tagLine puts the tag after event and ts, and keeps the remote HELLO', () => {
  assert.equal(tagLine('{"event":"stats","ts":5,"rttMs":3}', 'a'), '{"event":"stats","ts":5,"peer":"a","rttMs":3}\n');
  assert.equal(tagLine('{"event":"peer-joined","ts":5,"peer":{"client":"x"}}', 'b'), '{"event":"peer-joined","ts":5,"peer":"b","remote":{"client":"x"}}\n');
  assert.equal(tagLine('not json', 'a'), null);
});

test("the demo peers ignore the user's VIDEOCHAT_* defaults and config file", async () => {
  const { demoPeerEnv } = await import('../../src/cli/commands/demo.js');
  const env = demoPeerEnv({ PATH: '/usr/bin', VIDEOCHAT_RECORD: 'x.mkv', VIDEOCHAT_JSON: '1', VIDEOCHAT_DEBUG: '1', VIDEOCHAT_CONFIG: '/home/u/c.json' });
  assert.equal(env.PATH, '/usr/bin');
  assert.equal(env.VIDEOCHAT_DEBUG, '1');
  assert.equal(env.VIDEOCHAT_RECORD, undefined);
  assert.equal(env.VIDEOCHAT_JSON, undefined);
  assert.notEqual(env.VIDEOCHAT_CONFIG, '/home/u/c.json');
  // Debugging is kept in either spelling.
  assert.equal(demoPeerEnv({ VIDEOCHAT_LOG_LEVEL: 'debug' }).VIDEOCHAT_LOG_LEVEL, 'debug');
});
