/**
 * `--record FILE.mkv`: the received video and audio, copied (not re-encoded) into Matroska by
 * one supervised ffmpeg that reads video on fd 3 and audio on fd 4. Both inputs are stamped
 * with the wall clock as they arrive, which is the only common timeline a live call has.
 *
 * Finalizing: close() ends both pipes, ffmpeg writes the Matroska index and exits; only then
 * does close() resolve. The session calls it on hang-up, Ctrl-C and when the peer leaves.
 * ffmpeg opens its inputs one after the other, so nothing is written to the file before a
 * first video frame arrives (when there is a video stream).
 */
import type { Writable } from 'node:stream';
import { OggWriter, opusHead, opusTags } from '../codec/ogg.js';
import { AUD_NAL } from '../codec/h264.js';
import { describeDeath } from '../proc/supervisor.js';
import { AUDIO_SAMPLE_RATE_HZ, recorderArgs, type RecorderParams } from './args.js';
import type { MediaWarning } from './errors.js';
import { SupervisedMedia } from './ffmpeg-process.js';

/** Bytes allowed to wait in one recorder pipe before data is dropped. */
export const RECORDER_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Time ffmpeg gets to finalize the file after its inputs end. */
export const RECORDER_FINALIZE_TIMEOUT_MS = 5000;

export interface RecorderEvents {
  /** The recorder died: the recording stops, the call goes on. */
  warning: [MediaWarning];
}

export interface RecorderOptions extends RecorderParams {
  ffmpeg: string;
}

/** What ffmpeg prints when the file could not be written out, whatever its exit status. */
const RECORDER_WRITE_ERROR = /Error (writing|closing)|No space left on device|Input\/output error|Disk quota exceeded/i;

/** Writes received media to a Matroska file. */
export class Recorder extends SupervisedMedia<RecorderEvents> {
  private readonly opts: RecorderOptions;
  private ogg = new OggWriter();
  private waitingForKeyframe: boolean;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();
  /** Something was handed to ffmpeg (an empty recording is not a failed one). */
  private wrote = false;

  constructor(opts: RecorderOptions) {
    super();
    this.opts = opts;
    this.waitingForKeyframe = opts.video === 'h264';
  }

  /** Spawns ffmpeg. */
  start(): this {
    if (this.sup || this.closed) return this;
    this.superviseFfmpeg({
      name: 'ffmpeg-recorder',
      ffmpeg: this.opts.ffmpeg,
      args: () => recorderArgs(this.opts),
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      // ffmpeg opens its inputs only when data arrives: don't judge startup by time.
      startupGraceMs: Infinity,
      stop: (child) => {
        (child.stdio[3] as Writable | null)?.end();
        (child.stdio[4] as Writable | null)?.end();
      },
      killAfterMs: RECORDER_FINALIZE_TIMEOUT_MS,
    }, {
      spawn: (child) => {
        if (this.opts.audio !== 'opus') return;
        const audio = child.stdio[4] as Writable | null;
        audio?.write(this.ogg.page(opusHead(1, 0, AUDIO_SAMPLE_RATE_HZ), 0, { bos: true }));
        audio?.write(this.ogg.page(opusTags()));
      },
      died: (death) => this.emit('warning', { code: 'W_RECORD_FAILED', message: `recording stopped: ${describeDeath(death)}` }),
    });
    return this;
  }

  private pipe(fd: 3 | 4): Writable | undefined {
    const w = this.sup?.child?.stdio[fd] as Writable | null | undefined;
    if (!w || !w.writable || w.writableLength > RECORDER_MAX_QUEUED_BYTES) return undefined;
    return w;
  }

  /** Adds one received video frame (whole JPEG or H.264 access unit). */
  writeVideo(frame: { data: Uint8Array; keyframe: boolean }): void {
    if (this.closed || !this.opts.video) return;
    const w = this.pipe(3);
    if (!w) {
      if (this.opts.video === 'h264') this.waitingForKeyframe = true;
      return;
    }
    if (this.waitingForKeyframe && !frame.keyframe) return;
    this.waitingForKeyframe = false;
    this.sup?.markStarted();
    this.wrote = true;
    w.write(frame.data);
    if (this.opts.video === 'h264') w.write(AUD_NAL);
  }

  /** Adds one received audio packet (Opus packet, or s16le PCM) with its duration. */
  writeAudio(packet: Uint8Array, durationMs: number): void {
    if (this.closed || !this.opts.audio) return;
    const w = this.pipe(4);
    if (!w) return;
    this.sup?.markStarted();
    this.wrote = true;
    if (this.opts.audio === 'opus') w.write(this.ogg.page(packet, Math.round((durationMs * AUDIO_SAMPLE_RATE_HZ) / 1000)));
    else w.write(packet);
  }

  /**
   * Ends the inputs and waits until ffmpeg has finalized the file. Idempotent. A finalize that
   * fails (ffmpeg exits non-zero: e.g. a full disk, whose error can surface only when ffmpeg
   * flushes its buffers and writes the index) is a W_RECORD_FAILED warning before it resolves,
   * as a death during the call is: a short call on a loaded machine reached close() before
   * any write had failed, and the broken recording was reported as a good one.
   */
  async close(): Promise<void> {
    if (this.closed) return this.closing;
    this.closed = true;
    const sup = this.sup;
    if (!sup) return;
    const child = sup.child;
    this.closing = this.retire(sup).then(() => {
      if (!child || !this.wrote) return;
      const tail = sup.lastStderr();
      // ffmpeg 5.1 exits 0 after 'Error writing trailer ...: No space left on device'.
      const writeError = tail.find((l) => RECORDER_WRITE_ERROR.test(l));
      if (child.exitCode === 0 && !writeError) return;
      const how = child.exitCode !== null ? `exited with code ${child.exitCode}` : `was killed by ${child.signalCode ?? 'a signal'}`;
      const last = writeError ?? tail[tail.length - 1];
      this.emit('warning', { code: 'W_RECORD_FAILED', message: `recording not finished: ffmpeg-recorder ${how}${last ? `: ${last}` : ''}` });
    });
    return this.closing;
  }
}
