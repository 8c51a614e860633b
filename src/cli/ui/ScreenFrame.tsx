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
  /** The help overlay covers the main area. */
  help: boolean;
  /** The waiting screen, while connecting or waiting for the others; null otherwise. */
  waiting: { session: string; command: string; connecting: boolean; waitingText?: string } | null;
  /** The call has ended: "Call ended." */
  ended: boolean;
  /** What the main area shows otherwise (null: blank rows, the painter draws there, outside React). */
  main: ReactNode;
  notice: ReactNode;
  status: ReactNode;
}

/** The frame both call screens share: the main area (overlay, waiting, ended or the screen's own), the notice row, the status bar. */
export function ScreenFrame(props: ScreenFrameProps) {
  const { columns, mainRows } = props;
  return (
    <Box flexDirection="column" width={columns} height={props.rows}>
      <Box width={columns} height={mainRows}>
        {props.help
          ? <HelpOverlay width={columns} height={mainRows} />
          : props.waiting
            ? <WaitingScreen {...props.waiting} width={columns} height={mainRows} />
            : props.ended ? <CenteredMessage text="Call ended." width={columns} height={mainRows} /> : props.main}
      </Box>
      {props.notice}
      {props.status}
    </Box>
  );
}
