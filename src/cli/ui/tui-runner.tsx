/**
 * What the one-to-one call screen and the group call grid share in owning the terminal for
 * a call: the alternate screen and raw keys (TerminalGuard), the surface Ink and the painter
 * write through, following resizes, Ink itself, the hang-up grace, and restoring everything
 * on every way out. The caller mounts its painter and screen on what this gives it.
 */
import type { ReactElement } from 'react';
import { render, type Instance } from 'ink';
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import { TerminalGuard } from './terminal-guard.js';
import { TerminalSurface } from './terminal-surface.js';
import type { PainterBaseOptions, RendererFactory } from './video-painter.js';
import { availableModes, defaultRendererFactory } from './renderer-factory.js';
import type { ScreenCommonProps } from './screen-keys.js';

/** After `q`, how long we wait for the session's `ended` before taking the terminal back anyway. */
export const HANGUP_GRACE_MS = 3000;

/**
 * Share of wall time frames may take to render and write to the terminal (see
 * PainterBaseOptions.maxPaintShare): the rest stays for the sockets, capture, audio and Ink.
 */
export const VIDEO_PAINT_MAX_SHARE = 0.5;

/** Text modes every terminal can show; `r` cycles through these (plus the mode we started in). */
export const TEXT_RENDER_MODES: readonly RenderMode[] = ['symbols', 'blocks', 'ascii'];

/**
 * The modes `r` cycles through: the starting one first, then the text modes; only those
 * the factory can build.
 */
export function renderModeCycle(start: RenderMode, factory: RendererFactory, modes?: readonly RenderMode[]): RenderMode[] {
  const list = modes && modes.length ? [...modes] : [start, ...TEXT_RENDER_MODES];
  if (!list.includes(start)) list.unshift(start);
  return availableModes([...new Set(list)], factory);
}

/** The options both terminal UIs take. */
export interface TuiOptions {
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
  /** The call runs with --insecure. */
  insecure?: boolean;
  /** Renderer factory (default: the codec's `createRenderer`). */
  createRenderer?: RendererFactory;
  /** Install process-wide signal/exit/crash handlers (default true). */
  handleProcess?: boolean;
}

/** What the runner gives the screen it mounts. */
export interface TuiRun {
  surface: TerminalSurface;
  /** The painter's surface, renderers, colours, cell size and paint share. */
  painter: PainterBaseOptions;
  /** The props both screens take: modes, starting mode, hang-up, --insecure. */
  screen: ScreenCommonProps;
  /** The session ended: let the last React update run, then take the terminal back. */
  ended: () => void;
}

/** What the caller mounted: the screen to render, and how to undo the rest (listeners, painter). */
export interface TuiMount {
  element: ReactElement;
  close: () => void;
}

/**
 * Runs a call screen until the session ends (or the user hangs up and the session does not
 * answer within HANGUP_GRACE_MS). Resolves once the terminal is restored.
 */
export function runTui(session: { hangup(): void }, opts: TuiOptions, mount: (run: TuiRun) => TuiMount): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let hangupTimer: NodeJS.Timeout | undefined;
    const createRenderer = opts.createRenderer ?? defaultRendererFactory;
    const surface = new TerminalSurface(opts.stdout, { cells: opts.cells });

    const hangup = () => {
      if (hangupTimer || finished) return;
      hangupTimer = setTimeout(() => finish(), HANGUP_GRACE_MS);
      try {
        session.hangup();
      } catch (err) {
        finish(err as Error);
      }
    };
    const guard = new TerminalGuard({ stdout: opts.stdout, stdin: opts.stdin, handleProcess: opts.handleProcess, onSignal: () => hangup() });
    const onResize = () => {
      surface.invalidate();
      surface.emit('resize');
    };

    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(hangupTimer);
      mounted.close();
      opts.stdout.off('resize', onResize);
      surface.close();
      try {
        ink?.unmount();
      } finally {
        guard.restore();
      }
      if (error) reject(error);
      else resolve();
    };

    const mounted = mount({
      surface,
      painter: { surface, createRenderer, colors: opts.colors, cellPx: opts.cellPx, maxPaintShare: VIDEO_PAINT_MAX_SHARE },
      screen: { modes: renderModeCycle(opts.renderMode, createRenderer, opts.modes), initialMode: opts.renderMode, onHangup: hangup, insecure: opts.insecure },
      ended: () => setImmediate(() => finish()),
    });
    guard.enter();
    if (!opts.cells) opts.stdout.on('resize', onResize);

    // `finish` may run before this assignment only if Ink throws while mounting.
    const ink: Instance | undefined = render(mounted.element, {
      // Ink hands every frame to the surface as text; the surface places it (see terminal-surface.ts).
      stdout: surface as unknown as NodeJS.WriteStream,
      stdin: opts.stdin,
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    ink.waitUntilExit().catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}
