import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  assert.equal(r.stderr, "videochat: unknown option '--bogus'; see videochat connect --help\n");
  const typo = spawnSync(process.execPath, [bin, 'connect', '--hots', 'x'], { encoding: 'utf8' });
  assert.equal(typo.status, 2);
  assert.equal(typo.stderr, "videochat: unknown option '--hots' (did you mean --host?); see videochat connect --help\n");
  const noCommand = spawnSync(process.execPath, [bin, 'conect'], { encoding: 'utf8' });
  assert.equal(noCommand.status, 2);
  assert.equal(noCommand.stderr, "videochat: unknown command 'conect' (did you mean connect?); see videochat --help\n");
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

/** Whether a program can be run here (zsh and fish come with `scripts/setup.sh --test`). */
function has(program: string): boolean {
  return spawnSync(program, ['--version'], { encoding: 'utf8' }).status === 0;
}

test('zsh completion parses, loads under compinit and registers _videochat', (t) => {
  if (!has('zsh')) {
    t.skip('zsh is not installed');
    return;
  }
  const script = execFileSync(process.execPath, [bin, 'completion', 'zsh'], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'videochat-zsh-'));
  try {
    const file = join(dir, '_videochat');
    writeFileSync(file, script);
    const syntax = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    const r = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${file} && print -r -- "$_comps[videochat]"`],
      { encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '_videochat');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fish completion loads in fish and completes commands and options', (t) => {
  if (!has('fish')) {
    t.skip('fish is not installed');
    return;
  }
  const script = execFileSync(process.execPath, [bin, 'completion', 'fish'], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'videochat-fish-'));
  try {
    const file = join(dir, 'videochat.fish');
    writeFileSync(file, script);
    const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C 'videochat con'; echo ---; complete -C 'videochat connect --video-'`],
      { encoding: 'utf8', env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir }, timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const [commands, options] = r.stdout.split('---\n');
    assert.deepEqual(commands.trim().split('\n').map((l) => l.split('\t')[0]), ['connect']);
    assert.deepEqual(options.trim().split('\n').map((l) => l.split('\t')[0]).sort(), ['--video-codec', '--video-in', '--video-port']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const daemonBin = new URL('../../bin/videochatd.js', import.meta.url).pathname;
const daemonManPath = new URL('../../man/videochatd.8', import.meta.url).pathname;

test('videochatd --help and videochatd.8 list the same options', () => {
  const help = execFileSync(process.execPath, [daemonBin, '--help'], { encoding: 'utf8' });
  const inHelp = new Set([...help.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]));
  // In EXAMPLES, only the videochatd command lines: the others are systemctl, curl, jq.
  const [body, examples = ''] = readFileSync(daemonManPath, 'utf8').split('.SH EXAMPLES');
  const text = body + examples.split('\n').filter((l) => l.startsWith('videochatd ')).join('\n');
  const inMan = new Set([...text.matchAll(/\\-\\-([a-z][a-z0-9\\-]*)/g)].map((m) => `--${m[1].replace(/\\-/g, '-')}`));
  assert.ok(inHelp.size >= 10, `too few options parsed from --help: ${[...inHelp].join(' ')}`);
  assert.deepEqual([...inHelp].filter((o) => !inMan.has(o)), [], 'in --help but not in man/videochatd.8');
  assert.deepEqual([...inMan].filter((o) => !inHelp.has(o)), [], 'in man/videochatd.8 but not in --help');
});

test('videochatd.8 renders without groff warnings', () => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', daemonManPath], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
});

test('every call key is documented in README and videochat.1', async () => {
  const { KEY_BINDINGS } = await import('../../src/cli/ui/keys.js');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const man = spawnSync('groff', ['-man', '-Tutf8', '-P-c', '-P-b', '-P-u', manPath], { encoding: 'utf8' }).stdout;
  const keys = /\n\s*KEYS\n([\s\S]*?)\n\s*EVENTS\n/.exec(man)?.[1] ?? '';
  assert.ok(keys, 'videochat.1 has a KEYS section');
  for (const { label } of KEY_BINDINGS) {
    assert.ok(readme.includes(`\`${label}\``), `README documents the key ${label}`);
    assert.match(keys, new RegExp(`(^|[\\s,])${label.replace(/[?]/g, '\\?')}([\\s,]|$)`, 'm'), `videochat.1 documents the key ${label}`);
  }
});
