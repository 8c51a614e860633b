// A real redis-server for the multi-node tests (Debian's redis-server package, installed by
// scripts/setup.sh --test), on a free port, without persistence.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface StartedRedis {
  port: number;
  url: string;
  /** Runs redis-cli against it; returns its output. */
  cli: (...args: string[]) => string;
  /** Stops it (default SIGTERM) and waits for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
  /** Starts it again on the same port (empty, as after a crash without persistence). */
  restart: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function startRedis(): Promise<StartedRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const cli = (...args: string[]): string =>
    execFileSync('redis-cli', ['-p', String(port), '--raw', ...args], { encoding: 'utf8', timeout: 5000 });
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if (cli('PING').trim() === 'PONG') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
  };
  await launch();
  return { port, url: `redis://127.0.0.1:${port}`, cli, stop, restart: launch };
}
