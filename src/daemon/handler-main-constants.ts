/** Timing shared by handler-main.ts and placement (handler-main.ts runs on import). */

/** A pair whose second socket has not arrived after this long is dropped. */
export const PAIR_ASSEMBLY_TIMEOUT_MS = 10_000;

/**
 * A pair (or room member) whose handler has reported neither its start nor its end after
 * this long is ended by the daemon (a handle can be lost on the way: the handler's NACK
 * after a failed receive makes Node retry three times, then give up without telling the
 * sender).
 */
export const HANDOVER_TIMEOUT_MS = PAIR_ASSEMBLY_TIMEOUT_MS + 5000;
