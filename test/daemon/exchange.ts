/** Shared by the daemon tests: pair two clients; move random bytes both ways at once and compare digests. */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connectClient, readExactly, withTimeout, type StartedDaemon } from '../helpers/relay-client.js';

/** A pair the daemon has handed to a handler, as its `pair started` line tells. */
export interface StartedPair {
  a: Socket;
  b: Socket;
  handlerPid: number;
  session: string;
}

/**
 * Connects two clients with `code` and waits until one byte ('x', a -> b) has been relayed and
 * the daemon has logged the pair's start. `bytesAtoB` of the pair therefore starts at 1.
 */
export async function pairOn(
  d: StartedDaemon,
  code: string,
  opts: { channel?: 'video' | 'audio'; allowHalfOpen?: boolean } = {},
): Promise<StartedPair> {
  const port = opts.channel === 'audio' ? d.audioPort : d.videoPort;
  const before = d.lines.filter((l) => l.msg === 'pair started').length;
  const a = await connectClient(port, code, { allowHalfOpen: opts.allowHalfOpen });
  const b = await connectClient(port, code, { allowHalfOpen: opts.allowHalfOpen });
  a.write('x');
  await readExactly(b, 1);
  const started = (await d.waitForLines((l) => l.msg === 'pair started', before + 1))[before]!;
  return { a, b, handlerPid: started.handlerPid as number, session: started.session as string };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads until `n` bytes arrived; returns their digest and count (streaming, no big buffer). */
export function digestOf(socket: Socket, n: number, timeoutMs = 60_000): Promise<{ digest: string; bytes: number }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const h = createHash('sha256');
      let got = 0;
      const onData = (c: Buffer): void => {
        const take = Math.min(c.length, n - got);
        h.update(take === c.length ? c : c.subarray(0, take));
        got += take;
        if (got >= n) {
          socket.off('data', onData);
          socket.off('close', onClose);
          resolve({ digest: h.digest('hex'), bytes: got });
        }
      };
      const onClose = (): void => reject(new Error(`closed after ${got} of ${n} bytes`));
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.resume();
    }),
    timeoutMs,
    `receiving ${n} bytes`,
  );
}

/**
 * Writes `payload` in chunks of at most `chunkBytes`, honouring backpressure. Rejects once the
 * socket is closed, including when it closed between two chunks ('close' has then already
 * fired, so waiting for it or for 'drain' would hang forever).
 */
export async function writeAll(socket: Socket, payload: Buffer, chunkBytes = 256 * 1024, paceMs = 0): Promise<void> {
  for (let off = 0; off < payload.length; off += chunkBytes) {
    if (paceMs > 0 && off > 0) await new Promise((r) => setTimeout(r, paceMs));
    if (socket.destroyed || socket.writableEnded) throw new Error(`closed while writing (${off} of ${payload.length} bytes written)`);
    if (!socket.write(payload.subarray(off, off + chunkBytes))) {
      if (socket.destroyed) throw new Error(`closed while writing (${off} of ${payload.length} bytes written)`);
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off('drain', onDrain);
          reject(new Error('closed while writing'));
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    }
  }
}

/**
 * Sends `bytesAB` random bytes a->b and `bytesBA` b->a at the same time; asserts nothing
 * itself, returns sent and received digests. `preA`/`preB`: bytes already sent by each side
 * (e.g. glued to the handshake), expected first at the other end.
 */
export async function exchange(
  a: Socket,
  b: Socket,
  bytesAB: number,
  bytesBA: number,
  preA: Buffer = Buffer.alloc(0),
  preB: Buffer = Buffer.alloc(0),
  paceMs = 0,
): Promise<{ sentAB: string; gotAB: string; sentBA: string; gotBA: string }> {
  const ab = randomBytes(bytesAB);
  const ba = randomBytes(bytesBA);
  const recvB = digestOf(b, preA.length + bytesAB);
  const recvA = digestOf(a, preB.length + bytesBA);
  // If a write fails first, the receives still reject later: that is not an unhandled error.
  recvB.catch(() => {});
  recvA.catch(() => {});
  await Promise.all([writeAll(a, ab, 64 * 1024, paceMs), writeAll(b, ba, 64 * 1024, paceMs)]);
  const [gotAB, gotBA] = await Promise.all([recvB, recvA]);
  return {
    sentAB: sha256(Buffer.concat([preA, ab])),
    gotAB: gotAB.digest,
    sentBA: sha256(Buffer.concat([preB, ba])),
    gotBA: gotBA.digest,
  };
}
