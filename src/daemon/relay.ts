/**
 * Byte-transparent relay of one pair, run inside a handler process. Backpressure end to
 * end: when a destination's write buffer is full, its source is paused until 'drain', so a
 * slow reader slows its writer through TCP flow control, and per-connection buffering stays
 * bounded by the socket's write high-water mark plus one read chunk.
 */
import type { Socket } from 'node:net';
import type { PairEndReason } from './ipc.js';

/**
 * After one side's connection has closed entirely (not a half-close: that side may still be
 * reading), how long the other gets to take its queued bytes and close before both are
 * destroyed (the original server closed both at once; this lets in-flight bytes land).
 */
export const PAIR_CLOSE_LINGER_MS = 5000;

/** A relay in progress. */
export interface Relay {
  /** Bytes moved from side 0 to side 1, including side 0's bytes read past its handshake. */
  readonly bytes01: number;
  readonly bytes10: number;
  /** Ends the relay now with reason `shutdown` (drain timeout reached). */
  cut(): void;
  /** Ends the relay now with the given reason (e.g. the handler is going away). */
  destroy(reason: PairEndReason): void;
}

/**
 * Relays `s0` <-> `s1`. `rest0` (bytes side 0 sent after its handshake) is written to `s1`
 * before anything else, and `rest1` to `s0`. `onEnd` is called once, after both sockets
 * are closed.
 */
export function relayPair(
  s0: Socket,
  s1: Socket,
  rest0: Buffer,
  rest1: Buffer,
  onEnd: (reason: PairEndReason, bytes01: number, bytes10: number, error?: Error) => void,
): Relay {
  let bytes01 = 0;
  let bytes10 = 0;
  let reason: PairEndReason | undefined;
  let firstError: Error | undefined;
  let closed = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let ended = false;

  const finish = (): void => {
    if (ended) return;
    ended = true;
    if (lingerTimer) clearTimeout(lingerTimer);
    onEnd(reason ?? 'happy', bytes01, bytes10, firstError);
  };
  const destroyBoth = (why: PairEndReason): void => {
    reason ??= why;
    s0.destroy();
    s1.destroy();
  };

  for (const s of [s0, s1]) {
    // Latency matters more than segment count for interactive media.
    s.setNoDelay(true);
    // A client that half-closes (shutdown of its sending side) may still be reading: its FIN
    // is forwarded to the peer (see 'end' below) and the peer's bytes keep flowing to it.
    // Sockets that arrive over IPC are built with allowHalfOpen false, which would end our
    // side towards it at once and silently drop whatever the peer still sends.
    s.allowHalfOpen = true;
    // An error ends that socket only (Node destroys it; its 'close' below ends the other side
    // after what is queued for it). Once a side has ended normally, a reset from a client
    // that has gone (EPIPE/ECONNRESET while the peer still sends) is how a hang-up looks, not
    // an error of the pair.
    s.on('error', (err) => {
      if (reason !== undefined) return;
      reason = 'errory';
      firstError = err;
    });
    s.on('close', () => {
      closed++;
      if (closed === 2) {
        finish();
        return;
      }
      reason ??= 'happy';
      // The other side gets the bytes already queued for it, then EOF.
      const other = s === s0 ? s1 : s0;
      if (!other.destroyed) other.end();
      lingerTimer ??= setTimeout(() => destroyBoth('happy'), PAIR_CLOSE_LINGER_MS);
    });
  }

  const pump = (src: Socket, dst: Socket, count: (n: number) => void, first: Buffer): void => {
    let paused = false;
    const push = (chunk: Buffer): void => {
      if (dst.writableEnded || dst.destroyed) return; // the reader is gone: nothing can reach it
      count(chunk.length);
      if (!dst.write(chunk) && !paused) {
        paused = true;
        src.pause();
      }
    };
    dst.on('drain', () => {
      if (paused) {
        paused = false;
        src.resume();
      }
    });
    if (first.length > 0) push(first);
    src.on('data', push);
    // The handler paused the socket on arrival; start reading unless `first` filled dst.
    if (!paused) src.resume();
    src.on('end', () => {
      reason ??= 'happy';
      if (!dst.destroyed) dst.end();
    });
  };
  pump(s0, s1, (n) => (bytes01 += n), rest0);
  pump(s1, s0, (n) => (bytes10 += n), rest1);

  return {
    get bytes01() {
      return bytes01;
    },
    get bytes10() {
      return bytes10;
    },
    cut: () => destroyBoth('shutdown'),
    destroy: (why) => destroyBoth(why),
  };
}
