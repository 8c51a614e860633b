// Room members (src/codec/room/member.ts) through a real Room relay on loopback sockets:
// pairwise key agreement, sender keys, rotation on join and leave, a wrong code refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Room } from '../../../src/daemon/room/room.js';
import { EnvelopeParser, RoomMember, type MemberEvent } from '../../../src/codec/room/index.js';
import { createLocalHelloSecrets, deriveCodeSecrets } from '../../../src/codec/secure/index.js';

const CODE = 'purple-otter-sings-loudly';
const codeKey = (await deriveCodeSecrets(CODE)).codeKey;

interface Relay {
  port: number;
  /** Every byte members sent the relay and it sent them, as a tap on the relay would see. */
  tapped: Buffer[];
  stop: () => Promise<void>;
}

async function startRelay(): Promise<Relay> {
  const room = new Room({ maxMembers: 8, helloTimeoutMs: 5000 });
  const tapped: Buffer[] = [];
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => tapped.push(Buffer.from(d)));
    const write = s.write.bind(s);
    s.write = ((chunk: Buffer, ...rest: never[]) => {
      tapped.push(Buffer.from(chunk));
      return write(chunk, ...rest);
    }) as typeof s.write;
    room.admit(s, Buffer.alloc(0));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    tapped,
    stop: async () => {
      room.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

class Client {
  readonly member: RoomMember;
  readonly socket: net.Socket;
  readonly events: MemberEvent[] = [];
  /** Our own broadcast bodies as sent (to replay them to someone who should not read them). */
  readonly sentMedia: Buffer[] = [];

  constructor(port: number, key: Uint8Array = codeKey) {
    const parser = new EnvelopeParser();
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.member = new RoomMember({
      channel: 'video',
      codeKey: key,
      local: createLocalHelloSecrets(),
      send: (bytes) => {
        if (bytes.readUInt16BE(4) === 0xffff) this.sentMedia.push(Buffer.from(bytes));
        this.socket.write(bytes);
      },
    });
    this.socket.on('data', (chunk: Buffer) => {
      for (const e of parser.push(chunk)) this.events.push(...this.member.receive({ ...e, payload: Buffer.from(e.payload) }));
    });
    this.socket.write(this.member.hello());
  }

  get id(): number {
    return this.member.memberId ?? 0;
  }

  media(from: number): string[] {
    return this.events.flatMap((e) => (e.type === 'media' && e.memberId === from ? [e.payload.toString()] : []));
  }

  confirmed(): number[] {
    return this.events.flatMap((e) => (e.type === 'member-confirmed' ? [e.memberId] : []));
  }

  async until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

test('four members: each confirms the other three and reads every frame of each', async () => {
  const relay = await startRelay();
  try {
    const members: Client[] = [];
    for (let i = 0; i < 4; i++) {
      members.push(new Client(relay.port));
      await members[i].until(`welcome ${i}`, () => members[i].id > 0);
    }
    for (const m of members) await m.until(`${m.id} confirms 3`, () => m.confirmed().length === 3);
    // Keys are given after confirmation; let them land before the media starts.
    await new Promise((r) => setTimeout(r, 100));
    for (const m of members) for (let f = 0; f < 20; f++) m.member.sendMedia(Buffer.from(`frame ${f} from ${m.id} SECRET-PLAINTEXT`), false);
    for (const m of members) {
      for (const other of members) {
        if (other === m) continue;
        await m.until(`${m.id} hears ${other.id}`, () => m.media(other.id).length === 20);
        assert.deepEqual(m.media(other.id), Array.from({ length: 20 }, (_, f) => `frame ${f} from ${other.id} SECRET-PLAINTEXT`));
      }
      assert.equal(m.member.stats.mediaRejected, 0);
    }
    const wire = Buffer.concat(relay.tapped);
    assert.equal(wire.includes('SECRET-PLAINTEXT'), false, 'the relay sees no plaintext');
    assert.equal(wire.includes(CODE), false, 'nor the code');
  } finally {
    await relay.stop();
  }
});

test('a member with the wrong code is refused by all and reads nothing; the others go on', async () => {
  const relay = await startRelay();
  try {
    const a = new Client(relay.port);
    const b = new Client(relay.port);
    await a.until('a confirms b', () => a.confirmed().length === 1);
    const wrong = new Client(relay.port, (await deriveCodeSecrets('purple-otter-sings-quietly')).codeKey);
    await a.until('a refuses wrong', () => a.events.some((e) => e.type === 'member-refused' && e.memberId === wrong.id));
    await b.until('b refuses wrong', () => b.events.some((e) => e.type === 'member-refused' && e.memberId === wrong.id));
    await wrong.until('wrong refuses both', () => wrong.events.filter((e) => e.type === 'member-refused').length === 2);
    const refusal = a.events.find((e) => e.type === 'member-refused');
    assert.equal(refusal?.type === 'member-refused' ? refusal.code : null, 'E_KEY_CONFIRMATION');
    await new Promise((r) => setTimeout(r, 100));
    a.member.sendMedia(Buffer.from('for b only'), false);
    wrong.member.sendMedia(Buffer.from('let me in'), false);
    await b.until('b hears a', () => b.media(a.id).length === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(wrong.events.filter((e) => e.type === 'media').length, 0, 'the wrong code opens no frame');
    assert.equal(b.media(wrong.id).length, 0, 'and its frames are not taken');
  } finally {
    await relay.stop();
  }
});

test('keys rotate: a late joiner cannot open earlier frames, a leaver cannot open later ones', async () => {
  const relay = await startRelay();
  try {
    const a = new Client(relay.port);
    const b = new Client(relay.port);
    await a.until('a confirms b', () => a.confirmed().length === 1);
    await b.until('b confirms a', () => b.confirmed().length === 1);
    await new Promise((r) => setTimeout(r, 50));
    a.member.sendMedia(Buffer.from('before c'), false);
    await b.until('b hears a', () => b.media(a.id).length === 1);
    const beforeJoin = a.sentMedia.at(-1)!;
    const epochBefore = a.member.epoch;

    const c = new Client(relay.port);
    await c.until('c confirms both', () => c.confirmed().length === 2);
    await a.until('a confirms c', () => a.confirmed().length === 2);
    assert.ok(a.member.epoch! > epochBefore!, 'a new epoch on join');
    // The earlier frame, handed to the newcomer as a tap would: it does not open.
    const rejectedBefore = c.member.stats.mediaRejected;
    c.member.receive({ memberId: a.id, flags: beforeJoin[6], payload: beforeJoin.subarray(7) });
    assert.equal(c.media(a.id).length, 0);
    assert.equal(c.member.stats.mediaRejected, rejectedBefore + 1);
    await new Promise((r) => setTimeout(r, 50));
    a.member.sendMedia(Buffer.from('with c'), false);
    await c.until('c hears a', () => c.media(a.id).length === 1);

    // b leaves but keeps its state (keys and all): what a sends next does not open for it.
    const heardByB = b.media(a.id).length;
    b.socket.destroy();
    await a.until('a sees b leave', () => a.events.some((e) => e.type === 'member-left' && e.memberId === b.id));
    await new Promise((r) => setTimeout(r, 50));
    a.member.sendMedia(Buffer.from('after b'), false);
    await c.until('c hears after b', () => c.media(a.id).includes('after b'));
    const afterLeave = a.sentMedia.at(-1)!;
    b.member.receive({ memberId: a.id, flags: afterLeave[6], payload: afterLeave.subarray(7) });
    assert.equal(b.media(a.id).length, heardByB, 'the leaver opens nothing new');
  } finally {
    await relay.stop();
  }
});
