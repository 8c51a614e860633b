/**
 * The entry point `videochat connect` calls when stdout is a TTY and neither `--headless`
 * nor `--json` is given. It owns the terminal for the length of the call: alternate screen,
 * Ink for the text, the painter for the video, and restoring everything on the way out.
 */
import type { EventEmitter } from 'node:events';
import { render, type Instance } from 'ink';
import type { SessionEvents } from '../session/events.js';
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import type { CallControls } from './controls.js';
import { CallScreen } from './CallScreen.js';
import { TerminalGuard } from './terminal-guard.js';
import { TerminalSurface } from './terminal-surface.js';
import { VideoPainter, type RendererFactory } from './video-painter.js';
import { availableModes, defaultRendererFactory } from './renderer-factory.js';
import { peerPictureSize } from './call-state.js';
import { computeLayout } from './layout.js';

/** After `q`, how long we wait for the session's `ended` before taking the terminal back anyway. */
export const HANGUP_GRACE_MS = 3000;

/**
 * Share of wall time peer frames may take to render and write to the terminal (see
 * PainterOptions.maxPaintShare): the rest stays for the sockets, capture, audio and Ink.
 */
export const VIDEO_PAINT_MAX_SHARE = 0.5;

/** Text modes every terminal can show; `r` cycles through these (plus the mode we started in). */
export const TEXT_RENDER_MODES: readonly RenderMode[] = ['symbols', 'blocks', 'ascii'];

export interface CallTuiOptions {
  renderMode: RenderMode;
  colors: ColorDepth;
  /** A fixed area (`--cells COLSxROWS`); default: the whole terminal, following resizes. */
  cells?: { cols: number; rows: number };
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  /** Modes `r` cycles through (default: the starting mode, then the text modes). */
  modes?: readonly RenderMode[];
  /** Cell size in pixels, when the terminal reported it. */
  cellPx?: { width: number; height: number };
  /** Show the "use headphones" hint once when the peer joins (default true; false without audio). */
  echoHint?: boolean;
  /** The call runs with --insecure. */
  insecure?: boolean;
  /** The relay the call uses. */
  relay?: { host: string; videoPort: number; audioPort: number };
  /** What the waiting screen says the peer runs (default: the `videochat connect` command that reaches this relay). */
  peerCommand?: string;
  /** Renderer factory (default: the codec's `createRenderer`). */
  createRenderer?: RendererFactory;
  /** Install process-wide signal/exit/crash handlers (default true). */
  handleProcess?: boolean;
}

type CallSession = EventEmitter<SessionEvents> & CallControls;

/**
 * The modes `r` cycles through: the starting one first, then the text modes; only those
 * the factory can build.
 */
export function renderModeCycle(start: RenderMode, factory: RendererFactory, modes?: readonly RenderMode[]): RenderMode[] {
  const list = modes && modes.length ? [...modes] : [start, ...TEXT_RENDER_MODES];
  if (!list.includes(start)) list.unshift(start);
  return availableModes([...new Set(list)], factory);
}

/**
 * Runs the call screen until the session ends (or the user hangs up and the session does
 * not answer within HANGUP_GRACE_MS). Resolves once the terminal is restored.
 */
export function runCallTui(session: CallSession, opts: CallTuiOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let hangupTimer: NodeJS.Timeout | undefined;
    const createRenderer = opts.createRenderer ?? defaultRendererFactory;
    const surface = new TerminalSurface(opts.stdout, { cells: opts.cells });
    const painter = new VideoPainter({
      surface,
      controls: session,
      createRenderer,
      colors: opts.colors,
      cellPx: opts.cellPx,
      maxPaintShare: VIDEO_PAINT_MAX_SHARE,
    });

    const hangup = () => {
      if (hangupTimer || finished) return;
      hangupTimer = setTimeout(() => finish(), HANGUP_GRACE_MS);
      try {
        session.hangup();
      } catch (err) {
        finish(err as Error);
      }
    };
    const guard = new TerminalGuard({
      stdout: opts.stdout,
      stdin: opts.stdin,
      handleProcess: opts.handleProcess,
      onSignal: () => hangup(),
    });

    const onVideo = (frame: SessionEvents['video-frame'][0]) => painter.onVideoFrame(frame);
    const onSelf = (frame: SessionEvents['self-frame'][0]) => painter.onSelfFrame(frame);
    // Runs before the session starts its decoder for the peer (it emits first): the decoder
    // then starts at the size the call screen will draw, not the peer's capture size.
    const onPeerJoined = ({ peer }: SessionEvents['peer-joined'][0]) => {
      painter.prepare({ area: computeLayout(surface.columns, surface.rows).main, mode: opts.renderMode, selfView: false, source: peerPictureSize(peer) });
    };
    // Ended: let the last React update run, then take the terminal back.
    const onEnded = () => setImmediate(() => finish());
    const onResize = () => {
      surface.invalidate();
      surface.emit('resize');
    };

    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(hangupTimer);
      session.off('video-frame', onVideo);
      session.off('self-frame', onSelf);
      session.off('peer-joined', onPeerJoined);
      session.off('ended', onEnded);
      opts.stdout.off('resize', onResize);
      painter.close();
      surface.close();
      try {
        ink?.unmount();
      } finally {
        guard.restore();
      }
      if (error) reject(error);
      else resolve();
    };

    guard.enter();
    session.on('video-frame', onVideo);
    session.on('self-frame', onSelf);
    session.on('peer-joined', onPeerJoined);
    session.on('ended', onEnded);
    if (!opts.cells) opts.stdout.on('resize', onResize);

    // `finish` may run before this assignment only if Ink throws while mounting.
    const ink: Instance | undefined = render(
      <CallScreen
        session={session}
        controls={session}
        painter={painter}
        modes={renderModeCycle(opts.renderMode, createRenderer, opts.modes)}
        initialMode={opts.renderMode}
        onHangup={hangup}
        echoHint={opts.echoHint}
        insecure={opts.insecure}
        {...(opts.relay ? { relay: opts.relay } : {})}
        {...(opts.peerCommand ? { peerCommand: opts.peerCommand } : {})}
      />,
      {
        // Ink hands every frame to the surface as text; the surface places it (see terminal-surface.ts).
        stdout: surface as unknown as NodeJS.WriteStream,
        stdin: opts.stdin,
        debug: true,
        exitOnCtrlC: false,
        patchConsole: false,
      },
    );
    ink.waitUntilExit().catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}
