/**
 * Test helper for the hostile-client tests and bench/hostile.ts: a good call from 127.0.0.1
 * that streams random bytes both ways and checks every byte at the end, connections from
 * other loopback addresses (127.0.0.2 and up), TCP resets, and the daemon's memory.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { connectClient, withTimeout, type StartedDaemon } from './relay-client.js';

/** The good call writes this much per side every tick. */
export const GOOD_CALL_CHUNK_BYTES = 16 * 1024;
export const GOOD_CALL_TICK_MS = 20;

export interface GoodCall {
  /** True once either side saw its connection end or fail before finish(). */
  readonly broken: string | null;
  /** Bytes each side has received so far. */
  received(): [number, number];
  /** Stops writing, half-closes both sides, checks every byte arrived, in order. */
  finish(): Promise<{ bytesEachWay: number }>;
}

/** Two clients (`host`, default 127.0.0.1) relaying random bytes both ways until finish(). */
export async function startGoodCall(port: number, code = 'good-call', opts: { localAddress?: string; chunkBytes?: number; tickMs?: number } = {}): Promise<GoodCall> {
  const chunkBytes = opts.chunkBytes ?? GOOD_CALL_CHUNK_BYTES;
  const a = await connectClient(port, code);
  const b = await connectClient(port, code);
  let broken: string | null = null;
  let finishing = false;
  const sides = [a, b].map((s, i) => {
    const st = { s, sent: createHash('sha256'), got: createHash('sha256'), sentBytes: 0, gotBytes: 0 };
    s.on('data', (c: Buffer) => {
      st.got.update(c);
      st.gotBytes += c.length;
    });
    s.on('error', (err) => (broken ??= `side ${i}: ${err.message}`));
    s.once('end', () => {
      if (!finishing) broken ??= `side ${i}: ended by the relay`;
    });
    return st;
  });
  const ends = sides.map((st) => withTimeout(new Promise<void>((resolve) => {
    if (st.s.readableEnded) resolve();
    else st.s.once('end', () => resolve());
  }), 60_000, 'the good call to end'));
  ends.forEach((p) => p.catch(() => {}));
  const write = (): void => {
    for (const st of sides) {
      if (st.s.destroyed || st.s.writableEnded) continue;
      // Flow control: skip a tick while the relay is behind (never an unbounded queue).
      if (st.s.writableLength > 4 * chunkBytes) continue;
      const chunk = randomBytes(chunkBytes);
      st.sent.update(chunk);
      st.sentBytes += chunk.length;
      st.s.write(chunk);
    }
  };
  write();
  const until = Date.now() + 20_000;
  while (sides.some((st) => st.gotBytes < chunkBytes)) {
    assert.ok(Date.now() < until, 'the good call relays its first chunk');
    await new Promise((r) => setTimeout(r, 10));
  }
  const timer = setInterval(write, opts.tickMs ?? GOOD_CALL_TICK_MS);
  return {
    get broken() {
      return broken;
    },
    received: () => [sides[0]!.gotBytes, sides[1]!.gotBytes],
    async finish() {
      clearInterval(timer);
      assert.equal(broken, null, 'the good call was never cut');
      finishing = true;
      for (const st of sides) st.s.end();
      await Promise.all(ends);
      const [sa, sb] = sides as [(typeof sides)[0], (typeof sides)[0]];
      assert.equal(sb.gotBytes, sa.sentBytes, 'b got every byte a sent');
      assert.equal(sa.gotBytes, sb.sentBytes, 'a got every byte b sent');
      assert.equal(sb.got.digest('hex'), sa.sent.digest('hex'), 'a -> b digest');
      assert.equal(sa.got.digest('hex'), sb.sent.digest('hex'), 'b -> a digest');
      for (const st of sides) st.s.destroy();
      return { bytesEachWay: sa.sentBytes };
    },
  };
}

/** Connects from `localAddress` (another loopback address) and writes `send` at once. */
export function connectFrom(port: number, localAddress: string, send?: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      if (send) s.write(send);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Closes `s` with a TCP RST (SO_LINGER 0), as a crashing or hostile client does. */
export function reset(s: Socket): void {
  s.on('error', () => {});
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

/** Resident memory of a process, in bytes (from /proc). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Pids of `pid`'s direct children (its handler processes). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One sample from the daemon's Prometheus endpoint (0 when absent). */
export async function metric(d: StartedDaemon, name: string, label = ''): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`);
  const text = await res.text();
  const l = label ? `\\{${label}\\}` : '';
  const m = new RegExp(`^${name}${l} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Random bytes in a readable form (session codes). */
export function randomCode(): string {
  return randomBytes(6).toString('hex');
}
