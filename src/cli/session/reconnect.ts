/**
 * Reconnection policy of a call (docs/resilience.md). From a client's view a relay that
 * dropped and a peer that vanished look the same: our sockets close without a BYE. Either way
 * the call reconnects both channels to the same rendezvous with fresh keys, with backoff,
 * and waits there for the peer. These are the limits; CallSession applies them.
 */

/** Delay before the second attempt; the first one is made at once. */
export const RECONNECT_INITIAL_DELAY_MS = 500;
/** The delay doubles per failed attempt up to this. */
export const RECONNECT_MAX_DELAY_MS = 5000;
/** A relay we could not reach for this long (since we last had a connection) ends the call with exit 9. */
export const RECONNECT_GIVE_UP_SEC = 60;
/** A reconnect attempt's TCP connect may take this long (the first connection gets RELAY_CONNECT_TIMEOUT_MS). */
export const RECONNECT_CONNECT_TIMEOUT_MS = 5000;
/** One channel paired and the other not after this long: both are torn down and reconnected. */
export const PAIRING_TIMEOUT_MS = 10_000;
/**
 * A connection that stayed up this long resets the backoff (a flapping relay keeps backing
 * off); a resumed call back this long (both connections paired) closes the interruption.
 */
export const RECONNECT_STABLE_MS = 10_000;
/**
 * Drops within one interruption (the peer came back but never for RECONNECT_STABLE_MS) after
 * which the call ends with exit 5, whatever --grace has left: a peer that drops after every
 * SETUP, or a path that pairs one connection only, ends in bounded time.
 */
export const RECONNECT_MAX_UNSETTLED_DROPS = 5;
/**
 * Test only: overrides RECONNECT_GIVE_UP_SEC (seconds, fractions allowed) so tests of exit 9
 * need not wait a minute. Not a user option.
 */
export const TEST_GIVE_UP_ENV = 'VIDEOCHAT_TEST_RECONNECT_GIVE_UP_SEC';

/**
 * Delay before reconnect attempt number `step` (0-based: 0 is the first attempt after a
 * loss): 0, then 0.5 s doubling up to 5 s.
 */
export function reconnectDelayMs(step: number): number {
  if (step <= 0) return 0;
  return Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_INITIAL_DELAY_MS * 2 ** Math.min(step - 1, 30));
}

/** The give-up time in seconds: the test override from `env` when it is a number, else the default. */
export function reconnectGiveUpSec(env: NodeJS.ProcessEnv | undefined): number {
  const raw = env?.[TEST_GIVE_UP_ENV];
  return raw !== undefined && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : RECONNECT_GIVE_UP_SEC;
}
