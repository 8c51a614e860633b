/**
 * What `--render auto` and `--colors auto` pick from the environment alone, without querying
 * the terminal (no escape sequences sent, no reply awaited). `play` uses it on a TTY and
 * `doctor` reports it. Off a TTY the answer is fixed: truecolor blocks.
 *
 * Until terminal queries land (src/cli/term), this is deliberately conservative: kitty
 * graphics only where the environment names a kitty-protocol terminal outside tmux, sixel
 * never (only a DA1 query can tell), half blocks everywhere else.
 */
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import type { ColorsChoice, RenderChoice } from '../options.js';

/** What the environment says about the terminal. */
export interface TerminalEnv {
  truecolor: boolean;
  colors256: boolean;
  kitty: boolean;
  tmux: boolean;
  /** TERM, for the report. */
  term: string;
  /** TERM_PROGRAM, for the report. */
  program: string;
}

/** Reads the terminal-related variables. */
export function readTerminalEnv(env: NodeJS.ProcessEnv): TerminalEnv {
  const term = env.TERM ?? '';
  const program = env.TERM_PROGRAM ?? '';
  const tmux = Boolean(env.TMUX) || /^(tmux|screen)/.test(term);
  return {
    truecolor: /truecolor|24bit/i.test(env.COLORTERM ?? '') || /-direct$/.test(term),
    colors256: /256/.test(term),
    kitty: Boolean(env.KITTY_WINDOW_ID) || term === 'xterm-kitty' || /^(ghostty|WezTerm)$/.test(program),
    tmux,
    term,
    program,
  };
}

export interface RenderChoiceResult {
  /** null for `--render none`: decode (and play sound) but draw nothing. */
  mode: RenderMode | null;
  colors: ColorDepth;
}

/** The renderer and colour depth for a command writing to stdout (`isTTY` = stdout is a terminal). */
export function chooseRendering(render: RenderChoice, colors: ColorsChoice, env: NodeJS.ProcessEnv, isTTY: boolean): RenderChoiceResult {
  const t = readTerminalEnv(env);
  let depth: ColorDepth;
  if (colors !== 'auto') depth = colors === 'truecolor' ? 'truecolor' : (Number(colors) as 16 | 256);
  else if (!isTTY) depth = 'truecolor';
  else depth = t.truecolor ? 'truecolor' : t.colors256 ? 256 : 16;
  let mode: RenderMode | null;
  if (render === 'none') mode = null;
  else if (render !== 'auto') mode = render;
  else if (!isTTY) mode = 'blocks';
  else mode = t.kitty && !t.tmux ? 'kitty' : 'blocks';
  return { mode, colors: depth };
}
