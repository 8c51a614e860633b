import { useCallback, useEffect, useReducer, type Dispatch } from 'react';
import { Box, Text } from 'ink';
import type { RenderMode } from '../../../codec/render/types.js';
import type { KeyAction } from '../keys.js';
import { computeLayout } from '../layout.js';
import { useTerminalSize } from '../use-terminal-size.js';
import { useKeyBindings } from '../use-key-bindings.js';
import { useAutoDismiss } from '../use-auto-dismiss.js';
import { WaitingScreen } from '../WaitingScreen.js';
import { HelpOverlay } from '../HelpOverlay.js';
import { CenteredMessage } from '../CenteredMessage.js';
import { NOTICE_VISIBLE_MS } from '../CallScreen.js';
import type { Piece } from '../status-line.js';
import type { GridPainter } from './grid-painter.js';
import { layoutGrid } from './grid-layout.js';
import { initialRoomView, roomReducer, type RoomAction, type RoomViewState } from './room-state.js';
import { roomStatusRowOne, roomStatusRowTwo } from './room-status-line.js';
import { subscribeRoom, type RoomControls, type RoomEventSource } from './room-view-events.js';

export interface RoomScreenProps {
  session: RoomEventSource;
  controls: RoomControls;
  /** Draws the tiles; absent in tests of the text parts. */
  painter?: GridPainter;
  modes: readonly RenderMode[];
  initialMode: RenderMode;
  onHangup: () => void;
  insecure?: boolean;
  /** Cell width / height, for the same layout the painter computes. */
  cellAspect?: number;
  /** What the waiting screen says the others run. */
  joinCommand: string;
}

function useRoomState(session: RoomEventSource, init: Parameters<typeof initialRoomView>[0]): [RoomViewState, Dispatch<RoomAction>] {
  const [state, dispatch] = useReducer(roomReducer, init, initialRoomView);
  useEffect(
    () => subscribeRoom(session, {
      connecting: () => dispatch({ type: 'connecting' }),
      waiting: ({ session: code }) => dispatch({ type: 'waiting', session: code }),
      'member-joined': ({ memberId, member }) => dispatch({ type: 'member-joined', id: memberId, ...(typeof member.name === 'string' ? { name: member.name } : {}) }),
      'member-left': ({ memberId, reason }) => dispatch({ type: 'member-left', id: memberId, reason: String(reason) }),
      stats: (stats) => dispatch({ type: 'stats', stats }),
      warning: ({ code, message }) => dispatch({ type: 'warning', code, message }),
      ended: ({ reason, exitCode, message }) => dispatch({ type: 'ended', reason, exitCode, ...(message ? { message } : {}) }),
    }),
    [session],
  );
  return [state, dispatch];
}

function Pieces({ pieces, dim }: { pieces: Piece[]; dim?: boolean }) {
  return (
    <Text wrap="truncate-end" dimColor={dim === true}>
      {pieces.map((p, i) => (
        <Text key={i} {...(p.color ? { color: p.color } : {})} bold={p.bold === true}>
          {p.text}
        </Text>
      ))}
    </Text>
  );
}

/** The group call screen: the grid (drawn by the painter), the notice row, the status bar. */
export function RoomScreen(props: RoomScreenProps) {
  const { session, controls, painter, modes } = props;
  const { columns, rows } = useTerminalSize();
  const [state, dispatch] = useRoomState(session, {
    session: controls.session,
    muted: controls.muted,
    cameraOff: controls.cameraOff,
    encrypted: controls.encrypted,
    noCamera: controls.noCamera,
    noMic: controls.noMic,
    insecure: props.insecure,
    renderMode: props.initialMode,
  });
  const main = computeLayout(columns, rows).main;
  const tileCount = state.members.length + (state.selfView ? 1 : 0);
  const grid = layoutGrid(main, tileCount, { cellAspect: props.cellAspect });
  const live = state.phase === 'in-room' && !state.help && !grid.tooSmall;

  const onAction = useCallback((action: KeyAction) => handleAction(action, state, dispatch, controls, modes, props.onHangup), [state, controls, modes, props.onHangup]);
  useKeyBindings(onAction);
  useAutoDismiss(state.notice, NOTICE_VISIBLE_MS, useCallback(() => dispatch({ type: 'dismiss-notice' }), []));
  useEffect(() => {
    painter?.setLayout({
      area: live ? main : null,
      mode: state.renderMode,
      selfView: state.selfView,
      self: { muted: state.muted, cameraOff: state.cameraOff, noCamera: state.noCamera, noMic: state.noMic },
    });
  });

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Box width={columns} height={main.rows}>
        {live ? null : <MainArea state={state} width={columns} height={main.rows} command={props.joinCommand} tooSmall={grid.tooSmall} />}
      </Box>
      <Text wrap="truncate-end" color="yellow">{state.notice ? ` ! ${state.notice.message}`.slice(0, columns) : ' '}</Text>
      <Box flexDirection="column" width={columns} height={2}>
        <Pieces pieces={roomStatusRowOne(state, columns, grid.tiles.length)} />
        <Pieces pieces={roomStatusRowTwo(state, columns)} dim />
      </Box>
    </Box>
  );
}

function MainArea({ state, width, height, command, tooSmall }: { state: RoomViewState; width: number; height: number; command: string; tooSmall: boolean }) {
  if (state.help) return <HelpOverlay width={width} height={height} />;
  switch (state.phase) {
    case 'connecting':
    case 'waiting':
      return <WaitingScreen session={state.session} command={command} connecting={state.phase === 'connecting'} width={width} height={height} waitingText="Waiting for others to join the room with session code" />;
    case 'ended':
      return <CenteredMessage text="Call ended." width={width} height={height} />;
    case 'in-room':
      return tooSmall ? <CenteredMessage text="Terminal too small for the grid" width={width} height={height} /> : null;
  }
}

function handleAction(
  action: KeyAction,
  state: RoomViewState,
  dispatch: Dispatch<RoomAction>,
  controls: RoomControls,
  modes: readonly RenderMode[],
  onHangup: () => void,
): void {
  switch (action) {
    case 'hangup':
      onHangup();
      return;
    // From the session's own state, as in the one-to-one screen: a second press before
    // React re-rendered must toggle back.
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
      dispatch({ type: 'render-mode', mode: modes[(modes.indexOf(state.renderMode) + 1) % modes.length] });
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
