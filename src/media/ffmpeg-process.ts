/**
 * Spawning one supervised ffmpeg process: the piece every capture, decoder and recorder
 * shares. Pipe errors (EPIPE when ffmpeg died) are swallowed here because the supervisor
 * reports the death itself, with ffmpeg's last stderr lines.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { Supervisor, type SupervisorOptions } from '../proc/supervisor.js';

/** Restarts of a long-lived media process before we give up (within the supervisor's window). */
export const MEDIA_MAX_RESTARTS = 3;

export interface FfmpegProcessOptions {
  name: string;
  ffmpeg: string;
  /** Called at every (re)start, so a restart can pick up new parameters. */
  args: () => string[];
  stdio: StdioOptions;
  restart?: SupervisorOptions['restart'];
  startupGraceMs?: number;
  stop?: (child: ChildProcess) => void;
  killAfterMs?: number;
}

/** A Supervisor around ffmpeg; call start() after wiring its events. */
export function ffmpegSupervisor(o: FfmpegProcessOptions): Supervisor {
  return new Supervisor({
    name: o.name,
    startupGraceMs: o.startupGraceMs,
    restart: o.restart,
    stop: o.stop,
    killAfterMs: o.killAfterMs,
    spawn: () => {
      const child = spawn(o.ffmpeg, o.args(), { stdio: o.stdio });
      for (const s of child.stdio) s?.on('error', () => undefined);
      return child;
    },
  });
}
