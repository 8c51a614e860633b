/**
 * Process trees from /proc (Linux only): who descends from a pid, how much CPU a tree has
 * used, and each member's resident memory. The call benchmarks measure a client together
 * with the ffmpeg children it supervises, and the daemon with its handlers.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Kernel clock ticks per second for utime/stime in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS_PER_SEC = 100;
/** /proc/<pid>/statm counts pages of this size (x86-64 and arm64 Linux defaults). */
export const PAGE_SIZE_BYTES = 4096;

/** One process as /proc sees it now. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Short name (comm), e.g. `node`, `ffmpeg`. */
  comm: string;
  /** The full command line, space separated. */
  cmdline: string;
  /** User + system CPU time used so far, in seconds. */
  cpuSec: number;
  /** Resident set size in bytes. */
  rssBytes: number;
}

/** Reads one process; null when it is gone (or never was). */
export function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself contain spaces or parentheses: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ppid, comm, cmdline, cpuSec: ticks / CLOCK_TICKS_PER_SEC, rssBytes: Number(statm[1]) * PAGE_SIZE_BYTES };
  } catch {
    return null;
  }
}

/** Every live process, keyed by pid. */
export function allProcs(): Map<number, ProcInfo> {
  const map = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) map.set(p.pid, p);
  }
  return map;
}

/** The process `root` and all its live descendants (root first), from one /proc scan. */
export function tree(root: number, procs: Map<number, ProcInfo> = allProcs()): ProcInfo[] {
  const rootInfo = procs.get(root);
  if (!rootInfo) return [];
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const walk = (p: ProcInfo): void => {
    out.push(p);
    for (const c of children.get(p.pid) ?? []) walk(c);
  };
  walk(rootInfo);
  return out;
}

/**
 * CPU accounting of process trees over time. Children come and go (an ffmpeg may restart),
 * so each pid's last seen CPU time is kept; the total is the sum over every pid ever seen.
 * Sample often enough (every few hundred ms) that a child's final CPU time is not missed.
 */
export class TreeCpuMeter {
  private readonly lastCpu = new Map<number, { cpuSec: number; label: string }>();
  private readonly startCpu = new Map<number, number>();

  /** `include` picks the members that count (e.g. leave out a measuring shim). */
  constructor(private readonly root: number, private readonly include: (p: ProcInfo) => boolean = () => true) {}

  /** Takes a sample now; `procs` lets several meters share one /proc scan. */
  sample(procs: Map<number, ProcInfo> = allProcs()): void {
    for (const p of tree(this.root, procs)) {
      if (!this.include(p)) continue;
      if (!this.startCpu.has(p.pid)) this.startCpu.set(p.pid, p.cpuSec);
      this.lastCpu.set(p.pid, { cpuSec: p.cpuSec, label: label(p) });
    }
  }

  /** Forgets CPU used before now, so a measurement window starts here (e.g. after start-up). */
  resetBaseline(procs: Map<number, ProcInfo> = allProcs()): void {
    this.sample(procs);
    for (const [pid, v] of this.lastCpu) this.startCpu.set(pid, v.cpuSec);
  }

  /** CPU seconds used since the baseline, in total and per member label. */
  used(): { totalSec: number; byLabel: Map<string, number> } {
    let totalSec = 0;
    const byLabel = new Map<string, number>();
    for (const [pid, v] of this.lastCpu) {
      const d = v.cpuSec - (this.startCpu.get(pid) ?? 0);
      totalSec += d;
      byLabel.set(v.label, (byLabel.get(v.label) ?? 0) + d);
    }
    return { totalSec, byLabel };
  }
}

/** A readable role for a process of a call: `node`, `ffmpeg video capture`, ... */
export function label(p: ProcInfo): string {
  const c = p.cmdline;
  if (p.comm === 'ffmpeg' || /\bffmpeg\b/.test(p.comm)) {
    if (c.includes('testsrc2') || c.includes('-f rawvideo -pix_fmt rgb24 -s ')) return 'ffmpeg video capture';
    if (c.includes('sine=') || c.includes('libopus')) return c.includes('-i pipe:0') ? 'ffmpeg audio decode' : 'ffmpeg audio capture';
    if (c.includes('-i pipe:0') && c.includes('rgb24')) return 'ffmpeg video decode';
    if (c.includes('-i pipe:0')) return 'ffmpeg audio decode';
    return 'ffmpeg';
  }
  if (c.includes('ffmpeg-shim')) return 'shim';
  return p.comm;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** Proportional set size of a process (shared pages split among their sharers), from smaps_rollup; NaN if gone. */
export function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Memory of a process tree, sampled: the mean over samples of the tree's summed PSS and RSS,
 * and the mean PSS per member label. PSS counts a page shared by n processes as 1/n in each,
 * so the sum is what the tree really costs (RSS counts shared libraries once per process).
 */
export class TreeMemoryMeter {
  private samples = 0;
  private pssSum = 0;
  private rssSum = 0;
  private readonly byLabel = new Map<string, number>();

  constructor(private readonly root: number, private readonly include: (p: ProcInfo) => boolean = () => true) {}

  sample(procs: Map<number, ProcInfo> = allProcs()): void {
    const members = tree(this.root, procs).filter(this.include);
    if (members.length === 0) return;
    let pss = 0;
    let rss = 0;
    for (const p of members) {
      const v = pssBytes(p.pid);
      if (!Number.isFinite(v)) continue;
      pss += v;
      rss += p.rssBytes;
      this.byLabel.set(label(p), (this.byLabel.get(label(p)) ?? 0) + v);
    }
    this.samples++;
    this.pssSum += pss;
    this.rssSum += rss;
  }

  /** Means over the samples (bytes); NaN before the first. */
  result(): { pssBytes: number; rssBytes: number; pssByLabel: Map<string, number> } {
    const n = this.samples;
    const byLabel = new Map([...this.byLabel].map(([k, v]) => [k, v / n]));
    return { pssBytes: n ? this.pssSum / n : NaN, rssBytes: n ? this.rssSum / n : NaN, pssByLabel: byLabel };
  }
}
