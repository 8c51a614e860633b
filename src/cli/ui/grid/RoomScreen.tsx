import { useEffect, useReducer, type Dispatch } from 'react';
import { Box, Text } from 'ink';
import { initialScreenView, type ScreenCommonProps } from '../screen-keys.js';
import { computeLayout } from '../layout.js';
import { useTerminalSize } from '../use-terminal-size.js';
import { useScreenKeys } from '../use-screen-keys.js';
import { ScreenFrame } from '../ScreenFrame.js';
import { CenteredMessage } from '../CenteredMessage.js';
import type { Piece } from '../status-line.js';
import type { GridPainter } from './grid-painter.js';
import { layoutGrid } from './grid-layout.js';
import { initialRoomView, roomReducer, type RoomAction, type RoomViewState } from './room-state.js';
import { roomStatusRowOne, roomStatusRowTwo } from './room-status-line.js';
import { subscribeRoom, type RoomControls, type RoomEventSource } from './room-view-events.js';

export interface RoomScreenProps extends ScreenCommonProps {
  session: RoomEventSource;
  controls: RoomControls;
  /** Draws the tiles; absent in tests of the text parts. */
  painter?: GridPainter;
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
  const [state, dispatch] = useRoomState(session, initialScreenView(controls, props));
  const main = computeLayout(columns, rows).main;
  const tileCount = state.members.length + (state.selfView ? 1 : 0);
  const grid = layoutGrid(main, tileCount, { cellAspect: props.cellAspect });
  const live = state.phase === 'in-room' && !state.help && !grid.tooSmall;

  useScreenKeys(state, dispatch, controls, modes, props.onHangup);
  useEffect(() => {
    painter?.setLayout({
      area: live ? main : null,
      mode: state.renderMode,
      selfView: state.selfView,
      self: { muted: state.muted, cameraOff: state.cameraOff, noCamera: state.noCamera, noMic: state.noMic },
    });
  });

  return (
    <ScreenFrame
      columns={columns} rows={rows} mainRows={main.rows} state={state}
      command={props.joinCommand} waitingText="Waiting for others to join the room with session code"
      main={grid.tooSmall ? <CenteredMessage text="Terminal too small for the grid" width={columns} height={main.rows} /> : null}
      notice={<Text wrap="truncate-end" color="yellow">{state.notice ? ` ! ${state.notice.message}`.slice(0, columns) : ' '}</Text>}
      status={
        <Box flexDirection="column" width={columns} height={2}>
          <Pieces pieces={roomStatusRowOne(state, columns, grid.tiles.length)} />
          <Pieces pieces={roomStatusRowTwo(state, columns)} dim />
        </Box>
      }
    />
  );
}
