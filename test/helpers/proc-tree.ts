// TEST-ONLY: the processes a test started, read from the real process table (ps), so that a
// test can check that nothing outlives a call: ffmpeg children, the demo's relay and handlers.
import { execFileSync } from 'node:child_process';

/** `pid` and every process below it (children, grandchildren, ...), `pid` first. */
export function processTree(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [p, pp] of table) if (pp === out[i] && !out.includes(p)) out.push(p);
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes (its parent has not reaped it yet).
  try {
    return !/^Z/.test(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return false;
  }
}

/** Polls until none of `pids` is alive; resolves with those still alive after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The command line of each pid (for a failure message). */
export function describe(pids: number[]): string {
  return pids.map((p) => {
    try {
      return `${p}: ${execFileSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' }).trim()}`;
    } catch {
      return `${p}: (gone)`;
    }
  }).join('; ');
}

/** SIGKILLs whatever of `pids` is still alive (cleanup after a failed assertion). */
export function killLeft(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
