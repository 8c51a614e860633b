import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, wrapTmuxPassthrough } from '../../../src/codec/render/index.js';
import { frameOf } from './frames.js';

test('tmux passthrough doubles every ESC inside the DCS wrapper', () => {
  assert.equal(wrapTmuxPassthrough(Buffer.from('\x1bPq#0\x1b\\')).toString('latin1'), '\x1bPtmux;\x1b\x1bPq#0\x1b\x1b\\\x1b\\');
  assert.equal(wrapTmuxPassthrough(Buffer.alloc(0)).length, 0);
});

test('a renderer created for tmux keeps the cursor move outside and wraps the graphics', () => {
  const out = createRenderer('kitty', { tmuxPassthrough: true }).render(frameOf([[[255, 0, 0]]]), { col: 0, row: 0, cols: 1, rows: 1, colors: 'truecolor' });
  assert.ok(out.toString('latin1').startsWith('\x1b[1;1H\x1bPtmux;\x1b\x1b_Ga=T'));
  assert.ok(out.toString('latin1').endsWith('\x1b\x1b\\\x1b\\'));
});
