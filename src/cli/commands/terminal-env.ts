/**
 * What `--render auto` and `--colors auto` pick from the environment alone, without querying
 * the terminal (no escape sequences sent, no reply awaited). `doctor` reports it, and `play`
 * uses it when stdin or stdout is not a terminal (with both, `play` asks the terminal, as
 * `connect` does). Off a TTY the answer is fixed: truecolor blocks.
 *
 * The decision itself is src/cli/term's chooseRenderMode with no query replies.
 */
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import type { ColorsChoice, RenderChoice } from '../options.js';
import { chooseRenderMode } from '../term/index.js';

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

/**
 * The renderer and colour depth for a command writing to stdout (`isTTY` = stdout is a
 * terminal), from the environment alone: the same rules as `connect`'s detection
 * (src/cli/term), without sending queries, so sixel is picked only where TERM names a sixel
 * terminal.
 */
export function chooseRendering(render: RenderChoice, colors: ColorsChoice, env: NodeJS.ProcessEnv, isTTY: boolean): RenderChoiceResult {
  const decision = chooseRenderMode(env, {}, { isTTY });
  const depth: ColorDepth = colors === 'auto' ? decision.colors : colors === 'truecolor' ? 'truecolor' : (Number(colors) as 16 | 256);
  const mode: RenderMode | null = render === 'none' ? null : render === 'auto' ? decision.mode : render;
  return { mode, colors: depth };
}
