/**
 * Where received audio goes (`--audio-out`): `speaker` / `speaker:PCM` (a child process that
 * owns `speaker`, see audio-sink-child.ts), `none`, or a WAV file. The sink owns the jitter
 * buffer and the playout clock: received PCM goes in with push(), and every 20 ms one frame
 * leaves for the output, silence included, so the output always runs in real time.
 *
 * The speaker child can never take the call down: its death (device missing, abort,
 * SIGKILL) is one `warning` (W_AUDIO_OUT) and the sink goes on as `none`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeDeath, Supervisor, type ProcessDeath } from '../proc/supervisor.js';
import { NO_SOUND_CARD, alsaDefaultSource } from './alsa.js';
import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE_HZ } from './args.js';
import type { MediaWarning } from './errors.js';
import { SupervisedMedia } from './ffmpeg-process.js';
import { JitterBuffer } from './jitter-buffer.js';
import { WavFileWriter } from './wav.js';

/**
 * PCM allowed to wait in the speaker child's stdin before frames are dropped: 3 frames. More
 * is only delay (it was 500 ms, which a slow start of the child filled and kept for the call).
 */
export const SPEAKER_MAX_QUEUED_BYTES = 96 * 60;
/**
 * After a stall (e.g. a busy event loop) the clock catches up at most this much at once. A
 * sound card has played silence meanwhile; what is written to catch up stays in its buffer
 * as delay for the rest of the call, so only two frames are.
 */
export const PLAYOUT_MAX_CATCH_UP_MS = 40;

/** `--audio-out` parsed. */
export type AudioOutSpec = { kind: 'speaker'; device?: string } | { kind: 'none' } | { kind: 'wav'; path: string };

export interface AudioSinkEvents {
  warning: [MediaWarning];
}

export interface AudioSinkStats {
  audioBufferMs: number;
  audioUnderruns: number;
}

export interface AudioSinkOptions {
  /** Environment of the speaker child (e.g. ALSA_CONFIG_PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Every 20 ms frame handed to the speaker, as it is handed over (the echo canceller's
   * far-end reference). Frames not played (child not ready, queue full) are not given.
   */
  onPlayed?: (frame: Buffer) => void;
}

/** The command that runs the speaker child: the compiled .js, or the .ts through tsx in development. */
export function speakerChildCommand(): { command: string; args: string[] } {
  const self = import.meta.url;
  const ts = self.endsWith('.ts');
  const childPath = fileURLToPath(new URL(ts ? './audio-sink-child.ts' : './audio-sink-child.js', self));
  return { command: process.execPath, args: ts ? ['--import', 'tsx', childPath] : [childPath] };
}

/**
 * The one line for a speaker child that died. libasound aborts the process (SIGABRT, with an
 * assertion like `pcm_params.c:2354 ...`) when there is no default device: that is said in
 * doctor's words, not quoted. Any other death is quoted as it happened.
 *
 * Not tied to the supervisor's start-up grace: on a loaded machine the child (node, then
 * speaker, then ALSA's open) took longer than the grace, and the abort was quoted raw. The
 * assertion comes from opening the device, so it means "cannot be opened" whenever it comes.
 */
export function audioOutLost(death: ProcessDeath, device: string | undefined, env: NodeJS.ProcessEnv): string {
  const aborted = death.signal === 'SIGABRT' && death.stderrTail.some((l) => /Assertion .* failed|snd_pcm|ALSA lib/i.test(l));
  if (aborted || (death.failedStart && death.stderrTail.some((l) => /snd_pcm|ALSA lib/i.test(l)))) {
    if (device) return `no sound: the ALSA device ${device} cannot be opened; going on without sound`;
    return alsaDefaultSource(env) === null
      ? `${NO_SOUND_CARD}: going on without sound`
      : "no sound: ALSA's default output cannot be opened; going on without sound";
  }
  return `audio output lost, going on without sound: ${describeDeath(death)}`;
}

/** Received audio -> jitter buffer -> speaker child, WAV file or nowhere. */
export class AudioSink extends SupervisedMedia<AudioSinkEvents> {
  private readonly spec: AudioOutSpec;
  private readonly env: NodeJS.ProcessEnv;
  private readonly jitter = new JitterBuffer({ bytesPerMs: (AUDIO_SAMPLE_RATE_HZ * 2) / 1000 });
  private wav: WavFileWriter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private clockStartMs = 0;
  private playedMs = 0;
  private closed = false;
  private warned = false;
  /** The speaker child has opened the device (it says `ready`): before that, writes would pile up. */
  private speakerReady_ = false;
  private readonly onPlayed: ((frame: Buffer) => void) | undefined;

  constructor(spec: AudioOutSpec, opts: AudioSinkOptions = {}) {
    super();
    this.spec = spec;
    this.env = opts.env ?? process.env;
    this.onPlayed = opts.onPlayed;
  }

  /** Opens the output and starts the playout clock. Wire `warning` first. */
  start(): this {
    if (this.timer || this.closed) return this;
    if (this.spec.kind === 'wav') this.openWav(this.spec.path);
    if (this.spec.kind === 'speaker') this.startSpeaker(this.spec.device);
    this.clockStartMs = performance.now();
    this.timer = setInterval(() => this.tick(), AUDIO_FRAME_MS);
    return this;
  }

  /** A WAV file that cannot be opened or written is a warning; the call goes on without sound. */
  private openWav(path: string): void {
    try {
      this.wav = new WavFileWriter(path, AUDIO_SAMPLE_RATE_HZ, 1, 16);
    } catch (err) {
      this.warnOnce('W_AUDIO_OUT', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); going on without sound`);
    }
  }

  private startSpeaker(device: string | undefined): void {
    const { command, args } = speakerChildCommand();
    const env = { ...this.env, VIDEOCHAT_SPEAKER_DEVICE: device ?? '' };
    const sup = new Supervisor({
      name: 'audio-sink',
      spawn: () => {
        const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
        child.stdin?.on('error', () => undefined);
        // Loading speaker and opening ALSA takes ~0.5 s: frames written meanwhile would be
        // played late for the whole call. So nothing is written until the child says ready.
        this.speakerReady_ = false;
        child.stdout?.setEncoding('utf8');
        child.stdout?.on('data', (s: string) => {
          if (s.includes('ready')) this.speakerReady_ = true;
        });
        return child;
      },
      stop: (child) => child.stdin?.end(),
      killAfterMs: 2000,
    });
    this.supervise(sup, {
      died: (death) => {
        this.sup = undefined;
        this.warnOnce('W_AUDIO_OUT', audioOutLost(death, device, this.env));
      },
    });
  }

  private warnOnce(code: string, message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.emit('warning', { code, message });
  }

  /** The speaker child has the device open and takes frames (before that they are not played). */
  get speakerReady(): boolean {
    return this.speakerReady_;
  }

  /** Pid of the speaker child while it runs (diagnostics, tests). */
  get speakerPid(): number | undefined {
    return this.sup?.child?.pid;
  }

  /** Received PCM (48 kHz mono s16le), any chunk size. */
  push(pcm: Uint8Array): void {
    if (!this.closed) this.jitter.push(pcm);
  }

  /** Jitter buffer figures for the `stats` event. */
  stats(): AudioSinkStats {
    return { audioBufferMs: Math.round(this.jitter.bufferMs), audioUnderruns: this.jitter.underruns };
  }

  private tick(): void {
    const elapsed = performance.now() - this.clockStartMs;
    if (elapsed - this.playedMs > PLAYOUT_MAX_CATCH_UP_MS) this.playedMs = elapsed - PLAYOUT_MAX_CATCH_UP_MS;
    while (this.playedMs + AUDIO_FRAME_MS <= elapsed) {
      this.playedMs += AUDIO_FRAME_MS;
      this.output(this.jitter.pull(AUDIO_FRAME_MS));
    }
  }

  private output(frame: Buffer): void {
    if (this.wav) {
      try {
        this.wav.write(frame);
      } catch (err) {
        const path = this.wav.path;
        try {
          this.wav.close();
        } catch {
          // The header may not fit on a full disk either: the fd is closed all the same.
        }
        this.wav = undefined;
        this.warnOnce('W_AUDIO_OUT', `writing ${path} failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the sound stops here`);
      }
    }
    const stdin = this.sup?.child?.stdin;
    if (stdin && this.speakerReady_ && stdin.writable && stdin.writableLength <= SPEAKER_MAX_QUEUED_BYTES) {
      stdin.write(frame);
      this.onPlayed?.(frame);
    }
  }

  /** Stops the clock, finalizes a WAV file, ends the speaker child. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      this.wav?.close();
    } catch {
      // Already reported when a write failed; the header of a file on a full disk may not fit either.
    }
    await this.retire();
  }
}
