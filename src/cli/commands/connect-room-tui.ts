/**
 * The interactive side of `connect --room`: asks the terminal what it can do, as a
 * one-to-one call does (before the room starts, so no event is missed while we wait for
 * replies), and returns the function that runs the grid screen for a room session.
 */
import type { DitherKind } from '../../codec/render/dither.js';
import { detectCapabilities, kittyTransferMedium } from '../term/index.js';
import type { CommandContext } from '../program.js';
import type { ColorsChoice, RenderChoice, SymbolsChoice } from '../options.js';
import { runRoomTui } from '../ui/grid/run-room-tui.js';
import type { RoomControls, RoomEventSource } from '../ui/grid/room-view-events.js';
import { chooseForTerminal, terminalRendererFactory } from './connect-tui.js';

/** Detects the terminal now; the returned function runs the grid for `session` until it ends. */
export async function prepareInteractiveRoom(
  settings: { render: RenderChoice; colors: ColorsChoice; dither?: DitherKind; symbols?: SymbolsChoice; cells?: { cols: number; rows: number } },
  ctx: CommandContext,
): Promise<(session: RoomEventSource & RoomControls) => Promise<void>> {
  const caps = await detectCapabilities({ stdin: ctx.stdin, stdout: ctx.stdout, env: ctx.env });
  const choice = chooseForTerminal(settings.render, settings.colors, caps);
  // Checked before the room: a bad VIDEOCHAT_KITTY_TRANSFER is one line and exit 2.
  const transferMedium = kittyTransferMedium(ctx.env);
  return (session) => runRoomTui(session, {
    renderMode: choice.renderMode,
    colors: choice.colors,
    ...(settings.cells ? { cells: settings.cells } : {}),
    ...(choice.cellPx ? { cellPx: choice.cellPx } : {}),
    createRenderer: terminalRendererFactory(choice, caps, settings, transferMedium),
    stdin: ctx.stdin,
    stdout: ctx.stdout,
  });
}
