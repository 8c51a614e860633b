/**
 * The interactive side of `connect --room`: asks the terminal what it can do, as a
 * one-to-one call does (before the room starts, so no event is missed while we wait for
 * replies), and returns the function that runs the grid screen for a room session.
 */
import type { CommandContext } from '../program.js';
import { runRoomTui } from '../ui/grid/run-room-tui.js';
import type { RoomControls, RoomEventSource } from '../ui/grid/room-view-events.js';
import { prepareTerminal, type TerminalSettings } from './connect-tui.js';

/** Detects the terminal now; the returned function runs the grid for `session` until it ends. */
export async function prepareInteractiveRoom(
  settings: TerminalSettings,
  ctx: CommandContext,
): Promise<(session: RoomEventSource & RoomControls) => Promise<void>> {
  const terminal = await prepareTerminal(settings, ctx);
  return (session) => runRoomTui(session, terminal);
}
