/**
 * Binding the daemon's ports: one backlog for all, a failure to bind is a BindError (exit 3)
 * naming the port and address.
 */
import { once } from 'node:events';
import type http from 'node:http';
import type { Server } from 'node:net';
import { BindError } from './exit-codes.js';

/** listen() backlog (the original used 10, far too few for bursts). */
export const LISTEN_BACKLOG_CONNECTIONS = 511;

/** The `listening` line's fields. */
export interface ListeningInfo {
  videoPort: number;
  audioPort: number;
  metricsPort: number | null;
  /** With --metrics-port: the address it listens on. */
  metricsHost?: string;
  pid: number;
  /** With --redis: the cluster port and this node's id in the directory. */
  clusterPort?: number;
  nodeId?: string;
  /** The soft RLIMIT_NOFILE after start (null: unlimited; absent: unknown, not Linux). */
  fdLimit?: number | null;
}

/** Listens on `host:port` (no host: dual-stack ::, else 0.0.0.0); `what` names it in the error. */
export async function bind(server: Server | http.Server, port: number, what: string, host: string | undefined): Promise<void> {
  const failed = once(server, 'error') as Promise<[NodeJS.ErrnoException]>;
  const listening = once(server, 'listening');
  server.listen({ port, host, backlog: LISTEN_BACKLOG_CONNECTIONS, ipv6Only: false });
  const outcome = await Promise.race([listening.then(() => undefined), failed.then(([e]) => e)]);
  if (outcome) throw new BindError(`cannot bind ${what} ${host ?? '*'}:${port}: ${outcome.code ?? outcome.message}`, { cause: outcome });
}

/** The port a server listens on (0 when it does not). */
export function portOf(server: Server | http.Server | undefined): number {
  const addr = server?.address();
  return addr && typeof addr === 'object' ? addr.port : 0;
}
