/**
 * Plain progress lines on stderr for `--headless` (and next to `--json`, where stdout is
 * reserved for NDJSON): what a person running the command in a terminal or a log wants to see.
 */
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from './events.js';

export function attachHumanLog(
  session: EventEmitter<SessionEvents>,
  out: NodeJS.WritableStream,
  opts: { showCode: boolean },
): void {
  const say = (line: string): void => { out.write(`videochat: ${line}\n`); };
  session.on('connecting', ({ host, videoPort, audioPort }) => say(`connecting to ${host} (video ${videoPort}, audio ${audioPort})`));
  session.on('waiting', ({ session: code }) => say(opts.showCode ? `waiting for the peer; session code: ${code}` : 'waiting for the peer'));
  session.on('peer-joined', ({ peer }) => {
    if (peer.protocol === 'original') {
      say('peer joined (an original VideoChat client: JPEG video, 44.1 kHz PCM audio, NOT encrypted)');
      return;
    }
    const v = peer.video as { codec: string; width: number; height: number; fps: number } | null | undefined;
    const a = peer.audio as { codec: string } | null | undefined;
    const media = [v ? `${v.codec} ${v.width}x${v.height}@${v.fps}` : 'no video', a ? a.codec : 'no audio'].join(', ');
    say(`peer joined (${String(peer.client ?? 'unknown client')} ${String(peer.clientVersion ?? '')}; ${media})`);
  });
  session.on('warning', ({ code, message }) => say(`warning ${code}: ${message}`));
  session.on('peer-left', ({ reason }) => say(reason === 'bye' ? 'the peer hung up' : 'lost the connection to the peer (no goodbye)'));
  session.on('reconnecting', ({ attempt, giveUpAtMs }) => say(`connection to the relay lost; reconnecting (attempt ${attempt}`
    + `${giveUpAtMs !== undefined ? `, giving up in ${Math.max(0, Math.ceil((giveUpAtMs - Date.now()) / 1000))} s` : ''})`));
  session.on('reconnected', ({ downMs, peer }) => say(peer
    ? `reconnected; the call goes on after ${(downMs / 1000).toFixed(1)} s`
    : 'reconnected to the relay; waiting for the peer'));
  session.on('ended', (e) => out.write(endedLine(e)));
}

/** The one line that says how a call ended (headless, and after the TUI closed). */
export function endedLine(e: SessionEvents['ended'][0]): string {
  const detail = e.message ? `: ${e.message}` : '';
  return `videochat: call ended (${e.reason}, exit ${e.exitCode})${detail}; sent ${e.videoFramesSent} frames / ${e.audioMsSent} ms audio, `
    + `received ${e.videoFramesReceived} frames / ${e.audioMsReceived} ms audio\n`;
}
