/**
 * `videochat play FILE`: a video file in the terminal with the call's renderers, and its
 * sound through the same audio sink as a call.
 *
 * One long-lived ffmpeg decodes the picture (paced with `-re` unless `--speed max`), scaled
 * to exactly the pixel size the renderer wants for the picture's place in the cell area, as
 * raw rgb24 on stdout; each frame is rendered and written once, wrapped in synchronized
 * output. A second ffmpeg decodes the sound to 48 kHz mono s16le, which takes the call's
 * receive pipeline (session/receive-pipeline.ts) into the audio sink (the speaker child).
 * Frames go to stdout even when it is not a terminal.
 *
 * Exit status: 0 at the end of the file (and on q / Ctrl-C), 2 when FILE is missing or
 * unreadable (a usage error: the argument is wrong), 7 when ffmpeg is missing, cannot read
 * FILE as media, or the file turns out corrupt part-way (playback stopped early with errors).
 */
import type { ChildProcess } from 'node:child_process';
import { RawFrameSplitter } from '../../codec/raw-frames.js';
import { createRenderer, type SymbolSet } from '../../codec/render/index.js';
import { wrapSynchronized } from '../../codec/render/sync.js';
import type { ColorDepth, Renderer, RenderMode, RenderTarget, RgbFrame } from '../../codec/render/types.js';
import { MediaError } from '../../media/errors.js';
import { ffmpegSupervisor } from '../../media/ffmpeg-process.js';
import { resolveFfmpeg } from '../../media/ffmpeg-path.js';
import { describeDeath, type ProcessDeath, type Supervisor } from '../../proc/supervisor.js';
import type { CommandContext, RawOptions } from '../program.js';
import { backgroundFromColorFgBg, detectCapabilities, drawsOctants, kittyTransferFor, kittyTransferMedium } from '../term/index.js';
import { PLAY_KEY_BINDINGS, findAction, keyFromRaw } from '../ui/keys.js';
import { PaintBudget } from '../ui/paint-budget.js';
import { scaleNearest } from '../ui/scale-frame.js';
import { TerminalGuard, mainScreenSequences } from '../ui/terminal-guard.js';
import { probeMedia, type MediaProbe } from './media-probe.js';
import { decodeSize, fitPicture } from './picture-fit.js';
import { chooseRendering } from './terminal-env.js';
import { checkReadable, playAudioArgs, playVideoArgs, resolvePlaySettings, type PlaySettings } from './play-settings.js';
import { ReceivePipeline } from '../session/receive-pipeline.js';

/** The cell area off a terminal when `--cells` is not given. */
export const DEFAULT_PIPE_CELLS = { cols: 80, rows: 24 } as const;
/**
 * Paced playback: the largest share of wall time frames may take to render and write. The
 * write blocks while the terminal swallows the frame, so this leaves a terminal slower than
 * the clip's frame rate time to draw (xterm repaints only when its input runs dry: kept
 * busy, it showed an empty window for a whole 90 s clip); the frames in between are skipped.
 */
export const PLAY_PAINT_MAX_SHARE = 0.5;
/**
 * A decode that ended with errors on stderr and fewer than this share of the frames the
 * container announced is a corrupt file (exit 7), not a normal end.
 */
export const MIN_PLAYED_RATIO = 0.9;
/** After the sound track ends, time allowed for the buffered audio to reach the speaker. */
export const AUDIO_TAIL_MS = 150;
/** Time ffmpeg gets to stop before SIGKILL. */
export const STOP_KILL_AFTER_MS = 1000;

const CLEAR_SCREEN = '\x1b[2J';

/** What `play` draws with: decided from the terminal's replies on a TTY, from the environment off one. */
export interface PlayTerminal {
  /** null for `--render none`. */
  mode: RenderMode | null;
  colors: ColorDepth;
  tmuxPassthrough: boolean;
  /** The terminal's background is light (OSC 11 or COLORFGBG): ascii inverts its ramp. */
  lightBackground?: boolean;
  /** Inside tmux kitty images go through Unicode placeholders, the image id in this colour form. */
  kittyPlaceholderColors?: 'truecolor' | 256;
  /** The cell size is exact: sixel may redraw single cell rows. */
  cellSizeExact?: boolean;
  /** Cell size in pixels when the terminal told us: sixel and kitty pictures are sized from it. */
  cellPx?: { width: number; height: number };
  /** Glyphs of the symbols mode (`--symbols`, auto resolved). */
  symbols?: SymbolSet;
}

/**
 * The renderer, colours and cell size for `play`. With both stdin and stdout a terminal it asks
 * the terminal (DA1, pixel sizes; `detectCapabilities`, as `connect` does), so a sixel picture
 * is sized from the real cells; otherwise it decides from the environment without a query.
 */
export async function choosePlayTerminal(s: Pick<PlaySettings, 'render' | 'colors'> & Partial<Pick<PlaySettings, 'symbols'>>, ctx: CommandContext): Promise<PlayTerminal> {
  const symbols = (octants: boolean): SymbolSet => (s.symbols === 'octants' || (s.symbols !== 'sextants' && octants) ? 'octants' : 'sextants');
  if (ctx.stdout.isTTY !== true || ctx.stdin.isTTY !== true) {
    const choice = chooseRendering(s.render, s.colors, ctx.env, ctx.stdout.isTTY === true);
    return {
      mode: choice.mode, colors: choice.colors, tmuxPassthrough: Boolean(ctx.env.TMUX),
      lightBackground: backgroundFromColorFgBg(ctx.env.COLORFGBG) === 'light', symbols: symbols(drawsOctants(ctx.env, {})),
    };
  }
  const caps = await detectCapabilities({ stdin: ctx.stdin, stdout: ctx.stdout, env: ctx.env });
  const colors: ColorDepth = s.colors === 'auto' ? caps.colors : s.colors === 'truecolor' ? 'truecolor' : (Number(s.colors) as 16 | 256);
  return {
    mode: s.render === 'none' ? null : s.render === 'auto' ? caps.chosenMode : s.render,
    colors,
    // Inside tmux a graphics mode only shows through passthrough, whether picked or forced.
    tmuxPassthrough: Boolean(ctx.env.TMUX),
    lightBackground: caps.background === 'light',
    kittyPlaceholderColors: caps.kittyPlaceholderColors,
    cellSizeExact: caps.cellSizeExact,
    ...(caps.cellWidthPx && caps.cellHeightPx ? { cellPx: { width: caps.cellWidthPx, height: caps.cellHeightPx } } : {}),
    symbols: symbols(caps.octants),
  };
}

/** How one supervised decoder ended: after its stdout was read to the end, or stopped by us. */
interface DecoderEnd {
  death: ProcessDeath | null;
  stderrErrors: string[];
}

/**
 * Starts a decoder and calls `onData` with its stdout chunks. The promise resolves when the
 * process has exited AND its stdout was read to the end (exit can come before the last bytes).
 */
function startDecoder(
  name: string, ffmpeg: string, args: string[], onData: (chunk: Buffer, child: ChildProcess) => void,
): { sup: Supervisor; ended: Promise<DecoderEnd> } {
  const sup = ffmpegSupervisor({
    name, ffmpeg, args: () => args, stdio: ['ignore', 'pipe', 'pipe'], killAfterMs: STOP_KILL_AFTER_MS,
  });
  const stderrErrors: string[] = [];
  sup.on('stderr', (line) => stderrErrors.push(line));
  const ended = new Promise<DecoderEnd>((resolve) => {
    let death: ProcessDeath | null | undefined;
    let stdoutDone = false;
    const maybe = (): void => {
      if (death !== undefined && stdoutDone) resolve({ death, stderrErrors });
    };
    sup.on('spawn', (child) => {
      child.stdout?.on('data', (chunk: Buffer) => onData(chunk, child));
      child.stdout?.on('close', () => { stdoutDone = true; maybe(); });
    });
    sup.on('died', (d) => {
      death = d;
      if (d.spawnError) stdoutDone = true;
      maybe();
    });
    sup.on('closed', () => { death ??= null; stdoutDone = true; maybe(); });
  });
  sup.start();
  return { sup, ended };
}

export async function run(args: string[], raw: RawOptions, ctx: CommandContext): Promise<number> {
  const settings = resolvePlaySettings(args, raw);
  checkReadable(settings.file);
  const ffmpeg = (await resolveFfmpeg({ flag: settings.ffmpegFlag, env: ctx.env })).path;
  const probe = await probeMedia(ffmpeg, settings.file);
  const terminal = await choosePlayTerminal(settings, ctx);
  return new Player(settings, probe, ffmpeg, ctx, terminal).play();
}

/** One playback, from start to restored terminal. */
class Player {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly renderer: Renderer | null;
  private target: RenderTarget;
  private readonly decoded: { width: number; height: number };
  private drawSize: { width: number; height: number };
  private readonly cleanups: Array<() => void> = [];
  private stopping = false;
  private resolveStop: (() => void) | undefined;
  private readonly stopped = new Promise<void>((r) => { this.resolveStop = r; });
  private frames = 0;
  private skipped = 0;
  private readonly budget = new PaintBudget(PLAY_PAINT_MAX_SHARE);
  /** Warnings held back while the picture is on the terminal (a line there would be painted over, or over it). */
  private readonly heldBack: string[] = [];

  constructor(
    private readonly s: PlaySettings, private readonly probe: MediaProbe, private readonly ffmpeg: string,
    private readonly ctx: CommandContext, private readonly terminal: PlayTerminal,
  ) {
    this.out = ctx.stdout;
    this.tty = this.out.isTTY === true;
    const kittyTransfer = terminal.mode === 'kitty' ? kittyTransferFor(kittyTransferMedium(ctx.env)) : undefined;
    if (kittyTransfer) this.cleanups.push(() => kittyTransfer.close());
    this.renderer = terminal.mode ? createRenderer(terminal.mode, {
        kittyTransfer,
        tmuxPassthrough: terminal.tmuxPassthrough, lightBackground: terminal.lightBackground,
        kittyPlaceholders: terminal.tmuxPassthrough, kittyPlaceholderColors: terminal.kittyPlaceholderColors,
        dither: s.dither, sixelChangedRows: terminal.cellSizeExact === true, symbols: terminal.symbols,
      }) : null;
    this.target = this.fit(terminal.colors);
    this.decoded = this.renderer && probe.video ? decodeSize(this.renderer, this.target) : { width: 16, height: 16 };
    this.drawSize = this.decoded;
  }

  private area(): { cols: number; rows: number } {
    const area = this.s.cells ?? (this.tty && this.out.columns > 0 && this.out.rows > 0 ? { cols: this.out.columns, rows: this.out.rows } : DEFAULT_PIPE_CELLS);
    // A sixel image that reaches the last row scrolls the screen (the terminal puts the cursor
    // on the row below it): seen in xterm with a portrait clip, cut at the top every frame.
    if (this.tty && (this.terminal.mode === 'sixel' || this.terminal.mode === 'iterm') && this.out.rows > 1 && area.rows >= this.out.rows) {
      return { cols: area.cols, rows: this.out.rows - 1 };
    }
    return area;
  }

  private fit(colors: RenderTarget['colors']): RenderTarget {
    const v = this.probe.video;
    const aspect = v ? (v.width * v.sar) / v.height : 4 / 3;
    const px = this.terminal.cellPx;
    // Known cells: their real shape, and the pixel size sixel/kitty draw at (else they guess 10x20).
    if (!px) return fitPicture(aspect, this.area(), colors);
    return { ...fitPicture(aspect, this.area(), colors, px.width / px.height), cellWidthPx: px.width, cellHeightPx: px.height };
  }

  async play(): Promise<number> {
    this.takeTerminal();
    try {
      return await this.run();
    } finally {
      for (const c of this.cleanups.reverse()) c();
      for (const line of this.heldBack) this.ctx.stderr.write(line);
    }
  }

  private async run(): Promise<number> {
    const { s, probe } = this;
    // The sound takes a call's receive path as PCM: through the audio decoder into the sink.
    let receive: ReceivePipeline | undefined;
    let audio: ReturnType<typeof startDecoder> | undefined;
    if (probe.hasAudio && s.audioOut.kind !== 'none') {
      receive = new ReceivePipeline({ ffmpeg: this.ffmpeg, audioOut: s.audioOut, env: this.ctx.env });
      receive.on('warning', (w) => this.warn(w.message));
      receive.start({ video: null, audio: { codec: 'pcm' } });
      const target = receive;
      audio = startDecoder('ffmpeg-play-audio', this.ffmpeg, playAudioArgs(s.file), (chunk) => target.pushAudio(chunk));
    }
    let video: ReturnType<typeof startDecoder> | undefined;
    if (probe.video) {
      video = startDecoder('ffmpeg-play-video', this.ffmpeg, playVideoArgs(s.file, this.decoded, s.paced), this.frameSplitter());
    } else {
      this.ctx.stderr.write(`videochat: ${s.file} has no video stream; playing its sound only\n`);
    }
    const sups = [video?.sup, audio?.sup].filter((x): x is Supervisor => x !== undefined);
    const closeAll = async (): Promise<void> => {
      await Promise.all(sups.map((x) => x.close()));
      await receive?.close();
    };

    // The picture decides the end when there is one; else the sound.
    const main = video ?? audio;
    if (!main) {
      await closeAll();
      return 0;
    }
    const first = await Promise.race([main.ended.then((e) => ({ kind: 'end' as const, e })), this.stopped.then(() => ({ kind: 'stop' as const }))]);
    if (first.kind === 'stop') {
      await closeAll();
      return 0;
    }
    const err = this.failure(first.e, main === video);
    if (err) {
      await closeAll();
      throw err;
    }
    if (audio && main !== audio) {
      // The sound track may run a little longer than the picture: let it finish.
      await Promise.race([audio.ended, this.stopped]);
    }
    if (receive && !this.stopping) {
      const tail = receive.sinkStats().audioBufferMs + AUDIO_TAIL_MS;
      await Promise.race([new Promise((r) => setTimeout(r, tail)), this.stopped]);
    }
    await closeAll();
    return 0;
  }

  /** A decoder's end as an error, or null when it is a normal end of file. */
  private failure(end: DecoderEnd, isVideo: boolean): MediaError | null {
    const { death } = end;
    if (!death) return null;
    if (death.spawnError || death.code !== 0) {
      return new MediaError('E_DECODE_FAILED', `cannot play ${this.s.file}: ${describeDeath(death)}`);
    }
    if (end.stderrErrors.length === 0) return null;
    const last = end.stderrErrors[end.stderrErrors.length - 1].replace(/^\[[^\]]*\]\s*/, '');
    const v = this.probe.video;
    const expected = isVideo && v?.fps && this.probe.durationSec ? v.fps * this.probe.durationSec : null;
    if (expected !== null && this.frames < MIN_PLAYED_RATIO * expected) {
      const playedSec = (this.frames / (v?.fps ?? 1)).toFixed(1);
      return new MediaError('E_MEDIA_CORRUPT',
        `${this.s.file} is damaged: decoding stopped after ${playedSec} of ${this.probe.durationSec?.toFixed(1)} s (${last})`);
    }
    this.ctx.stderr.write(`videochat: ${this.s.file}: ffmpeg reported errors while decoding: ${last}\n`);
    return null;
  }

  /** Splits ffmpeg's stdout into frames and draws each. */
  private frameSplitter(): (chunk: Buffer, child: ChildProcess) => void {
    const { width, height } = this.decoded;
    const splitter = new RawFrameSplitter(width * height * 3);
    return (chunk, child) => {
      for (const data of splitter.push(chunk)) this.draw({ width, height, data }, child);
    };
  }

  private draw(frame: RgbFrame, child: ChildProcess): void {
    this.frames++;
    const renderer = this.renderer;
    if (!renderer || this.stopping) return;
    // Paced: a reader that cannot keep up loses frames rather than falling behind the sound.
    // A TTY write blocks, and the budget leaves the terminal time of its own; a pipe write
    // queues, and a frame still queued means the reader is behind: never queue a second.
    if (this.s.paced && (this.out.writableLength > 0 || this.budget.waitMs() > 0)) {
      this.skipped++;
      return;
    }
    const paint = (): boolean => {
      const picture = scaleNearest(frame, this.drawSize.width, this.drawSize.height);
      const bytes = renderer.render(picture, this.target);
      return bytes.length === 0 || this.out.write(wrapSynchronized(bytes));
    };
    const ok = this.s.paced ? this.budget.spend(paint) : paint();
    if (!ok && !this.s.paced && child.stdout && !child.stdout.isPaused()) {
      // Unpaced: every frame goes out, so wait for the reader instead of skipping.
      const stdout = child.stdout;
      stdout.pause();
      this.out.once('drain', () => stdout.resume());
    }
  }

  /** Stops playback (q, Ctrl-C, SIGTERM, a closed stdout). Idempotent. */
  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.resolveStop?.();
  }

  /** One warning line: at once, or after the terminal is given back when the picture is drawn on it. */
  private warn(message: string): void {
    const line = `videochat: ${message}\n`;
    if (this.tty && this.probe.video && this.renderer) this.heldBack.push(line);
    else this.ctx.stderr.write(line);
  }

  /**
   * Cursor, keys, signals and resize, through the call's terminal guard and key table; every
   * change is undone by a cleanup. The guard restores the terminal on a crash or exit too.
   */
  private takeTerminal(): void {
    // Off a terminal nothing is written but the frames; the signals still stop playback.
    const sequences = this.tty ? mainScreenSequences(() => this.target.row + this.target.rows + 1) : { enter: '', restore: () => '' };
    const guard = new TerminalGuard({ stdout: this.out, stdin: this.ctx.stdin, onSignal: () => this.stop(), sequences });
    guard.enter();
    this.cleanups.push(() => guard.restore());
    // A reader that went away (`| head`) ends playback quietly.
    const onOutError = (): void => this.stop();
    this.out.on('error', onOutError);
    this.cleanups.push(() => this.out.off('error', onOutError));

    if (this.tty && !this.s.cells) {
      const onResize = (): void => {
        this.target = this.fit(this.target.colors);
        if (this.renderer) this.drawSize = decodeSize(this.renderer, this.target);
        this.renderer?.reset();
        this.out.write(CLEAR_SCREEN);
      };
      this.out.on('resize', onResize);
      this.cleanups.push(() => this.out.off('resize', onResize));
    }
    const stdin = this.ctx.stdin;
    if (stdin.isTTY && typeof stdin.setRawMode === 'function') {
      // Raw mode turns Ctrl-C into a key, so it is handled here like q.
      stdin.setRawMode(true);
      const onKey = (data: Buffer): void => {
        const { input, key } = keyFromRaw(data.toString('latin1'));
        if (findAction(PLAY_KEY_BINDINGS, input, key) === 'stop') this.stop();
      };
      stdin.on('data', onKey);
      stdin.resume();
      this.cleanups.push(() => { stdin.off('data', onKey); stdin.setRawMode(false); stdin.pause(); });
    }
  }
}
