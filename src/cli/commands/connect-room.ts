/**
 * `videochat connect --room`: the options that make sense in a room, and running a
 * RoomSession: headless (NDJSON and/or progress lines on stderr) or in the grid TUI
 * (src/cli/ui/grid, through connect-room-tui.ts).
 */
import { UsageError } from '../../codec/errors.js';
import type { CommandContext, RawOptions } from '../program.js';
import { reconnectGiveUpSec } from '../session/reconnect.js';
import { RoomSession } from '../room/room-session.js';
import { attachRoomHumanLog, attachRoomNdjson, roomEndedLine } from '../room/room-log.js';
import type { ConnectSettings } from './connect.js';
import { presentAndRun } from './present-session.js';

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Longest --name. */
export const MAX_ROOM_NAME_CHARS = 64;

/** The room part of the settings; a UsageError for an option a room cannot honour. */
export function roomSettings(raw: RawOptions): { name?: string } {
  const refuse = (what: string, why: string): never => {
    throw new UsageError(`--room does not go with ${what}: ${why}`);
  };
  if (str(raw.peerProtocol) !== undefined && str(raw.peerProtocol) !== 'videochat') {
    refuse(`--peer-protocol ${str(raw.peerProtocol)}`, 'the original client knows no rooms');
  }
  if (raw.insecure === true) refuse('--insecure', 'a room is always end-to-end encrypted');
  if (str(raw.record) !== undefined) refuse('--record', 'recording a room is not supported');
  if (str(raw.snapshot) !== undefined) refuse('--snapshot', 'a room has no single peer frame to save');
  const name = str(raw.name);
  if (name !== undefined && (name.length === 0 || name.length > MAX_ROOM_NAME_CHARS || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))) {
    throw new UsageError(`--name must be 1 to ${MAX_ROOM_NAME_CHARS} printable characters`);
  }
  return name !== undefined ? { name } : {};
}

/** Runs the room session to its end; resolves to the exit status. */
export async function runRoom(
  settings: ConnectSettings, ffmpeg: string, ctx: CommandContext,
  hooks: { started: (s: { hangup(why?: string): void }) => void },
): Promise<number> {
  const session = new RoomSession({
    ...settings.call, ffmpeg, reconnect: settings.reconnect, reconnectGiveUpSec: reconnectGiveUpSec(ctx.env),
    ...(settings.room?.name ? { name: settings.room.name } : {}),
  });
  const result = await presentAndRun(session, settings, ctx, hooks, {
    ndjson: attachRoomNdjson, humanLog: attachRoomHumanLog, endedLine: roomEndedLine,
    tui: async () => (await import('./connect-room-tui.js')).prepareInteractiveRoom(settings, ctx),
  });
  return result.exitCode;
}
