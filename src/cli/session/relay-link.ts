/**
 * Opening one channel (video or audio) to a relay: TCP connect, then the original relay
 * handshake (int32 little-endian length + session bytes). Nothing comes back from the relay:
 * from here on the socket carries our end-to-end protocol, relayed verbatim.
 */
import net from 'node:net';
import { FatalError } from '../../codec/errors.js';
import { describeConnectError, hostPort } from '../net-words.js';

/** How long a TCP connect to the relay may take before it counts as unreachable. */
export const RELAY_CONNECT_TIMEOUT_MS = 10_000;
/** Cap on what we queue in a socket before treating it as backed up (video frames are dropped). */
export const SOCKET_HIGH_WATER_BYTES = 256 * 1024;

/** The relay handshake: int32 LE byte length of the code, then the code (UTF-8). */
export function relayHandshake(rendezvous: string): Buffer {
  const code = Buffer.from(rendezvous, 'utf8');
  const out = Buffer.alloc(4 + code.length);
  out.writeInt32LE(code.length, 0);
  code.copy(out, 4);
  return out;
}

/** A relay that cannot be reached ends the call with exit 3. */
export class RelayUnreachableError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_RELAY_UNREACHABLE', message, options);
    this.name = 'RelayUnreachableError';
  }
}

/**
 * Connects to `host:port` and sends the handshake. Resolves with the connected socket
 * (no-delay on: we send whole messages and care about latency).
 */
export function openRelayChannel(
  host: string,
  port: number,
  rendezvous: string,
  timeoutMs = RELAY_CONNECT_TIMEOUT_MS,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RelayUnreachableError(`cannot reach the relay: no answer from ${hostPort(host, port)} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new RelayUnreachableError(`cannot reach the relay: ${describeConnectError(err, host, port)}`, { cause: err }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.write(relayHandshake(rendezvous));
      resolve(socket);
    });
  });
}
