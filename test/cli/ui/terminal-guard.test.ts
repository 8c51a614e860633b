import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTER_SEQUENCE, RESTORE_SEQUENCE, TerminalGuard, mainScreenSequences } from '../../../src/cli/ui/terminal-guard.js';

function streams() {
  const written: string[] = [];
  const rawModes: boolean[] = [];
  return {
    written,
    rawModes,
    stdout: { write: (d: string) => written.push(d) },
    stdin: { isTTY: true, setRawMode: (m: boolean) => rawModes.push(m) },
  };
}

test('enter: alternate screen and hidden cursor; restore: every mode undone, raw mode off, once', () => {
  const s = streams();
  const guard = new TerminalGuard({ stdout: s.stdout, stdin: s.stdin, handleProcess: false });
  guard.enter();
  assert.deepEqual(s.written, [ENTER_SEQUENCE]);
  assert.ok(ENTER_SEQUENCE.includes('\x1b[?1049h'));
  assert.ok(ENTER_SEQUENCE.includes('\x1b[?25l'));
  guard.restore();
  guard.restore();
  assert.deepEqual(s.written, [ENTER_SEQUENCE, RESTORE_SEQUENCE]);
  for (const seq of ['\x1b[?25h', '\x1b[?1049l', '\x1b[0m', '\x1b[?2026l', '\x1b[?1000l', '\x1b[?1006l']) {
    assert.ok(RESTORE_SEQUENCE.includes(seq), JSON.stringify(seq));
  }
  assert.ok(RESTORE_SEQUENCE.indexOf('\x1b[?1049l') > RESTORE_SEQUENCE.indexOf('\x1b[?25h'), 'cursor shown before leaving, so the normal screen gets it');
  assert.deepEqual(s.rawModes, [false]);
});

test('restore before enter writes nothing', () => {
  const s = streams();
  new TerminalGuard({ stdout: s.stdout, stdin: s.stdin, handleProcess: false }).restore();
  assert.deepEqual(s.written, []);
});

test('process handlers are installed on enter and removed on restore', () => {
  const s = streams();
  const counts = () => ['SIGINT', 'SIGTERM', 'exit', 'uncaughtExceptionMonitor'].map((e) => process.listenerCount(e));
  const before = counts();
  const guard = new TerminalGuard({ stdout: s.stdout, stdin: s.stdin, onSignal: () => {} });
  guard.enter();
  assert.deepEqual(counts(), before.map((n) => n + 1));
  guard.restore();
  assert.deepEqual(counts(), before);
});

test('the first SIGTERM goes to onSignal (a polite hang-up), not straight to restore', () => {
  const s = streams();
  const signals: string[] = [];
  const guard = new TerminalGuard({ stdout: s.stdout, stdin: s.stdin, onSignal: (sig) => signals.push(sig) });
  guard.enter();
  process.emit('SIGTERM', 'SIGTERM');
  assert.deepEqual(signals, ['SIGTERM']);
  assert.equal(guard.isRestored, false);
  guard.restore();
});

test("play's main-screen modes: no alternate screen; the cursor ends below the picture, where it is then", () => {
  const s = streams();
  let below = 10;
  const guard = new TerminalGuard({ stdout: s.stdout, stdin: s.stdin, handleProcess: false, sequences: mainScreenSequences(() => below) });
  guard.enter();
  below = 17;
  guard.restore();
  assert.deepEqual(s.written, ['\x1b[?25l\x1b[2J', '\x1b[0m\x1b[17;1H\x1b[?25h\n']);
  assert.ok(!s.written.join('').includes('\x1b[?1049'), 'the last picture stays on the main screen');
  assert.deepEqual(s.rawModes, [false]);
  // Off a terminal: nothing at all is written.
  const quiet = streams();
  const off = new TerminalGuard({ stdout: quiet.stdout, handleProcess: false, sequences: { enter: '', restore: () => '' } });
  off.enter();
  off.restore();
  assert.deepEqual(quiet.written, []);
});
