import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { DAEMON_EXIT } from '../../src/daemon/exit-codes.js';
import { VIDEOCHATD_BIN } from '../helpers/relay-client.js';

function videochatd(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [VIDEOCHATD_BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, VIDEOCHATD_DEBUG: '', ...env } });
  return { status: r.status, stderr: r.stderr };
}

test('the exit-code table is the one man/videochatd.8 documents', () => {
  const page = readFileSync(new URL('../../man/videochatd.8', import.meta.url), 'utf8');
  const section = page.slice(page.indexOf('.SH EXIT STATUS'), page.indexOf('.SH ENVIRONMENT'));
  const documented = [...section.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(documented, [...new Set(Object.values(DAEMON_EXIT))].sort((a, b) => a - b));
});

test('a fatal error is one line; --log-level debug (either spelling) or VIDEOCHATD_DEBUG=1 adds its stack', async () => {
  const held = net.createServer();
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
  const port = (held.address() as net.AddressInfo).port;
  try {
    const bind = ['--host', '127.0.0.1', '--video-port', String(port), '--audio-port', '0'];
    const plain = videochatd(bind);
    assert.equal(plain.status, DAEMON_EXIT.bind);
    assert.match(plain.stderr, /^videochatd: cannot bind video port 127\.0\.0\.1:\d+: EADDRINUSE\n$/);
    for (const [args, env] of [[['--log-level', 'debug'], {}], [['--log-level=debug'], {}], [[], { VIDEOCHATD_DEBUG: '1' }]] as const) {
      const r = videochatd([...bind, ...args], env);
      assert.equal(r.status, DAEMON_EXIT.bind);
      assert.match(r.stderr, /^videochatd: cannot bind video port .*\nBindError: .*\n\s+at /);
    }
    const usage = videochatd(['--no-such-option', '--log-level', 'info']);
    assert.equal(usage.status, DAEMON_EXIT.usage);
    assert.equal(usage.stderr.trim().split('\n').length, 1);
  } finally {
    held.close();
  }
});
