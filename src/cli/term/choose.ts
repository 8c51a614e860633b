/**
 * `--render auto`: the render mode and colour depth for a terminal, decided from its
 * environment and its replies to our queries. Pure, so every combination is unit-tested.
 */
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import type { QueryReplies } from './replies.js';

/** The environment variables the decision reads. */
export interface TermEnv {
  TERM?: string;
  COLORTERM?: string;
  TERM_PROGRAM?: string;
  KITTY_WINDOW_ID?: string;
  TMUX?: string;
  NO_COLOR?: string;
  WT_SESSION?: string;
  [name: string]: string | undefined;
}

/** What we learned about tmux (only asked inside tmux). */
export interface TmuxInfo {
  /** `allow-passthrough` is on: DCS passthrough reaches the outer terminal. */
  passthrough: boolean;
  /** The outer terminal's TERM (`#{client_termname}`), e.g. `xterm-kitty`. */
  clientTermname?: string;
  /** tmux's view of the outer terminal's features (`#{client_termfeatures}`), e.g. `sixel`. */
  clientFeatures?: string[];
}

/** The decision, with its reasons' facts. */
export interface RenderDecision {
  mode: RenderMode;
  colors: ColorDepth;
  sixel: boolean;
  kitty: boolean;
  tmux: boolean;
  /** Graphics must be wrapped for tmux passthrough. */
  passthrough: boolean;
}

/** DA1 attribute that announces sixel graphics. */
const DA1_SIXEL = 4;

/** Terminals that speak the kitty graphics protocol, by TERM_PROGRAM. */
const KITTY_PROGRAMS = new Set(['ghostty', 'WezTerm', 'kitty']);
/** Terminals known to show truecolor, by TERM_PROGRAM. */
const TRUECOLOR_PROGRAMS = new Set(['iTerm.app', 'WezTerm', 'vscode', 'ghostty', 'kitty', 'Hyper', 'rio']);
/** Terminals known to draw sixel without being asked (their DA1 may be hidden by tmux). */
const SIXEL_TERMS = [/^foot/, /^mlterm/, /^contour/, /sixel/];

function isKittyTerm(term: string): boolean {
  return term === 'xterm-kitty' || term === 'xterm-ghostty' || term === 'wezterm';
}

/** Colour depth from the environment alone. */
export function colorDepthFromEnv(env: TermEnv): ColorDepth {
  const term = env.TERM ?? '';
  const colorterm = (env.COLORTERM ?? '').toLowerCase();
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 'mono';
  if (term === 'dumb') return 'mono';
  if (colorterm === 'truecolor' || colorterm === '24bit') return 'truecolor';
  if (term.endsWith('-direct') || isKittyTerm(term)) return 'truecolor';
  if (env.KITTY_WINDOW_ID || TRUECOLOR_PROGRAMS.has(env.TERM_PROGRAM ?? '') || env.WT_SESSION) return 'truecolor';
  if (term.includes('256color')) return 256;
  if (term === 'linux' || term === 'vt100' || term === 'vt220' || term === 'ansi' || term === 'cons25') return 16;
  if (term === '') return 16;
  // Plain `xterm`, `screen` and friends: every current emulator behind them has 256 colours.
  return 256;
}

/**
 * The mode for `--render auto`. Off a TTY: truecolor blocks (no queries were made). On a TTY:
 * kitty graphics, else sixel, else half-blocks; ascii for dumb or colourless terminals. Inside
 * tmux, graphics only with passthrough on and an outer terminal that has them.
 */
export function chooseRenderMode(env: TermEnv, replies: QueryReplies, opts: { isTTY: boolean; tmux?: TmuxInfo }): RenderDecision {
  const tmux = Boolean(env.TMUX);
  if (!opts.isTTY) {
    return { mode: 'blocks', colors: 'truecolor', sixel: false, kitty: false, tmux, passthrough: false };
  }
  const colors = colorDepthFromEnv(env);
  const term = env.TERM ?? '';
  let kitty: boolean;
  let sixel: boolean;
  let passthrough = false;
  if (tmux) {
    // Inside tmux, env and replies describe tmux; the outer terminal is what tmux reports.
    const outer = opts.tmux?.clientTermname ?? '';
    const features = opts.tmux?.clientFeatures ?? [];
    passthrough = opts.tmux?.passthrough ?? false;
    kitty = passthrough && (isKittyTerm(outer) || Boolean(env.KITTY_WINDOW_ID));
    sixel = passthrough && (features.includes('sixel') || SIXEL_TERMS.some((re) => re.test(outer)));
    if (!kitty && !sixel) passthrough = false;
  } else {
    kitty = replies.kittyGraphics === true || isKittyTerm(term) || Boolean(env.KITTY_WINDOW_ID) || KITTY_PROGRAMS.has(env.TERM_PROGRAM ?? '');
    sixel = replies.da1 ? replies.da1.includes(DA1_SIXEL) : SIXEL_TERMS.some((re) => re.test(term));
  }
  let mode: RenderMode;
  if (colors === 'mono') mode = 'ascii';
  else if (kitty) mode = 'kitty';
  else if (sixel) mode = 'sixel';
  else mode = 'blocks';
  return { mode, colors, sixel, kitty, tmux, passthrough };
}
