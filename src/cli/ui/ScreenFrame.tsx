import type { ReactNode } from 'react';
import { Box } from 'ink';
import { WaitingScreen } from './WaitingScreen.js';
import { HelpOverlay } from './HelpOverlay.js';
import { CenteredMessage } from './CenteredMessage.js';

export interface ScreenFrameProps {
  columns: number;
  rows: number;
  /** Rows of the main area, above the notice row and the status bar. */
  mainRows: number;
  /** The screen's state: its phase (waiting screen while connecting or waiting, "Call ended." at the end), session code and help overlay. */
  state: { phase: string; session: string; help: boolean };
  /** What the waiting screen says the others run, and what it says we wait for. */
  command: string;
  waitingText?: string;
  /** What the main area shows otherwise (null: blank rows, the painter draws there, outside React). */
  main: ReactNode;
  notice: ReactNode;
  status: ReactNode;
}

/** The frame both call screens share: the main area (overlay, waiting, ended or the screen's own), the notice row, the status bar. */
export function ScreenFrame(props: ScreenFrameProps) {
  const { columns, mainRows, state } = props;
  const waiting = state.phase === 'connecting' || state.phase === 'waiting';
  return (
    <Box flexDirection="column" width={columns} height={props.rows}>
      <Box width={columns} height={mainRows}>
        {state.help
          ? <HelpOverlay width={columns} height={mainRows} />
          : waiting
            ? <WaitingScreen session={state.session} command={props.command} connecting={state.phase === 'connecting'} waitingText={props.waitingText} width={columns} height={mainRows} />
            : state.phase === 'ended' ? <CenteredMessage text="Call ended." width={columns} height={mainRows} /> : props.main}
      </Box>
      {props.notice}
      {props.status}
    </Box>
  );
}
