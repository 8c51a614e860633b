/**
 * Rooms through a real started videochatd on loopback (issue 17, docs/rooms.md): members
 * (src/codec/room/member.ts) join with `vcroom1-` codes on both ports and exchange sealed
 * media; what a user and an operator would check: frames arrive, a member that vanishes is
 * announced, a full room says ROOM_FULL, the relay's sockets carry no code and no plaintext,
 * the metrics and logs show the rooms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connectClient, startDaemon, waitClosed, type StartedDaemon } from '../../helpers/relay-client.js';
import { startTestRelay } from '../../helpers/test-relay.js';
import { childPids, connectFrom, metric, randomCode, reset, rssBytes, startGoodCall } from '../../helpers/hostile.js';
import { RoomMember, startsWithPeerHello } from '../../../src/codec/room/index.js';
import { createLocalHelloSecrets } from '../../../src/codec/secure/index.js';
import { joinRoom, roomHandshakeCode, roomSecrets, RoomClient } from '../../helpers/room-member.js';

const TEST_TIMEOUT_MS = 120_000;
/** A JPEG's first bytes (SOI, APP0 JFIF) and Opus's identification header magic. */
const JPEG_SIGNATURE = Buffer.from('ffd8ffe000104a464946', 'hex');
const OPUS_SIGNATURE = Buffer.from('OpusHead', 'ascii');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a failed test must stop so that the file's process can exit (timers, sockets). */
const onFailure: Array<() => unknown> = [];

async function withDaemon(args: string[], body: (d: StartedDaemon) => Promise<void>): Promise<void> {
  const d = await startDaemon(['--metrics-port', '0', ...args]);
  onFailure.length = 0;
  try {
    await body(d);
    assert.equal(d.child.exitCode, null, 'the daemon is still up');
  } catch (err) {
    for (const f of onFailure.splice(0)) await Promise.resolve(f()).catch(() => {});
    await d.stop('SIGKILL');
    throw err;
  }
  const res = await d.stop();
  assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}`);
}

/** A fake JPEG frame / Opus packet: the signature a tap would look for, then noise. */
function fakeFrame(audio: boolean, seq: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(seq);
  return Buffer.concat([audio ? OPUS_SIGNATURE : JPEG_SIGNATURE, head, randomBytes(audio ? 120 : 6000)]);
}

/** Each member sends `frames` media messages at `intervalMs`; resolves when all were sent. */
async function stream(members: RoomClient[], frames: number, audio: boolean, intervalMs: number): Promise<void> {
  for (let f = 0; f < frames; f++) {
    for (const m of members) assert.ok(m.member.sendMedia(fakeFrame(audio, f), audio), 'member can send');
    await sleep(intervalMs);
  }
}

function assertWireClean(members: RoomClient[], code: string, codeKey: Buffer): void {
  for (const m of members) {
    const wire = Buffer.concat(m.wire);
    assert.equal(wire.includes(code), false, 'the relay never sees the code');
    assert.equal(wire.includes(codeKey), false, 'nor the code key');
    assert.equal(wire.includes(JPEG_SIGNATURE), false, 'nor a JPEG signature');
    assert.equal(wire.includes(OPUS_SIGNATURE), false, 'nor an Opus signature');
  }
}

test('four members on both ports exchange sealed media; each gets >= 80 % of each other\'s frames; the relay sees no code, no JPEG, no Opus; metrics show the rooms', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '2'], async (d) => {
    const code = `room-${randomCode()}`;
    const video = await joinRoom(d.videoPort, code, 4, { channel: 'video' });
    const audio = await joinRoom(d.audioPort, code, 4, { channel: 'audio' });
    const FRAMES = 60;
    await Promise.all([stream(video, FRAMES, false, 33), stream(audio, FRAMES, true, 20)]);
    for (const group of [video, audio]) {
      for (const m of group) {
        for (const other of group) {
          if (other === m) continue;
          await m.until(`${m.id} hears ${other.id}`, () => m.media(other.id).length >= FRAMES * 0.8, 10_000).catch(() => {});
          const got = m.media(other.id).length;
          assert.ok(got >= FRAMES * 0.8, `member ${m.id} got ${got}/${FRAMES} frames of ${other.id}`);
          const first = m.media(other.id)[0]!;
          assert.ok(first.subarray(0, 8).equals(group === audio ? OPUS_SIGNATURE : JPEG_SIGNATURE.subarray(0, 8)), 'what arrives is what was sent');
        }
        assert.equal(m.member.stats.mediaRejected, 0);
      }
    }
    const { codeKey } = await roomSecrets(code);
    assertWireClean([...video, ...audio], code, codeKey);

    assert.equal(await metric(d, 'videochatd_rooms', 'channel="video"'), 1);
    assert.equal(await metric(d, 'videochatd_rooms', 'channel="audio"'), 1);
    assert.equal(await metric(d, 'videochatd_room_members', 'channel="video"'), 4);
    assert.equal(await metric(d, 'videochatd_room_members', 'channel="audio"'), 4);
    assert.equal(await metric(d, 'videochatd_room_members_total', 'channel="video"'), 4);
    await sleep(1500);
    // Each of 4 members' frames went to 3 others.
    assert.ok((await metric(d, 'videochatd_room_envelopes_relayed_total', 'channel="video"')) >= FRAMES * 4 * 3 * 0.8);
    const opened = d.lines.filter((l) => l.msg === 'room opened');
    assert.equal(opened.length, 2, 'one room per port');
    assert.equal(opened[0]!.handlerPid, opened[1]!.handlerPid, 'a code\'s two rooms share a handler');
    assert.ok(d.lines.every((l) => !JSON.stringify(l).includes(code)), 'the logs never carry the code');
    assert.ok(d.lines.every((l) => !JSON.stringify(l).includes((code))));

    for (const m of [...video, ...audio]) m.socket.end();
    await d.waitForLines((l) => l.msg === 'room closed', 2, 10_000);
    const ends = d.lines.filter((l) => l.msg === 'room member ended');
    assert.equal(ends.length, 8);
    assert.ok(ends.every((l) => l.reason === 'left'), JSON.stringify(ends.map((l) => l.reason)));
    assert.equal(await metric(d, 'videochatd_rooms', 'channel="video"'), 0);
    assert.equal(await metric(d, 'videochatd_room_members_ended_total', 'channel="video",reason="left"'), 4);
    // The rendezvous id is the relay's key, never logged either.
    const rid = (await roomHandshakeCode(code)).slice(8);
    assert.ok(d.lines.every((l) => !JSON.stringify(l).includes(rid)), 'nor the rendezvous id');
  });
});

test('a member SIGKILLed and one reset: the others are told MEMBER_LEFT within 2 s and go on', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1'], async (d) => {
    const code = `room-${randomCode()}`;
    const members = await joinRoom(d.videoPort, code, 3);
    // A member in its own process: handshake, a HELLO (its own, for real), then SIGKILL.
    const hs = await roomHandshakeCode(code);
    const hello = new RoomMember({ channel: 'video', codeKey: (await roomSecrets(code)).codeKey, local: createLocalHelloSecrets(), send: () => {} }).hello();
    const script = `
      const net = require('node:net');
      const s = net.connect(${d.videoPort}, '127.0.0.1', () => {
        const code = Buffer.from(${JSON.stringify(hs)});
        const len = Buffer.alloc(4); len.writeInt32LE(code.length);
        const hello = Buffer.from('${hello.toString('hex')}', 'hex');
        s.write(Buffer.concat([len, code, hello]));
      });
      s.on('data', () => process.stdout.write('x'));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    await members[0]!.until('the child joined', () => members[0]!.has((e) => e.type === 'member-joined' && !members.some((m) => m.id === e.memberId)));
    const childId = members[0]!.events.find((e) => e.type === 'member-joined' && !members.some((m) => m.id === e.memberId))!;
    const childMemberId = childId.type === 'member-joined' ? childId.memberId : 0;
    const killedAt = Date.now();
    child.kill('SIGKILL');
    for (const m of members) await m.until(`${m.id} told of the killed member`, () => m.has((e) => e.type === 'member-left' && e.memberId === childMemberId), 2000);
    assert.ok(Date.now() - killedAt <= 2000);

    // A member reset with an RST in the middle of an envelope.
    const [a, b, c] = members as [RoomClient, RoomClient, RoomClient];
    const half = Buffer.alloc(7 + 50);
    half.writeUInt32BE(1000);
    half.writeUInt16BE(0xffff, 4);
    half[6] = 1;
    c.socket.write(half);
    await sleep(50);
    const resetAt = Date.now();
    c.socket.resetAndDestroy();
    for (const m of [a, b]) await m.until(`${m.id} told of the reset member`, () => m.has((e) => e.type === 'member-left' && e.memberId === c.id), 2000);
    assert.ok(Date.now() - resetAt <= 2000);

    // The two left go on: media both ways.
    await sleep(100);
    await stream([a, b], 10, false, 20);
    await a.until('a hears b', () => a.media(b.id).length >= 8);
    await b.until('b hears a', () => b.media(a.id).length >= 8);
    await d.waitForLine((l) => l.msg === 'room member ended' && l.reason === 'lost');
    a.close();
    b.close();
  });
});

test('--max-room-size 3: WELCOME carries 3, the fourth member gets ROOM_FULL and is closed', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1', '--max-room-size', '3'], async (d) => {
    const code = `room-${randomCode()}`;
    const members = await joinRoom(d.videoPort, code, 3);
    for (const m of members) assert.ok(m.has((e) => e.type === 'welcome' && e.maxMembers === 3));
    const fourth = await RoomClient.connect(d.videoPort, code);
    await fourth.until('room full', () => fourth.has((e) => e.type === 'room-full'));
    const full = fourth.events.find((e) => e.type === 'room-full');
    assert.equal(full?.type === 'room-full' ? full.maxMembers : 0, 3);
    await fourth.until('fourth closed', () => fourth.closed, 3000);
    assert.equal(fourth.id, 0, 'never welcomed');
    await d.waitForLine((l) => l.msg === 'room member ended' && l.reason === 'full');
    assert.equal(await metric(d, 'videochatd_room_members_ended_total', 'channel="video",reason="full"'), 1);
    // The three are untouched.
    await stream(members, 5, false, 20);
    for (const m of members) for (const o of members) if (o !== m) await m.until('media', () => m.media(o.id).length >= 5);
    for (const m of members) m.close();
  });
});

test('--fork-per-pair: a room gets a child of its own beside a one-to-one pair; killing it ends only its members', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--fork-per-pair'], async (d) => {
    const call = await startGoodCall(d.videoPort, `pair-${randomCode()}`);
    onFailure.push(() => call.finish());
    const code = `room-${randomCode()}`;
    const members = await joinRoom(d.videoPort, code, 3);
    await stream(members, 10, false, 20);
    for (const m of members) for (const o of members) if (o !== m) await m.until('media', () => m.media(o.id).length >= 8);
    const opened = await d.waitForLine((l) => l.msg === 'room opened');
    const pair = await d.waitForLine((l) => l.msg === 'pair started');
    assert.ok(typeof opened.handlerPid === 'number');
    assert.notEqual(opened.handlerPid, pair.handlerPid, 'the room has its own child');
    assert.equal(childPids(d.pid).length, 2, 'one child for the pair, one for the room');
    // Members of a second room get a child too.
    const other = await joinRoom(d.videoPort, `room-${randomCode()}`, 2);
    assert.equal(childPids(d.pid).length, 3);
    for (const m of other) m.socket.end();
    await d.waitForLine((l) => l.msg === 'room closed');
    const until = Date.now() + 5000;
    while (childPids(d.pid).length !== 2 && Date.now() < until) await sleep(50);
    assert.equal(childPids(d.pid).length, 2, 'an empty room\'s child exits');

    process.kill(opened.handlerPid as number, 'SIGKILL');
    for (const m of members) await m.until(`${m.id} cut`, () => m.closed, 5000);
    await d.waitForLines((l) => l.msg === 'room member ended' && l.reason === 'handler-died', 3, 5000);
    assert.equal(call.broken, null, 'the pair goes on');
    await call.finish();
    assert.equal(await metric(d, 'videochatd_room_members', 'channel="video"'), 0);
  });
});

/** Good members streaming video frames to each other until stop(); counts what each sent. */
function keepStreaming(members: RoomClient[], intervalMs: number): { stop: () => Promise<void>; sent: Map<RoomClient, number> } {
  const sent = new Map<RoomClient, number>(members.map((m) => [m, 0]));
  let running = true;
  const loop = (async () => {
    for (let f = 0; running; f++) {
      for (const m of members) {
        // Flow control as a real client does: skip a frame while the relay is behind.
        if (m.socket.writableLength > 256 * 1024) continue;
        if (m.member.sendMedia(fakeFrame(false, f), false)) sent.set(m, sent.get(m)! + 1);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test('hostile members from 127.0.0.2 (garbage, oversize length, control flood, media flood, never reading, RST mid-envelope, slowloris HELLO, bad room codes) are cut; a good room and a good pair on the same handler stay intact', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1', '--handshake-timeout', '1', '--max-connection-rate-per-ip', '0'], async (d) => {
    const call = await startGoodCall(d.videoPort, `pair-${randomCode()}`);
    onFailure.push(() => call.finish());
    const code = `room-${randomCode()}`;
    const good = await joinRoom(d.videoPort, code, 3);
    const handlerPids = childPids(d.pid);
    const streaming = keepStreaming(good, 33);
    onFailure.push(() => streaming.stop(), () => good.forEach((m) => m.close()));
    const hsCode = Buffer.from(await roomHandshakeCode(code));
    const handshake = (c: Buffer): Buffer => {
      const len = Buffer.alloc(4);
      len.writeInt32LE(c.length);
      return Buffer.concat([len, c]);
    };
    const hello = new RoomMember({ channel: 'video', codeKey: randomBytes(32), local: createLocalHelloSecrets(), send: () => {} }).hello();
    const joinBytes = Buffer.concat([handshake(hsCode), hello]);
    const header = (length: number, to: number, flags: number): Buffer => {
      const h = Buffer.alloc(7);
      h.writeUInt32BE(length);
      h.writeUInt16BE(to, 4);
      h[6] = flags;
      return h;
    };
    // One that joins and never reads a byte, for the whole attack.
    const neverReads = await connectFrom(d.videoPort, '127.0.0.2', joinBytes);
    neverReads.pause();
    onFailure.push(() => reset(neverReads));

    const stopAt = Date.now() + 8000;
    const attacks: Array<(round: number) => Promise<void>> = [
      // Garbage after the HELLO.
      async () => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([joinBytes, randomBytes(4096)]));
        await waitClosed(s, 5000);
      },
      // An envelope length past 4 MiB.
      async () => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([joinBytes, header(0xfffffff0, 0xffff, 0)]));
        await waitClosed(s, 5000);
      },
      // Control flood: non-droppable envelopes, 1 MiB each, as fast as it can.
      async () => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', joinBytes);
        s.resume();
        const body = Buffer.concat([header(1024 * 1024, 0xffff, 0), randomBytes(1024 * 1024)]);
        for (let i = 0; i < 8 && !s.destroyed; i++) s.write(body);
        await waitClosed(s, 5000);
      },
      // Media flood: droppable broadcast envelopes of 64 KiB as fast as the socket takes them.
      async () => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', joinBytes);
        s.resume();
        const body = Buffer.concat([header(64 * 1024, 0xffff, 1), randomBytes(64 * 1024)]);
        const until = Math.min(stopAt, Date.now() + 3000);
        while (Date.now() < until && !s.destroyed) {
          if (s.writableLength < 1024 * 1024) s.write(body);
          else await sleep(1);
        }
        reset(s);
      },
      // RST in the middle of an envelope; envelopes to the relay and to nobody before it.
      async (round) => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([joinBytes, header(3, 0, 0), Buffer.from('abc'), header(3, 40_000, 1), Buffer.from('abc'), header(5000, 0xffff, 1), randomBytes(1000)]));
        await sleep(20 + (round % 30));
        reset(s);
      },
      // Slowloris HELLO: a few bytes, then one every 300 ms; cut at --handshake-timeout.
      async () => {
        const s = await connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([handshake(hsCode), hello.subarray(0, 10)]));
        for (let i = 10; i < 20 && !s.destroyed; i++) {
          s.write(hello.subarray(i, i + 1));
          await sleep(300);
        }
        await waitClosed(s, 5000);
      },
      // Codes with the reserved prefix that are not room codes.
      async (round) => {
        const bad = [Buffer.from('vcroom1-'), Buffer.from(`vcroom1-${'g'.repeat(64)}`), Buffer.from(`vcroom1-${'A'.repeat(64)}`), Buffer.from(`vcroom1-${'0'.repeat(65)}`)][round % 4]!;
        const s = await connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([handshake(bad), hello]));
        await waitClosed(s, 5000);
      },
    ];
    let rounds = 0;
    await Promise.all(attacks.map(async (attack) => {
      for (let r = 0; Date.now() < stopAt; r++) {
        await attack(r).catch(() => {});
        rounds++;
      }
    }));
    // Let the last frames arrive, then count.
    await sleep(500);
    await streaming.stop();
    await sleep(500);
    for (const m of good) {
      assert.equal(m.closed, false, `good member ${m.id} was never cut`);
      for (const o of good) {
        if (o === m) continue;
        const got = m.media(o.id).length;
        const sent = streaming.sent.get(o)!;
        assert.ok(got >= sent * 0.8, `good member ${m.id} got ${got}/${sent} frames of ${o.id} during ${rounds} attack rounds`);
      }
    }
    assert.equal(call.broken, null);
    const { bytesEachWay } = await call.finish();
    assert.ok(bytesEachWay > 1024 * 1024, 'the pair kept relaying');
    assert.deepEqual(childPids(d.pid), handlerPids, 'the handler never died');
    assert.equal(d.lines.filter((l) => l.msg === 'handler died').length, 0);
    for (const reason of ['framing', 'control-flood', 'hello-timeout']) {
      assert.ok((await metric(d, 'videochatd_room_members_ended_total', `channel="video",reason="${reason}"`)) >= 1, `members cut for ${reason}`);
    }
    assert.ok((await metric(d, 'videochatd_handshake_failures_total', 'reason="E_HANDSHAKE_ROOM_CODE"')) >= 4);
    await sleep(1100);
    assert.ok((await metric(d, 'videochatd_room_envelopes_dropped_total', 'channel="video",reason="misrouted"')) >= 1);
    // The one that never reads is still a member (media for it is dropped, not queued forever).
    assert.equal(neverReads.destroyed, false);
    const flooded = await metric(d, 'videochatd_room_bytes_received_total', 'channel="video"');
    assert.ok(flooded > 50 * 1024 * 1024, `the media flood got through to the room (${flooded} bytes)`);
    assert.ok(rssBytes(d.pid) < 200 * 1024 * 1024);
    for (const pid of handlerPids) assert.ok(rssBytes(pid) < 300 * 1024 * 1024, `handler RSS ${rssBytes(pid)}`);
    reset(neverReads);
    for (const m of good) m.close();
    await d.waitForLine((l) => l.msg === 'room closed', 5000);
  });
});

test('through a relay that knows no rooms (the original server\'s pairing), two vcroom1- members pair one to one, byte-transparently; a third waits alone', { timeout: TEST_TIMEOUT_MS }, async () => {
  const relay = await startTestRelay({ tap: true });
  try {
    const code = `room-${randomCode()}`;
    const hs = await roomHandshakeCode(code);
    const { codeKey } = await roomSecrets(code);
    const hellos = [0, 1, 2].map(() => new RoomMember({ channel: 'video', codeKey, local: createLocalHelloSecrets(), send: () => {} }).hello());
    const a = await connectClient(relay.videoPort, hs, { firstData: hellos[0] });
    const b = await connectClient(relay.videoPort, hs, { firstData: hellos[1] });
    const gotA: Buffer[] = [];
    const gotB: Buffer[] = [];
    a.on('data', (c: Buffer) => gotA.push(c));
    b.on('data', (c: Buffer) => gotB.push(c));
    // What each sends after its HELLO: records of the one-to-one protocol, opaque here.
    const sentA = randomBytes(256 * 1024);
    const sentB = randomBytes(256 * 1024);
    a.write(sentA);
    b.write(sentB);
    const until = Date.now() + 10_000;
    while ((Buffer.concat(gotA).length < 72 + sentB.length || Buffer.concat(gotB).length < 72 + sentA.length) && Date.now() < until) await sleep(20);
    const inA = Buffer.concat(gotA);
    const inB = Buffer.concat(gotB);
    assert.ok(startsWithPeerHello(inA) && startsWithPeerHello(inB), 'each member first reads the other\'s HELLO, not an envelope');
    assert.ok(inA.equals(Buffer.concat([hellos[1]!, sentB])), 'a gets exactly b\'s bytes');
    assert.ok(inB.equals(Buffer.concat([hellos[0]!, sentA])), 'b gets exactly a\'s bytes');
    const c = await connectClient(relay.videoPort, hs, { firstData: hellos[2] });
    const gotC: Buffer[] = [];
    c.on('data', (x: Buffer) => gotC.push(x));
    await sleep(500);
    assert.equal(Buffer.concat(gotC).length, 0, 'a third member waits alone');
    assert.equal(relay.pairs, 1);
    for (const s of [a, b, c]) s.destroy();
  } finally {
    await relay.close();
  }
});

test('a member reading at ~100 kB/s loses its own frames (told DROPPED), never the others\': their frame rate holds', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1'], async (d) => {
    const code = `room-${randomCode()}`;
    const good = await joinRoom(d.videoPort, code, 3);
    const slow = await RoomClient.connect(d.videoPort, code, { readBytesPerS: 100_000 });
    await slow.until('slow welcomed', () => slow.id > 0);
    for (const m of [...good, slow]) await m.until(`${m.id} confirms 3`, () => m.confirmed().length >= 3);
    await sleep(200);
    const all = [...good, slow];
    // 20 kB frames at 15 fps from each of the four: 900 kB/s towards the slow member.
    const FRAMES = 120;
    for (let f = 0; f < FRAMES; f++) {
      for (const m of all) m.member.sendMedia(Buffer.concat([Buffer.from([f]), randomBytes(20_000)]), false);
      await sleep(66);
    }
    await sleep(500);
    for (const m of good) {
      for (const o of all) {
        if (o === m) continue;
        const got = m.media(o.id).length;
        assert.ok(got >= FRAMES * 0.8, `good member ${m.id} got ${got}/${FRAMES} frames of ${o.id}`);
      }
    }
    const slowGot = good.map((o) => slow.media(o.id).length);
    assert.ok(slowGot.every((n) => n < FRAMES * 0.5), `the slow member lost frames: ${slowGot.join(', ')}`);
    // DROPPED waits in the slow member's own queue like everything else for it.
    await slow.until('the slow member is told what it lost (DROPPED)', () => slow.has((e) => e.type === 'dropped'), 15_000);
    assert.equal(slow.closed, false, 'media loss alone never cuts a member');
    await sleep(1100);
    assert.ok((await metric(d, 'videochatd_room_envelopes_dropped_total', 'channel="video",reason="too-slow"')) > 0);
    for (const m of all) m.close();
  });
});
