/**
 * What every media class around a supervised child process shares: the captures, the decoders
 * and the recorder (ffmpeg), and the audio sink's speaker child. Spawning ffmpeg swallows pipe
 * errors (EPIPE when ffmpeg died) because the supervisor reports the death itself, with
 * ffmpeg's last stderr lines.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describeDeath, Supervisor, type ProcessDeath, type SupervisorOptions } from '../proc/supervisor.js';
import type { MediaError, MediaWarning } from './errors.js';

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

/** What a media class does with one supervised process's life. */
export interface SupervisedHandlers {
  /** Every (re)spawned child: wire its pipes here. */
  spawn?: (child: ChildProcess, sup: Supervisor) => void;
  /** The child ended without being asked to (a restart may follow). */
  died?: (death: ProcessDeath) => void;
  /** No more restarts. */
  gaveUp?: (death: ProcessDeath) => void;
}

/** The warning for a process that died and is being restarted. */
export function restartWarning(code: string, death: ProcessDeath): MediaWarning {
  return { code, message: `${describeDeath(death)}; restarting` };
}

/**
 * The base of the media classes: one current supervised process in `sup`, started with its
 * handlers, and stopped without its handlers hearing the end it was asked for (a close, or
 * a restart with new parameters, is no death to report).
 */
export abstract class SupervisedMedia<E extends Record<keyof E, unknown[]>> extends EventEmitter<E> {
  /** The current process: undefined before start, and after a retire until its replacement. */
  protected sup: Supervisor | undefined;

  /** Makes `sup` the current process, wires `on` to it and starts it. */
  protected supervise(sup: Supervisor, on: SupervisedHandlers): Supervisor {
    const { spawn: onSpawn, died, gaveUp } = on;
    if (onSpawn) sup.on('spawn', (child) => onSpawn(child, sup));
    if (died) sup.on('died', died);
    if (gaveUp) sup.on('gave-up', gaveUp);
    this.sup = sup;
    sup.start();
    return sup;
  }

  /** supervise() for an ffmpeg built from `o`. */
  protected superviseFfmpeg(o: FfmpegProcessOptions, on: SupervisedHandlers): Supervisor {
    return this.supervise(ffmpegSupervisor(o), on);
  }

  /**
   * Stops a process (default: the current one) and resolves once it has exited. Its `died`
   * and `gave-up` handlers are taken off first. `sup` stays as it is: the caller decides
   * whether a replacement comes.
   */
  protected async retire(sup: Supervisor | undefined = this.sup): Promise<void> {
    if (!sup) return;
    sup.removeAllListeners('died');
    sup.removeAllListeners('gave-up');
    await sup.close();
  }

  /** The last stderr lines of the current process (for reports). */
  lastStderr(): string[] {
    return this.sup?.lastStderr() ?? [];
  }

  /** Emits `warning`; the generic event map cannot prove every subclass has it, they all do. */
  protected emitWarning(w: MediaWarning): void {
    EventEmitter.prototype.emit.call(this, 'warning', w);
  }

  /** Emits `error` (subclasses whose events have one). */
  protected emitError(err: MediaError): void {
    EventEmitter.prototype.emit.call(this, 'error', err);
  }
}
