import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backgroundFromColorFgBg, capabilityQueries, chooseRenderMode, colorDepthFromEnv, drawsOctants, insideMultiplexer, isLightColor, parseReplies, hasDa1Reply, type TermEnv, type QueryReplies, type TmuxInfo } from '../../../src/cli/term/index.js';

/** Replies recorded from real terminals. */
const XTERM_VT340_DA1 = '\x1b[?63;1;2;4;6;9;15;16;22;28c';
const XTERM_DA1 = '\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c';
const XTERM_14T_16T = '\x1b[4;390;600t\x1b[6;13;6t';
const TMUX_DA1 = '\x1b[?1;2c';
const XTERM_VT340_SIXEL_AREA = '\x1b[?2;0;480;390S';
const KITTY_REPLIES = '\x1b_Gi=31;OK\x1b\\\x1b[4;1080;1920t\x1b[6;20;10t\x1b[?62;c';
const NOT_KITTY_REPLY = '\x1b_Gi=31;ENOTSUPPORTED:no graphics\x1b\\';

test('parseReplies: DA1, 14t, 16t and the kitty answer, recorded from real terminals', () => {
  assert.deepEqual(parseReplies(XTERM_VT340_DA1), { da1: [63, 1, 2, 4, 6, 9, 15, 16, 22, 28] });
  assert.deepEqual(parseReplies(XTERM_14T_16T + XTERM_DA1), {
    da1: [64, 1, 2, 6, 9, 15, 16, 17, 18, 21, 22, 28], windowPx: { width: 600, height: 390 }, cellPx: { width: 6, height: 13 },
  });
  assert.deepEqual(parseReplies(KITTY_REPLIES), { da1: [62], windowPx: { width: 1920, height: 1080 }, cellPx: { width: 10, height: 20 }, kittyGraphics: true });
  assert.equal(parseReplies(NOT_KITTY_REPLY).kittyGraphics, false);
  assert.deepEqual(parseReplies('garbage\x1b[6;0;0t'), {});
  assert.equal(hasDa1Reply(XTERM_14T_16T), false);
  // xterm refuses 14t/16t by default but tells its sixel area (80x30 cells of 6x13).
  assert.deepEqual(parseReplies(XTERM_VT340_SIXEL_AREA + XTERM_VT340_DA1), { da1: [63, 1, 2, 4, 6, 9, 15, 16, 22, 28], sixelAreaPx: { width: 480, height: 390 } });
  assert.deepEqual(parseReplies('\x1b[?2;3;0S'), {}, 'an XTSMGRAPHICS failure status is not an area');
  assert.equal(hasDa1Reply(XTERM_14T_16T + TMUX_DA1), true);
});

const tty = { isTTY: true };
type Case = [string, TermEnv, string, { isTTY: boolean; tmux?: TmuxInfo }, string, string | number];

const cases: Case[] = [
  // name, env, replies, context, expected mode, expected colours
  ['off a TTY: truecolor blocks whatever the env says', { TERM: 'xterm-kitty', KITTY_WINDOW_ID: '1' }, '', { isTTY: false }, 'blocks', 'truecolor'],
  ['off a TTY with TERM=dumb', { TERM: 'dumb' }, '', { isTTY: false }, 'blocks', 'truecolor'],
  ['kitty by TERM', { TERM: 'xterm-kitty' }, '', tty, 'kitty', 'truecolor'],
  ['kitty by window id', { TERM: 'xterm-256color', KITTY_WINDOW_ID: '3' }, '', tty, 'kitty', 'truecolor'],
  ['ghostty by TERM_PROGRAM', { TERM: 'xterm-ghostty', TERM_PROGRAM: 'ghostty' }, '', tty, 'kitty', 'truecolor'],
  ['wezterm by TERM_PROGRAM: iTerm2 images (its kitty graphics are off by default)', { TERM: 'xterm-256color', TERM_PROGRAM: 'WezTerm' }, '', tty, 'iterm', 'truecolor'],
  ['wezterm with kitty graphics on: the probe says OK', { TERM: 'xterm-256color', TERM_PROGRAM: 'WezTerm' }, KITTY_REPLIES, tty, 'kitty', 'truecolor'],
  ['iTerm2 over ssh: LC_TERMINAL', { TERM: 'xterm-256color', LC_TERMINAL: 'iTerm2' }, '\x1b[?62;4c', tty, 'iterm', 256],
  ['iTerm2 by XTVERSION (sixel too: iTerm2 images win)', { TERM: 'xterm-256color' }, '\x1bP>|iTerm2 3.5.0\x1b\\\x1b[?62;4c', tty, 'iterm', 256],
  ['mintty', { TERM: 'xterm', TERM_PROGRAM: 'mintty' }, '\x1b[?64;1;2;4c', tty, 'iterm', 256],
  ['mlterm (sixel too)', { TERM: 'xterm', MLTERM: '3.9.0' }, '\x1b[?63;1;2;3;4;7;29c', tty, 'iterm', 256],
  ['Konsole 22.12', { TERM: 'xterm-256color', KONSOLE_VERSION: '221203' }, '\x1b[?62;c', tty, 'iterm', 256],
  ['Konsole 21.12: no images', { TERM: 'xterm-256color', KONSOLE_VERSION: '211203' }, '\x1b[?62;c', tty, 'blocks', 256],
  ['VS Code with images on (its DA1 has sixel)', { TERM: 'xterm-256color', TERM_PROGRAM: 'vscode' }, '\x1b[?62;4;9;22c', tty, 'iterm', 'truecolor'],
  ['kitty by XTVERSION', { TERM: 'xterm-256color' }, '\x1bP>|kitty(0.35.2)\x1b\\\x1b[?62;c', tty, 'kitty', 256],
  ['xterm by XTVERSION: not iTerm2', { TERM: 'xterm' }, '\x1bP>|XTerm(379)\x1b\\' + XTERM_VT340_DA1, tty, 'sixel', 256],
  ['tmux from iTerm2 with passthrough', { TERM: 'tmux-256color', TMUX: '/tmp/t,1,0', LC_TERMINAL: 'iTerm2' }, '\x1bP>|tmux 3.3a\x1b\\' + TMUX_DA1, { isTTY: true, tmux: { passthrough: true, clientTermname: 'xterm-256color' } }, 'iterm', 256],
  ['tmux from iTerm2 without passthrough', { TERM: 'tmux-256color', TMUX: '/tmp/t,1,0', LC_TERMINAL: 'iTerm2' }, TMUX_DA1, { isTTY: true, tmux: { passthrough: false, clientTermname: 'xterm-256color' } }, 'blocks', 256],
  ['kitty by its reply to the graphics query', { TERM: 'xterm-256color' }, KITTY_REPLIES, tty, 'kitty', 256],
  ['xterm -ti vt340: DA1 says sixel', { TERM: 'xterm' }, XTERM_VT340_DA1, tty, 'sixel', 256],
  ['xterm without sixel, truecolor', { TERM: 'xterm-256color', COLORTERM: 'truecolor' }, XTERM_DA1 + XTERM_14T_16T, tty, 'blocks', 'truecolor'],
  ['foot: sixel by TERM when DA1 is missing', { TERM: 'foot' }, '', tty, 'sixel', 256],
  ['DA1 overrides a sixel-looking TERM', { TERM: 'foot' }, XTERM_DA1, tty, 'blocks', 256],
  ['iTerm2: its inline images, truecolor', { TERM: 'xterm-256color', TERM_PROGRAM: 'iTerm.app' }, '\x1b[?62;22c', tty, 'iterm', 'truecolor'],
  ['Apple Terminal: 256 colours', { TERM: 'xterm-256color', TERM_PROGRAM: 'Apple_Terminal' }, '\x1b[?1;2c', tty, 'blocks', 256],
  ['vscode (images off: no sixel in DA1): truecolor blocks', { TERM: 'xterm-256color', TERM_PROGRAM: 'vscode' }, '\x1b[?62;9;22c', tty, 'blocks', 'truecolor'],
  ['COLORTERM=24bit', { TERM: 'xterm', COLORTERM: '24bit' }, '', tty, 'blocks', 'truecolor'],
  ['TERM=*-direct', { TERM: 'xterm-direct' }, '', tty, 'blocks', 'truecolor'],
  ['Windows Terminal', { TERM: 'xterm-256color', WT_SESSION: 'abc' }, '', tty, 'blocks', 'truecolor'],
  ['Linux console: 16 colours', { TERM: 'linux' }, '\x1b[?6c', tty, 'blocks', 16],
  ['vt100: 16 colours', { TERM: 'vt100' }, '', tty, 'blocks', 16],
  ['plain xterm: 256', { TERM: 'xterm' }, XTERM_DA1, tty, 'blocks', 256],
  ['dumb terminal: ascii', { TERM: 'dumb' }, '', tty, 'ascii', 'mono'],
  ['NO_COLOR: ascii', { TERM: 'xterm-256color', NO_COLOR: '1' }, '', tty, 'ascii', 'mono'],
  ['empty NO_COLOR is ignored', { TERM: 'xterm-256color', NO_COLOR: '' }, '', tty, 'blocks', 256],
  ['no TERM at all', {}, '', tty, 'blocks', 16],
  ['tmux without passthrough: text even in kitty', { TERM: 'tmux-256color', TMUX: '/tmp/tmux-0/default,1,0', KITTY_WINDOW_ID: '1' }, TMUX_DA1, { isTTY: true, tmux: { passthrough: false, clientTermname: 'xterm-kitty' } }, 'blocks', 'truecolor'],
  ['tmux with passthrough in kitty', { TERM: 'tmux-256color', TMUX: '/tmp/tmux-0/default,1,0' }, TMUX_DA1, { isTTY: true, tmux: { passthrough: true, clientTermname: 'xterm-kitty' } }, 'kitty', 256],
  ['tmux with passthrough, outer sixel feature', { TERM: 'screen-256color', TMUX: '/tmp/t,1,0' }, TMUX_DA1, { isTTY: true, tmux: { passthrough: true, clientTermname: 'xterm', clientFeatures: ['256', 'RGB', 'sixel'] } }, 'sixel', 256],
  ['tmux with passthrough, outer plain xterm', { TERM: 'screen-256color', TMUX: '/tmp/t,1,0', COLORTERM: 'truecolor' }, TMUX_DA1, { isTTY: true, tmux: { passthrough: true, clientTermname: 'xterm-256color', clientFeatures: ['RGB'] } }, 'blocks', 'truecolor'],
  ['tmux, DA1 from tmux never means sixel of the outer terminal', { TERM: 'tmux-256color', TMUX: '/tmp/t,1,0' }, XTERM_VT340_DA1, { isTTY: true, tmux: { passthrough: false } }, 'blocks', 256],
  ['tmux with no answer from tmux', { TERM: 'screen', TMUX: '/tmp/t,1,0' }, '', { isTTY: true }, 'blocks', 256],
];

for (const [name, env, replies, ctx, mode, colors] of cases) {
  test(`chooseRenderMode: ${name}`, () => {
    const d = chooseRenderMode(env, parseReplies(replies) as QueryReplies, ctx);
    assert.equal(d.mode, mode);
    assert.equal(d.colors, colors);
    assert.equal(d.tmux, Boolean(env.TMUX));
    if (d.passthrough) assert.ok(d.mode === 'kitty' || d.mode === 'sixel' || d.mode === 'iterm', 'passthrough only for graphics');
  });
}

test('colorDepthFromEnv never answers mono for a colour terminal', () => {
  for (const TERM of ['xterm', 'xterm-256color', 'screen', 'tmux-256color', 'rxvt-unicode-256color', 'alacritty']) {
    assert.notEqual(colorDepthFromEnv({ TERM }), 'mono', TERM);
  }
});

test('OSC 11: the background colour from ST- and BEL-ended replies, 1 to 4 hex digits a channel', () => {
  assert.deepEqual(parseReplies('\x1b]11;rgb:f0f0/f0f0/e0e0\x1b\\\x1b[?1;2c').background, { r: 240, g: 240, b: 224 });
  assert.deepEqual(parseReplies('\x1b]11;rgb:00/00/00\x07').background, { r: 0, g: 0, b: 0 });
  assert.deepEqual(parseReplies('\x1b]11;rgb:f/8/0\x07').background, { r: 255, g: 136, b: 0 });
  assert.deepEqual(parseReplies('\x1b]11;rgba:ffff/ffff/ffff/ffff\x1b\\').background, { r: 255, g: 255, b: 255 });
  assert.equal(parseReplies('\x1b]11;rgb:ffff/ffff\x1b\\').background, undefined, 'two channels are not a colour');
  assert.equal(parseReplies('\x1b]11;rgb:ffff/ffff/ffff').background, undefined, 'an unended reply is not taken');
  assert.equal(isLightColor({ r: 240, g: 240, b: 224 }), true);
  assert.equal(isLightColor({ r: 192, g: 192, b: 192 }), true);
  assert.equal(isLightColor({ r: 0, g: 43, b: 54 }), false, 'solarized dark');
  assert.equal(isLightColor({ r: 253, g: 246, b: 227 }), true, 'solarized light');
});

test('COLORFGBG: the last field is the background palette entry', () => {
  assert.equal(backgroundFromColorFgBg('0;15'), 'light');
  assert.equal(backgroundFromColorFgBg('0;default;7'), 'light');
  assert.equal(backgroundFromColorFgBg('15;0'), 'dark');
  assert.equal(backgroundFromColorFgBg('7;8'), 'dark');
  assert.equal(backgroundFromColorFgBg('15;default'), undefined);
  assert.equal(backgroundFromColorFgBg(undefined), undefined);
});

test('the kitty probe (an APC string: tmux and screen take it as the title) is not sent inside a multiplexer', () => {
  assert.ok(capabilityQueries({ multiplexer: false }).includes('\x1b_G'));
  assert.ok(!capabilityQueries({ multiplexer: true }).includes('\x1b_'));
  for (const q of [capabilityQueries({ multiplexer: true }), capabilityQueries({ multiplexer: false })]) {
    assert.ok(q.endsWith('\x1b[c'), 'DA1 last');
    assert.ok(q.includes('\x1b]11;?\x1b\\'), 'the background is asked');
  }
  assert.equal(insideMultiplexer({ TMUX: '/tmp/tmux-0/default,1,0', TERM: 'tmux-256color' }), true);
  assert.equal(insideMultiplexer({ TERM: 'screen-256color' }), true, 'over ssh only TERM tells');
  assert.equal(insideMultiplexer({ TERM: 'xterm-256color', STY: '123.pts-0.host' }), true);
  assert.equal(insideMultiplexer({ TERM: 'xterm-kitty' }), false);
});

test('XTVERSION: the name and version from the DCS reply', () => {
  assert.equal(parseReplies('\x1bP>|iTerm2 3.5.0\x1b\\\x1b[?62;4c').xtversion, 'iTerm2 3.5.0');
  assert.equal(parseReplies('\x1bP>|XTerm(379)\x1b\\').xtversion, 'XTerm(379)');
  assert.equal(parseReplies('\x1bP>|tmux 3.3a\x1b\\').xtversion, 'tmux 3.3a');
  assert.equal(parseReplies('\x1bP>|unended').xtversion, undefined);
  assert.ok(capabilityQueries({ multiplexer: false }).includes('\x1b[>q'));
});

test('drawsOctants: only terminals whose release draws them itself, by version; never inside a multiplexer', () => {
  const xt = (v: string): QueryReplies => parseReplies(`\x1bP>|${v}\x1b\\`);
  const cases: [string, TermEnv, QueryReplies, boolean][] = [
    ['kitty 0.40.1', {}, xt('kitty(0.40.1)'), true],
    ['kitty 0.39.1', {}, xt('kitty(0.39.1)'), false],
    ['foot 1.20.2', {}, xt('foot(1.20.2)'), true],
    ['foot 1.16.2 (Debian 12)', {}, xt('foot(1.16.2)'), false],
    ['ghostty 1.2.0 by XTVERSION', {}, xt('ghostty 1.2.0'), true],
    ['ghostty 1.1.3 by TERM_PROGRAM_VERSION', { TERM_PROGRAM: 'ghostty', TERM_PROGRAM_VERSION: '1.1.3' }, {}, false],
    ['ghostty 1.2.3 by TERM_PROGRAM_VERSION', { TERM_PROGRAM: 'ghostty', TERM_PROGRAM_VERSION: '1.2.3' }, {}, true],
    ['VTE 0.78.2', { VTE_VERSION: '7802' }, {}, true],
    ['VTE 0.76.0', { VTE_VERSION: '7600' }, {}, false],
    ['xterm', { TERM: 'xterm-256color' }, xt('XTerm(379)'), false],
    ['WezTerm (asks the font)', { TERM_PROGRAM: 'WezTerm' }, xt('WezTerm 20240203-110809-5046fc22'), false],
    ['kitty 0.40 inside tmux', { TMUX: '/tmp/t,1,0' }, xt('kitty(0.40.1)'), false],
    ['VTE inside screen', { STY: '1.pts-0', VTE_VERSION: '7802' }, {}, false],
  ];
  for (const [name, env, replies, want] of cases) assert.equal(drawsOctants(env, replies), want, name);
  assert.equal(chooseRenderMode({ VTE_VERSION: '7802', TERM: 'xterm-256color' }, {}, { isTTY: true }).octants, true);
});
