/**
 * Pairing behind a small `find or wait` interface (docs/contract.md section 5), so a shared,
 * Redis-backed directory can later replace the in-memory map without touching the acceptor.
 */

/** What findOrWait decided for a newcomer. */
export type FindOrWaitResult<W> =
  | { kind: 'paired'; peer: W }
  | { kind: 'waiting' }
  /** No peer and no room for another waiter (`--max-waiting`). */
  | { kind: 'full' };

/** A directory of clients waiting for a peer, one key space per port. */
export interface PairingDirectory<W> {
  /**
   * Pairs `newcomer` with the client waiting under `key` (removing it), or registers the
   * newcomer as the one waiting. After a pair forms, the next client with that key waits anew.
   */
  findOrWait(key: string, newcomer: W): Promise<FindOrWaitResult<W>>;
  /** Removes a waiter that left or timed out. False when it was not (or no longer) waiting. */
  leave(key: string, waiter: W): boolean;
  /** Waiting clients right now. */
  readonly waitingCount: number;
}

/**
 * The in-memory directory: a Map per instance. State changes happen synchronously inside
 * the call, so two clients arriving in the same tick still pair in arrival order.
 */
export class MemoryPairingDirectory<W> implements PairingDirectory<W> {
  private readonly waiting = new Map<string, W>();
  private readonly maxWaiting: () => number;

  /** `maxWaiting` is a function so several directories can share one global cap. */
  constructor(maxWaiting: () => number) {
    this.maxWaiting = maxWaiting;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  findOrWait(key: string, newcomer: W): Promise<FindOrWaitResult<W>> {
    const peer = this.waiting.get(key);
    if (peer !== undefined) {
      this.waiting.delete(key);
      return Promise.resolve({ kind: 'paired', peer });
    }
    if (this.maxWaiting() <= 0) return Promise.resolve({ kind: 'full' });
    this.waiting.set(key, newcomer);
    return Promise.resolve({ kind: 'waiting' });
  }

  leave(key: string, waiter: W): boolean {
    if (this.waiting.get(key) !== waiter) return false;
    this.waiting.delete(key);
    return true;
  }
}
