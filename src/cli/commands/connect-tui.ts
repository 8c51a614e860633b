/**
 * The interactive side of `connect`: decides the render mode and colours for this terminal
 * and runs the Ink call screen until the call ends.
 */
import type { EventEmitter } from 'node:events';
import type { ColorDepth, RenderMode } from '../../codec/render/types.js';
import type { CommandContext } from '../program.js';
import type { CallControls } from '../ui/controls.js';
import { runCallTui } from '../ui/run-call-tui.js';
import type { SessionEvents } from '../session/events.js';
import type { ColorsChoice, RenderChoice } from '../options.js';

export interface TerminalChoice {
  renderMode: RenderMode;
  colors: ColorDepth;
  cellPx?: { width: number; height: number };
}

/** From the environment alone: truecolor blocks where COLORTERM says so, else 256 colours. */
export function chooseFromEnv(render: RenderChoice, colors: ColorsChoice, env: NodeJS.ProcessEnv): TerminalChoice {
  const depth: ColorDepth = colors === 'auto'
    ? (/truecolor|24bit/i.test(env.COLORTERM ?? '') ? 'truecolor' : /256/.test(env.TERM ?? '') ? 256 : 16)
    : colors === 'truecolor' ? 'truecolor' : (Number(colors) as 16 | 256);
  const mode: RenderMode = render === 'auto' || render === 'none' ? 'blocks' : render;
  return { renderMode: mode, colors: depth };
}

export async function runInteractive(
  session: EventEmitter<SessionEvents> & CallControls,
  settings: { render: RenderChoice; colors: ColorsChoice; cells?: { cols: number; rows: number }; call: { audioIn: { kind: string } } },
  ctx: CommandContext,
): Promise<void> {
  const choice = chooseFromEnv(settings.render, settings.colors, ctx.env);
  await runCallTui(session, {
    renderMode: choice.renderMode,
    colors: choice.colors,
    ...(settings.cells ? { cells: settings.cells } : {}),
    ...(choice.cellPx ? { cellPx: choice.cellPx } : {}),
    stdin: ctx.stdin,
    stdout: ctx.stdout,
    echoHint: settings.call.audioIn.kind !== 'none',
  });
}
