/**
 * Estimates the delay between what is played and when the microphone hears it, for the echo
 * canceller: WebRTC's delay-agnostic mode only searches about -50..+70 ms around the delay it
 * is told (measured), so it is told this estimate. Pure: 10 ms frames in, in the order the
 * canceller gets them (one played frame slot per captured frame).
 *
 * Method: the energy envelope of both signals in 2 ms blocks (log energy, with its 32 ms moving
 * average taken off, so that onsets stand out and loudness does not), and the normalized cross-
 * correlation of the last 0.8 s of the microphone's envelope with the played one at every lag
 * 0..500 ms. Four times a second; a peak above CONFIDENCE is an estimate; the delay given out
 * moves only when two estimates in a row agree.
 */

const BLOCK = 96;
const BLOCK_MS = 2;
const MAX_LAG_BLOCKS = 250;
const WINDOW_BLOCKS = 400;
const EVERY_BLOCKS = 125;
const SMOOTH_BLOCKS = 16;
/** Normalized correlation a peak needs to count (speech echo through a room scores 0.5-0.9). */
export const DELAY_CONFIDENCE = 0.35;
const HISTORY = WINDOW_BLOCKS + MAX_LAG_BLOCKS + SMOOTH_BLOCKS;

function blockEnergies(frame: Buffer | null, samples: number, out: number[]): void {
  for (let b = 0; b < samples / BLOCK; b++) {
    let e = 0;
    if (frame) {
      for (let i = 0; i < BLOCK; i++) {
        const s = frame.readInt16LE((b * BLOCK + i) * 2);
        e += s * s;
      }
    }
    out.push(Math.log(1 + e / BLOCK));
  }
}

export class EchoDelayEstimator {
  private far: number[] = [];
  private near: number[] = [];
  private sinceEstimate = 0;
  private candidateMs = -1;
  private agreeing = 0;
  /** The delay to tell the canceller, ms. */
  delayMs: number;
  /** The last raw estimate and its score (for tests and diagnostics). */
  lastEstimateMs: number | null = null;
  lastScore = 0;

  constructor(initialMs: number) {
    this.delayMs = initialMs;
  }

  /** The played 10 ms frame given to the canceller in this slot, or null when none was. */
  played(frame: Buffer | null, samples: number): void {
    blockEnergies(frame, samples, this.far);
    if (this.far.length > HISTORY) this.far.splice(0, this.far.length - HISTORY);
  }

  /** A captured 10 ms frame (before cancelling). */
  captured(frame: Buffer, samples: number): void {
    blockEnergies(frame, samples, this.near);
    if (this.near.length > HISTORY) this.near.splice(0, this.near.length - HISTORY);
    this.sinceEstimate += samples / BLOCK;
    if (this.sinceEstimate >= EVERY_BLOCKS && this.near.length >= WINDOW_BLOCKS + SMOOTH_BLOCKS && this.far.length >= HISTORY) {
      this.sinceEstimate = 0;
      this.estimate();
    }
  }

  private estimate(): void {
    const far = highPass(this.far);
    const near = highPass(this.near);
    // The two envelopes end at the same moment (one slot each per captured frame).
    const nEnd = near.length;
    const fEnd = far.length - (this.far.length - this.near.length > 0 ? this.far.length - this.near.length : 0);
    const x = near.slice(nEnd - WINDOW_BLOCKS, nEnd);
    const xx = x.reduce((a, v) => a + v * v, 0);
    if (xx <= 0) return;
    let best = -1;
    let bestLag = 0;
    for (let lag = 0; lag <= MAX_LAG_BLOCKS; lag++) {
      const start = fEnd - WINDOW_BLOCKS - lag;
      if (start < 0) break;
      let xy = 0;
      let yy = 0;
      for (let i = 0; i < WINDOW_BLOCKS; i++) {
        const y = far[start + i]!;
        xy += x[i]! * y;
        yy += y * y;
      }
      const score = yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
      if (score > best) {
        best = score;
        bestLag = lag;
      }
    }
    this.lastScore = best;
    if (best < DELAY_CONFIDENCE) return;
    const ms = bestLag * BLOCK_MS;
    this.lastEstimateMs = ms;
    if (Math.abs(ms - this.candidateMs) <= 6) this.agreeing++;
    else {
      this.candidateMs = ms;
      this.agreeing = 1;
    }
    if (this.agreeing >= 2 && Math.abs(ms - this.delayMs) > 10) this.delayMs = ms;
  }
}

/** Log envelope minus its moving average (onsets stand out; the level does not matter). */
function highPass(env: number[]): number[] {
  const out = new Array<number>(env.length).fill(0);
  let sum = 0;
  for (let i = 0; i < env.length; i++) {
    sum += env[i]!;
    if (i >= SMOOTH_BLOCKS) sum -= env[i - SMOOTH_BLOCKS]!;
    const avg = sum / Math.min(i + 1, SMOOTH_BLOCKS);
    out[i] = env[i]! - avg;
  }
  return out;
}
