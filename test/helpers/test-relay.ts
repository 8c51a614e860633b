/**
 * Test helper: a small hostile relay on loopback for the end-to-end security tests. Two
 * listening ports (video, audio; port 0), the original handshake exactly as the original
 * server reads it (int32 little-endian length, then that many bytes; a length <= 0 or
 * > 1024 closes; nothing is ever written back), then a byte-transparent relay with
 * backpressure. What makes it hostile, each an option:
 *
 * - `pairBy: 'anyone'`: pairs the first two connections of a port whatever code they
 *   presented (a relay that wants two strangers, or itself, in the middle);
 * - `tap: true`: records every relayed byte per channel and direction, and every handshake;
 * - `tamper`: flips one byte once, mid-call, in one direction of one channel. The relay
 *   knows the public framing (a fixed-size HELLO, then u32 big-endian length + body
 *   records), so a test can aim at a record body or at a length header.
 */
import net from 'node:net';
import { HELLO_BYTES, RECORD_HEADER_BYTES } from '../../src/codec/protocol/constants.js';

/** The original server's bound on the handshake's code length. */
export const HANDSHAKE_MAX_CODE_BYTES = 1024;
/** The handshake's length prefix. */
export const HANDSHAKE_LENGTH_BYTES = 4;

export type RelayChannel = 'video' | 'audio';
/** `a` is the first connection of a pair on a port, `b` the second. */
export type RelayDirection = 'aToB' | 'bToA';

/** Where a tamper flips its byte. */
export type TamperTarget =
  /** Exactly the byte at stream offset `afterBytes` (counted after the handshake). */
  | 'raw'
  /** The middle byte of the first record, starting at or after `afterBytes`, whose body has at least `minBodyBytes`. */
  | 'body'
  /** Byte `lengthByte` (0 = most significant) of that record's u32 length header. */
  | 'length';

export interface TamperOptions {
  channel: RelayChannel;
  direction: RelayDirection;
  /** Relayed bytes of that direction (after the handshake) to let pass first. */
  afterBytes: number;
  /** XOR mask for the byte (1..255). */
  flipMask: number;
  /** Default 'body'. */
  target?: TamperTarget;
  /** For 'body' and 'length': skip records with a smaller body (e.g. PINGs among video frames). Default 0. */
  minBodyBytes?: number;
  /** For 'length': which header byte, 0..3. Default 3 (the least significant). */
  lengthByte?: number;
  /**
   * For 'length': only hit a header whose byte has every bit of the mask set, so that the
   * flip clears them and the length gets SMALLER: the receiver then reads its next header
   * from inside the sealed body.
   */
  onlySetBits?: boolean;
}

export interface TestRelayOptions {
  /** 'code' (default): pair equal codes, like the original server; 'anyone': pair the first two of each port. */
  pairBy?: 'code' | 'anyone';
  /** Record every byte. */
  tap?: boolean;
  tamper?: TamperOptions;
  host?: string;
}

/** One handshake as the relay received it. */
export interface SeenHandshake {
  channel: RelayChannel;
  /** The 4 length bytes and the code bytes, exactly as received. */
  raw: Buffer;
  /** The code bytes only. */
  code: Buffer;
}

/** What the tamper did. */
export interface TamperEvent {
  channel: RelayChannel;
  direction: RelayDirection;
  /** Offset of the flipped byte in that direction's relayed stream. */
  streamOffset: number;
  /** Body length of the record it hit, as its header said before the flip (null for 'raw'). */
  recordBodyBytes: number | null;
  before: number;
  after: number;
  /** Date.now() when the flipped byte was handed on. */
  atMs: number;
}

export interface TestRelay {
  videoPort: number;
  audioPort: number;
  /** Handshakes in arrival order (only with `tap`). */
  readonly handshakes: SeenHandshake[];
  /** Pairs formed so far. */
  readonly pairs: number;
  /** The tamper's flip, once it happened. */
  readonly tampered: TamperEvent | null;
  /** Every relayed byte (after the handshakes) of one channel and direction, or of all of them concatenated. */
  relayed: (channel?: RelayChannel, direction?: RelayDirection) => Buffer;
  /** Everything tapped, handshakes first: what an observer of the relay saw. */
  allSeen: () => Buffer;
  /** Closes the listeners and every connection. */
  close: () => Promise<void>;
}

interface Waiting {
  socket: net.Socket;
  /** Bytes that arrived after the handshake while waiting for a peer (the client's HELLO). */
  early: Buffer[];
  /** Stops collecting early bytes (set while waiting). */
  stopEarly?: () => void;
}

/** Follows the public framing of one direction to aim a tamper at a record. */
class TamperTracker {
  private offset = 0;
  /** Position in the framing: the HELLO, a record header, or a body. */
  private phase: 'hello' | 'header' | 'body' = 'hello';
  private remaining = HELLO_BYTES;
  private readonly header = Buffer.alloc(RECORD_HEADER_BYTES);
  private headerStart = 0;
  private done = false;

  constructor(
    private readonly opts: TamperOptions,
    private readonly onFlip: (e: Omit<TamperEvent, 'channel' | 'direction'>) => void,
  ) {}

  /** Inspects (and may modify in place) the next chunk of the stream. */
  process(chunk: Buffer): void {
    if (this.done) return;
    const target = this.opts.target ?? 'body';
    if (target === 'raw') {
      const at = this.opts.afterBytes - this.offset;
      if (at >= 0 && at < chunk.length) this.flip(chunk, at, null);
      this.offset += chunk.length;
      return;
    }
    let pos = 0;
    while (pos < chunk.length && !this.done) {
      if (this.phase === 'hello') {
        const take = Math.min(this.remaining, chunk.length - pos);
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) this.startHeader(pos);
      } else if (this.phase === 'header') {
        const i = RECORD_HEADER_BYTES - this.remaining;
        this.header[i] = chunk[pos];
        // The length byte is flipped as it passes, before the header is complete.
        if (target === 'length' && this.armed() && i === (this.opts.lengthByte ?? 3) && this.headerBigEnough(i, chunk, pos)
          && (!this.opts.onlySetBits || (chunk[pos] & this.opts.flipMask) === this.opts.flipMask)) {
          this.flip(chunk, pos, this.peekLength(chunk, pos, i));
          return;
        }
        pos++;
        this.remaining--;
        if (this.remaining === 0) {
          this.phase = 'body';
          this.remaining = this.header.readUInt32BE(0);
          if (target === 'body' && this.armed() && this.remaining >= Math.max(1, this.opts.minBodyBytes ?? 0)) {
            // Aim at the middle of the body: inside the ciphertext of a sealed record.
            this.aimBodyAt = Math.floor(this.remaining / 2);
            this.aimBodyLength = this.remaining;
          } else {
            this.aimBodyAt = -1;
          }
          if (this.remaining === 0) this.startHeader(pos);
        }
      } else {
        const take = Math.min(this.remaining, chunk.length - pos);
        if (this.aimBodyAt >= 0) {
          const consumed = this.aimBodyLength - this.remaining;
          const rel = this.aimBodyAt - consumed;
          if (rel >= 0 && rel < take) {
            this.flip(chunk, pos + rel, this.aimBodyLength);
            return;
          }
        }
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) this.startHeader(pos);
      }
    }
    this.offset += chunk.length;
  }

  private aimBodyAt = -1;
  private aimBodyLength = 0;

  private startHeader(pos: number): void {
    this.phase = 'header';
    this.remaining = RECORD_HEADER_BYTES;
    this.headerStart = this.offset + pos;
  }

  private armed(): boolean {
    return this.headerStart >= this.opts.afterBytes;
  }

  /**
   * For 'length' with minBodyBytes: the header bytes seen so far are known; when the flipped
   * byte is not the last one, the true length is not known yet, so only the bytes seen are
   * compared (good enough to skip small records, whose high bytes are zero).
   */
  private headerBigEnough(i: number, chunk: Buffer, pos: number): boolean {
    const min = this.opts.minBodyBytes ?? 0;
    if (min === 0) return true;
    const len = this.peekLength(chunk, pos, i);
    return len !== null && len >= min;
  }

  /** The record length if the rest of its header is inside this chunk, else null. */
  private peekLength(chunk: Buffer, pos: number, i: number): number | null {
    const rest = RECORD_HEADER_BYTES - i;
    if (chunk.length - pos < rest) return null;
    const h = Buffer.from(this.header);
    chunk.copy(h, i, pos, pos + rest);
    return h.readUInt32BE(0);
  }

  private flip(chunk: Buffer, at: number, recordBodyBytes: number | null): void {
    const before = chunk[at];
    chunk[at] = before ^ this.opts.flipMask;
    this.done = true;
    this.onFlip({ streamOffset: this.offset + at, recordBodyBytes, before, after: chunk[at], atMs: Date.now() });
  }
}

/** Starts a test relay on two loopback ports (port 0) and resolves once both listen. */
export async function startTestRelay(opts: TestRelayOptions = {}): Promise<TestRelay> {
  const host = opts.host ?? '127.0.0.1';
  const pairBy = opts.pairBy ?? 'code';
  const handshakes: SeenHandshake[] = [];
  const taps: Record<string, Buffer[]> = {};
  const sockets = new Set<net.Socket>();
  let pairs = 0;
  let tampered: TamperEvent | null = null;

  const record = (channel: RelayChannel, direction: RelayDirection, chunk: Buffer): void => {
    if (!opts.tap) return;
    (taps[`${channel}:${direction}`] ??= []).push(Buffer.from(chunk));
  };

  const makeServer = (channel: RelayChannel): net.Server => {
    const waiting = new Map<string, Waiting>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.setNoDelay(true);
      let buffered = Buffer.alloc(0);
      let codeLength = -1;
      const onHandshakeData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        if (codeLength < 0) {
          if (buffered.length < HANDSHAKE_LENGTH_BYTES) return;
          codeLength = buffered.readInt32LE(0);
          if (codeLength <= 0 || codeLength > HANDSHAKE_MAX_CODE_BYTES) {
            socket.destroy();
            return;
          }
        }
        if (buffered.length < HANDSHAKE_LENGTH_BYTES + codeLength) return;
        socket.off('data', onHandshakeData);
        socket.pause();
        const raw = buffered.subarray(0, HANDSHAKE_LENGTH_BYTES + codeLength);
        const code = raw.subarray(HANDSHAKE_LENGTH_BYTES);
        if (opts.tap) handshakes.push({ channel, raw: Buffer.from(raw), code: Buffer.from(code) });
        const rest = buffered.subarray(raw.length);
        const key = pairBy === 'anyone' ? '' : code.toString('hex');
        const other = waiting.get(key);
        if (other && !other.socket.destroyed) {
          waiting.delete(key);
          pairs++;
          connectPair(channel, other, { socket, early: rest.length ? [Buffer.from(rest)] : [] });
          return;
        }
        const me: Waiting = { socket, early: rest.length ? [Buffer.from(rest)] : [] };
        waiting.set(key, me);
        // Keep reading while waiting (the client's HELLO), and forget a client that leaves
        // (unlike the original server, which paired the next client with a dead socket).
        const onEarly = (c: Buffer): void => void me.early.push(Buffer.from(c));
        socket.on('data', onEarly);
        socket.resume();
        socket.once('close', () => {
          if (waiting.get(key) === me) waiting.delete(key);
        });
        me.stopEarly = () => {
          socket.off('data', onEarly);
          socket.pause();
        };
      };
      socket.on('data', onHandshakeData);
    });
    return server;
  };

  const connectPair = (channel: RelayChannel, a: Waiting, b: Waiting): void => {
    a.stopEarly?.();
    const pipe = (src: Waiting, dst: net.Socket, direction: RelayDirection): void => {
      const tracker = opts.tamper && opts.tamper.channel === channel && opts.tamper.direction === direction
        ? new TamperTracker(opts.tamper, (e) => { tampered = { channel, direction, ...e }; })
        : null;
      let paused = false;
      const forward = (chunk: Buffer): void => {
        tracker?.process(chunk);
        record(channel, direction, chunk);
        if (!dst.write(chunk) && !paused) {
          paused = true;
          src.socket.pause();
          dst.once('drain', () => {
            paused = false;
            src.socket.resume();
          });
        }
      };
      for (const early of src.early) forward(early);
      src.early = [];
      src.socket.on('data', forward);
      src.socket.on('end', () => dst.end());
      src.socket.on('close', (hadError) => {
        if (hadError) dst.destroy();
        else dst.end();
      });
      src.socket.resume();
    };
    pipe(a, b.socket, 'aToB');
    pipe(b, a.socket, 'bToA');
  };

  const listen = (server: net.Server): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
    });

  const videoServer = makeServer('video');
  const audioServer = makeServer('audio');
  const [videoPort, audioPort] = await Promise.all([listen(videoServer), listen(audioServer)]);

  const relayed = (channel?: RelayChannel, direction?: RelayDirection): Buffer => {
    const parts: Buffer[] = [];
    for (const c of channel ? [channel] : (['video', 'audio'] as const)) {
      for (const d of direction ? [direction] : (['aToB', 'bToA'] as const)) parts.push(...(taps[`${c}:${d}`] ?? []));
    }
    return Buffer.concat(parts);
  };

  return {
    videoPort,
    audioPort,
    handshakes,
    get pairs() {
      return pairs;
    },
    get tampered() {
      return tampered;
    },
    relayed,
    allSeen: () => Buffer.concat([...handshakes.map((h) => h.raw), relayed()]),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([videoServer, audioServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
