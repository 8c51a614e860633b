import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Room, type RoomOptions } from '../../../src/daemon/room/room.js';
import {
  BROADCAST_MEMBER_ID, EnvelopeFlag, EnvelopeParser, LeaveReason, MAX_ENVELOPE_PAYLOAD_BYTES, RELAY_MEMBER_ID,
  decodeControl, encodeEnvelope, type ControlMessage, type Envelope,
} from '../../../src/codec/room/index.js';
import { encodeHello } from '../../../src/codec/protocol/index.js';

/** A room behind a real loopback listener; each connection is admitted as the daemon would after the handshake. */
async function startRoom(options: Partial<RoomOptions> = {}): Promise<{ room: Room; port: number; stop: () => Promise<void> }> {
  const room = new Room({ maxMembers: 8, helloTimeoutMs: 2000, ...options });
  const server = net.createServer((s) => room.admit(s, Buffer.alloc(0)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    room,
    port,
    stop: async () => {
      room.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A member client: sends its HELLO, collects envelopes and control messages. */
class Member {
  readonly socket: net.Socket;
  readonly hello: Buffer;
  readonly envelopes: Envelope[] = [];
  readonly control: ControlMessage[] = [];
  id = 0;
  closed = false;
  private readonly parser = new EnvelopeParser();
  private waiters: Array<() => void> = [];

  constructor(port: number, host = '127.0.0.1', sendHello = true) {
    this.hello = encodeHello({ channel: 'video', insecure: false, publicKey: Buffer.alloc(32, port & 0xff), nonce: Buffer.alloc(32, Math.random() * 255) });
    this.socket = net.connect({ port, host: '127.0.0.1', localAddress: host });
    this.socket.on('error', () => {});
    this.socket.on('close', () => { this.closed = true; this.wake(); });
    this.socket.on('data', (chunk: Buffer) => {
      for (const e of this.parser.push(chunk)) {
        if (e.memberId === RELAY_MEMBER_ID) {
          const c = decodeControl(Buffer.from(e.payload));
          if (c.type === 'welcome') this.id = c.memberId;
          this.control.push(c);
        } else {
          this.envelopes.push({ ...e, payload: Buffer.from(e.payload) });
        }
      }
      this.wake();
    });
    if (sendHello) this.socket.write(this.hello);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  send(to: number, flags: number, payload: Buffer): void {
    this.socket.write(encodeEnvelope(to, flags, payload));
  }

  joinedIds(): number[] {
    return this.control.flatMap((c) => (c.type === 'member-joined' ? [c.memberId] : []));
  }

  leftOf(id: number): ControlMessage | undefined {
    return this.control.find((c) => c.type === 'member-left' && c.memberId === id);
  }
}

test('members are welcomed, announced to each other with their HELLO, and hear each other', async () => {
  const { port, stop } = await startRoom();
  try {
    const a = new Member(port);
    await a.until('welcome', () => a.id > 0);
    const b = new Member(port, '127.0.0.2');
    const c = new Member(port, '127.0.0.3');
    await b.until('b sees a and c', () => b.id > 0 && b.joinedIds().length === 2);
    await c.until('c sees a and b', () => c.id > 0 && c.joinedIds().length === 2);
    await a.until('a sees b and c', () => a.joinedIds().length === 2);
    assert.equal(new Set([a.id, b.id, c.id]).size, 3, 'distinct ids');
    const helloOf = (m: Member, id: number) => m.control.find((x) => x.type === 'member-joined' && x.memberId === id);
    assert.deepEqual(helloOf(c, a.id), { type: 'member-joined', memberId: a.id, hello: a.hello }, 'the HELLO passes through unchanged');
    assert.deepEqual(helloOf(a, c.id), { type: 'member-joined', memberId: c.id, hello: c.hello });

    a.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, Buffer.from('to all'));
    a.send(b.id, 0, Buffer.from('to b'));
    a.send(a.id, 0, Buffer.from('to myself'));
    a.send(RELAY_MEMBER_ID, 0, Buffer.from('to the relay'));
    a.send(999, 0, Buffer.from('to nobody'));
    a.send(BROADCAST_MEMBER_ID, 0xfc | EnvelopeFlag.DROPPABLE, Buffer.from('unknown flags'));
    await b.until('b gets three', () => b.envelopes.length === 3);
    await c.until('c gets two', () => c.envelopes.length === 2);
    assert.deepEqual(b.envelopes.map((e) => [e.memberId, e.flags, e.payload.toString()]), [
      [a.id, EnvelopeFlag.DROPPABLE, 'to all'], [a.id, 0, 'to b'], [a.id, EnvelopeFlag.DROPPABLE, 'unknown flags'],
    ]);
    assert.deepEqual(c.envelopes.map((e) => [e.memberId, e.payload.toString()]), [[a.id, 'to all'], [a.id, 'unknown flags']]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.envelopes.length, 0, 'nothing echoes back to the sender');
  } finally {
    await stop();
  }
});

test('a member that hangs up or resets is announced to the others with why; the room empties', async () => {
  const { room, port, stop } = await startRoom();
  try {
    const a = new Member(port);
    const b = new Member(port, '127.0.0.2');
    const c = new Member(port, '127.0.0.3');
    await c.until('c sees both', () => c.joinedIds().length === 2);
    await a.until('a sees both', () => a.joinedIds().length === 2);
    b.socket.end();
    await c.until('b left', () => c.leftOf(b.id) !== undefined);
    assert.deepEqual(c.leftOf(b.id), { type: 'member-left', memberId: b.id, reason: LeaveReason.LEFT });
    c.socket.resetAndDestroy();
    await a.until('c lost', () => a.leftOf(c.id) !== undefined);
    assert.deepEqual(a.leftOf(c.id), { type: 'member-left', memberId: c.id, reason: LeaveReason.LOST });
    const empty = once(room, 'empty');
    a.socket.end();
    await empty;
    assert.equal(room.size, 0);
  } finally {
    await stop();
  }
});

test('a full room says ROOM_FULL and closes; the members inside are not disturbed', async () => {
  const { port, stop } = await startRoom({ maxMembers: 2 });
  try {
    const a = new Member(port);
    const b = new Member(port, '127.0.0.2');
    await a.until('a sees b', () => a.joinedIds().length === 1);
    const c = new Member(port, '127.0.0.3');
    await c.until('c refused', () => c.closed);
    assert.deepEqual(c.control, [{ type: 'room-full', maxMembers: 2 }]);
    b.send(a.id, 0, Buffer.from('still here'));
    await a.until('a hears b', () => a.envelopes.length === 1);
    assert.equal(a.control.filter((x) => x.type === 'member-left').length, 0);
  } finally {
    await stop();
  }
});

test('hostile members are cut alone: broken framing, control flood, no HELLO', async () => {
  const { port, stop } = await startRoom({ helloTimeoutMs: 300, controlBurstBytes: 64 * 1024, controlBytesPerS: 16 * 1024 });
  try {
    const a = new Member(port);
    const b = new Member(port, '127.0.0.2');
    await a.until('a sees b', () => a.joinedIds().length === 1);
    // Silent before its HELLO: dropped after the timeout, never announced.
    const silent = new Member(port, '127.0.0.4', false);
    await silent.until('silent cut', () => silent.closed, 3000);
    // An envelope length above the maximum: cut at once.
    const big = new Member(port, '127.0.0.5');
    await big.until('big welcomed', () => big.id > 0);
    const header = Buffer.alloc(7);
    header.writeUInt32BE(MAX_ENVELOPE_PAYLOAD_BYTES + 1);
    big.socket.write(header);
    await big.until('big cut', () => big.closed);
    // Control (non-droppable) far beyond its rate: cut.
    const flood = new Member(port, '127.0.0.6');
    await flood.until('flood welcomed', () => flood.id > 0);
    for (let i = 0; i < 40; i++) flood.send(a.id, 0, Buffer.alloc(4096));
    await flood.until('flood cut', () => flood.closed);
    await a.until('both announced gone', () => a.leftOf(big.id) !== undefined && a.leftOf(flood.id) !== undefined);
    assert.equal(a.joinedIds().includes(silent.id), false);
    // The good pair goes on.
    b.send(a.id, 0, Buffer.from('fine'));
    await a.until('a hears b', () => a.envelopes.some((e) => e.payload.toString() === 'fine'));
    assert.equal(a.leftOf(b.id), undefined);
  } finally {
    await stop();
  }
});

test('a member that stops reading loses its own media, not the others\' call', async () => {
  const { room, port, stop } = await startRoom({ queue: { maxBytes: 4 * 1024 * 1024 } });
  try {
    const sender = new Member(port);
    const good = new Member(port, '127.0.0.2');
    const frozen = new Member(port, '127.0.0.3');
    await sender.until('sender sees both', () => sender.joinedIds().length === 2);
    await frozen.until('frozen sees both', () => frozen.joinedIds().length === 2);
    frozen.socket.pause(); // a peer that freezes: stops reading, keeps its connection
    const frame = Buffer.alloc(64 * 1024, 7);
    const frames = 150; // ~9.6 MB, far beyond what loopback buffers and the queue hold
    const sentAt: number[] = [];
    const lateMs: number[] = [];
    good.socket.on('data', () => {
      while (lateMs.length < good.envelopes.length && sentAt[lateMs.length] !== undefined) lateMs.push(Date.now() - sentAt[lateMs.length]);
    });
    for (let i = 0; i < frames; i++) {
      sentAt.push(Date.now());
      sender.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, frame);
      await new Promise((r) => setTimeout(r, 10));
    }
    await good.until('good gets every frame', () => good.envelopes.length === frames, 10_000);
    assert.ok(room.queuedBytes <= 4 * 1024 * 1024 + frame.length, `queue bounded: ${room.queuedBytes}`);
    lateMs.sort((x, y) => x - y);
    assert.ok(lateMs[Math.floor(lateMs.length * 0.95)] < 250, `good member's p95 delay ${lateMs[Math.floor(lateMs.length * 0.95)]} ms`);
    // The frozen member wakes: it gets recent frames and hears what was dropped for it.
    frozen.socket.resume();
    sender.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, Buffer.from('after'));
    await frozen.until('frozen catches up', () => frozen.envelopes.some((e) => e.payload.toString() === 'after'), 10_000);
    assert.ok(frozen.envelopes.length < frames, `frozen got ${frozen.envelopes.length} of ${frames}`);
    await new Promise((r) => setTimeout(r, 1100));
    sender.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, Buffer.from('tick'));
    await frozen.until('drops reported', () => frozen.control.some((c) => c.type === 'dropped'), 5000);
    const dropped = frozen.control.flatMap((c) => (c.type === 'dropped' ? [c.envelopes] : [])).reduce((x, y) => x + y, 0);
    assert.equal(frozen.envelopes.length - 2 + dropped, frames, 'every frame either arrived or was reported dropped');
    assert.equal(sender.leftOf(frozen.id), undefined, 'a frozen reader of media is not cut');
  } finally {
    await stop();
  }
});

test('a member whose kernel backlog (backlogOf) is past the bound is not written to; its expired media is dropped and reported; written again once it drains', async () => {
  const backlog = new Map<number, number>();
  let portOf: (s: net.Socket) => number = () => 0;
  const { room, port, stop } = await startRoom({ backlogOf: (s) => backlog.get(portOf(s)) ?? 0 });
  portOf = (s) => s.remotePort ?? 0;
  try {
    const a = new Member(port);
    const b = new Member(port, '127.0.0.2');
    await a.until('a sees b', () => a.joinedIds().length === 1);
    await b.until('b welcomed', () => b.id > 0);
    backlog.set(b.socket.localPort!, 1024 * 1024);
    a.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(b.envelopes.length, 0, 'nothing written while its kernel is full');
    room.tick();
    await new Promise((r) => setTimeout(r, 700));
    room.tick();
    backlog.set(b.socket.localPort!, 0);
    room.tick();
    a.send(BROADCAST_MEMBER_ID, EnvelopeFlag.DROPPABLE, Buffer.from('fresh'));
    await b.until('b gets the fresh frame', () => b.envelopes.length === 1);
    assert.equal(b.envelopes[0]!.payload.toString(), 'fresh', 'the held frame expired in the queue, never sent late');
    await b.until('b is told', () => b.control.some((c) => c.type === 'dropped'));
    assert.deepEqual(b.control.find((c) => c.type === 'dropped'), { type: 'dropped', memberId: a.id, envelopes: 1 });
  } finally {
    await stop();
  }
});
