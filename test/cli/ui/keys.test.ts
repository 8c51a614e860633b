import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLAY_KEY_BINDINGS, actionForKey, findAction, keyFromRaw } from '../../../src/cli/ui/keys.js';

test('raw stdin bytes read as the keys Ink makes: Ctrl-C is c with ctrl, a lone ESC is escape', () => {
  assert.deepEqual(keyFromRaw('\x03'), { input: 'c', key: { ctrl: true } });
  assert.deepEqual(keyFromRaw('\x1b'), { input: '', key: { escape: true } });
  assert.deepEqual(keyFromRaw('q'), { input: 'q', key: {} });
  // An escape sequence (an arrow key) is not a lone ESC.
  assert.deepEqual(keyFromRaw('\x1b[A'), { input: '\x1b[A', key: {} });
});

test("play stops on q, Q, Ctrl-C and Esc, and on nothing else; the call's table is its own", () => {
  const play = (raw: string) => {
    const { input, key } = keyFromRaw(raw);
    return findAction(PLAY_KEY_BINDINGS, input, key);
  };
  for (const raw of ['q', 'Q', '\x03', '\x1b']) assert.equal(play(raw), 'stop', JSON.stringify(raw));
  for (const raw of ['m', ' ', '\x1b[A', '\x11', 'c']) assert.equal(play(raw), undefined, JSON.stringify(raw));
  assert.equal(actionForKey('q', {}), 'hangup');
  assert.equal(actionForKey('c', { ctrl: true }), 'hangup');
  assert.equal(actionForKey('Q', {}), undefined);
});
