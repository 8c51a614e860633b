// `videochat doctor` on this machine: ffmpeg with our codecs, no sound card, no camera, no mic.
// It must pass (exit 0) with warnings, fail (exit 1) without ffmpeg, and see a real relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { VIDEOCHAT_BIN } from '../helpers/call.js';
import { startDaemon } from '../helpers/relay-client.js';

interface Check { name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix: string | null }
interface Report { ok: boolean; checks: Check[] }

function doctor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIDEOCHAT_BIN, 'doctor', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout: out, stderr: err }); });
  });
}

function check(report: Report, name: string): Check {
  const c = report.checks.find((x) => x.name === name);
  assert.ok(c, `no ${name} check in ${JSON.stringify(report)}`);
  return c;
}

/** A loopback port with nothing listening (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('on this machine: exit 0, ffmpeg and its codecs ok, the rest at most warnings, each with a fix', async () => {
  const r = await doctor([]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok\s+ffmpeg\s+\S*ffmpeg/m);
  assert.match(r.stdout, /^ok\s+ffmpeg codecs\s+encoders mjpeg, libx264, libopus; decoders mjpeg, h264, (lib)?opus/m);
  // No camera or mic here: warnings with a fix line under each.
  assert.match(r.stdout, /^warn\s+camera[^\n]*\n\s+fix: /m);
  assert.match(r.stdout, /^warn\s+microphone[^\n]*\n\s+fix: /m);
  assert.match(r.stdout, /ready for calls/);
  // ffmpeg's version, not its copyright line.
  assert.match(r.stdout, /^ok\s+ffmpeg\s+\S*ffmpeg \(version \S+; found via \w+\)$/m);
  assert.doesNotMatch(r.stdout, /Copyright/);
});

test('--json: one object, ok true, every check with name, status, detail and a fix when not ok', async () => {
  const r = await doctor(['--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.ok, true);
  for (const c of report.checks) {
    assert.ok(['ok', 'warn', 'fail'].includes(c.status));
    assert.equal(typeof c.detail, 'string');
    if (c.status !== 'ok') assert.ok(c.fix && c.fix.length > 10, `${c.name} has a fix`);
  }
  assert.equal(check(report, 'ffmpeg').status, 'ok');
  assert.equal(check(report, 'ffmpeg codecs').status, 'ok');
  assert.equal(check(report, 'speaker').status, 'ok', 'the speaker module loads (in a child)');
  // No sound card here: the default output aborts in the child, a warning and never our crash.
  assert.equal(check(report, 'audio output').status, 'warn');
  assert.equal(check(report, 'camera').status, 'warn');
  assert.match(check(report, 'terminal').detail, /--render auto -> blocks, --colors auto -> truecolor/);
});

test('with the ALSA file-device configuration the audio output is ok', async () => {
  const { ASOUNDRC } = await import('../helpers/call.js');
  const r = await doctor(['--json'], { ALSA_CONFIG_PATH: ASOUNDRC });
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(check(report, 'ALSA default').status, 'ok');
  assert.equal(check(report, 'audio output').status, 'ok');
});

test('--ffmpeg /nonexistent: exit 1, ffmpeg fails with a fix hint', async () => {
  const r = await doctor(['--ffmpeg', '/nonexistent']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^fail\s+ffmpeg\s+ffmpeg not found: tried --ffmpeg \/nonexistent/m);
  assert.match(r.stdout, /fix: install ffmpeg/);
  assert.match(r.stdout, /not ready/);
  const j = JSON.parse((await doctor(['--ffmpeg', '/nonexistent', '--json'])).stdout) as Report;
  assert.equal(j.ok, false);
  assert.equal(check(j, 'ffmpeg').status, 'fail');
});

test('--host: a relay that is down fails (exit 3, not "ready for calls"), a running relay is ok', async () => {
  const port = await closedPort();
  const closed = await doctor(['--json', '--host', '127.0.0.1', '--video-port', String(port), '--audio-port', String(port)]);
  assert.equal(closed.code, 3, closed.stdout + closed.stderr);
  const report = JSON.parse(closed.stdout) as Report;
  assert.equal(report.ok, false);
  const relay = check(report, 'relay');
  assert.equal(relay.status, 'fail');
  assert.equal(relay.detail, `127.0.0.1 unreachable (video port: nothing listens at 127.0.0.1:${port}; audio port: nothing listens at 127.0.0.1:${port})`);
  const human = await doctor(['--host', '127.0.0.1', '--video-port', String(port), '--audio-port', String(port)]);
  assert.equal(human.code, 3);
  assert.match(human.stdout, /^fail\s+relay\s+127\.0\.0\.1 unreachable/m);
  assert.doesNotMatch(human.stdout, /ready for calls/);
  assert.match(human.stdout, /not ready: the relay at 127\.0\.0\.1 is unreachable/);
  const noHost = await doctor(['--host', 'nosuch.invalid', '--json']);
  assert.equal(noHost.code, 3);
  assert.match(check(JSON.parse(noHost.stdout) as Report, 'relay').detail, /(no such host|cannot look up) nosuch\.invalid/);
  const daemon = await startDaemon(['--log-level', 'warn']);
  try {
    const up = await doctor(['--json', '--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort)]);
    assert.equal(up.code, 0);
    const c = check(JSON.parse(up.stdout) as Report, 'relay');
    assert.equal(c.status, 'ok', c.detail);
    assert.equal(daemon.child.exitCode, null, 'the relay is still running after our connect+close');
  } finally {
    await daemon.stop();
  }
});
