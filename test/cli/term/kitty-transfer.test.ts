import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKittyFileTransfer, kittyTransferMedium, KITTY_TRANSFER_MAX_PENDING, SHM_DIR } from '../../../src/cli/term/index.js';
import { UsageError } from '../../../src/codec/errors.js';
import { VIDEOCHAT_BIN } from '../../helpers/call.js';

const ours = (dir: string, pid = process.pid) => readdirSync(dir).filter((n) => n.startsWith(`videochat-tty-graphics-protocol-${pid}-`));

test('shm transfer: a file in /dev/shm holding exactly the pixels, named by its shm name; bounded while nobody reads; none left after close', () => {
  const t = createKittyFileTransfer('shm');
  assert.equal(t.medium, 's');
  const frames = Array.from({ length: 10 }, (_, k) => Uint8Array.from({ length: 640 * 480 * 3 }, (_, i) => (i * 31 + k) & 255));
  const names = frames.map((f) => t.put(f));
  for (const name of names) assert.match(name, /^\/videochat-tty-graphics-protocol-\d+-\d+$/);
  // Nobody reads them: only the last few are kept.
  assert.equal(ours(SHM_DIR).length, KITTY_TRANSFER_MAX_PENDING);
  const last = join(SHM_DIR, names[9].slice(1));
  assert.deepEqual(new Uint8Array(readFileSync(last)), frames[9]);
  assert.equal(statSync(last).mode & 0o777, 0o600);
  // The terminal took one itself: no error when we clean up.
  rmSync(join(SHM_DIR, names[8].slice(1)));
  t.close();
  t.close();
  assert.deepEqual(ours(SHM_DIR), []);
  assert.throws(() => t.put(frames[0]));
});

test('file transfer: the path contains tty-graphics-protocol and holds the pixels; stale files of dead processes are swept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kitty-transfer-'));
  try {
    // A file left by a videochat that died (pid 2^22 + 1 is above Linux's default pid_max).
    const stale = join(dir, `videochat-tty-graphics-protocol-${2 ** 22 + 1}-0`);
    writeFileSync(stale, 'x');
    const t = createKittyFileTransfer('file', { dir });
    assert.equal(existsSync(stale), false, 'stale file swept');
    assert.equal(t.medium, 't');
    const path = t.put(Uint8Array.of(1, 2, 3));
    assert.ok(path.startsWith(dir) && path.includes('tty-graphics-protocol'), path);
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    t.close();
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kittyTransferMedium: shm only for kitty itself on this machine, outside multiplexers; forced by VIDEOCHAT_KITTY_TRANSFER', () => {
  assert.equal(kittyTransferMedium({ KITTY_WINDOW_ID: '1' }, 'linux'), 'shm');
  assert.equal(kittyTransferMedium({ TERM: 'xterm-kitty' }, 'linux'), 'shm');
  assert.equal(kittyTransferMedium({ TERM: 'xterm-kitty', SSH_CONNECTION: '10.0.0.1 5 10.0.0.2 22' }, 'linux'), 'direct');
  assert.equal(kittyTransferMedium({ TERM: 'xterm-kitty', SSH_TTY: '/dev/pts/1' }, 'linux'), 'direct');
  assert.equal(kittyTransferMedium({ KITTY_WINDOW_ID: '1', TMUX: '/tmp/t,1,0' }, 'linux'), 'direct');
  assert.equal(kittyTransferMedium({ TERM: 'xterm-ghostty' }, 'linux'), 'direct');
  assert.equal(kittyTransferMedium({ KITTY_WINDOW_ID: '1' }, 'darwin'), 'direct');
  assert.equal(kittyTransferMedium({ VIDEOCHAT_KITTY_TRANSFER: 'file', SSH_TTY: '/dev/pts/1' }, 'linux'), 'file');
  assert.equal(kittyTransferMedium({ VIDEOCHAT_KITTY_TRANSFER: 'direct', KITTY_WINDOW_ID: '1' }, 'linux'), 'direct');
  assert.throws(() => kittyTransferMedium({ VIDEOCHAT_KITTY_TRANSFER: 'mmap' }), UsageError);
});

test('play --render kitty with VIDEOCHAT_KITTY_TRANSFER=shm and no terminal reading: escapes name shm objects, none left after the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kitty-play-'));
  try {
    const clip = join(dir, 'clip.mkv');
    const ff = spawn('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '1', '-c:v', 'mjpeg', clip]);
    await once(ff, 'exit');
    const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'play', clip, '--render', 'kitty', '--speed', 'max', '--cells', '40x12'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIDEOCHAT_KITTY_TRANSFER: 'shm' },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += String(d); });
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, err);
    const text = Buffer.concat(out).toString('latin1');
    // eslint-disable-next-line no-control-regex -- APC escapes are what is matched
    const names = [...text.matchAll(/\x1b_Ga=T,f=24,t=s,S=(\d+),[^;]*;([A-Za-z0-9+/=]+)\x1b\\/g)].map((m) => Buffer.from(m[2], 'base64').toString());
    assert.ok(names.length >= 1, 'no t=s escape');
    for (const n of names) assert.match(n, new RegExp(`^/videochat-tty-graphics-protocol-${child.pid}-\\d+$`));
    assert.ok(text.length < names.length * 2000, `${text.length} bytes for ${names.length} frames: pixels in the stream`);
    assert.deepEqual(ours(SHM_DIR, child.pid!), [], 'shm objects left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
