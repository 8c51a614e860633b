/**
 * The echo canceller: what the speaker plays comes back through the microphone, and this
 * takes it out of what we send. It is WebRTC's acoustic echo canceller (Debian's
 * libwebrtc-audio-processing 0.3, extended filter, delay-agnostic: it finds the delay between
 * what was played and what the microphone hears by itself, and follows it when it changes),
 * through a small native addon, native/aec, built at install time when the library is there
 * (scripts/build-native.mjs). Chosen by measurement against speexdsp: see docs/media.md.
 *
 * Use: `played(frame)` with every 20 ms frame handed to the speaker (the far-end reference,
 * in the order played), `process(frame)` with every 20 ms frame from the microphone, which
 * returns the frame with the echo removed, no later (the canceller's own delay is 8 ms,
 * measured). Both on the same thread, so their order is the order of events.
 *
 * Without the addon the call works as before and `doctor` says there is no canceller.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AUDIO_FRAME_BYTES, AUDIO_SAMPLE_RATE_HZ } from './args.js';

/** How doctor and the UI name the canceller. */
export const ECHO_CANCELLER_NAME = 'WebRTC AEC (webrtc-audio-processing, delay-agnostic)';
/** The addon's frame: 10 ms. */
const SUB_FRAME_BYTES = (AUDIO_SAMPLE_RATE_HZ / 100) * 2;
/** Suppression of what the adaptive filter leaves: low keeps most of the near speech in double talk (measured). */
const SUPPRESSION_LOW = 0;
/**
 * The speaker -> microphone delay told to the canceller. Its delay-agnostic mode finds the
 * true one only within about -50..+70 ms of this (measured with the synthetic room: 80 covers
 * echo 30..150 ms late; 0 covers 40 but not 150). Our path: the sink's frame, ~20 ms in
 * ALSA's buffer, the air, a 20 ms capture fragment, ffmpeg: typically 50..100 ms.
 */
export const ECHO_DELAY_HINT_MS = 80;
/** Played 10 ms frames that may wait for captured ones (see farQueue). */
const FAR_QUEUE_MAX = 8;

interface NativeAec {
  create(rate: number, suppression: number, denoise: boolean): unknown;
  render(handle: unknown, far: Buffer): void;
  capture(handle: unknown, near: Buffer, out: Buffer, delayMs: number): void;
  reset(handle: unknown): void;
}

/** Where the addon is built, from src/media or dist/media alike. */
export const ADDON_PATH = fileURLToPath(new URL('../../native/aec/build/Release/vc_aec.node', import.meta.url));

let native: NativeAec | null | undefined;
let nativeError = '';

function loadNative(): NativeAec | null {
  if (native !== undefined) return native;
  if (!existsSync(ADDON_PATH)) {
    native = null;
    nativeError = 'not built (install libwebrtc-audio-processing-dev, then `npm rebuild videochat`)';
    return null;
  }
  try {
    native = createRequire(import.meta.url)(ADDON_PATH) as NativeAec;
  } catch (err) {
    native = null;
    nativeError = `cannot be loaded: ${(err as Error).message.split('\n')[0]}`;
  }
  return native;
}

/** Which canceller a call would use, for doctor: its name, or null and why not. */
export function echoCancellerStatus(): { name: string | null; why: string } {
  return loadNative() ? { name: ECHO_CANCELLER_NAME, why: '' } : { name: null, why: nativeError };
}

export interface EchoCancellerOptions {
  /** Also suppress steady background noise (off by default: it colours speech). */
  denoise?: boolean;
}

/** One call's echo canceller. */
export class EchoCanceller {
  readonly name = ECHO_CANCELLER_NAME;
  private readonly lib: NativeAec;
  private readonly handle: unknown;
  private readonly out = Buffer.alloc(AUDIO_FRAME_BYTES);
  /**
   * Played 10 ms frames not yet given to the canceller. It is fed one played frame before each
   * captured one, strictly alternating: given in bursts (two played, then two captured, as
   * 20 ms frames come) it misjudges the delay and cancels echo 150 ms late by only ~18 dB
   * instead of >= 25 (measured). More than FAR_QUEUE_MAX waiting are given at once.
   */
  private readonly farQueue: Buffer[] = [];
  /** Frames given to played() / process(), for stats and tests. */
  framesPlayed = 0;
  framesProcessed = 0;

  /** Throws when the addon is missing: check echoCancellerStatus() first. */
  constructor(opts: EchoCancellerOptions = {}) {
    const lib = loadNative();
    if (!lib) throw new Error(`no echo canceller: ${nativeError}`);
    this.lib = lib;
    this.handle = lib.create(AUDIO_SAMPLE_RATE_HZ, SUPPRESSION_LOW, opts.denoise ?? false);
  }

  /** A 20 ms frame (1920 bytes) that was just handed to the speaker. */
  played(frame: Buffer): void {
    if (frame.length !== AUDIO_FRAME_BYTES) return;
    this.farQueue.push(Buffer.from(frame.subarray(0, SUB_FRAME_BYTES)), Buffer.from(frame.subarray(SUB_FRAME_BYTES)));
    // No microphone frames coming (mic lost, muted upstream): keep the queue short all the same.
    while (this.farQueue.length > FAR_QUEUE_MAX) this.lib.render(this.handle, this.farQueue.shift()!);
    this.framesPlayed++;
  }

  /** A 20 ms frame from the microphone -> a new buffer with the echo removed. */
  process(frame: Buffer): Buffer {
    if (frame.length !== AUDIO_FRAME_BYTES) return frame;
    for (const half of [0, 1]) {
      const far = this.farQueue.shift();
      if (far) this.lib.render(this.handle, far);
      const at = half * SUB_FRAME_BYTES;
      this.lib.capture(this.handle, frame.subarray(at, at + SUB_FRAME_BYTES), this.out.subarray(at, at + SUB_FRAME_BYTES), ECHO_DELAY_HINT_MS);
    }
    this.framesProcessed++;
    return Buffer.from(this.out);
  }

  /** Forgets what it learnt (e.g. the peer changed). */
  reset(): void {
    this.lib.reset(this.handle);
  }
}
