/**
 * Unsigned 64-bit integers as JS numbers, for microsecond timestamps. Microseconds since
 * the epoch stay below 2^53 until the year 2255, so a number holds them exactly; two u32
 * halves avoid BigInt on the hot path.
 */

const TWO_POW_32 = 0x1_0000_0000;
/** Largest high half whose value still fits a safe integer (2^53 - 1 >> 32). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/** Writes `value` (an integer in 0..2^53-1) as u64 big-endian. */
export function writeU64BE(out: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`u64 field needs an integer in 0..2^53-1, got ${value}`);
  }
  const high = Math.floor(value / TWO_POW_32);
  out.writeUInt32BE(high, offset);
  out.writeUInt32BE(value - high * TWO_POW_32, offset + 4);
}

/** Reads a u64 big-endian; null when it does not fit a safe integer. */
export function readU64BE(data: Buffer, offset: number): number | null {
  const high = data.readUInt32BE(offset);
  if (high > MAX_SAFE_HIGH) return null;
  return high * TWO_POW_32 + data.readUInt32BE(offset + 4);
}
