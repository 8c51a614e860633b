import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { VIDEOCHATD_BIN, startDaemon } from '../helpers/relay-client.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [VIDEOCHATD_BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('usage errors exit 2 with one clear line on stderr', () => {
  const cases = [
    ['--video-port', '70000'],
    ['--video-port', 'abc'],
    ['--handlers', '0'],
    ['--handshake-timeout', '-1'],
    ['--wait-timeout', '0'],
    ['--max-pairs', '1.5'],
    ['--max-pending-handshakes', '0'],
    ['--max-connections-per-ip', '-1'],
    ['--max-connection-rate-per-ip', 'fast'],
    ['--max-buffer-bytes', '100'],
    ['--log-level', 'loud'],
    ['--max-room-size', '1'],
    ['--max-room-size', '33'],
    ['--max-room-size', '0'],
    ['--max-room-size', 'eight'],
    ['--bogus'],
    ['extra-argument'],
    ['--video-port', '5000', '--audio-port', '5000'],
  ];
  for (const args of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')} prints one line: ${r.stderr}`);
    assert.match(lines[0]!, /^videochatd: /);
    assert.equal(r.stdout, '');
    if (args[0] === '--max-room-size') assert.match(lines[0]!, /--max-room-size.*2\.\.32/, 'names the option and its range');
  }
});

test('a port in use exits 3 with one line', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = run(['--video-port', '0', '--audio-port', String(port)]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cannot bind audio port .*EADDRINUSE/);
  } finally {
    blocker.close();
  }
});

test('--version prints the package version; --help exits 0', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--fork-per-pair/);
});

test('the listening line is printed exactly once even with --log-level silent, on IPv4 and IPv6 loopback', async () => {
  const d = await startDaemon(['--log-level', 'silent', '--handlers', '1', '--metrics-port', '0']);
  try {
    const listening = d.lines.filter((l) => l.msg === 'listening');
    assert.equal(listening.length, 1);
    assert.equal(listening[0]!.pid, d.child.pid);
    assert.ok(d.metricsPort && d.metricsPort > 0);
    for (const host of ['127.0.0.1', '::1']) {
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host, port: d.videoPort }, () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
    }
    const res = await d.stop();
    assert.equal(res.code, 0);
    assert.equal(d.lines.filter((l) => l.msg === 'listening').length, 1);
    assert.equal(d.lines.length, 1, 'silent: nothing but the listening line');
  } finally {
    await d.stop();
  }
});

test('without --handlers the pool has one handler per CPU', async () => {
  const d = await startDaemon([]);
  try {
    const cpus = availableParallelism();
    const listening = d.lines.find((l) => l.msg === 'listening')!;
    assert.equal(listening.handlers, cpus);
    const started = await d.waitForLines((l) => l.msg === 'handler started', cpus);
    assert.equal(new Set(started.map((l) => l.handlerPid)).size, cpus);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});
