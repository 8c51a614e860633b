/**
 * A room session's NDJSON lines (`--json`) and human progress lines (`--headless`, stderr).
 * Frames and audio levels never go out as NDJSON (a script reads `stats.members`).
 */
import type { EventEmitter } from 'node:events';
import { ndjsonLine } from '../session/ndjson.js';
import type { RoomSessionEvents } from './room-events.js';

/** The room events that go out as NDJSON. */
export const ROOM_NDJSON_EVENTS = [
  'connecting', 'waiting', 'member-joined', 'member-left', 'member-state', 'stats', 'warning', 'reconnecting', 'reconnected', 'fallback-one-to-one', 'ended',
] as const;

export function attachRoomNdjson(session: EventEmitter<RoomSessionEvents>, out: NodeJS.WritableStream): void {
  for (const name of ROOM_NDJSON_EVENTS) {
    (session as unknown as EventEmitter).on(name, (fields?: object) => out.write(ndjsonLine(name, fields)));
  }
}

export function attachRoomHumanLog(session: EventEmitter<RoomSessionEvents>, out: NodeJS.WritableStream, opts: { showCode: boolean }): void {
  const say = (line: string): void => { out.write(`videochat: ${line}\n`); };
  session.on('connecting', ({ host, videoPort, audioPort }) => say(`joining a room at ${host} (video ${videoPort}, audio ${audioPort})`));
  session.on('waiting', ({ session: code, memberId }) => say(`in the room${memberId !== undefined ? ` as member ${memberId}` : ''}`
    + `${opts.showCode ? `; session code: ${code}` : ''}`));
  session.on('member-joined', ({ memberId, member }) => {
    const v = member.video;
    const media = [v ? `${v.codec} ${v.width}x${v.height}@${v.fps}` : 'no video', member.audio ? member.audio.codec : 'no audio'].join(', ');
    say(`member ${memberId}${member.name ? ` (${member.name})` : ''} joined (${String(member.client ?? 'unknown client')} ${String(member.clientVersion ?? '')}; ${media})`);
  });
  session.on('member-left', ({ memberId, reason }) => say(`member ${memberId} left (${reason})`));
  session.on('warning', ({ code, message }) => say(`warning ${code}: ${message}`));
  session.on('reconnecting', ({ attempt, giveUpAtMs }) => say(`connection to the relay lost; joining the room again (attempt ${attempt}`
    + `${giveUpAtMs !== undefined ? `, giving up in ${Math.max(0, Math.round((giveUpAtMs - Date.now()) / 1000))} s` : ''})`));
  session.on('reconnected', ({ downMs }) => say(`back in the room after ${(downMs / 1000).toFixed(1)} s`));
  session.on('ended', (e) => out.write(roomEndedLine(e)));
}

/** The one line that says how a room session ended. */
export function roomEndedLine(e: RoomSessionEvents['ended'][0]): string {
  const detail = e.message ? `: ${e.message}` : '';
  const members = e.members.map((m) => `${m.id}: ${m.videoFramesReceived} frames / ${m.audioMsReceived} ms`).join(', ');
  return `videochat: room call ended (${e.reason}, exit ${e.exitCode})${detail}; sent ${e.videoFramesSent} frames / ${e.audioMsSent} ms audio`
    + `${members ? `; received from member ${members}` : ''}\n`;
}
