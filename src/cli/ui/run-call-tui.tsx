/**
 * The entry point `videochat connect` calls when stdout is a TTY and neither `--headless`
 * nor `--json` is given. It owns the terminal for the length of the call (runTui:
 * alternate screen, Ink for the text, restoring everything on the way out), with the
 * VideoPainter drawing the video.
 */
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from '../session/events.js';
import type { CallControls } from './controls.js';
import { CallScreen } from './CallScreen.js';
import { VideoPainter } from './video-painter.js';
import { peerPictureSize } from './call-state.js';
import { computeLayout } from './layout.js';
import { runTui, type TuiOptions } from './tui-runner.js';

export { HANGUP_GRACE_MS, TEXT_RENDER_MODES, VIDEO_PAINT_MAX_SHARE, renderModeCycle } from './tui-runner.js';

export interface CallTuiOptions extends TuiOptions {
  /** Show the "use headphones" hint once when the peer joins (default true; false without audio). */
  echoHint?: boolean;
  /** The relay the call uses. */
  relay?: { host: string; videoPort: number; audioPort: number };
  /** What the waiting screen says the peer runs (default: the `videochat connect` command that reaches this relay). */
  peerCommand?: string;
}

type CallSession = EventEmitter<SessionEvents> & CallControls;

/**
 * Runs the call screen until the session ends (or the user hangs up and the session does
 * not answer within HANGUP_GRACE_MS). Resolves once the terminal is restored.
 */
export function runCallTui(session: CallSession, opts: CallTuiOptions): Promise<void> {
  return runTui(session, opts, (run) => {
    const painter = new VideoPainter({ ...run.painter, controls: session });
    const onVideo = (frame: SessionEvents['video-frame'][0]) => painter.onVideoFrame(frame);
    const onSelf = (frame: SessionEvents['self-frame'][0]) => painter.onSelfFrame(frame);
    // Runs before the session starts its decoder for the peer (it emits first): the decoder
    // then starts at the size the call screen will draw, not the peer's capture size.
    const onPeerJoined = ({ peer }: SessionEvents['peer-joined'][0]) => {
      painter.prepare({ area: computeLayout(run.surface.columns, run.surface.rows).main, mode: opts.renderMode, selfView: false, source: peerPictureSize(peer) });
    };
    session.on('video-frame', onVideo);
    session.on('self-frame', onSelf);
    session.on('peer-joined', onPeerJoined);
    session.on('ended', run.ended);
    return {
      element: (
        <CallScreen {...run.screen} session={session} controls={session} painter={painter}
          echoHint={opts.echoHint}
          {...(opts.relay ? { relay: opts.relay } : {})}
          {...(opts.peerCommand ? { peerCommand: opts.peerCommand } : {})}
        />
      ),
      close: () => {
        session.off('video-frame', onVideo);
        session.off('self-frame', onSelf);
        session.off('peer-joined', onPeerJoined);
        session.off('ended', run.ended);
        painter.close();
      },
    };
  });
}
