import { useCallback } from 'react';
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from '../session/events.js';
import { initialScreenView, type ScreenCommonProps } from './screen-keys.js';
import type { CallControls } from './controls.js';
import type { VideoPainter } from './video-painter.js';
import { peerHasNoCamera, peerPictureSize, videoIsLive, type CallViewState, type RelayAddress } from './call-state.js';
import { peerCommand } from './format.js';
import { ReconnectingMessage } from './ReconnectingMessage.js';
import { computeLayout, MIN_VIDEO_ROWS } from './layout.js';
import { useTerminalSize } from './use-terminal-size.js';
import { useCallState } from './use-call-state.js';
import { useScreenKeys } from './use-screen-keys.js';
import { useVideoLayout } from './use-video-layout.js';
import { useAutoDismiss } from './use-auto-dismiss.js';
import { StatusBar } from './StatusBar.js';
import { NoticeLine } from './NoticeLine.js';
import { ScreenFrame } from './ScreenFrame.js';
import { CenteredMessage } from './CenteredMessage.js';

export { NOTICE_VISIBLE_MS } from './use-screen-keys.js';
/** How long the headphones hint stays. */
export const ECHO_HINT_VISIBLE_MS = 10_000;

export interface CallScreenProps extends ScreenCommonProps {
  session: EventEmitter<SessionEvents>;
  controls: CallControls;
  /** Draws the video; absent in tests of the text parts. */
  painter?: VideoPainter;
  /** Say "use headphones" once when the peer joins (default true). */
  echoHint?: boolean;
  /** The relay the call uses (for the peer's command line on the waiting screen). */
  relay?: RelayAddress;
  /** Overrides what the waiting screen says the peer runs. */
  peerCommand?: string;
}

/** The call screen: video area (or waiting screen / overlay / message), notice row, status bar. */
export function CallScreen(props: CallScreenProps) {
  const { session, controls, painter, modes } = props;
  const { columns, rows } = useTerminalSize();
  const [state, dispatch] = useCallState(session, {
    ...initialScreenView(controls, props),
    echoHint: props.echoHint,
    ...(props.relay ? { relay: props.relay } : {}),
  });
  const layout = computeLayout(columns, rows);
  const main = layout.main;

  useScreenKeys(state, dispatch, controls, modes, props.onHangup);
  useAutoDismiss(state.echoHint || null, ECHO_HINT_VISIBLE_MS, useCallback(() => dispatch({ type: 'dismiss-echo-hint' }), [dispatch]));

  const live = videoIsLive(state) && main.rows >= MIN_VIDEO_ROWS;
  useVideoLayout(painter, live ? main : null, state.renderMode, state.selfView, peerPictureSize(state.peer));

  const waiting = state.phase === 'connecting' || state.phase === 'waiting';
  const command = waiting ? props.peerCommand ?? peerCommand(state) : '';
  return (
    <ScreenFrame columns={columns} rows={rows} mainRows={main.rows} state={state} command={command}
      main={<CallArea state={state} width={columns} height={main.rows} />}
      notice={<NoticeLine state={state} width={columns} />}
      status={<StatusBar state={state} width={columns} />}
    />
  );
}

/** The main area once the peer came (the frame shows the overlay, the waiting screen and the end). */
function CallArea({ state, width, height }: { state: CallViewState; width: number; height: number }) {
  switch (state.phase) {
    case 'peer-left':
      return <CenteredMessage text={state.peerLeftReason === 'lost' ? 'Connection to the peer lost; waiting for them to come back…' : 'The peer hung up.'} width={width} height={height} />;
    case 'reconnecting':
      return <ReconnectingMessage state={state} width={width} height={height} />;
    case 'in-call':
      // Blank rows: the painter draws here, outside React.
      if (peerHasNoCamera(state)) return <CenteredMessage text="The peer has no camera." width={width} height={height} />;
      return state.peerState.cameraOff ? <CenteredMessage text="The peer turned the camera off." width={width} height={height} /> : null;
    default:
      return null;
  }
}
