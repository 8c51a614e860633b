/**
 * Terminal capability detection for `--render auto`: environment first, then (on a TTY only)
 * a few queries answered within a short timeout, with raw mode restored afterwards. Inside
 * tmux, tmux itself is asked about passthrough and the outer terminal.
 */
import { execFile } from 'node:child_process';
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import { chooseRenderMode, type TermEnv, type TmuxInfo } from './choose.js';
import { backgroundFromColorFgBg, capabilityQueries, CAPABILITY_QUERIES, hasDa1Reply, isLightColor, parseReplies, type QueryReplies } from './replies.js';

/** How long we wait for the terminal's replies; DA1 usually ends the wait much sooner. */
export const QUERY_TIMEOUT_MS = 150;
/** How long a `tmux` query may take. */
export const TMUX_QUERY_TIMEOUT_MS = 500;
/** Terminal size when the stream does not know it. */
export const FALLBACK_COLS = 80;
export const FALLBACK_ROWS = 24;
/**
 * xterm caps its XTSMGRAPHICS sixel-area reply at its largest sixel image (1000x1000 px by
 * default): a reply this large on either axis may be the cap, not the window, so no cell size
 * is derived from it.
 */
export const SIXEL_AREA_CAP_PX = 1000;

/** The parts of stdin detection uses (a tty.ReadStream fits). */
export interface DetectInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The parts of stdout detection uses (a tty.WriteStream fits). */
export interface DetectOutput {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  write(data: string): unknown;
}

/** What the terminal can do, and the mode `--render auto` picks. */
export interface Capabilities {
  isTTY: boolean;
  colors: ColorDepth;
  sixel: boolean;
  kitty: boolean;
  /** iTerm2 inline images (OSC 1337 File=). */
  iterm: boolean;
  tmux: boolean;
  /** Graphics escapes must be wrapped for tmux passthrough (`createRenderer(mode, { tmuxPassthrough })`). */
  tmuxPassthrough: boolean;
  /**
   * Inside tmux kitty images are shown through Unicode placeholders, whose cells carry the
   * image id as their colour: 24-bit when tmux tells the outer terminal has RGB, else 256.
   */
  kittyPlaceholderColors: 'truecolor' | 256;
  /** Cell size in pixels, when the terminal told us. */
  cellWidthPx?: number;
  cellHeightPx?: number;
  /**
   * The cell size is exact: told directly (16t), or a pixel area that divides evenly into the
   * cells. A cell size derived from an area with padding is approximate, and then sixel does
   * not redraw single cell rows (each would land a fraction of a pixel row off per row).
   */
  cellSizeExact: boolean;
  cols: number;
  rows: number;
  /**
   * The terminal's background: from its OSC 11 reply, else `COLORFGBG`; undefined when
   * neither told (then dark is assumed). The ascii ramp is inverted on a light one.
   */
  background?: 'light' | 'dark';
  chosenMode: RenderMode;
  /** The terminal draws Unicode 16's octants itself (`--symbols auto` then uses them). */
  octants: boolean;
  /** The raw replies, for `doctor` and debugging. */
  replies: QueryReplies;
}

/** Options of `detectCapabilities`. */
export interface DetectOptions {
  stdin: DetectInput;
  stdout: DetectOutput;
  env?: TermEnv;
  timeoutMs?: number;
  /** Ask tmux about passthrough (default: when TMUX is set). Tests may pass a fixed answer. */
  tmuxInfo?: TmuxInfo | (() => Promise<TmuxInfo>);
}

/** Send the queries and collect replies until DA1 or the timeout. Raw mode is restored. */
export async function queryTerminal(stdin: DetectInput, stdout: DetectOutput, timeoutMs: number, queries = CAPABILITY_QUERIES): Promise<QueryReplies> {
  const wasRaw = stdin.isRaw ?? false;
  let received = '';
  let listener: ((chunk: Buffer | string) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    stdin.setRawMode?.(true);
    await new Promise<void>((resolve) => {
      listener = (chunk) => {
        received += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
        if (hasDa1Reply(received)) resolve();
      };
      stdin.on('data', listener);
      stdin.resume();
      timer = setTimeout(resolve, timeoutMs);
      stdout.write(queries);
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (listener) stdin.removeListener('data', listener);
    stdin.pause();
    stdin.setRawMode?.(wasRaw);
  }
  return parseReplies(received);
}

/**
 * True inside tmux or GNU screen (also over ssh, where only TERM tells): both take an APC
 * string as the window title, so the kitty probe is not sent there.
 */
export function insideMultiplexer(env: TermEnv): boolean {
  const term = env.TERM ?? '';
  return Boolean(env.TMUX) || Boolean(env.STY) || term.startsWith('screen') || term.startsWith('tmux');
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout) => resolve(err ? '' : String(stdout)));
  });
}

/** Ask tmux whether passthrough is on and what the outer terminal is. Never throws. */
export async function askTmux(timeoutMs = TMUX_QUERY_TIMEOUT_MS): Promise<TmuxInfo> {
  const [passthrough, client] = await Promise.all([
    run('tmux', ['show-options', '-gqv', 'allow-passthrough'], timeoutMs),
    run('tmux', ['display-message', '-p', '#{client_termname}\t#{client_termfeatures}'], timeoutMs),
  ]);
  const [termname = '', features = ''] = client.trim().split('\t');
  return {
    passthrough: ['on', 'all'].includes(passthrough.trim()),
    clientTermname: termname || undefined,
    clientFeatures: features ? features.split(',') : [],
  };
}

/**
 * Detect the terminal's capabilities. Off a TTY nothing is asked: truecolor blocks. On a TTY
 * the terminal is queried once (about `timeoutMs`, less when it answers), and tmux is asked
 * about passthrough when running inside it.
 */
export async function detectCapabilities(opts: DetectOptions): Promise<Capabilities> {
  const env = opts.env ?? (process.env as TermEnv);
  const isTTY = Boolean(opts.stdin.isTTY && opts.stdout.isTTY);
  const cols = opts.stdout.columns || FALLBACK_COLS;
  const rows = opts.stdout.rows || FALLBACK_ROWS;
  let replies: QueryReplies = {};
  let tmux: TmuxInfo | undefined;
  if (isTTY) {
    const queries = capabilityQueries({ multiplexer: insideMultiplexer(env) });
    replies = await queryTerminal(opts.stdin, opts.stdout, opts.timeoutMs ?? QUERY_TIMEOUT_MS, queries);
    if (env.TMUX) tmux = typeof opts.tmuxInfo === 'function' ? await opts.tmuxInfo() : opts.tmuxInfo ?? (await askTmux());
  }
  const decision = chooseRenderMode(env, replies, { isTTY, tmux });
  let cellWidthPx = replies.cellPx?.width;
  let cellHeightPx = replies.cellPx?.height;
  // The text area from 14t, else the sixel area (xterm answers that one with 14t/16t refused).
  const area = replies.windowPx
    ?? (replies.sixelAreaPx && replies.sixelAreaPx.width < SIXEL_AREA_CAP_PX && replies.sixelAreaPx.height < SIXEL_AREA_CAP_PX ? replies.sixelAreaPx : undefined);
  let cellSizeExact = cellWidthPx !== undefined;
  if (cellWidthPx === undefined && area) {
    cellWidthPx = Math.floor(area.width / cols);
    cellHeightPx = Math.floor(area.height / rows);
    cellSizeExact = area.width % cols === 0 && area.height % rows === 0;
  }
  return {
    isTTY,
    colors: decision.colors,
    sixel: decision.sixel,
    kitty: decision.kitty,
    iterm: decision.iterm,
    tmux: decision.tmux,
    tmuxPassthrough: decision.passthrough,
    kittyPlaceholderColors: tmux?.clientFeatures?.includes('RGB') ? 'truecolor' : 256,
    cellWidthPx: cellWidthPx || undefined,
    cellHeightPx: cellHeightPx || undefined,
    cellSizeExact: cellSizeExact && Boolean(cellHeightPx),
    cols,
    rows,
    background: replies.background ? (isLightColor(replies.background) ? 'light' : 'dark') : backgroundFromColorFgBg(env.COLORFGBG),
    chosenMode: decision.mode,
    octants: decision.octants,
    replies,
  };
}
