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
  LC_TERMINAL?: string;
  KONSOLE_VERSION?: string;
  MLTERM?: string;
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
  /** iTerm2 inline images (OSC 1337 File=). */
  iterm: boolean;
  tmux: boolean;
  /** Graphics must be wrapped for tmux passthrough. */
  passthrough: boolean;
  /** The terminal is known to draw Unicode 16's octants itself (`--symbols auto` uses them). */
  octants: boolean;
}

/** DA1 attribute that announces sixel graphics. */
const DA1_SIXEL = 4;

/**
 * Terminals that speak the kitty graphics protocol, by TERM_PROGRAM. Not WezTerm: its kitty
 * graphics are off unless `enable_kitty_graphics` is set, so there only the probe's OK counts.
 */
const KITTY_PROGRAMS = new Set(['ghostty', 'kitty']);
/** Terminals that show iTerm2 inline images, by TERM_PROGRAM. */
const ITERM_PROGRAMS = new Set(['iTerm.app', 'WezTerm', 'mintty']);
/** ... and by their XTVERSION reply (`CSI > q`). */
const ITERM_VERSIONS = [/^iTerm2\b/, /^WezTerm\b/, /^mintty\b/, /^Konsole\b/];
/** Konsole shows them from 22.04 (its KONSOLE_VERSION is e.g. 221203). */
const KONSOLE_ITERM_VERSION = 220400;
/** Terminals known to show truecolor, by TERM_PROGRAM. */
const TRUECOLOR_PROGRAMS = new Set(['iTerm.app', 'WezTerm', 'vscode', 'ghostty', 'kitty', 'Hyper', 'rio']);
/** Terminals known to draw sixel without being asked (their DA1 may be hidden by tmux). */
const SIXEL_TERMS = [/^foot/, /^mlterm/, /^contour/, /sixel/];

function isKittyTerm(term: string): boolean {
  return term === 'xterm-kitty' || term === 'xterm-ghostty';
}

/**
 * iTerm2 inline images outside tmux: iTerm2 (also over ssh: LC_TERMINAL), WezTerm, mintty,
 * mlterm (its MLTERM variable), Konsole 22.04+, by environment or XTVERSION; VS Code's terminal only with its images on,
 * which is when its DA1 announces sixel (the same image add-on draws both).
 */
function speaksIterm(env: TermEnv, replies: QueryReplies): boolean {
  if (ITERM_PROGRAMS.has(env.TERM_PROGRAM ?? '') || env.LC_TERMINAL === 'iTerm2' || env.TERM === 'wezterm' || Boolean(env.MLTERM)) return true;
  if (replies.xtversion && ITERM_VERSIONS.some((re) => re.test(replies.xtversion ?? ''))) return true;
  if (Number(env.KONSOLE_VERSION ?? 0) >= KONSOLE_ITERM_VERSION) return true;
  return env.TERM_PROGRAM === 'vscode' && (replies.da1?.includes(DA1_SIXEL) ?? false);
}

/**
 * Terminals that draw the octants (U+1CD00..) themselves, whatever the font, from the
 * version their release notes give; by XTVERSION name and the first version that does.
 */
const OCTANT_VERSIONS: readonly { name: RegExp; since: number[] }[] = [
  { name: /^kitty\((\d+(?:\.\d+)*)/, since: [0, 40] },
  { name: /^foot\((\d+(?:\.\d+)*)/, since: [1, 20] },
  { name: /^ghostty (\d+(?:\.\d+)*)/i, since: [1, 2] },
];
/** VTE (GNOME Terminal, Tilix, ...) draws them from 0.78: its VTE_VERSION is e.g. 7802. */
const VTE_OCTANT_VERSION = 7800;

/** True when dotted version `v` is at least `since`. */
function atLeast(v: string, since: number[]): boolean {
  const parts = v.split('.').map(Number);
  for (let i = 0; i < since.length; i++) {
    const p = parts[i] ?? 0;
    if (p !== since[i]) return p > since[i];
  }
  return true;
}

/**
 * The terminal draws octants itself: by its XTVERSION reply (kitty 0.40+, foot 1.20+, ghostty
 * 1.2+), `TERM_PROGRAM=ghostty` with `TERM_PROGRAM_VERSION` 1.2+, or `VTE_VERSION` 7800+.
 * Conservative: a font may have them elsewhere, but a terminal that asks the font shows empty
 * boxes where it does not; inside tmux never (the outer terminal is not known well enough).
 */
export function drawsOctants(env: TermEnv, replies: QueryReplies): boolean {
  if (env.TMUX || env.STY) return false;
  const xtversion = replies.xtversion ?? '';
  for (const { name, since } of OCTANT_VERSIONS) {
    const m = name.exec(xtversion);
    if (m) return atLeast(m[1], since);
  }
  if (env.TERM_PROGRAM === 'ghostty' && env.TERM_PROGRAM_VERSION) return atLeast(env.TERM_PROGRAM_VERSION, [1, 2]);
  return Number(env.VTE_VERSION ?? 0) >= VTE_OCTANT_VERSION;
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
 * kitty graphics, else iTerm2 images (truecolor and lossless, where sixel has 256 colours),
 * else sixel, else half-blocks; ascii for dumb or colourless terminals. Inside tmux, graphics
 * only with passthrough on and an outer terminal that has them.
 */
export function chooseRenderMode(env: TermEnv, replies: QueryReplies, opts: { isTTY: boolean; tmux?: TmuxInfo }): RenderDecision {
  const tmux = Boolean(env.TMUX);
  if (!opts.isTTY) {
    return { mode: 'blocks', colors: 'truecolor', sixel: false, kitty: false, iterm: false, tmux, passthrough: false, octants: drawsOctants(env, replies) };
  }
  const colors = colorDepthFromEnv(env);
  const term = env.TERM ?? '';
  let kitty: boolean;
  let sixel: boolean;
  let iterm: boolean;
  let passthrough = false;
  if (tmux) {
    // Inside tmux, env and replies describe tmux; the outer terminal is what tmux reports.
    const outer = opts.tmux?.clientTermname ?? '';
    const features = opts.tmux?.clientFeatures ?? [];
    passthrough = opts.tmux?.passthrough ?? false;
    kitty = passthrough && (isKittyTerm(outer) || Boolean(env.KITTY_WINDOW_ID));
    sixel = passthrough && (features.includes('sixel') || SIXEL_TERMS.some((re) => re.test(outer)));
    // tmux started from iTerm2 keeps its LC_TERMINAL in the environment.
    iterm = passthrough && env.LC_TERMINAL === 'iTerm2';
    if (!kitty && !sixel && !iterm) passthrough = false;
  } else {
    kitty = replies.kittyGraphics === true || isKittyTerm(term) || Boolean(env.KITTY_WINDOW_ID) || KITTY_PROGRAMS.has(env.TERM_PROGRAM ?? '')
      || /^(kitty|ghostty)\b/i.test(replies.xtversion ?? '');
    sixel = replies.da1 ? replies.da1.includes(DA1_SIXEL) : SIXEL_TERMS.some((re) => re.test(term));
    iterm = speaksIterm(env, replies);
  }
  let mode: RenderMode;
  if (colors === 'mono') mode = 'ascii';
  else if (kitty) mode = 'kitty';
  else if (iterm) mode = 'iterm';
  else if (sixel) mode = 'sixel';
  else mode = 'blocks';
  return { mode, colors, sixel, kitty, iterm, tmux, passthrough, octants: drawsOctants(env, replies) };
}
