/**
 * `videochat connect --peer-protocol original` against a stand-in for the original Python
 * client (test/fixtures/original-client.py, written from WIRE.md; it unpickles what we send
 * with numpy, as the original does), through a real videochatd: pictures and tones both
 * ways, recording and snapshot, malicious pickles refused (exit 6, nothing run), and the
 * original's 640x480 camera drawn by our TUI in tmux.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { VIDEOCHAT_BIN, decodePcm, decodeRgb, runClient } from '../helpers/call.js';
import { PYTHON_WITH_NUMPY } from '../helpers/python.js';
import { waitFor } from './ui/wait-for.js';

const STAND_IN = fileURLToPath(new URL('../fixtures/original-client.py', import.meta.url));
const CALL_TIMEOUT_MS = 60_000;

let daemon: StartedDaemon;
let dir = '';
let patternJpegs: string[] = [];
let redJpegs: string[] = [];
let codeCount = 0;

function makeJpegs(source: string, prefix: string): string[] {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', source, '-frames:v', '15', '-q:v', '4',
    join(dir, `${prefix}%02d.jpg`)]);
  return Array.from({ length: 15 }, (_, i) => join(dir, `${prefix}${String(i + 1).padStart(2, '0')}.jpg`));
}

interface StandInResult {
  videoReceived: number;
  videoShapes: Array<[number[], string]>;
  audioBytesReceived: number;
  audioDominantHz: number | null;
  errors: string[];
}

/** Runs the stand-in; resolves with its JSON summary and exit status. */
function standIn(code: string, args: string[]): { done: Promise<{ code: number | null; result: StandInResult | null; stderr: string }> } {
  const child = spawn(PYTHON_WITH_NUMPY, [STAND_IN, '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--code', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const kill = setTimeout(() => child.kill('SIGKILL'), CALL_TIMEOUT_MS);
  return {
    done: new Promise((resolve) => child.on('exit', (exit) => {
      clearTimeout(kill);
      const line = out.trim().split('\n').pop() ?? '';
      resolve({ code: exit, result: line ? JSON.parse(line) as StandInResult : null, stderr: err });
    })),
  };
}

function ourArgs(code: string, extra: string[]): string[] {
  return ['connect', '--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--session', code, '--peer-protocol', 'original', ...extra];
}

/** Dominant frequency (Hz) of the last second of non-silent 48 kHz PCM, by a plain DFT scan. */
function dominantHz(pcm: Buffer): number {
  const all = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + (pcm.length & ~1)));
  const loud = all.filter((s) => s !== 0);
  const seg = loud.subarray(Math.max(0, loud.length - 48_000));
  let best = 0;
  let bestPower = -1;
  for (let hz = 100; hz <= 2000; hz += 2) {
    let re = 0;
    let im = 0;
    const w = (2 * Math.PI * hz) / 48_000;
    for (let i = 0; i < seg.length; i += 2) {
      re += seg[i]! * Math.cos(w * i);
      im += seg[i]! * Math.sin(w * i);
    }
    const power = re * re + im * im;
    if (power > bestPower) { bestPower = power; best = hz; }
  }
  return best;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'videochat-original-'));
  daemon = await startDaemon(['--host', '127.0.0.1']);
  patternJpegs = makeJpegs('testsrc2=size=640x480:rate=15', 'pattern');
  redJpegs = makeJpegs('color=c=0xff0000:size=640x480:rate=15', 'red');
});

after(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a call with the original client: pictures decoded and tones right on both sides, recorded', { timeout: 120_000 }, async () => {
  const code = `orig-call-${process.pid}-${++codeCount}`;
  const savedJpeg = join(dir, 'from-us.jpg');
  const theirs = standIn(code, ['--jpeg', ...patternJpegs, '--tone', '440', '--duration', '8', '--save-jpeg', savedJpeg]);
  const wav = join(dir, 'heard.wav');
  const rec = join(dir, 'call.mkv');
  const ours = runClient(ourArgs(code, ['--video-in', 'test', '--audio-in', 'test', '--audio-out', wav, '--record', rec, '--json']),
    {}, CALL_TIMEOUT_MS);
  const [{ result, stderr }, exit] = await Promise.all([theirs.done, ours.exited]);
  const ended = ours.events.at(-1)!;
  assert.equal(ended.event, 'ended', 'ended is the last line');
  assert.equal(exit.code, 0, `the original's hang-up (its sockets closed) is a normal end: ${ours.stderr()}`);
  assert.equal(ended.reason, 'hangup');
  assert.equal(ended.encrypted, false);
  assert.ok(ours.events.some((e) => e.event === 'warning' && e.code === 'W_NOT_ENCRYPTED'), 'the user is told it is not encrypted');
  assert.ok(ours.events.some((e) => e.event === 'peer-joined'));
  assert.ok(result, `the stand-in printed its summary: ${stderr}`);
  // What we sent: numpy loaded every message as OpenCV's uint8 (N, 1) array, and it is our picture.
  assert.deepEqual(result.errors, []);
  assert.ok(result.videoReceived >= 30, `the original got ${result.videoReceived} frames`);
  assert.deepEqual(result.videoShapes[0]![1], 'uint8');
  assert.equal(result.videoShapes[0]![0][1], 1);
  const ourPicture = decodeRgb(savedJpeg, 320, 240);
  assert.equal(ourPicture.length, 320 * 240 * 3, 'our JPEG decodes at our capture size');
  assert.ok(result.audioDominantHz !== null && Math.abs(result.audioDominantHz - 1000) < 10, `the original hears ${result.audioDominantHz} Hz (our 1 kHz tone)`);
  // What they sent: decoded here, and their 440 Hz tone in what we played.
  assert.ok(Number(ended.videoFramesReceived) >= 30, `we got ${String(ended.videoFramesReceived)} frames`);
  assert.ok(Number(ended.audioMsReceived) >= 4000, `we got ${String(ended.audioMsReceived)} ms of audio`);
  const heard = dominantHz(decodePcm(wav));
  assert.ok(Math.abs(heard - 440) <= 4, `we play ${heard} Hz (their 440 Hz tone)`);
  // The recording holds their 640x480 picture and their sound.
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', rec], { encoding: 'utf8' });
  const streams = (JSON.parse(probe) as { streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }> }).streams;
  assert.deepEqual(streams.find((s) => s.codec_type === 'video'), { codec_type: 'video', codec_name: 'mjpeg', width: 640, height: 480 });
  assert.ok(streams.some((s) => s.codec_type === 'audio'), 'an audio stream is recorded');
  assert.ok(Math.abs(dominantHz(decodePcm(rec)) - 440) <= 4, 'the recorded sound is their tone');
});

test('--snapshot saves the original camera picture at the size it sends', { timeout: 90_000 }, async () => {
  const code = `orig-snap-${process.pid}-${++codeCount}`;
  const png = join(dir, 'snap.png');
  const theirs = standIn(code, ['--jpeg', ...redJpegs, '--duration', '6']);
  const ours = runClient(ourArgs(code, ['--video-in', 'none', '--audio-in', 'none', '--audio-out', 'none', '--snapshot', png, '--json']), {}, CALL_TIMEOUT_MS);
  const exit = await ours.exited;
  await theirs.done;
  assert.equal(exit.code, 0, ours.stderr());
  const size = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', png], { encoding: 'utf8' }).trim();
  assert.equal(size, '640,480');
  const px = decodeRgb(png, 8, 8);
  assert.ok(px[0]! > 200 && px[1]! < 50 && px[2]! < 50, `the picture is red: ${px[0]},${px[1]},${px[2]}`);
});

for (const kind of ['exec', 'eval', 'truncated', 'huge', 'float']) {
  test(`a malicious or malformed pickle (${kind}) ends the call as a protocol error, and nothing runs`, { timeout: 60_000 }, async () => {
    const code = `orig-evil-${kind}-${process.pid}-${++codeCount}`;
    const marker = join(dir, `pwned-${kind}`);
    const theirs = standIn(code, ['--evil', kind, '--marker', marker, '--duration', '4']);
    const ours = runClient(ourArgs(code, ['--video-in', 'none', '--audio-in', 'none', '--audio-out', 'none', '--json']), {}, CALL_TIMEOUT_MS);
    const exit = await ours.exited;
    await theirs.done;
    const ended = ours.events.at(-1)!;
    assert.equal(exit.code, 6, ours.stderr());
    assert.equal(ended.reason, 'protocol');
    assert.match(String(ended.message), /refused/);
    assert.equal(existsSync(marker), false, 'the pickle did not run');
  });
}

test('usage: an unknown --peer-protocol, no --session, or a codec the original cannot take: one line, exit 2', () => {
  const run = (args: string[]): { status: number | null; stderr: string } => {
    try {
      execFileSync(process.execPath, [VIDEOCHAT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      return { status: 0, stderr: '' };
    } catch (e) {
      const err = e as { status: number | null; stderr: string };
      return { status: err.status, stderr: err.stderr };
    }
  };
  const base = ['connect', '--host', '127.0.0.1', '--headless'];
  for (const [args, pattern] of [
    [[...base, '--session', 'ABC123', '--peer-protocol', 'python'], /--peer-protocol/],
    [[...base, '--peer-protocol', 'original'], /needs --session/],
    [[...base, '--session', 'ABC123', '--peer-protocol', 'original', '--video-codec', 'h264'], /--video-codec h264 does not apply/],
    [[...base, '--session', 'ABC123', '--peer-protocol', 'original', '--audio-codec', 'opus'], /--audio-codec does not apply/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test("our TUI in a real terminal shows the original's 640x480 camera", { timeout: 90_000 }, async () => {
  const code = `orig-tui-${process.pid}-${++codeCount}`;
  const name = `orig${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('timeout', ['10', 'tmux', '-L', 'videochat-original-test', ...args], { encoding: 'utf8' });
  const exitFile = join(dir, 'tui-exit');
  const command = `env -u CI ${process.execPath} ${VIDEOCHAT_BIN} ${ourArgs(code, ['--video-in', 'none', '--audio-in', 'none', '--audio-out', 'none', '--render', 'blocks', '--colors', 'truecolor']).join(' ')}; echo $? > ${exitFile}; sleep 60`;
  tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', command);
  try {
    const theirs = standIn(code, ['--jpeg', ...redJpegs, '--duration', '10']);
    // Red cells: truecolor background or foreground of (~255, ~0, ~0).
    const red = /[34]8;2;(2[2-5]\d);([0-3]?\d);([0-3]?\d)m/;
    await waitFor(() => red.test(tmux('capture-pane', '-p', '-e', '-t', name)), 'red picture cells on the screen', 30_000);
    const screen = tmux('capture-pane', '-p', '-e', '-t', name);
    const redCells = screen.match(new RegExp(red.source, 'g'))?.length ?? 0;
    assert.ok(redCells >= 20, `${redCells} red colour runs: the picture covers the video area`);
    assert.match(screen, /NOT encrypted/);
    await theirs.done;
    await waitFor(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 'the TUI to end after the original hung up', 20_000);
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
  } finally {
    try { tmux('kill-server'); } catch { /* already gone */ }
  }
});

test('an original client that freezes (SIGSTOP) is a lost peer after the silence timeout: exit 5', { timeout: 90_000 }, async () => {
  const code = `orig-frozen-${process.pid}-${++codeCount}`;
  const child = spawn(PYTHON_WITH_NUMPY, [STAND_IN, '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--code', code, '--jpeg', ...redJpegs, '--duration', '60'], { stdio: 'ignore' });
  try {
    const ours = runClient(ourArgs(code, ['--video-in', 'none', '--audio-in', 'none', '--audio-out', 'none', '--json']), {}, 60_000);
    await ours.waitFor('peer-joined');
    child.kill('SIGSTOP');
    const exit = await ours.exited;
    const ended = ours.events.at(-1)!;
    assert.equal(exit.code, 5, ours.stderr());
    assert.equal(ended.reason, 'peer-lost');
    assert.ok(ours.events.some((e) => e.event === 'peer-left' && e.reason === 'lost'));
  } finally {
    child.kill('SIGKILL');
  }
});
