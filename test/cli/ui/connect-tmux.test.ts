/**
 * What the real `videochat connect` (and `demo`, `play`) say on a real terminal: tmux runs them
 * against a real videochatd on loopback, we read the screen with capture-pane. This machine has
 * no camera, microphone or sound card, which is exactly the newcomer's case under test: a
 * camera and a mic that fall back to none, and no sound output.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';
import { hasTmux } from '../../helpers/has-tmux.js';
import { startDaemon, type StartedDaemon } from '../../helpers/relay-client.js';
import { VIDEOCHAT_BIN, runClient, type ClientRun } from '../../helpers/call.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
/** Process start, the code's KDF and terminal probing on a busy 2-core machine. */
const START_TIMEOUT_MS = 45_000;
const STEP_TIMEOUT_MS = 20_000;
const SOCKET = `videochat-connect-test-${process.pid}`;
/** A generated-looking code: long, as the real ones are (the status row must cope at 80 columns). */
const LONG_CODE = (n: number) => `48${n}-sight-flight-fault-kingdom-peanut`;

let dir = '';
let daemon: StartedDaemon;
let count = 0;
const others: ClientRun[] = [];

function tmux(...args: string[]): string {
  return execFileSync('timeout', ['10', 'tmux', '-L', SOCKET, ...args], { encoding: 'utf8' });
}


interface Pane {
  name: string;
  screen(): string;
  lines(): string[];
  keys(...k: string[]): void;
}

/** Runs `node bin/videochat.js ARGS` in a new tmux window of the given size. */
function startPane(args: string[], size = { x: 80, y: 24 }, env: Record<string, string> = {}): Pane {
  const name = `c${process.pid}-${++count}`;
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
  // `env -u CI`: Ink draws nothing until exit when it believes it runs in CI.
  const command = `cd ${ROOT} && env -u CI -u ALSA_CONFIG_PATH HOME=${dir} ${envArgs} ${process.execPath} ${VIDEOCHAT_BIN} ${args.join(' ')}; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), command);
  const pane: Pane = {
    name,
    screen: () => tmux('capture-pane', '-p', '-t', name),
    lines: () => pane.screen().split('\n'),
    keys: (...k) => void tmux('send-keys', '-t', name, ...k),
  };
  return pane;
}

function relayArgs(session: string): string[] {
  return ['connect', '--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort), '--session', session];
}

const skip = !hasTmux() && 'tmux is not installed';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-connect-tmux-'));
  daemon = await startDaemon(['--log-level', 'warn']);
});

after(async () => {
  for (const o of others) o.child.kill('SIGKILL');
  try {
    tmux('kill-server');
  } catch {
    // No server left.
  }
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('no camera and no mic here: "no camera" / "no mic" on both sides, the whole command while waiting, encryption pending then encrypted', { skip }, async () => {
  const session = LONG_CODE(1);
  // A: the default camera and mic, which this machine does not have (they fall back to none).
  const a = startPane([...relayArgs(session), '--render', 'blocks', '--audio-out', 'none'], { x: 120, y: 40 });
  await waitFor(() => a.screen().includes('Waiting for the other person'), 'the waiting screen', START_TIMEOUT_MS);
  // Read as one text: the command may wrap at the pane's width.
  const waiting = a.screen().replace(/\s+/g, ' ');
  assert.match(waiting, new RegExp(`They run: videochat connect --host 127\\.0\\.0\\.1 --video-port ${daemon.videoPort} --audio-port ${daemon.audioPort} --session ${session}`));
  await waitFor(() => /no mic/.test(a.lines()[38] ?? '') && /no camera/.test(a.lines()[38] ?? ''), 'no mic / no camera in the status bar', STEP_TIMEOUT_MS);
  const bar = a.lines()[38];
  assert.match(bar, /encryption pending/, bar);
  assert.doesNotMatch(a.screen(), /NOT encrypted|mic on|camera on/);

  // B: test sources, in its own terminal.
  const b = startPane([...relayArgs(session), '--video-in', 'test', '--audio-in', 'test', '--render', 'blocks', '--audio-out', 'none'], { x: 120, y: 40 });
  await waitFor(() => a.screen().includes('peer live'), 'A sees B', START_TIMEOUT_MS);
  await waitFor(() => /│ encrypted │/.test(a.lines()[38] ?? ''), 'encrypted once the key exchange has run', STEP_TIMEOUT_MS);
  await waitFor(() => b.screen().includes('peer no mic, no camera'), 'B is told A has no mic and no camera', STEP_TIMEOUT_MS);
  assert.match(b.screen(), /The peer has no camera\./);
  assert.doesNotMatch(b.screen(), /turned the camera off/);
  assert.match(b.lines()[38], /mic on │ camera on/, "B's own devices are there");
  assert.match(a.lines()[38], /no mic │ no camera/);
  a.keys('q');
  await waitFor(() => a.screen().includes('EXIT=0') && b.screen().includes('EXIT=0'), 'both exit 0', STEP_TIMEOUT_MS);
});

test('80x24 with a long code: both status rows fit, every state word whole', { skip }, async () => {
  const session = LONG_CODE(2);
  const peer = runClient(['connect', '--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--session', session, '--video-in', 'test', '--audio-in', 'test', '--audio-out', 'none', '--json']);
  others.push(peer);
  await peer.waitFor('waiting', START_TIMEOUT_MS);
  const a = startPane([...relayArgs(session), '--video-in', 'test', '--audio-in', 'test', '--render', 'blocks', '--audio-out', 'none']);
  await waitFor(() => /out [\d.]+ ?fps \d+ ?kbps .*rtt \d+ ?ms/.test(a.lines()[23] ?? ''), 'the call with stats', START_TIMEOUT_MS);
  const [one, two] = [a.lines()[22], a.lines()[23]];
  for (const row of [one, two]) assert.ok(row.trimEnd().length <= 80, `fits: '${row}'`);
  assert.match(one, /peer live │ encrypted │ mic on │ cam on\s*$/, one);
  assert.match(one, /^ 482-sight/, 'the code keeps its start');
  assert.match(two, /^ in [\d.]+ ?fps \d+ ?kbps │ out [\d.]+ ?fps \d+ ?kbps │ rtt \d+ ?ms │ lat(ency)? \d+ ?ms │ \? help\s*$/, two);
  a.keys('m');
  await waitFor(() => /│ muted │ cam on/.test(a.lines()[22] ?? ''), 'muted, still whole', STEP_TIMEOUT_MS);
  a.keys('v');
  await waitFor(() => /│ muted │ cam off\s*$/.test(a.lines()[22] ?? ''), 'camera off, still whole', STEP_TIMEOUT_MS);
  a.keys('q');
  await waitFor(() => a.screen().includes('EXIT=0'), 'exit 0', STEP_TIMEOUT_MS);
});

test('the relay goes away while waiting: the screen says what was lost, the attempt and when it gives up', { skip }, async () => {
  const relay = await startDaemon(['--log-level', 'warn']);
  try {
    const a = startPane(['connect', '--host', '127.0.0.1', '--video-port', String(relay.videoPort), '--audio-port', String(relay.audioPort),
      '--session', LONG_CODE(3), '--video-in', 'none', '--audio-in', 'none', '--audio-out', 'none', '--render', 'blocks'],
    { x: 100, y: 30 }, { VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC: '40' });
    await waitFor(() => a.screen().includes('Waiting for the other person'), 'the waiting screen', START_TIMEOUT_MS);
    // Killed, not stopped: a relay that is gone, not one draining politely.
    relay.child.kill('SIGKILL');
    await waitFor(() => /Reconnecting \(attempt \d+\); giving up in \d+ s/.test(a.screen()), 'the reconnect message', STEP_TIMEOUT_MS)
      .catch((err: Error) => { throw new Error(`${err.message}; screen:\n${a.screen()}`); });
    assert.match(a.screen(), /Lost the connection to the relay at 127\.0\.0\.1\./);
    const secs = Number(/giving up in (\d+) s/.exec(a.screen())?.[1]);
    assert.ok(secs > 0 && secs <= 40, `a countdown within the limit: ${secs}`);
    await waitFor(() => Number(/giving up in (\d+) s/.exec(a.screen())?.[1] ?? secs) < secs, 'the countdown to move', STEP_TIMEOUT_MS);
    a.keys('q');
    await waitFor(() => a.screen().includes('EXIT='), 'the TUI to exit', STEP_TIMEOUT_MS);
  } finally {
    if (relay.child.exitCode === null && relay.child.signalCode === null) await relay.stop();
  }
});

test('demo without a sound card: one friendly line as doctor words it, no ALSA assertion; --audio-out none: no sound line, no headphones tip', { skip }, async () => {
  const d = startPane(['demo', '--render', 'blocks'], { x: 120, y: 40 });
  await waitFor(() => /going on without sound/.test(d.screen()), 'the no-sound notice', START_TIMEOUT_MS);
  const notice = d.lines().find((l) => /going on without sound/.test(l)) ?? '';
  assert.match(notice, /! (no sound card and no ALSA configuration|no sound: ALSA's default output cannot be opened): going on without sound/);
  assert.doesNotMatch(d.screen(), /pcm_params|Assertion|SIGABRT|audio-sink/);
  d.keys('q');
  await waitFor(() => d.screen().includes('EXIT='), 'demo to exit', STEP_TIMEOUT_MS);
  assert.match(d.screen(), /EXIT=0/);
  assert.doesNotMatch(d.screen(), /pcm_params|Assertion/);

  const quiet = startPane(['demo', '--render', 'blocks', '--audio-out', 'none'], { x: 120, y: 40 });
  await waitFor(() => quiet.screen().includes('peer live'), 'the demo call', START_TIMEOUT_MS);
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    assert.doesNotMatch(quiet.screen(), /use headphones|without sound/);
    await new Promise((r) => setTimeout(r, 200));
  }
  quiet.keys('q');
  await waitFor(() => quiet.screen().includes('EXIT='), 'demo to exit', STEP_TIMEOUT_MS);
});

test('play without a sound card: nothing is written over the picture; the one line comes after it', { skip }, async () => {
  const clip = join(dir, 'clip.mkv');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=15:d=3', '-f', 'lavfi', '-i', 'sine=f=440:d=3',
    '-c:v', 'mjpeg', '-c:a', 'pcm_s16le', '-y', clip]);
  const p = startPane(['play', clip, '--render', 'blocks']);
  const seen: string[] = [];
  await waitFor(() => {
    const s = p.screen();
    seen.push(s);
    return s.includes('EXIT=');
  }, 'play to end', START_TIMEOUT_MS);
  assert.ok(seen.some((s) => s.includes('▀')), 'the picture was drawn');
  for (const s of seen) assert.doesNotMatch(s, /pcm_params|Assertion/);
  // Once the line is there, no frame is drawn any more: it came after the picture, not over it.
  const picture = (s: string): string => s.split('\n').filter((l) => !/going on without sound|EXIT=/.test(l)).join('\n').trimEnd();
  const first = seen.findIndex((s) => /going on without sound/.test(s));
  assert.ok(first >= 0, 'the line was shown');
  // (The same picture may have scrolled up a row or two as the line and EXIT= were printed below it.)
  const sameOrScrolled = (later: string, earlier: string): boolean => {
    const [a, b] = [later.split('\n'), earlier.split('\n')];
    return [0, 1, 2, 3].some((k) => a.length <= b.length - k && a.every((line, i) => line === b[i + k]));
  };
  for (const s of seen.slice(first)) assert.ok(sameOrScrolled(picture(s), picture(seen[first])), `no frame after the line:\n${s}`);
  const end = p.screen();
  assert.match(end, /EXIT=0/);
  assert.equal(end.split('\n').filter((l) => /going on without sound/.test(l)).length, 1, end);
  assert.doesNotMatch(end, /pcm_params|Assertion/);
});
