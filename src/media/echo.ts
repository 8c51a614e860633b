/**
 * The echo canceller: what the speaker plays comes back through the microphone, and this
 * takes it out of what we send. It is WebRTC's acoustic echo canceller (Debian's
 * libwebrtc-audio-processing 0.3, extended filter, delay-agnostic: it follows the delay
 * between what was played and what the microphone hears, but only near the delay it started
 * with and not much past 150 ms, so echo-delay.ts estimates that delay, the canceller is
 * restarted at it when it leaves that window, and beyond 150 ms the played audio is held back
 * so that the canceller sees the echo 100 ms late), through a small native addon, native/aec, built at install time when the library is there
 * (native/build.mjs). Chosen by measurement against speexdsp: see docs/media.md.
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
import { EchoDelayEstimator } from './echo-delay.js';

/** How doctor and the UI name the canceller. */
export const ECHO_CANCELLER_NAME = 'WebRTC AEC (webrtc-audio-processing, delay-agnostic)';
/** The addon's frame: 10 ms. */
const SUB_FRAME_BYTES = (AUDIO_SAMPLE_RATE_HZ / 100) * 2;
/** Suppression of what the adaptive filter leaves: low keeps most of the near speech in double talk (measured). */
const SUPPRESSION_LOW = 0;
/**
 * The speaker -> microphone delay told to the canceller until echo-delay.ts has estimated it.
 * Its delay-agnostic mode finds the true one only within about -50..+70 ms of what it started
 * with (measured with the synthetic room: 80 covers echo 30..150 ms late; 0 covers 40 but not
 * 150). Our path: the sink's frame, ~20 ms in ALSA's buffer, the air, a 20 ms capture
 * fragment, ffmpeg: typically 50..100 ms.
 */
export const ECHO_DELAY_HINT_MS = 80;
/**
 * A delay estimate outside what the canceller covers around the delay it started with
 * (about -50..+70 ms, measured) restarts it at the estimate (~0.5 s to converge again).
 */
const REALIGN_BELOW_MS = 40;
const REALIGN_ABOVE_MS = 55;
/**
 * Beyond this, the canceller (which does not reach much past 150 ms, measured: 250 ms late
 * gave ~10 dB) is given the played audio later instead: held back in farQueue so that it sees
 * the echo PRE_DELAY_TARGET_MS after the reference.
 */
const PRE_DELAY_ABOVE_MS = 150;
const PRE_DELAY_TARGET_MS = 100;
/** Played 10 ms frames that may wait for captured ones (see farQueue), pre-delay included. */
const FAR_QUEUE_MAX = 60;

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
  /** What is told to the canceller as the speaker -> mic delay (it only searches near it). */
  readonly delay = new EchoDelayEstimator(ECHO_DELAY_HINT_MS);
  /** The delay the canceller was started (or restarted) with. */
  private alignedMs = ECHO_DELAY_HINT_MS;
  /** Times the canceller was restarted for a new delay. */
  realigned = 0;
  /** Played audio held back before the canceller sees it, in 10 ms frames. */
  private preDelayFrames = 0;
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
    this.followDelay();
    for (const half of [0, 1]) {
      // The estimator sees the played audio as it came, not held back: it measures the true delay.
      this.delay.played(this.farQueue[this.preDelayFrames] ?? null, SUB_FRAME_BYTES / 2);
      const far = this.farQueue.shift();
      if (far) this.lib.render(this.handle, far);
      const at = half * SUB_FRAME_BYTES;
      const near = frame.subarray(at, at + SUB_FRAME_BYTES);
      this.delay.captured(near, SUB_FRAME_BYTES / 2);
      this.lib.capture(this.handle, near, this.out.subarray(at, at + SUB_FRAME_BYTES), Math.max(0, this.visibleMs));
    }
    this.framesProcessed++;
    return Buffer.from(this.out);
  }

  /** The speaker -> mic delay as estimated (what the canceller sees plus what is held back). */
  get delayMs(): number {
    return this.delay.delayMs;
  }

  /** The delay the canceller itself sees (the estimate less what is held back). */
  private get visibleMs(): number {
    return this.delay.delayMs - this.preDelayFrames * 10;
  }

  private followDelay(): void {
    const est = this.delay.delayMs;
    const want = est > PRE_DELAY_ABOVE_MS ? Math.round((est - PRE_DELAY_TARGET_MS) / 10) : 0;
    if (Math.abs(want - this.preDelayFrames) >= 3) {
      // Hold the played audio back (or less) so that the canceller sees the echo where it reaches.
      if (want > this.preDelayFrames) {
        for (let i = this.preDelayFrames; i < want; i++) this.farQueue.unshift(Buffer.alloc(SUB_FRAME_BYTES));
      } else {
        this.farQueue.splice(0, Math.min(this.farQueue.length, this.preDelayFrames - want));
      }
      this.preDelayFrames = want;
      this.restartAt(this.visibleMs);
      return;
    }
    const off = this.visibleMs - this.alignedMs;
    if (off < -REALIGN_BELOW_MS || off > REALIGN_ABOVE_MS) this.restartAt(this.visibleMs);
  }

  /** It follows the delay only near the one it started with (measured): start it again there. */
  private restartAt(ms: number): void {
    this.lib.reset(this.handle);
    this.alignedMs = ms;
    this.realigned++;
  }

  /** Forgets what it learnt (e.g. the peer changed). */
  reset(): void {
    this.lib.reset(this.handle);
  }
}
