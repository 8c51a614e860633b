/**
 * Rooms against the daemon's limits and lifecycle, through a real started videochatd: room
 * members hold their address's connection slots and count against --max-pairs; a pool
 * handler that dies ends only its rooms and the next room works; SIGTERM drains rooms like
 * pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, startDaemon, waitClosed, type StartedDaemon } from '../../helpers/relay-client.js';
import { childPids, connectFrom, metric, randomCode, startGoodCall } from '../../helpers/hostile.js';
import { joinRoom, roomHandshakeCode, RoomClient } from '../../helpers/room-member.js';

const TEST_TIMEOUT_MS = 90_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withDaemon(args: string[], body: (d: StartedDaemon) => Promise<void>): Promise<void> {
  const d = await startDaemon(['--metrics-port', '0', ...args]);
  try {
    await body(d);
  } catch (err) {
    await d.stop('SIGKILL');
    throw err;
  }
  const res = await d.stop();
  assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}`);
}

test('room members hold their address\'s connection slots: the next is refused E_IP_CONN_LIMIT, and one that leaves frees its slot', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1', '--max-connections-per-ip', '3', '--max-connection-rate-per-ip', '0'], async (d) => {
    const code = `room-${randomCode()}`;
    const members = await joinRoom(d.videoPort, code, 3, { localAddress: '127.0.0.2' });
    const fourth = await RoomClient.connect(d.videoPort, code, { localAddress: '127.0.0.2' });
    await waitClosed(fourth.socket, 5000);
    assert.equal(fourth.id, 0, 'never welcomed');
    await d.waitForLine((l) => l.msg === 'connection rejected' && l.reason === 'E_IP_CONN_LIMIT');
    // Another address is not affected.
    const other = await RoomClient.connect(d.videoPort, code);
    await other.until('other welcomed', () => other.id > 0);
    members[0]!.socket.end();
    await d.waitForLine((l) => l.msg === 'room member ended' && l.reason === 'left');
    const again = await RoomClient.connect(d.videoPort, code, { localAddress: '127.0.0.2' });
    await again.until('a new member from that address is welcomed', () => again.id > 0);
    for (const m of [...members, other, again]) m.close();
  });
});

test('each member counts as half a pair against --max-pairs: with 2, four members fit, the fifth and a new pair are refused E_TOO_MANY_PAIRS', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1', '--max-pairs', '2'], async (d) => {
    const code = `room-${randomCode()}`;
    const members = await joinRoom(d.videoPort, code, 4);
    const fifth = await RoomClient.connect(d.videoPort, code);
    await waitClosed(fifth.socket, 5000);
    assert.equal(fifth.id, 0);
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_TOO_MANY_PAIRS"'), 1);
    // No pair forms while the room holds the budget: the client that would complete it is closed.
    const pairCode = `pair-${randomCode()}`;
    const waiting = await connectClient(d.videoPort, pairCode);
    const completing = await connectClient(d.videoPort, pairCode);
    await waitClosed(completing, 5000);
    waiting.destroy();
    assert.equal(await metric(d, 'videochatd_rejected_total', 'reason="E_TOO_MANY_PAIRS"'), 2);
    for (const m of members) m.close();
    await d.waitForLine((l) => l.msg === 'room closed');
    const call = await startGoodCall(d.videoPort, `pair-${randomCode()}`);
    await call.finish();
  });
});

test('a pool handler SIGKILLed ends only its rooms (handler-died); its replacement takes the next room', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withDaemon(['--handlers', '1'], async (d) => {
    const members = await joinRoom(d.videoPort, `room-${randomCode()}`, 3);
    const [handler] = childPids(d.pid);
    assert.ok(handler);
    process.kill(handler, 'SIGKILL');
    for (const m of members) await m.until(`${m.id} closed`, () => m.closed, 5000);
    await d.waitForLines((l) => l.msg === 'room member ended' && l.reason === 'handler-died', 3, 5000);
    await d.waitForLine((l) => l.msg === 'handler started' && l.handlerPid !== handler, 10_000);
    assert.equal(await metric(d, 'videochatd_room_members', 'channel="video"'), 0);
    const next = await joinRoom(d.videoPort, `room-${randomCode()}`, 2);
    next[0]!.member.sendMedia(Buffer.from('after the restart'), false);
    await next[1]!.until('media after the restart', () => next[1]!.media(next[0]!.id).length === 1);
    for (const m of next) m.close();
  });
});

test('SIGTERM: room members run until --drain-timeout, then are closed (shutdown) and the daemon exits 0', { timeout: TEST_TIMEOUT_MS }, async () => {
  const d = await startDaemon(['--handlers', '1', '--drain-timeout', '1']);
  try {
    const members = await joinRoom(d.videoPort, `room-${randomCode()}`, 2);
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const shutting = await d.waitForLine((l) => l.msg === 'shutting down');
    assert.equal(shutting.roomMembers, 2);
    await sleep(500);
    // Still relaying during the drain.
    members[0]!.member.sendMedia(Buffer.from('during the drain'), false);
    await members[1]!.until('media during the drain', () => members[1]!.media(members[0]!.id).length === 1);
    for (const m of members) await m.until('closed at the drain timeout', () => m.closed, 5000);
    assert.ok(Date.now() - t0 >= 900, 'not before the drain timeout');
    await d.waitForLines((l) => l.msg === 'room member ended' && l.reason === 'shutdown', 2, 5000);
  } finally {
    const res = await d.stop();
    assert.equal(res.code, 0, `daemon exit; stderr: ${d.stderr()}`);
  }
});

test('a member\'s HELLO is the rest of its handshake: slow-loris HELLOs hold their address\'s pending share (E_IP_PENDING_LIMIT) until cut at --handshake-timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
  // --max-pending-handshakes 32: each address may hold 2 (1/16).
  await withDaemon(['--handlers', '1', '--max-pending-handshakes', '32', '--handshake-timeout', '1', '--max-connection-rate-per-ip', '0'], async (d) => {
    const code = `room-${randomCode()}`;
    const hs = Buffer.from(await roomHandshakeCode(code));
    const len = Buffer.alloc(4);
    len.writeInt32LE(hs.length);
    const slow = await Promise.all([0, 1].map(() => connectFrom(d.videoPort, '127.0.0.2', Buffer.concat([len, hs, Buffer.from('VCHT')]))));
    await d.waitForLines((l) => l.msg === 'room opened', 1, 5000);
    await sleep(100);
    const third = await RoomClient.connect(d.videoPort, code, { localAddress: '127.0.0.2' });
    await waitClosed(third.socket, 5000);
    assert.equal(third.id, 0, 'refused while its address holds two HELLOs');
    await d.waitForLine((l) => l.msg === 'connection rejected' && l.reason === 'E_IP_PENDING_LIMIT');
    // Another address joins the same room meanwhile.
    const good = await RoomClient.connect(d.videoPort, code);
    await good.until('a good member is welcomed', () => good.id > 0);
    for (const s of slow) await waitClosed(s, 5000);
    await d.waitForLines((l) => l.msg === 'room member ended' && l.reason === 'hello-timeout', 2, 5000);
    const later = await RoomClient.connect(d.videoPort, code, { localAddress: '127.0.0.2' });
    await later.until('that address joins once its HELLOs are cut', () => later.id > 0);
    // A member that sent its HELLO no longer holds a pending share: two more fit.
    const more = await Promise.all([0, 1].map(() => RoomClient.connect(d.videoPort, code, { localAddress: '127.0.0.2' })));
    for (const m of more) await m.until('welcomed', () => m.id > 0);
    for (const m of [good, later, ...more]) m.close();
  });
});
