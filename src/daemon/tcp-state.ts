/**
 * Whether the peer of a socket the daemon does not read has left. A waiter that reached
 * --max-buffer-bytes is no longer read (TCP then slows its client down), so Node sees neither
 * its FIN nor its RST; the kernel does. Linux lists every TCP socket in /proc/net/tcp{,6}: one
 * whose peer sent a FIN is in CLOSE_WAIT, one it reset is gone from the list. Elsewhere
 * nothing is known and such a waiter is only forgotten at --wait-timeout.
 */
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';

/** `st` of an established connection in /proc/net/tcp. */
const TCP_ESTABLISHED = '01';

/** `a.b.c.d` for IPv4 and IPv4-mapped IPv6, else eight lower-case hex groups without zeros. */
export function normalAddress(addr: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(addr)) return addr;
  const [head = '', tail] = addr.split('%')[0]!.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted quad (::ffff:1.2.3.4 was handled above; others are rare) counts as two groups.
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => (parseInt(g, 16) || 0).toString(16)).join(':');
}

/** Decodes a /proc/net/tcp address (hex, 32-bit words in host order: little-endian here). */
function procAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(word.slice(i, i + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function keyOf(localPort: number, remote: string, remotePort: number): string {
  return `${localPort}|${remote}|${remotePort}`;
}

/**
 * Every established connection in /proc/net/tcp and tcp6: its key and its tx_queue
 * (write_seq - snd_una: bytes the kernel holds that the peer has not acknowledged). Null
 * when neither table can be read.
 */
function establishedTable(): Map<string, number> | null {
  const out = new Map<string, number>();
  let any = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    any = true;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      // "  0: 0100007F:3039 0200007F:A1B2 01 00001000:00000000 ..."
      const f = lines[i]!.trim().split(/\s+/);
      if (f.length < 5 || f[3] !== TCP_ESTABLISHED) continue;
      const lp = f[1]!.split(':')[1]!;
      const [ra, rp] = f[2]!.split(':') as [string, string];
      out.set(keyOf(parseInt(lp, 16), procAddress(ra), parseInt(rp, 16)), parseInt(f[4]!.split(':')[0]!, 16) || 0);
    }
  }
  return any ? out : null;
}

/** Established connections as `localPort|remote|remotePort`; null when /proc cannot be read. */
function established(): Set<string> | null {
  const table = establishedTable();
  return table ? new Set(table.keys()) : null;
}

/**
 * Bytes the kernel holds for each of these connections (keyed by connectionKey) that the
 * peer has not acknowledged yet: /proc/net/tcp's tx_queue, which Node cannot see (its
 * writableLength ends where the kernel's send buffer starts, and that grows to
 * net.ipv4.tcp_wmem's maximum, 4 MiB by default). Null when the table cannot be read.
 */
export function unacknowledgedBytes(keys: ReadonlySet<string>): Map<string, number> | null {
  const table = establishedTable();
  if (!table) return null;
  const out = new Map<string, number>();
  for (const key of keys) {
    const queued = table.get(key);
    if (queued !== undefined) out.set(key, queued);
  }
  return out;
}

/** The key of a connected socket (take it while connected: it is read again later). */
export function connectionKey(s: Socket): string | null {
  if (s.localPort === undefined || s.remoteAddress === undefined || s.remotePort === undefined) return null;
  return keyOf(s.localPort, normalAddress(s.remoteAddress), s.remotePort);
}

/**
 * The items whose connection (keyed by connectionKey) is no longer established in the kernel
 * (the client sent a FIN or a RST). Empty when the kernel's table cannot be read.
 */
export function departed<T extends { socket: Socket; connKey: string | null }>(items: Iterable<T>): T[] {
  const list = [...items];
  if (list.length === 0) return [];
  const live = established();
  if (!live) return [];
  return list.filter((item) => item.socket.destroyed || (item.connKey !== null && !live.has(item.connKey)));
}
