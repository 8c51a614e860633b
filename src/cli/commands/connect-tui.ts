/**
 * The interactive side of `connect`: asks the terminal what it can do (environment first,
 * then DA1 / pixel-size queries with a short timeout), picks the render mode and colours,
 * and runs the Ink call screen until the call ends.
 */
import { planAudioPath } from '../../media/audio-path.js';
import type { EventEmitter } from 'node:events';
import { createRenderer } from '../../codec/render/index.js';
import type { DitherKind } from '../../codec/render/dither.js';
import type { ColorDepth, RenderMode, Renderer } from '../../codec/render/types.js';
import { detectCapabilities, kittyTransferFor, kittyTransferMedium, type Capabilities } from '../term/index.js';
import type { CommandContext } from '../program.js';
import type { CallControls } from '../ui/controls.js';
import { runCallTui } from '../ui/run-call-tui.js';
import type { TuiOptions } from '../ui/tui-runner.js';
import type { SessionEvents } from '../session/events.js';
import type { ColorsChoice, RenderChoice, SymbolsChoice } from '../options.js';

export interface TerminalChoice {
  renderMode: RenderMode;
  colors: ColorDepth;
  cellPx?: { width: number; height: number };
  tmuxPassthrough: boolean;
  /** The terminal's background is light: ascii inverts its ramp. */
  lightBackground: boolean;
  /** Inside tmux: kitty through Unicode placeholders, the id in this colour form. */
  kittyPlaceholders: boolean;
  kittyPlaceholderColors: 'truecolor' | 256;
  /** The cell size is exact: sixel may redraw single cell rows. */
  cellSizeExact: boolean;
}

/** Applies the user's --render/--colors over what the terminal said. */
export function chooseForTerminal(render: RenderChoice, colors: ColorsChoice, caps: Capabilities): TerminalChoice {
  const depth: ColorDepth = colors === 'auto' ? caps.colors : colors === 'truecolor' ? 'truecolor' : (Number(colors) as 16 | 256);
  const mode: RenderMode = render === 'auto' || render === 'none' ? caps.chosenMode : render;
  return {
    renderMode: mode,
    colors: depth,
    tmuxPassthrough: caps.tmuxPassthrough,
    lightBackground: caps.background === 'light',
    kittyPlaceholders: caps.tmux,
    kittyPlaceholderColors: caps.kittyPlaceholderColors,
    cellSizeExact: caps.cellSizeExact,
    ...(caps.cellWidthPx && caps.cellHeightPx ? { cellPx: { width: caps.cellWidthPx, height: caps.cellHeightPx } } : {}),
  };
}

/**
 * The renderers for this terminal: tmux passthrough, kitty's placeholders and transfer, the
 * light background, dithering, the symbol set, sixel's changed rows when the cell size is
 * exact. Each call makes a new renderer (the group call grid makes one per tile).
 */
export function terminalRendererFactory(
  choice: TerminalChoice,
  caps: Pick<Capabilities, 'octants'>,
  settings: { dither?: DitherKind; symbols?: SymbolsChoice },
  transferMedium: ReturnType<typeof kittyTransferMedium>,
): (mode: RenderMode) => Renderer {
  return (mode) => createRenderer(mode, {
    kittyTransfer: mode === 'kitty' ? kittyTransferFor(transferMedium) : undefined,
    tmuxPassthrough: choice.tmuxPassthrough, lightBackground: choice.lightBackground,
    kittyPlaceholders: choice.kittyPlaceholders, kittyPlaceholderColors: choice.kittyPlaceholderColors,
    dither: settings.dither, sixelChangedRows: choice.cellSizeExact,
    symbols: settings.symbols === 'octants' || (settings.symbols !== 'sextants' && caps.octants) ? 'octants' : 'sextants',
  });
}

/**
 * The "use headphones" tip: an echo needs our mic and a loudspeaker (not with --audio-in none,
 * --audio-out none or a WAV file), and the tip goes when the echo canceller takes the echo out.
 */
export function showEchoHint(
  call: { audioIn: { kind: string }; audioOut: { kind: string }; audioCodec?: 'opus' | 'pcm'; echoCancel?: boolean },
  peerProtocol?: string,
): boolean {
  if (call.audioIn.kind === 'none' || call.audioOut.kind !== 'speaker') return false;
  return peerProtocol === 'original' || !planAudioPath({ ...call, audioCodec: call.audioCodec ?? 'opus' }).echoCanceller;
}

/** What `--render`, `--colors`, `--dither`, `--symbols` and `--cells` asked for. */
export interface TerminalSettings {
  render: RenderChoice; colors: ColorsChoice; dither?: DitherKind; symbols?: SymbolsChoice; cells?: { cols: number; rows: number };
}

/**
 * Asks the terminal what it can do (environment first, then its replies, with a short
 * timeout) and returns the options both terminal UIs start with: mode, colours, area, cell
 * size, renderers, streams.
 */
export async function prepareTerminal(settings: TerminalSettings, ctx: CommandContext): Promise<TuiOptions> {
  const caps = await detectCapabilities({ stdin: ctx.stdin, stdout: ctx.stdout, env: ctx.env });
  const choice = chooseForTerminal(settings.render, settings.colors, caps);
  // Checked before the call or room: a bad VIDEOCHAT_KITTY_TRANSFER is one line and exit 2.
  const transferMedium = kittyTransferMedium(ctx.env);
  return {
    renderMode: choice.renderMode,
    colors: choice.colors,
    ...(settings.cells ? { cells: settings.cells } : {}),
    ...(choice.cellPx ? { cellPx: choice.cellPx } : {}),
    createRenderer: terminalRendererFactory(choice, caps, settings, transferMedium),
    stdin: ctx.stdin,
    stdout: ctx.stdout,
  };
}

/**
 * Asks the terminal what it can do (before the call starts, so no event is missed while we
 * wait for replies) and returns the function that starts the call screen for a session.
 */
export async function prepareInteractive(
  settings: TerminalSettings & {
    peerProtocol?: string;
    call: {
      audioIn: { kind: string }; audioOut: { kind: string }; insecure: boolean; host: string; videoPort: number; audioPort: number;
      audioCodec?: 'opus' | 'pcm'; echoCancel?: boolean;
    };
  },
  ctx: CommandContext,
): Promise<(session: EventEmitter<SessionEvents> & CallControls) => Promise<void>> {
  const terminal = await prepareTerminal(settings, ctx);
  return (session) => runCallTui(session, {
    ...terminal,
    echoHint: showEchoHint(settings.call, settings.peerProtocol),
    insecure: settings.call.insecure || settings.peerProtocol === 'original',
    relay: { host: settings.call.host, videoPort: settings.call.videoPort, audioPort: settings.call.audioPort },
    // The original client is not `videochat connect`: say what to give it instead.
    ...(settings.peerProtocol === 'original'
      ? { peerCommand: `the original VideoChat client with server ${settings.call.host}, ports ${settings.call.videoPort} and ${settings.call.audioPort}` }
      : {}),
  });
}
