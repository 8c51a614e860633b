/**
 * What the machine lets the daemon hold, checked once at start: the descriptor limit against
 * what the limits allow, and with --fork-per-pair the memory a process per pair costs. Each
 * shortfall is one warning line; the daemon still starts.
 */
import { totalmem } from 'node:os';
import { MAX_PENDING_LINKS } from './cluster/node.js';
import { FD_HEADROOM, FDS_PER_PAIR, openFds, raiseNofile, type NofileLimit } from './fd-limits.js';
import type { Logger } from './logger.js';
import { FORK_PER_PAIR_BYTES, FORK_PER_PAIR_MEMORY_SHARE, forkPerPairMaxPairs, type DaemonOptions } from './options.js';

/** Code of the start-up warning that the descriptor limit cannot hold what the limits allow. */
export const FD_LIMIT_WARNING = 'W_FD_LIMIT';
/** Code of the start-up warning that --fork-per-pair with --max-pairs cannot fit in memory. */
export const FORK_MEMORY_WARNING = 'W_FORK_MEMORY';

type Limits = Pick<DaemonOptions, 'cluster' | 'forkPerPair' | 'handlers' | 'maxPairs' | 'maxPendingHandshakes' | 'maxWaiting' | 'maxPairsFromMemory'>;

/**
 * Raises the soft descriptor limit to the hard one and warns (one line) when it still
 * cannot hold what the limits allow: every handshaking and waiting client is one
 * descriptor in the acceptor, every pair two in a handler. Null: not known (not Linux).
 */
export function checkFdLimit(opts: Limits, log: Logger): NofileLimit | null {
  const { before, after, error } = raiseNofile();
  if (!after) return null;
  const baseline = openFds() ?? FD_HEADROOM;
  const links = opts.cluster ? MAX_PENDING_LINKS : 0;
  // Fork-per-pair: the acceptor holds two descriptors per handler (IPC channel, stderr).
  const perPairInAcceptor = opts.forkPerPair ? 2 : 0;
  const acceptor = baseline + FD_HEADROOM + opts.maxPendingHandshakes + opts.maxWaiting + links + perPairInAcceptor * opts.maxPairs;
  const handlers = opts.forkPerPair ? 1 : opts.handlers;
  const handler = FD_HEADROOM * 2 + FDS_PER_PAIR * Math.ceil(opts.maxPairs / handlers);
  const need = Math.max(acceptor, handler);
  if (after.soft >= need) return after;
  log.warn(
    {
      code: FD_LIMIT_WARNING,
      soft: Number.isFinite(after.soft) ? after.soft : null,
      hard: Number.isFinite(after.hard) ? after.hard : null,
      softAtStart: before && Number.isFinite(before.soft) ? before.soft : null,
      needed: need,
      ...(error ? { error } : {}),
    },
    `file descriptor limit ${after.soft} cannot hold what the limits allow (${need} needed): raise LimitNOFILE / ulimit -n, or lower --max-pairs and --max-waiting; past it pairs are refused with E_FD_LIMIT`,
  );
  return after;
}

/**
 * Connections the acceptor may hold (handshaking or waiting) within its descriptors. libuv
 * survives EMFILE on accept by closing the connection unseen, so the acceptor stops short of
 * it, and a refusal is counted and logged (E_FD_LIMIT, where="accept").
 */
export function acceptorCapacity(nofile: NofileLimit | null): number {
  if (!nofile || !Number.isFinite(nofile.soft)) return Infinity;
  return Math.max(1, nofile.soft - (openFds() ?? FD_HEADROOM) - FD_HEADROOM);
}

/** --fork-per-pair: a process per pair; say once what that costs against the machine's memory. */
export function checkForkMemory(opts: Limits, log: Logger): void {
  if (!opts.forkPerPair) return;
  const need = opts.maxPairs * FORK_PER_PAIR_BYTES;
  const have = totalmem();
  const fields = { maxPairs: opts.maxPairs, bytesPerPair: FORK_PER_PAIR_BYTES, memoryBytes: have };
  if (opts.maxPairsFromMemory) {
    log.info(fields, `fork-per-pair: --max-pairs ${opts.maxPairs} (what ${Math.round(FORK_PER_PAIR_MEMORY_SHARE * 100)}% of memory holds at ${FORK_PER_PAIR_BYTES / 1024 / 1024} MiB a pair)`);
  } else if (need > have * FORK_PER_PAIR_MEMORY_SHARE) {
    log.warn(
      { code: FORK_MEMORY_WARNING, ...fields, neededBytes: need },
      `--fork-per-pair with --max-pairs ${opts.maxPairs} needs ~${Math.ceil(need / 2 ** 30)} GiB (${FORK_PER_PAIR_BYTES / 1024 / 1024} MiB a pair) of ${Math.floor(have / 2 ** 30)} GiB: lower --max-pairs to ${forkPerPairMaxPairs(have)} or use the pool`,
    );
  }
}
