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

interface NativeAec {
  create(rate: number, suppression: number, denoise: boolean): unknown;
  render(handle: unknown, far: Buffer): void;
  capture(handle: unknown, near: Buffer, out: Buffer): void;
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
    this.lib.render(this.handle, frame.subarray(0, SUB_FRAME_BYTES));
    this.lib.render(this.handle, frame.subarray(SUB_FRAME_BYTES));
    this.framesPlayed++;
  }

  /** A 20 ms frame from the microphone -> a new buffer with the echo removed. */
  process(frame: Buffer): Buffer {
    if (frame.length !== AUDIO_FRAME_BYTES) return frame;
    this.lib.capture(this.handle, frame.subarray(0, SUB_FRAME_BYTES), this.out.subarray(0, SUB_FRAME_BYTES));
    this.lib.capture(this.handle, frame.subarray(SUB_FRAME_BYTES), this.out.subarray(SUB_FRAME_BYTES));
    this.framesProcessed++;
    return Buffer.from(this.out);
  }

  /** Forgets what it learnt (e.g. the peer changed). */
  reset(): void {
    this.lib.reset(this.handle);
  }
}
