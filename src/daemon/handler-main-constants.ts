/** Timing shared by handler-main.ts and the pool (handler-main.ts runs on import). */

/** A pair whose second socket has not arrived after this long is dropped. */
export const PAIR_ASSEMBLY_TIMEOUT_MS = 10_000;
