/**
 * The group call's terminal UI: like runCallTui, it owns the terminal for the call
 * (alternate screen, Ink for the text, restoring it on every way out), with the GridPainter
 * drawing one tile per member and the self-view. It listens to a room session's events
 * (room-view-events.ts) and calls its controls; it never touches a socket.
 */
import { render, type Instance } from 'ink';
import type { ColorDepth, RenderMode } from '../../../codec/render/types.js';
import { TerminalGuard } from '../terminal-guard.js';
import { TerminalSurface } from '../terminal-surface.js';
import type { RendererFactory } from '../video-painter.js';
import { defaultRendererFactory } from '../renderer-factory.js';
import { HANGUP_GRACE_MS, VIDEO_PAINT_MAX_SHARE, renderModeCycle } from '../run-call-tui.js';
import { DEFAULT_CELL_ASPECT } from '../fit-video.js';
import { shellWord } from '../format.js';
import { GridPainter } from './grid-painter.js';
import { RoomScreen } from './RoomScreen.js';
import { subscribeRoom, type RoomControls, type RoomEventSource } from './room-view-events.js';

export interface RoomTuiOptions {
  renderMode: RenderMode;
  colors: ColorDepth;
  cells?: { cols: number; rows: number };
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  modes?: readonly RenderMode[];
  cellPx?: { width: number; height: number };
  insecure?: boolean;
  /** What the waiting screen says the others run (default: `videochat connect --room --session <code>`). */
  joinCommand?: string;
  /** Renderer factory: called once per tile and mode, so kitty gets an image id per tile. */
  createRenderer?: RendererFactory;
  handleProcess?: boolean;
}

/** Runs the grid until the room session ends; resolves once the terminal is restored. */
export function runRoomTui(session: RoomEventSource & RoomControls, opts: RoomTuiOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let hangupTimer: NodeJS.Timeout | undefined;
    const createRenderer = opts.createRenderer ?? defaultRendererFactory;
    const surface = new TerminalSurface(opts.stdout, { cells: opts.cells });
    const painter = new GridPainter({
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
    const guard = new TerminalGuard({ stdout: opts.stdout, stdin: opts.stdin, handleProcess: opts.handleProcess, onSignal: () => hangup() });

    // The painter hears these before React does (subscribed first): the tiles re-flow at once.
    const unsubscribe = subscribeRoom(session, {
      'member-joined': ({ memberId, member }) => painter.memberJoined(memberId, member),
      'member-left': ({ memberId }) => painter.memberLeft(memberId),
      'member-state': ({ memberId, ...state }) => painter.memberState(memberId, state),
      'member-frame': ({ memberId, width, height, data }) => painter.onMemberFrame(memberId, { width, height, data }),
      'self-frame': (frame) => painter.onSelfFrame(frame),
      'member-level': ({ memberId, level, speaking }) => painter.memberLevel(memberId, level, speaking),
      stats: (stats) => painter.stats(stats.members),
      ended: () => setImmediate(() => finish()),
    });
    const onResize = () => {
      surface.invalidate();
      surface.emit('resize');
    };

    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(hangupTimer);
      unsubscribe();
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
    if (!opts.cells) opts.stdout.on('resize', onResize);
    const px = opts.cellPx;
    const ink: Instance | undefined = render(
      <RoomScreen
        session={session}
        controls={session}
        painter={painter}
        modes={renderModeCycle(opts.renderMode, createRenderer, opts.modes)}
        initialMode={opts.renderMode}
        onHangup={hangup}
        insecure={opts.insecure}
        cellAspect={px && px.width > 0 && px.height > 0 ? px.width / px.height : DEFAULT_CELL_ASPECT}
        joinCommand={opts.joinCommand ?? `videochat connect --room --session ${shellWord(session.session)}`}
      />,
      { stdout: surface as unknown as NodeJS.WriteStream, stdin: opts.stdin, debug: true, exitOnCtrlC: false, patchConsole: false },
    );
    ink.waitUntilExit().catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}
