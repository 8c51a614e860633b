/**
 * A 1 Mbit/s bottleneck made of a network namespace and a veth pair, both ends shaped with
 * `tc ... tbf`: whatever runs inside the namespace reaches the host only through a link of
 * BOTTLENECK_RATE each way. The addresses live only on this veth pair, which this benchmark
 * creates and deletes; no traffic leaves the machine. Needs root.
 */
import { execFileSync } from 'node:child_process';

/**
 * Names and addresses carry a number of this process, so that two benchmarks run at once
 * (say from two work trees) each get their own link instead of tearing down the other's.
 */
const RUN_TAG = process.pid % 250;
export const NETNS_NAME = `vcbench${RUN_TAG}`;
const HOST_IF = `vcb${RUN_TAG}h`;
const NS_IF = `vcb${RUN_TAG}n`;
/** The host end of the pair (where the relay and the rival's receiver are reached). */
export const HOST_ADDR = `10.199.${RUN_TAG}.1`;
const NS_ADDR = `10.199.${RUN_TAG}.2`;
const PREFIX_BITS = 30;
/** The bottleneck of issue 3. */
export const BOTTLENECK_RATE = '1mbit';
/** tbf: bucket depth and the longest a packet may wait in the shaper before it is dropped. */
const TBF_BURST = '32kbit';
const TBF_LATENCY = '400ms';

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Deletes the namespace (and with it the veth pair) if a previous run left it. */
export function teardownBottleneck(): void {
  try {
    run('ip', ['netns', 'del', NETNS_NAME]);
  } catch {
    // Not there: nothing to do.
  }
  try {
    run('ip', ['link', 'del', HOST_IF]);
  } catch {
    // Went with the namespace.
  }
}

/** Creates the namespace and the shaped veth pair; throws with the reason when it cannot. */
export function setupBottleneck(rate: string = BOTTLENECK_RATE): void {
  teardownBottleneck();
  run('ip', ['netns', 'add', NETNS_NAME]);
  run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
  run('ip', ['link', 'set', NS_IF, 'netns', NETNS_NAME]);
  run('ip', ['addr', 'add', `${HOST_ADDR}/${PREFIX_BITS}`, 'dev', HOST_IF]);
  run('ip', ['link', 'set', HOST_IF, 'up']);
  run('ip', ['-n', NETNS_NAME, 'addr', 'add', `${NS_ADDR}/${PREFIX_BITS}`, 'dev', NS_IF]);
  run('ip', ['-n', NETNS_NAME, 'link', 'set', NS_IF, 'up']);
  run('ip', ['-n', NETNS_NAME, 'link', 'set', 'lo', 'up']);
  const tbf = ['root', 'tbf', 'rate', rate, 'burst', TBF_BURST, 'latency', TBF_LATENCY];
  run('tc', ['qdisc', 'add', 'dev', HOST_IF, ...tbf]);
  run('tc', ['-n', NETNS_NAME, 'qdisc', 'add', 'dev', NS_IF, ...tbf]);
}

/** The shaper settings, for the report. */
export function bottleneckDescription(rate: string = BOTTLENECK_RATE): string {
  return `tbf rate ${rate} burst ${TBF_BURST} latency ${TBF_LATENCY} on both ends of a veth pair`;
}
