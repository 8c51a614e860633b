// `videochat play` as a user runs it: a real clip made by ffmpeg (testsrc2 + a 1 kHz sine),
// the built bin, stdout a pipe, real speaker into the ALSA file device of test/fixtures.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASOUNDRC, VIDEOCHAT_BIN } from '../helpers/call.js';
import { dominantIs1kHz, tempDir, tonePower } from '../media/helpers.js';
import { parseProbe } from '../../src/cli/commands/media-probe.js';
import { fitPicture } from '../../src/cli/commands/picture-fit.js';

const CLIP_SEC = 2;
const CLIP_FPS = 25;
const SYNC_BEGIN = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';
/** Regexes are built from this string: literal control characters in a regex trip the linter. */
const ESC = '\\x1b';
let dir: string;
let clip: string;

interface Run { code: number | null; stdout: Buffer; stderr: string; ms: number }

function play(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'play', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - started });
    });
  });
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

before(() => {
  dir = tempDir();
  clip = join(dir, 'clip.mkv');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${CLIP_FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000',
    '-t', String(CLIP_SEC), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', clip]);
});

test('--speed max to a pipe: exit 0, one synchronized frame per clip frame, in truecolor', async () => {
  const r = await play([clip, '--speed', 'max', '--cells', '40x12', '--render', 'blocks']);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout.toString('latin1');
  const frames = count(text, SYNC_BEGIN);
  assert.equal(count(text, SYNC_END), frames, 'every frame is closed');
  const expected = CLIP_SEC * CLIP_FPS;
  assert.ok(frames >= expected * 0.9 && frames <= expected, `${frames} frames for a ${expected}-frame clip`);
  // testsrc2 is colourful: the frames carry 24-bit foreground and background colours.
  const truecolor = text.match(new RegExp(`${ESC}\\[(?:[0-9;]*;)?[34]8;2;\\d+;\\d+;\\d+`, 'g')) ?? [];
  assert.ok(truecolor.length > 500, `${truecolor.length} truecolor SGR sequences`);
  const colours = new Set(truecolor.map((s) => s.replace(/^.*[34]8;2;/, '')));
  assert.ok(colours.size > 20, `${colours.size} distinct colours`);
  // Nothing but frames: no cursor hiding or clearing off a terminal.
  assert.ok(!text.includes('\x1b[?25l') && !text.includes('\x1b[2J'));
});

test('the picture keeps its 4:3 shape in the cell area (cells are about 1:2)', async () => {
  const t = fitPicture(4 / 3, { cols: 40, rows: 12 }, 'truecolor');
  assert.deepEqual({ cols: t.cols, rows: t.rows, col: t.col, row: t.row }, { cols: 32, rows: 12, col: 4, row: 0 });
  const wide = fitPicture(16 / 9, { cols: 80, rows: 24 }, 'truecolor');
  assert.deepEqual({ cols: wide.cols, rows: wide.rows, row: wide.row }, { cols: 80, rows: 23, row: 0 });
  const r = await play([clip, '--speed', 'max', '--cells', '40x12', '--render', 'ascii']);
  assert.equal(r.code, 0, r.stderr);
  // ascii draws one character per cell; no cursor move lands left of column 5 (1-based) or right of 36.
  const cols = [...r.stdout.toString('latin1').matchAll(new RegExp(`${ESC}\\[\\d+;(\\d+)H`, 'g'))].map((m) => Number(m[1]));
  assert.ok(cols.length > 0);
  assert.ok(Math.min(...cols) >= 5 && Math.max(...cols) <= 36, `columns ${Math.min(...cols)}..${Math.max(...cols)}`);
});

test('paced playback takes about the clip duration', async () => {
  const r = await play([clip, '--cells', '40x12', '--render', 'blocks', '--audio-out', 'none']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.ms >= CLIP_SEC * 1000 * 0.9, `took ${r.ms} ms`);
  assert.ok(r.ms < CLIP_SEC * 1000 + 20_000, `took ${r.ms} ms`);
  assert.ok(count(r.stdout.toString('latin1'), SYNC_BEGIN) > CLIP_SEC * CLIP_FPS * 0.5);
});

test('a missing file is one line on stderr and exit 2 (usage)', async () => {
  const r = await play([join(dir, 'nope.mp4')]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /nope\.mp4: no such file/);
  assert.equal(r.stdout.length, 0);
});

test('a file that is not media is exit 7; a file damaged part-way is exit 7 after what could be played', async () => {
  const junk = join(dir, 'junk.mp4');
  writeFileSync(junk, Buffer.alloc(4096, 0x41));
  const r = await play([junk, '--speed', 'max']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const whole = readFileSync(clip);
  const cut = join(dir, 'cut.mkv');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  const c = await play([cut, '--speed', 'max', '--cells', '40x12']);
  assert.equal(c.code, 7, c.stderr);
  assert.match(c.stderr, /damaged/);
  const frames = count(c.stdout.toString('latin1'), SYNC_BEGIN);
  assert.ok(frames > 5 && frames < CLIP_SEC * CLIP_FPS * 0.9, `${frames} frames before the damage`);
});

test('the sound plays through the real speaker into the ALSA file device and holds the 1 kHz tone', async () => {
  const out = join(dir, 'speaker.raw');
  const r = await play([clip, '--cells', '40x12', '--audio-out', 'speaker:tofile'], { ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out), `no PCM written; stderr: ${r.stderr}`);
  const pcm = readFileSync(out);
  assert.ok(pcm.length >= 48_000 * 2 * CLIP_SEC * 0.8, `${pcm.length} bytes of PCM`);
  // In 100 ms windows, so that an underrun (a gap of silence on a busy machine) spoils a
  // window, not the verdict: most windows that carry sound carry the tone.
  const WINDOW_BYTES = 9600;
  const windows: Buffer[] = [];
  for (let off = 0; off + WINDOW_BYTES <= pcm.length; off += WINDOW_BYTES) windows.push(pcm.subarray(off, off + WINDOW_BYTES));
  const loud = windows.filter((w) => tonePower(w, 1000) > 0.001 || [300, 700, 2000].some((f) => tonePower(w, f) > 0.001));
  const toned = loud.filter((w) => dominantIs1kHz(w));
  assert.ok(loud.length >= CLIP_SEC * 10 * 0.8, `${loud.length} windows with sound`);
  assert.ok(toned.length >= loud.length * 0.8, `${toned.length} of ${loud.length} windows hold the 1 kHz tone`);
});

test('--speed max implies --no-audio: no speaker child is started', async () => {
  const out = join(dir, 'max.raw');
  const r = await play([clip, '--speed', 'max', '--cells', '40x12', '--audio-out', 'speaker:tofile'], { ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(out), false, 'the speaker child would have created the file');
  const n = join(dir, 'noaudio.raw');
  const q = await play([clip, '--no-audio', '--cells', '40x12', '--audio-out', 'speaker:tofile'], { ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: n });
  assert.equal(q.code, 0, q.stderr);
  assert.equal(existsSync(n), false);
});

test('bad --speed is a usage error', async () => {
  const r = await play([clip, '--speed', '2']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--speed must be 1 or max/);
});

test('the probe reads size, aspect, rate, duration and sound from ffmpeg listings', () => {
  const p = parseProbe(`Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 351 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 720x576 [SAR 16:15 DAR 4:3], 269 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 69 kb/s (default)
At least one output file must be specified`);
  assert.deepEqual(p, { video: { width: 576, height: 720, sar: 15 / 16, fps: 25 }, hasAudio: true, durationSec: 62.5 });
  const silent = parseProbe(`  Duration: N/A, bitrate: N/A
  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 320x240, 15 tbr, 1200k tbn`);
  assert.deepEqual(silent, { video: { width: 320, height: 240, sar: 1, fps: 15 }, hasAudio: false, durationSec: null });
});

test('paced playback to a reader slower than the clip skips frames and stays on time; every frame sent is whole', async () => {
  // Off a terminal Node's writes to the pipe queue (a TTY write blocks instead: the xterm test
  // covers that side). Sixel at 160x48 cells is ~130 KB a frame (3 MB/s at 25 fps); the
  // reader takes 160 KB/s: sending every frame would take ~20 times the clip's length.
  const readerBytesPerSec = 160 * 1024;
  const tickMs = 50;
  const started = Date.now();
  const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'play', clip, '--cells', '160x48', '--render', 'sixel', '--audio-out', 'none'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const chunks: Buffer[] = [];
  const stdout = child.stdout;
  const slowRead = setInterval(() => {
    const n = Math.min(stdout.readableLength, Math.round((readerBytesPerSec * tickMs) / 1000));
    const chunk = n > 0 ? (stdout.read(n) as Buffer | null) : null;
    if (chunk) chunks.push(chunk);
  }, tickMs);
  const [code] = (await Promise.race([
    once(child, 'exit'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('play did not end within 60 s')), 60_000)),
  ])) as [number | null];
  const ms = Date.now() - started;
  clearInterval(slowRead);
  // Take the rest at full speed.
  stdout.on('data', (d: Buffer) => chunks.push(d));
  if (!stdout.readableEnded) await once(stdout, 'end');
  assert.equal(code, 0, stderr);
  const text = Buffer.concat(chunks).toString('latin1');
  const frames = count(text, SYNC_BEGIN);
  assert.equal(count(text, SYNC_END), frames, 'every frame sent is whole');
  assert.ok(frames >= 1 && frames < CLIP_SEC * CLIP_FPS / 2, `${frames} of ${CLIP_SEC * CLIP_FPS} frames sent`);
  // Every frame it would have sent takes the reader ~CLIP_SEC * 20 s; skipping keeps it near CLIP_SEC.
  assert.ok(ms < CLIP_SEC * 1000 * 5, `took ${ms} ms for a ${CLIP_SEC} s clip`);
});

test('--dither: ordered mixes palette colours (more of them in 16 colours); a bad kind is one line, exit 2', async () => {
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is counted
  const colours = (r: Run) => new Set(r.stdout.toString('latin1').match(/\x1b\[[0-9;]*m/g) ?? []).size;
  const args = [clip, '--speed', 'max', '--cells', '40x12', '--render', 'blocks', '--colors', '16'];
  const plain = await play(args);
  const dithered = await play([...args, '--dither', 'ordered']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(dithered.code, 0, dithered.stderr);
  assert.ok(colours(dithered) > colours(plain), `${colours(dithered)} distinct SGRs dithered vs ${colours(plain)}`);
  const bad = await play([...args, '--dither', 'bogus']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /--dither must be one of none, ordered, noise/);
});

test('--symbols: octants on request, by auto only where the terminal draws them (VTE 0.78+), sextants otherwise; a bad set is one line, exit 2', async () => {
  const octants = (r: Run) => [...r.stdout.toString('utf8')].filter((c) => (c.codePointAt(0) ?? 0) >= 0x1cd00 && (c.codePointAt(0) ?? 0) <= 0x1cde5).length;
  const sextants = (r: Run) => [...r.stdout.toString('utf8')].filter((c) => (c.codePointAt(0) ?? 0) >= 0x1fb00 && (c.codePointAt(0) ?? 0) <= 0x1fb3b).length;
  const args = [clip, '--speed', 'max', '--cells', '40x12', '--render', 'symbols', '--colors', 'truecolor'];
  const plain = await play(args, { VTE_VERSION: '' });
  const asked = await play([...args, '--symbols', 'octants'], { VTE_VERSION: '' });
  const vte = await play(args, { VTE_VERSION: '7802' });
  const vteSextants = await play([...args, '--symbols', 'sextants'], { VTE_VERSION: '7802' });
  for (const r of [plain, asked, vte, vteSextants]) assert.equal(r.code, 0, r.stderr);
  assert.equal(octants(plain), 0, 'auto drew octants in an unknown terminal');
  assert.ok(sextants(plain) > 0, 'no sextants drawn');
  assert.ok(octants(asked) > 0, '--symbols octants drew none');
  assert.ok(octants(vte) > 0, 'auto in VTE 0.78 drew no octants');
  assert.equal(octants(vteSextants), 0, '--symbols sextants drew octants');
  const bad = await play([...args, '--symbols', 'braille']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /--symbols must be one of auto, sextants, octants/);
});

test('colour is scaled at full resolution: a 4:2:0 clip drawn as truecolor blocks is within 21.2 dB of the picture (20 dB when chroma was scaled at half)', async () => {
  const { psnr, reconstructPixels } = await import('../../src/codec/render/index.js');
  const png = join(dir, 'still.png');
  const still = join(dir, 'still.mkv');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480', '-frames:v', '1', png]);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', png, '-t', '1', '-r', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', still]);
  const r = await play([still, '--speed', 'max', '--cells', '80x30', '--render', 'blocks', '--colors', 'truecolor']);
  assert.equal(r.code, 0, r.stderr);
  const first = r.stdout.toString('latin1').split(SYNC_BEGIN).filter(Boolean)[0];
  // 80x30 cells of 1x2 pixels hold 4:3 exactly: the picture fills the area from the top left.
  assert.ok(first.startsWith('\x1b[1;1H'), JSON.stringify(first.slice(0, 12)));
  const reference = { width: 160, height: 180, data: new Uint8Array(execFileSync('ffmpeg', ['-v', 'error', '-i', png, '-vf', 'format=rgb24,scale=160:180:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'])) };
  const quality = psnr(reconstructPixels([Buffer.from(first, 'latin1')], { col: 0, row: 0, cols: 80, rows: 30 }), reference);
  assert.ok(quality >= 21.2, `PSNR ${quality.toFixed(2)} dB`);
});
