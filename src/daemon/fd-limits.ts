/**
 * File-descriptor limits (RLIMIT_NOFILE). Every client connection is one descriptor: in the
 * acceptor while it handshakes or waits, in a handler while it is paired. Node has no
 * setrlimit, so the soft limit is raised to the hard one with util-linux `prlimit` on the
 * daemon's own pid (handlers forked afterwards inherit it). Linux only: elsewhere nothing is
 * read or raised and the caps below are not enforced.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Descriptors a handler keeps free for itself (IPC, stdio, timers, a DNS lookup...). */
export const FD_HEADROOM = 32;
/** Descriptors a handler holds per pair it relays. */
export const FDS_PER_PAIR = 2;
/** How long `prlimit` may take. */
const PRLIMIT_TIMEOUT_MS = 5000;

export interface NofileLimit {
  soft: number;
  hard: number;
}

/** The soft and hard RLIMIT_NOFILE of a process (Infinity = unlimited); null when unknown. */
export function readNofile(pid: number | 'self' = 'self'): NofileLimit | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return null;
  const num = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(m[1]!), hard: num(m[2]!) };
}

/** Descriptors a process has open now; null when unknown. */
export function openFds(pid: number | 'self' = 'self'): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export interface RaiseResult {
  before: NofileLimit | null;
  after: NofileLimit | null;
  /** Why the soft limit could not be raised to the hard one (null: raised, or nothing to do). */
  error: string | null;
}

/** Raises this process's soft RLIMIT_NOFILE to its hard limit. Never throws. */
export function raiseNofile(): RaiseResult {
  const before = readNofile();
  if (!before || before.soft >= before.hard) return { before, after: before, error: null };
  const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
  let error: string | null = null;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: PRLIMIT_TIMEOUT_MS });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    error = e.code === 'ENOENT' ? 'prlimit (util-linux) is not installed' : (e.stderr?.toString().trim().split('\n')[0] || e.message);
  }
  const after = readNofile();
  if (!error && after && after.soft < after.hard) error = 'prlimit did not change the soft limit';
  return { before, after, error };
}

/** Pairs one handler can hold with `soft` descriptors, `baseline` of them already open. */
export function pairCapacity(soft: number, baseline: number): number {
  if (!Number.isFinite(soft)) return Infinity;
  return Math.max(0, Math.floor((soft - baseline - FD_HEADROOM) / FDS_PER_PAIR));
}
