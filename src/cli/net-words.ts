/**
 * A failed TCP connect in words a user can act on, instead of the raw errno code:
 * `nothing listens at relay.example.org:12345`, `no such host relay.exmple.org`.
 */

/** `host:port`, with brackets around an IPv6 address. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** What went wrong connecting to `host:port`. */
export function describeConnectError(err: unknown, host: string, port: number): string {
  const e = err as NodeJS.ErrnoException;
  const at = hostPort(host, port);
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `nothing listens at ${at}`;
    case 'ENOTFOUND':
      return `no such host ${host}`;
    case 'EAI_AGAIN':
      return `cannot look up ${host} (the name server does not answer)`;
    case 'ETIMEDOUT':
      return `no answer from ${at}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${host} (network unreachable)`;
    case 'ECONNRESET':
      return `${at} closed the connection at once`;
    case 'EADDRNOTAVAIL':
      return `cannot connect to ${at} from this machine (address not available)`;
    default:
      return e?.code ? `${at}: ${e.code}` : `${at}: ${e?.message ?? String(err)}`;
  }
}
