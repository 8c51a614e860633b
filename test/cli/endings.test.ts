/**
 * How calls end when the user goes away rather than pressing q: a signal (SIGINT, SIGTERM,
 * SIGHUP), a closed stdout (`| head`), a closed terminal (tmux kill-session sends SIGHUP),
 * `demo` SIGKILLed. Real processes throughout: the real videochatd on loopback, real signals to
 * the real process, a real pipe that `head` closes, tmux for the terminal. Every way ends
 * the same clean way: BYE (the peer sees `peer-left` bye and exits 0), the `ended` line, and no
 * process left behind. After the TUI closes, the same one line as headless mode says how.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { VIDEOCHAT_BIN, clientArgs, runClient, type ClientRun, type EventLine } from '../helpers/call.js';
import { describe, killLeft, processTree, waitGone } from '../helpers/proc-tree.js';
import { hasTmux } from '../helpers/has-tmux.js';
import { closedPort } from '../helpers/closed-port.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Any one wait on an event or an exit: generous, the machine is shared. */
const STEP_MS = 45_000;
/** Processes get this long to be gone after the call ended. */
const GONE_MS = 20_000;
const SOCKET = `videochat-endings-test-${process.pid}`;

let daemon: StartedDaemon;
let dir = '';
let n = 0;
const code = (): string => `endings-${process.pid}-${++n}-violet-harbor`;
const started: number[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-endings-'));
  daemon = await startDaemon(['--log-level', 'warn']);
});
after(async () => {
  killLeft(started);
  try {
    execFileSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // No server left.
  }
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function within<T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

function poll(check: () => boolean, what: string, ms = STEP_MS): Promise<void> {
  return within(new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (check()) {
        clearInterval(t);
        resolve();
      }
    }, 100);
  }), what, ms);
}

/** Both sides receive frames (the call is really up). */
async function inCall(...runs: ClientRun[]): Promise<void> {
  for (const r of runs) {
    await poll(() => r.events.some((e) => e.event === 'stats' && (e.videoFramesReceived as number) > 0), `frames at pid ${r.child.pid}; stderr: ${r.stderr()}`);
  }
}

function peerLeft(r: ClientRun): EventLine | undefined {
  return r.events.find((e) => e.event === 'peer-left');
}

/** Runs a shell command line; resolves with its stdout and stderr once it exits. */
function shell(line: string, env: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn('bash', ['-c', line], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  started.push(child.pid!);
  return { pid: child.pid!, done: new Promise((resolve) => child.on('close', (c) => resolve({ code: c, out, err }))) };
}

const NO_STACK = /^\s+at |Unhandled|node:events/m;

test('connect --json | head -n 1 while waiting for the peer: no stack trace, a hang-up (exit 0), at once', async () => {
  const args = clientArgs(daemon, code(), ['--audio-in', 'none', '--wait', '120']).join(' ');
  const run = shell(`node ${VIDEOCHAT_BIN} ${args} | head -n 1; echo "status=\${PIPESTATUS[0]}" >&2`);
  // Without the fix, a stack trace and exit 1; or (no write after head left) a wait of --wait 120 s.
  const { out, err } = await within(run.done, 'the pipeline to end');
  assert.equal(out.trim().split('\n').length, 1, out);
  assert.equal(JSON.parse(out).event, 'connecting');
  assert.doesNotMatch(err, NO_STACK, err);
  assert.match(err, /call ended \(hangup, exit 0\): stdout was closed/, err);
  assert.match(err, /status=0/, err);
});

test('connect --json | head -n 3 in a call: the peer is told goodbye (exit 0), no stack trace, exit 0', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--audio-in', 'none', '--grace', '60']), {}, 120_000);
  started.push(a.child.pid!);
  await a.waitFor('waiting', STEP_MS);
  const args = clientArgs(daemon, session, ['--audio-in', 'none']).join(' ');
  const b = shell(`node ${VIDEOCHAT_BIN} ${args} | head -n 3; echo "status=\${PIPESTATUS[0]}" >&2`);
  const { out, err } = await within(b.done, 'the pipeline to end');
  assert.equal(out.trim().split('\n').length, 3, out);
  assert.doesNotMatch(err, NO_STACK, err);
  assert.match(err, /status=0/, err);
  // With --grace 60, anything but a BYE would keep a waiting for a minute.
  const ea = await within(a.exited, 'the peer to exit');
  assert.equal(peerLeft(a)?.reason, 'bye', a.stderr());
  assert.equal(ea.code, 0, a.stderr());
});

for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
  test(`connect --json gets ${signal} in a call: BYE, the ended line, ffmpeg children reaped, exit 0`, async () => {
    const session = code();
    const a = runClient(clientArgs(daemon, session, ['--grace', '60']), {}, 120_000);
    started.push(a.child.pid!);
    await a.waitFor('waiting', STEP_MS);
    const b = runClient(clientArgs(daemon, session), {}, 120_000);
    started.push(b.child.pid!);
    await inCall(a, b);
    const tree = processTree(b.child.pid!);
    assert.ok(tree.length >= 3, `b runs its ffmpeg children: ${describe(tree)}`);
    b.child.kill(signal);
    const eb = await within(b.exited, `b to exit after ${signal}`);
    assert.equal(eb.signal, null, `b was not killed by ${signal}`);
    assert.equal(eb.code, 0, b.stderr());
    const last = b.events[b.events.length - 1];
    assert.equal(last?.event, 'ended', `ended is b's last line: ${b.stdout().slice(-400)}`);
    assert.equal(last.reason, 'hangup');
    assert.match(String(last.message), new RegExp(signal));
    const ea = await within(a.exited, 'a to exit');
    assert.equal(peerLeft(a)?.reason, 'bye', `a was told goodbye: ${a.stderr()}`);
    assert.equal(ea.code, 0);
    const left = await waitGone(tree, GONE_MS);
    assert.deepEqual(left, [], `still running: ${describe(left)}`);
  });
}

test('SIGHUP to the whole process group, as a closing terminal sends it (ffmpeg children too), three times: BYE, exit 0', async () => {
  for (let round = 1; round <= 3; round++) {
    const session = code();
    const a = runClient(clientArgs(daemon, session, ['--grace', '60']), {}, 120_000);
    started.push(a.child.pid!);
    await a.waitFor('waiting', STEP_MS);
    const b = runClient(clientArgs(daemon, session), {}, 120_000, { detached: true });
    started.push(b.child.pid!);
    await inCall(a, b);
    const tree = processTree(b.child.pid!);
    process.kill(-b.child.pid!, 'SIGHUP');
    const eb = await within(b.exited, `round ${round}: b to exit`);
    assert.equal(eb.code, 0, `round ${round}: ${b.stderr()}`);
    assert.equal(b.events[b.events.length - 1]?.reason, 'hangup', `round ${round}: ${b.stderr()}`);
    await within(a.exited, `round ${round}: a to exit`);
    assert.equal(peerLeft(a)?.reason, 'bye', `round ${round}: a was told goodbye: ${a.stderr()}`);
    const left = await waitGone(tree, GONE_MS);
    assert.deepEqual(left, [], `round ${round}: still running: ${describe(left)}`);
  }
});

test('a call that ends on a media failure (its capture ffmpeg SIGKILLed past the restarts) still tells the peer goodbye', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--grace', '60']), {}, 120_000);
  started.push(a.child.pid!);
  await a.waitFor('waiting', STEP_MS);
  const b = runClient(clientArgs(daemon, session, ['--audio-in', 'none']), {}, 120_000);
  started.push(b.child.pid!);
  await inCall(a, b);
  const capture = (): number[] => processTree(b.child.pid!).slice(1)
    .filter((p) => /testsrc/.test(describe([p])));
  const killer = setInterval(() => {
    for (const p of capture()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }, 200);
  const eb = await within(b.exited, 'b to give up on its capture').finally(() => clearInterval(killer));
  assert.equal(eb.code, 7, b.stderr());
  assert.equal(b.events[b.events.length - 1]?.reason, 'media');
  // Without a goodbye, a would wait out its --grace 60.
  const ea = await within(a.exited, 'a to exit');
  assert.equal(peerLeft(a)?.reason, 'bye', a.stderr());
  assert.equal(ea.code, 0);
});

/** `videochat demo ARGS`, stdout parsed line by line. */
function runDemo(args: string[]) {
  const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'demo', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child.pid!);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** The pids the demo reported on stderr: relay, peer a, peer b. */
function demoPids(stderr: string): number[] {
  return [...stderr.matchAll(/(?:relay pid|peer [ab] pid) (\d+)/g)].map((m) => Number(m[1]));
}

for (const signal of ['SIGHUP', 'SIGKILL'] as const) {
  test(`demo --headless --json gets ${signal} mid-call: its relay, handlers and peers all go`, async () => {
    const d = runDemo(['--headless', '--json']);
    await poll(() => /"peer":"b"[^\n]*"videoFramesReceived":[1-9]/.test(d.stdout()), `the demo call; stderr: ${d.stderr()}`);
    const tree = processTree(d.child.pid!);
    // demo, relay, its handler(s), two peers and their ffmpeg children.
    assert.ok(tree.length >= 6, describe(tree));
    assert.equal(demoPids(d.stderr()).filter((p) => tree.includes(p)).length, 3, d.stderr());
    started.push(...tree);
    d.child.kill(signal);
    const ed = await within(d.exited, 'demo to exit');
    if (signal === 'SIGHUP') {
      assert.equal(ed.code, 0, d.stderr());
      // Both peers hung up and said so: an `ended` line each, the last of each peer's lines.
      const lines = d.stdout().trim().split('\n').map((l) => JSON.parse(l) as { event: string; peer: string; reason?: string });
      for (const peer of ['a', 'b']) {
        const mine = lines.filter((l) => l.peer === peer);
        assert.equal(mine[mine.length - 1]?.event, 'ended', `peer ${peer}: ${JSON.stringify(mine.slice(-2))}`);
        assert.equal(mine[mine.length - 1]?.reason, 'hangup');
      }
    }
    const left = await waitGone(tree, GONE_MS);
    assert.deepEqual(left, [], `still running after ${signal}: ${describe(left)}`);
  });
}

test('demo --headless --json | head -n 3: no stack trace, exit 0, nothing left running', async () => {
  const run = shell(`node ${VIDEOCHAT_BIN} demo --headless --json | head -n 3; echo "status=\${PIPESTATUS[0]}" >&2`);
  const { out, err } = await within(run.done, 'the pipeline to end', 90_000);
  assert.equal(out.trim().split('\n').length, 3, out);
  assert.doesNotMatch(err, NO_STACK, err);
  assert.match(err, /status=0/, err);
  const pids = demoPids(err);
  assert.equal(pids.length, 3, err);
  const left = await waitGone(pids, GONE_MS);
  assert.deepEqual(left, [], `still running: ${describe(left)}`);
});

// ---- the TUI, in a real terminal ----

const skip = !hasTmux() && 'tmux is not installed';

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** `videochat ARGS` in a new tmux session; the pane stays after it exits (EXIT=status). */
function pane(args: string[]): { name: string; screen: () => string; shellPid: () => number } {
  const name = `e${process.pid}-${++n}`;
  const command = `cd ${ROOT} && env -u CI HOME=${dir} ${process.execPath} ${VIDEOCHAT_BIN} ${args.join(' ')}; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', command);
  return {
    name,
    screen: () => tmux('capture-pane', '-p', '-J', '-t', name),
    shellPid: () => Number(tmux('display', '-p', '-t', name, '#{pane_pid}').trim()),
  };
}

const tuiArgs = (session: string): string[] => [
  'connect', '--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
  '--session', session, '--video-in', 'test', '--audio-in', 'none', '--audio-out', 'none', '--render', 'blocks',
];

test('after the TUI closes: the same one line as headless mode says how the call ended, with the exit code', { skip }, async () => {
  // The peer hangs up.
  const session = code();
  const p = pane(tuiArgs(session));
  await poll(() => /videochat connect/.test(p.screen()), 'the waiting screen');
  const b = runClient(clientArgs(daemon, session, ['--duration', '2']), {}, 120_000);
  started.push(b.child.pid!);
  await within(b.exited, 'the peer to hang up');
  await poll(() => /EXIT=\d+/.test(p.screen()), `the TUI to exit: ${p.screen()}`);
  const screen = p.screen();
  assert.match(screen, /videochat: call ended \(hangup, exit 0\); sent \d+ frames \/ 0 ms audio, received \d+ frames \/ \d+ ms audio/, screen);
  assert.match(screen, /EXIT=0/);

  // Nothing listens: exit 3, and the reason.
  const q = pane(['connect', '--host', '127.0.0.1', '--video-port', String(await closedPort()), '--audio-port', String(await closedPort()),
    '--session', code(), '--video-in', 'test', '--audio-in', 'none', '--audio-out', 'none']);
  await poll(() => /EXIT=\d+/.test(q.screen()), `the TUI to exit: ${q.screen()}`);
  assert.match(q.screen(), /videochat: call ended \(relay-unreachable, exit 3\): cannot reach the relay: nothing listens at 127\.0\.0\.1:\d+/, q.screen());
  assert.match(q.screen(), /EXIT=3/);

  // Nobody within --wait: exit 4.
  const w = pane([...tuiArgs(code()), '--wait', '2']);
  await poll(() => /EXIT=\d+/.test(w.screen()), `the TUI to exit: ${w.screen()}`);
  assert.match(w.screen(), /videochat: call ended \(no-peer, exit 4\): no peer joined within 2 s/, w.screen());
  assert.match(w.screen(), /EXIT=4/);
});

test('the terminal closes on a TUI call (tmux kill-session: SIGHUP), three times: BYE, the TUI and its children gone', { skip }, async () => {
  for (let round = 1; round <= 3; round++) {
    const session = code();
    // Round 3 as a newcomer runs it: a tone for the mic, the speaker (no sound card here: its child fails).
    const p = pane(round < 3 ? tuiArgs(session) : [...tuiArgs(session), '--audio-in', 'test', '--audio-out', 'speaker']);
    await poll(() => /videochat connect/.test(p.screen()), 'the waiting screen');
    const b = runClient(clientArgs(daemon, session, ['--grace', '60']), {}, 120_000);
    started.push(b.child.pid!);
    await inCall(b);
    const tree = processTree(p.shellPid()).slice(1);
    assert.ok(tree.length >= 2, `the TUI and its ffmpeg: ${describe(tree)}`);
    started.push(...tree);
    tmux('kill-session', '-t', p.name);
    const eb = await within(b.exited, `round ${round}: the peer to exit`);
    assert.equal(peerLeft(b)?.reason, 'bye', `round ${round}: the peer was told goodbye; ${b.stderr()}`);
    assert.equal(eb.code, 0);
    const left = await waitGone(tree, GONE_MS);
    assert.deepEqual(left, [], `round ${round}: still running: ${describe(left)}`);
  }
});

test('the terminal closes on demo (tmux kill-session): its relay, handlers and peers all go', { skip }, async () => {
  const p = pane(['demo', '--render', 'blocks', '--audio-out', 'none']);
  // The demo's own peer draws the call: the status row shows the peer's frame rate.
  await poll(() => processTree(p.shellPid()).length >= 7 && /fps/.test(p.screen()), `the demo call: ${p.screen()}`);
  const tree = processTree(p.shellPid()).slice(1);
  started.push(...tree);
  tmux('kill-session', '-t', p.name);
  const left = await waitGone(tree, GONE_MS);
  assert.deepEqual(left, [], `still running: ${describe(left)}`);
});

test('demo SIGKILLed while its call is on the screen: the shown peer hangs up and says so, relay and peers all go', { skip }, async () => {
  const p = pane(['demo', '--render', 'blocks', '--audio-out', 'none']);
  await poll(() => processTree(p.shellPid()).length >= 7 && /fps/.test(p.screen()), `the demo call: ${p.screen()}`);
  const tree = processTree(p.shellPid()).slice(1);
  started.push(...tree);
  // The shell's child is the demo itself; everything else is below it.
  const demoPid = tree[0];
  process.kill(demoPid, 'SIGKILL');
  const left = await waitGone(tree, GONE_MS);
  assert.deepEqual(left, [], `still running: ${describe(left)}`);
  await poll(() => /call ended \(hangup, exit 0\): the parent process is gone/.test(p.screen()), `the shown peer's last line: ${p.screen()}`, 10_000);
});
