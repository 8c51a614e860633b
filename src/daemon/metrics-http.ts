/**
 * The `--metrics-port` HTTP endpoint: GET /metrics (or /) answers the Prometheus text. Never a
 * way around the relay's limits: a few connections at once, each closed when idle.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { METRICS_MAX_CONNECTIONS, type Gauges, type Telemetry } from './telemetry.js';

export { METRICS_MAX_CONNECTIONS } from './telemetry.js';
/** A metrics connection idle (or still sending its request) this long is closed. */
export const METRICS_IDLE_TIMEOUT_MS = 10_000;

/** Binds a server on a port (the daemon's bind, which maps failures to BindError). */
export type Bind = (server: http.Server, port: number, what: string, host: string | undefined) => Promise<void>;

/** The metrics HTTP server. */
export class MetricsEndpoint {
  private readonly server: http.Server;
  private readonly telemetry: Telemetry;

  constructor(telemetry: Telemetry, gauges: Gauges) {
    this.telemetry = telemetry;
    const t = METRICS_IDLE_TIMEOUT_MS;
    this.server = http.createServer({ requestTimeout: t, headersTimeout: t, keepAliveTimeout: t, connectionsCheckingInterval: 1000 }, (req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(telemetry.scrape(gauges));
    });
    this.server.maxConnections = METRICS_MAX_CONNECTIONS;
    this.server.timeout = METRICS_IDLE_TIMEOUT_MS;
    this.server.on('connection', (socket: Socket) => socket.on('error', () => {}));
    this.server.on('drop', () => telemetry.metrics.inc('videochatd_metrics_dropped_total'));
  }

  /** Listens; past the bind an error is a failed accept, counted and logged. */
  async listen(bind: Bind, port: number, host: string | undefined): Promise<void> {
    await bind(this.server, port, 'metrics port', host);
    this.server.on('error', (err: NodeJS.ErrnoException) => this.telemetry.acceptFailed('metrics', err));
  }

  /** The bound port (0 before listen). */
  get port(): number {
    const addr = this.server.address();
    return addr && typeof addr === 'object' ? addr.port : 0;
  }

  /** Closes the port and every open connection. */
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
