/**
 * docs/contract.md is what scripts rely on: its tables must say what the programs do and what
 * the man pages say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EXIT_CODES } from '../../src/cli/session/events.js';

const root = new URL('../../', import.meta.url).pathname;
const contract = readFileSync(`${root}docs/contract.md`, 'utf8');

function section(title: string): string {
  const start = contract.indexOf(`## ${title}`);
  assert.ok(start >= 0, `docs/contract.md has a section "${title}"`);
  const end = contract.indexOf('\n## ', start + 3);
  return contract.slice(start, end < 0 ? undefined : end);
}

test('the exit table of docs/contract.md is the one the client uses and videochat.1 prints', () => {
  const rows = [...section('4. Exit status of `videochat`').matchAll(/^\| (\d+) \| `([a-z-]+)` \|/gm)]
    .map((m) => [m[2], Number(m[1])] as const);
  assert.deepEqual(Object.fromEntries(rows), EXIT_CODES);
  const man = readFileSync(`${root}man/videochat.1`, 'utf8');
  const exitSection = man.slice(man.indexOf('.SH EXIT STATUS'), man.indexOf('.SH', man.indexOf('.SH EXIT STATUS') + 4));
  for (const [reason, code] of rows) {
    const manReason = reason.replace(/-/g, '\\-');
    assert.match(exitSection, new RegExp(`\\.B ${code}\\n\\.BR ${manReason.replace(/\\/g, '\\\\')} ?:`), `videochat.1 gives ${code} as ${reason}`);
  }
});

test('every videochatd option the contract names is in videochatd --help', () => {
  const help = execFileSync(process.execPath, [`${root}bin/videochatd.js`, '--help'], { encoding: 'utf8' });
  const named = [...section('1. `videochatd`').matchAll(/`(--[a-z-]+)`/g)].map((m) => m[1]);
  assert.ok(named.length >= 15, `found ${named.length} options in the contract`);
  for (const option of named) assert.match(help, new RegExp(`${option}\\b`), `${option} is in videochatd --help`);
});

test('every command the contract names has --help', () => {
  const commands = /Commands: (.+?)\./s.exec(section('2. `videochat`'))?.[1] ?? '';
  const names = [...commands.matchAll(/`([a-z]+)`/g)].map((m) => m[1]);
  assert.ok(names.length >= 6);
  for (const name of names) {
    const help = execFileSync(process.execPath, [`${root}bin/videochat.js`, name, '--help'], { encoding: 'utf8' });
    assert.match(help, new RegExp(`Usage: videochat ${name}`));
  }
});
