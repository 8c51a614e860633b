/**
 * A TCP proxy that is a slow link: everything through it, both directions and all its
 * connections together, at most `bitsPerSecond` each way, with a small bottleneck buffer
 * (then the sender is paused, as a full router queue pushes back on TCP).
 */
import net from 'node:net';
import { once } from 'node:events';

export interface ThrottleProxy {
  /** Local port forwarding to each target port. */
  ports: Map<number, number>;
  stop(): Promise<void>;
}

/** One direction of the link: a byte budget refilled every 10 ms, shared by every connection. */
class Pipe {
  private readonly queue: Array<{ chunk: Buffer; to: net.Socket; from: net.Socket }> = [];
  private queued = 0;
  private budget = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly bytesPerTick: number, private readonly maxQueued: number) {
    this.timer = setInterval(() => this.tick(), 10);
  }

  push(chunk: Buffer, from: net.Socket, to: net.Socket): void {
    this.queue.push({ chunk, to, from });
    this.queued += chunk.length;
    if (this.queued > this.maxQueued) from.pause();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    this.budget = Math.min(this.budget + this.bytesPerTick, this.bytesPerTick * 2);
    while (this.queue.length > 0 && this.budget > 0) {
      const head = this.queue[0]!;
      const take = Math.min(head.chunk.length, this.budget);
      if (!head.to.destroyed) head.to.write(head.chunk.subarray(0, take));
      this.budget -= take;
      this.queued -= take;
      if (take === head.chunk.length) this.queue.shift();
      else head.chunk = head.chunk.subarray(take);
    }
    if (this.queued <= this.maxQueued / 2) {
      for (const q of this.queue) if (q.from.isPaused()) q.from.resume();
      for (const s of this.paused) s.resume();
      this.paused.clear();
    }
  }

  readonly paused = new Set<net.Socket>();
}

export async function startThrottleProxy(host: string, targetPorts: number[], bitsPerSecond: number, bufferBytes = 32 * 1024): Promise<ThrottleProxy> {
  const bytesPerTick = Math.max(1, Math.round(bitsPerSecond / 8 / 100));
  const up = new Pipe(bytesPerTick, bufferBytes);
  const down = new Pipe(bytesPerTick, bufferBytes);
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const ports = new Map<number, number>();
  for (const target of targetPorts) {
    const server = net.createServer((client) => {
      const relay = net.connect(target, host);
      for (const s of [client, relay]) {
        sockets.add(s);
        s.setNoDelay(true);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          client.destroy();
          relay.destroy();
        });
      }
      client.on('data', (d: Buffer) => {
        up.push(d, client, relay);
        if (client.isPaused()) up.paused.add(client);
      });
      relay.on('data', (d: Buffer) => {
        down.push(d, relay, client);
        if (relay.isPaused()) down.paused.add(relay);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    ports.set(target, (server.address() as net.AddressInfo).port);
  }
  return {
    ports,
    stop: async () => {
      up.stop();
      down.stop();
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** A transparent TCP proxy that keeps a copy of every byte both ways (a tap on the relay's wire). */
export async function startTapProxy(host: string, targetPorts: number[]): Promise<ThrottleProxy & { tapped: Buffer[] }> {
  const tapped: Buffer[] = [];
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const ports = new Map<number, number>();
  for (const target of targetPorts) {
    const server = net.createServer((client) => {
      const relay = net.connect(target, host);
      for (const [from, to] of [[client, relay], [relay, client]] as const) {
        sockets.add(from);
        from.setNoDelay(true);
        from.on('error', () => undefined);
        from.on('data', (d: Buffer) => {
          tapped.push(Buffer.from(d));
          if (!to.write(d)) {
            from.pause();
            to.once('drain', () => from.resume());
          }
        });
        from.on('close', () => {
          sockets.delete(from);
          to.destroy();
        });
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    ports.set(target, (server.address() as net.AddressInfo).port);
  }
  return {
    ports, tapped,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
