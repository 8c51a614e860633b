import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const bin = new URL('../../bin/videochat.js', import.meta.url).pathname;
const manPath = new URL('../../man/videochat.1', import.meta.url).pathname;
const COMMANDS = ['connect', 'play', 'demo', 'doctor', 'devices', 'completion'];

function helpOptions(command: string): string[] {
  const out = execFileSync(process.execPath, [bin, command, '--help'], { encoding: 'utf8' });
  return [...out.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]).filter((o) => o !== '--help');
}

/** The long options the man page documents, from its `\-\-name` escapes. */
function manOptions(): Set<string> {
  const text = readFileSync(manPath, 'utf8');
  return new Set([...text.matchAll(/\\-\\-([a-z][a-z0-9\\-]*)/g)].map((m) => `--${m[1].replace(/\\-/g, '-')}`));
}

test('every option in --help of every command is documented in videochat.1', () => {
  const documented = manOptions();
  for (const command of COMMANDS) {
    for (const option of helpOptions(command)) {
      assert.ok(documented.has(option), `${command} ${option} is missing from man/videochat.1`);
    }
  }
});

test('every option videochat.1 documents exists in some --help', () => {
  const inHelp = new Set(COMMANDS.flatMap(helpOptions));
  for (const extra of ['--version', '--help']) inHelp.add(extra);
  for (const option of manOptions()) {
    assert.ok(inHelp.has(option), `man/videochat.1 documents ${option}, which no --help lists`);
  }
});

test('videochat.1 renders without groff warnings', () => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', manPath], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
});

test('usage errors are one line on stderr and exit 2', () => {
  const r = spawnSync(process.execPath, [bin, 'connect', '--bogus'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--bogus'/);
  const r2 = spawnSync(process.execPath, [bin, 'completion', 'tcsh'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
  assert.equal(r2.stderr.trim().split('\n').length, 1);
  assert.match(r2.stderr, /bash, zsh or fish/);
});

test('--version prints the package version and exits 0', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim(), pkg.version);
});

test('bash completion loads in bash and completes commands and options', () => {
  const script = execFileSync(process.execPath, [bin, 'completion', 'bash'], { encoding: 'utf8' });
  const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(videochat con); COMP_CWORD=1; _videochat; echo "\${COMPREPLY[@]}"
COMP_WORDS=(videochat connect --vid); COMP_CWORD=2; _videochat; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [first, second] = r.stdout.trim().split('\n');
  assert.equal(first, 'connect');
  assert.deepEqual(second.split(' ').sort(), ['--video-codec', '--video-in', '--video-port']);
});
