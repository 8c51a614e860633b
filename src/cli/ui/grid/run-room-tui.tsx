/**
 * The group call's terminal UI: like runCallTui, it owns the terminal for the call
 * (runTui: alternate screen, Ink for the text, restoring it on every way out), with the
 * GridPainter drawing one tile per member and the self-view. It listens to a room session's
 * events (room-view-events.ts) and calls its controls; it never touches a socket.
 */
import { DEFAULT_CELL_ASPECT } from '../fit-video.js';
import { shellWord } from '../format.js';
import { runTui, type TuiOptions } from '../tui-runner.js';
import { GridPainter } from './grid-painter.js';
import { RoomScreen } from './RoomScreen.js';
import { subscribeRoom, type RoomControls, type RoomEventSource } from './room-view-events.js';

/** The grid's options; `createRenderer` is called once per tile and mode, so kitty gets an image id per tile. */
export interface RoomTuiOptions extends TuiOptions {
  /** What the waiting screen says the others run (default: `videochat connect --room --session <code>`). */
  joinCommand?: string;
}

/** Runs the grid until the room session ends; resolves once the terminal is restored. */
export function runRoomTui(session: RoomEventSource & RoomControls, opts: RoomTuiOptions): Promise<void> {
  return runTui(session, opts, (run) => {
    const painter = new GridPainter({ ...run.painter, controls: session });
    // The painter hears these before React does (subscribed first): the tiles re-flow at once.
    const unsubscribe = subscribeRoom(session, {
      'member-joined': ({ memberId, member }) => painter.memberJoined(memberId, member),
      'member-left': ({ memberId }) => painter.memberLeft(memberId),
      'member-state': ({ memberId, ...state }) => painter.memberState(memberId, state),
      'member-frame': ({ memberId, width, height, data }) => painter.onMemberFrame(memberId, { width, height, data }),
      'self-frame': (frame) => painter.onSelfFrame(frame),
      'member-level': ({ memberId, level, speaking }) => painter.memberLevel(memberId, level, speaking),
      stats: (stats) => painter.stats(stats.members),
      ended: run.ended,
    });
    const px = opts.cellPx;
    return {
      element: (
        <RoomScreen {...run.screen} session={session} controls={session} painter={painter}
          cellAspect={px && px.width > 0 && px.height > 0 ? px.width / px.height : DEFAULT_CELL_ASPECT}
          joinCommand={opts.joinCommand ?? `videochat connect --room --session ${shellWord(session.session)}`}
        />
      ),
      close: () => {
        unsubscribe();
        painter.close();
      },
    };
  });
}
