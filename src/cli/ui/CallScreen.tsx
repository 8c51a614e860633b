import { useCallback } from 'react';
import { Box } from 'ink';
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from '../session/events.js';
import type { RenderMode } from '../../codec/render/types.js';
import type { CallControls } from './controls.js';
import type { KeyAction } from './keys.js';
import type { VideoPainter } from './video-painter.js';
import { peerHasNoCamera, peerPictureSize, videoIsLive, type CallAction, type CallViewState, type RelayAddress } from './call-state.js';
import { peerCommand } from './format.js';
import { ReconnectingMessage } from './ReconnectingMessage.js';
import { computeLayout, MIN_VIDEO_ROWS } from './layout.js';
import { useTerminalSize } from './use-terminal-size.js';
import { useCallState } from './use-call-state.js';
import { useKeyBindings } from './use-key-bindings.js';
import { useVideoLayout } from './use-video-layout.js';
import { useAutoDismiss } from './use-auto-dismiss.js';
import { StatusBar } from './StatusBar.js';
import { NoticeLine } from './NoticeLine.js';
import { WaitingScreen } from './WaitingScreen.js';
import { HelpOverlay } from './HelpOverlay.js';
import { CenteredMessage } from './CenteredMessage.js';

/** How long a warning stays in the notice row. */
export const NOTICE_VISIBLE_MS = 6000;
/** How long the headphones hint stays. */
export const ECHO_HINT_VISIBLE_MS = 10_000;

export interface CallScreenProps {
  session: EventEmitter<SessionEvents>;
  controls: CallControls;
  /** Draws the video; absent in tests of the text parts. */
  painter?: VideoPainter;
  /** The modes `r` cycles through, in order; the first is used when `initialMode` is not among them. */
  modes: readonly RenderMode[];
  initialMode: RenderMode;
  /** The user asked to hang up (q, Ctrl-C). */
  onHangup: () => void;
  /** Say "use headphones" once when the peer joins (default true). */
  echoHint?: boolean;
  /** The call runs with --insecure (by choice: no "encryption pending"). */
  insecure?: boolean;
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
    session: controls.session,
    muted: controls.muted,
    cameraOff: controls.cameraOff,
    encrypted: controls.encrypted,
    renderMode: props.initialMode,
    echoHint: props.echoHint,
    noCamera: controls.noCamera === true,
    noMic: controls.noMic === true,
    insecure: props.insecure === true,
    ...(props.relay ? { relay: props.relay } : {}),
  });
  const layout = computeLayout(columns, rows);
  const main = layout.main;

  const onAction = useCallback(
    (action: KeyAction) => handleAction(action, state, dispatch, controls, modes, props.onHangup),
    [state, dispatch, controls, modes, props.onHangup],
  );
  useKeyBindings(onAction);
  useAutoDismiss(state.notice, NOTICE_VISIBLE_MS, useCallback(() => dispatch({ type: 'dismiss-notice' }), [dispatch]));
  useAutoDismiss(state.echoHint || null, ECHO_HINT_VISIBLE_MS, useCallback(() => dispatch({ type: 'dismiss-echo-hint' }), [dispatch]));

  const live = videoIsLive(state) && main.rows >= MIN_VIDEO_ROWS;
  useVideoLayout(painter, live ? main : null, state.renderMode, state.selfView, peerPictureSize(state.peer));

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Box width={columns} height={main.rows}>
        <MainArea state={state} width={columns} height={main.rows} command={props.peerCommand ?? peerCommand(state)} />
      </Box>
      <NoticeLine state={state} width={columns} />
      <StatusBar state={state} width={columns} />
    </Box>
  );
}

function MainArea({ state, width, height, command }: { state: CallViewState; width: number; height: number; command: string }) {
  if (state.help) return <HelpOverlay width={width} height={height} />;
  switch (state.phase) {
    case 'connecting':
    case 'waiting':
      return <WaitingScreen session={state.session} command={command} connecting={state.phase === 'connecting'} width={width} height={height} />;
    case 'peer-left':
      return <CenteredMessage text={state.peerLeftReason === 'lost' ? 'Connection to the peer lost; waiting for them to come back…' : 'The peer hung up.'} width={width} height={height} />;
    case 'reconnecting':
      return <ReconnectingMessage state={state} width={width} height={height} />;
    case 'ended':
      return <CenteredMessage text="Call ended." width={width} height={height} />;
    case 'in-call':
      // Blank rows: the painter draws here, outside React.
      if (peerHasNoCamera(state)) return <CenteredMessage text="The peer has no camera." width={width} height={height} />;
      return state.peerState.cameraOff ? <CenteredMessage text="The peer turned the camera off." width={width} height={height} /> : null;
  }
}

function handleAction(
  action: KeyAction,
  state: CallViewState,
  dispatch: (a: CallAction) => void,
  controls: CallControls,
  modes: readonly RenderMode[],
  onHangup: () => void,
): void {
  switch (action) {
    case 'hangup':
      onHangup();
      return;
    // Toggled from the session's own state, not the rendered one: a key that comes before
    // React has re-rendered after the previous press (a loaded machine) reaches a handler
    // holding the old state, and toggled the camera off a second time instead of on.
    case 'toggle-mute': {
      const muted = !controls.muted;
      controls.setMuted(muted);
      dispatch({ type: 'muted', muted });
      return;
    }
    case 'toggle-camera': {
      const off = !controls.cameraOff;
      controls.setCameraOff(off);
      dispatch({ type: 'camera-off', off });
      return;
    }
    case 'cycle-render': {
      if (modes.length === 0) return;
      const index = modes.indexOf(state.renderMode);
      dispatch({ type: 'render-mode', mode: modes[(index + 1) % modes.length] });
      return;
    }
    case 'toggle-self-view':
      dispatch({ type: 'toggle-self-view' });
      return;
    case 'toggle-help':
      dispatch({ type: 'toggle-help' });
      return;
    case 'close-help':
      dispatch({ type: 'close-help' });
      return;
  }
}
