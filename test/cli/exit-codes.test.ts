import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FatalError, UsageError } from '../../src/codec/errors.js';
import { ProtocolError } from '../../src/codec/protocol/errors.js';
import { KeyConfirmationError, RecordRejectedError } from '../../src/codec/secure/errors.js';
import { EXIT_CODES, EXIT_FAILURE, callEndOf, endReasonOf, exitStatusOf, exitStatusSummary } from '../../src/cli/exit-codes.js';
import { MediaError } from '../../src/media/errors.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = `${root}bin/videochat.js`;

function videochat(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8', timeout: 20_000,
    env: { ...process.env, VIDEOCHAT_DEBUG: '', VIDEOCHAT_LOG_LEVEL: '', VIDEOCHAT_CONFIG: '/dev/null', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the exit-code table is the one man/videochat.1 documents, status by status and reason by reason', () => {
  const page = readFileSync(`${root}man/videochat.1`, 'utf8');
  const section = page.slice(page.indexOf('.SH EXIT STATUS'), page.indexOf('.SH SIGNALS'));
  const documented = [...section.matchAll(/^\.TP\n\.B (\d+)\n(?:\.BR ([a-z\\-]+) :)?/gm)]
    .map((m) => [Number(m[1]), m[2]?.replace(/\\-/g, '-')] as const);
  const table = [...Object.entries(EXIT_CODES).map(([reason, code]) => [code, reason] as const), [EXIT_FAILURE, undefined] as const]
    .sort((a, b) => a[0] - b[0]);
  assert.deepEqual(documented, table);
});

test('--help prints the same table', () => {
  const help = videochat(['--help']).stdout.replace(/\s+/g, ' ');
  assert.ok(help.includes(`Exit status: ${exitStatusSummary()}.`), help);
  for (const [reason, code] of Object.entries(EXIT_CODES)) assert.ok(exitStatusSummary().includes(`${code} ${reason}`));
});

test('errors carry only their code; the table gives reason and status', () => {
  const cases: Array<[Error, string | undefined, number]> = [
    [new UsageError('bad'), 'usage', 2],
    [new ProtocolError('E_FRAME_TOO_LARGE', 'big'), 'protocol', 6],
    [new KeyConfirmationError('E_INSECURE_MISMATCH', 'mode'), 'key-confirmation', 8],
    [new MediaError('E_CAPTURE_FAILED', 'camera'), 'media', 7],
    [new FatalError('E_PEER_VANISHED', 'gone'), 'peer-lost', 5],
    [new RecordRejectedError('E_AUTH', 'altered'), undefined, 1],
    [new Error('a bug'), undefined, 1],
  ];
  for (const [err, reason, status] of cases) {
    assert.equal(endReasonOf(err), reason, (err as { code?: string }).code);
    assert.equal(exitStatusOf(err), status);
    assert.equal('exitCode' in err, false);
    assert.equal('reason' in err, false);
  }
  assert.deepEqual(callEndOf(new Error('a bug')), { reason: 'media', message: 'internal error: a bug' });
  assert.deepEqual(callEndOf(new ProtocolError('E_NOT_VIDEOCHAT', 'not ours')), { reason: 'protocol', message: 'not ours' });
});

test('debug output: --log-level debug (flag, variable or the older VIDEOCHAT_DEBUG) adds the stack to the one line', () => {
  // A usage error thrown by the command itself, after the options are merged.
  const args = ['completion', 'tcsh'];
  const plain = videochat(args);
  assert.equal(plain.status, 2);
  assert.equal(plain.stderr.trim().split('\n').length, 1, plain.stderr);
  for (const [extra, env] of [[['--log-level', 'debug'], {}], [[], { VIDEOCHAT_LOG_LEVEL: 'debug' }], [[], { VIDEOCHAT_DEBUG: '1' }]] as const) {
    const r = videochat([...args, ...extra], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^videochat: .*\n\w*Error: .*\n\s+at /, JSON.stringify({ extra, env, stderr: r.stderr }));
  }
  const bad = videochat(['devices', '--log-level', 'trace']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "videochat: --log-level must be one of info, debug, got 'trace'\n");
});
