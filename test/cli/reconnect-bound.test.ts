/**
 * Reconnecting ends in bounded time even when every resume fails again soon: a peer that
 * drops right after each SETUP, and a peer whose audio connection never pairs. The real
 * videochatd on loopback and a real `videochat connect`; the flapping peer is our own client
 * protocol code (Channel: real HELLO, key exchange and sealed SETUP on real sockets, no media),
 * so it can drop at an exact step, again and again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { clientArgs, runClient, type ClientRun } from '../helpers/call.js';
import { openRelayChannel } from '../../src/cli/session/relay-link.js';
import { Channel } from '../../src/cli/session/channel.js';
import { deriveCodeSecrets } from '../../src/codec/secure/rendezvous.js';
import { MessageType } from '../../src/codec/protocol/index.js';
import { RECONNECT_MAX_UNSETTLED_DROPS } from '../../src/cli/session/reconnect.js';

/** How long the flapping goes on at most: without a bound the client would outlast it. */
const FLAP_FOR_MS = 70_000;
let daemon: StartedDaemon;
let n = 0;
const code = (): string => `bound-${process.pid}-${++n}-quartz-meadow`;
const runs: ClientRun[] = [];

before(async () => {
  daemon = await startDaemon(['--log-level', 'warn']);
});
after(async () => {
  for (const r of runs) r.child.kill('SIGKILL');
  await daemon?.stop();
});

const exitedWithin = (r: ClientRun, ms: number) => Promise.race([r.exited, new Promise<null>((res) => setTimeout(() => res(null), ms))]);

/**
 * Joins `session` as a peer (video, and audio unless `audio` is false), sends SETUP once the
 * keys are confirmed, and resolves with its sockets once the client has answered with its
 * STATE (it took the SETUP: joined or resumed).
 */
async function joinOnce(session: string, audio: boolean, abort: () => boolean): Promise<net.Socket[]> {
  const { rendezvousId, codeKey } = await deriveCodeSecrets(session);
  const sockets: net.Socket[] = [];
  let video: Channel | undefined;
  for (const [name, port] of (audio ? [['video', daemon.videoPort], ['audio', daemon.audioPort]] : [['video', daemon.videoPort]]) as Array<['video' | 'audio', number]>) {
    const socket = await openRelayChannel('127.0.0.1', port, rendezvousId);
    sockets.push(socket);
    const ch = new Channel(name, socket, { insecure: false, codeKey });
    ch.on('error', () => undefined);
    ch.sendHello();
    if (name === 'video') video = ch;
  }
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearInterval(poll);
      resolve();
    };
    const poll = setInterval(() => { if (abort() || video!.isClosed) done(); }, 100);
    video!.on('ready', () => video!.send({
      type: MessageType.SETUP, timestampUs: 0, setup: { client: 'videochat', clientVersion: 'flapper', video: null, audio: null },
    }));
    video!.on('message', (m) => { if (m.type === MessageType.STATE) done(); });
  });
  return sockets;
}

test(`a peer that drops right after each SETUP: the resumes do not reset --grace or the backoff; exit 5 after ${RECONNECT_MAX_UNSETTLED_DROPS} drops`, async () => {
  const session = code();
  // --grace 30: without a bound per interruption, each resume would grant it afresh.
  const a = runClient(clientArgs(daemon, session, ['--audio-in', 'none', '--grace', '30']), {}, 150_000);
  runs.push(a);
  await a.waitFor('waiting');
  const stopAt = Date.now() + FLAP_FOR_MS;
  let joins = 0;
  const aDone = (): boolean => a.child.exitCode !== null || Date.now() > stopAt;
  while (!aDone()) {
    const sockets = await joinOnce(session, true, aDone);
    if (!aDone()) joins++;
    for (const s of sockets) s.resetAndDestroy();
  }
  const ea = await exitedWithin(a, 10_000);
  assert.ok(ea, `a still reconnecting after ${FLAP_FOR_MS} ms and ${joins} joins: ${a.events.filter((e) => e.event !== 'stats').map((e) => e.event).join(',')}`);
  assert.equal(ea.code, 5, a.stderr());
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.reason, 'peer-lost');
  assert.match(String(ended.message), new RegExp(`kept dropping \\(${RECONNECT_MAX_UNSETTLED_DROPS} drops in \\d+ s, never back for 10 s\\)`));
  const resumes = a.events.filter((e) => e.event === 'reconnected').length;
  assert.equal(resumes, RECONNECT_MAX_UNSETTLED_DROPS - 1, 'one resume between each two drops');
  // The backoff went on across the resumes: the later reconnect attempts waited longer.
  const attempts = a.events.filter((e) => e.event === 'reconnecting');
  assert.ok(attempts.length >= RECONNECT_MAX_UNSETTLED_DROPS - 1, `${attempts.length} attempts`);
  assert.ok(attempts[attempts.length - 1].attempt as number >= RECONNECT_MAX_UNSETTLED_DROPS - 1, 'attempts are counted per interruption, not restarted');
});

test('a peer whose audio connection never pairs: each 10 s pairing timeout is charged to --grace 8; exit 5 at the second drop', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--audio-in', 'none', '--grace', '8']), {}, 150_000);
  runs.push(a);
  await a.waitFor('waiting');
  const stopAt = Date.now() + FLAP_FOR_MS;
  const aDone = (): boolean => a.child.exitCode !== null || Date.now() > stopAt;
  const held: net.Socket[] = [];
  while (!aDone()) {
    // Join on video only and stay: the client drops it after its pairing timeout, we come back.
    const sockets = await joinOnce(session, false, aDone);
    held.push(...sockets);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => { if (aDone() || sockets.every((s) => s.destroyed || s.readyState === 'closed')) { clearInterval(t); resolve(); } }, 100);
      for (const s of sockets) s.once('close', () => undefined);
    });
    for (const s of sockets) s.destroy();
  }
  for (const s of held) s.destroy();
  const ea = await exitedWithin(a, 10_000);
  assert.ok(ea, `a still cycling after ${FLAP_FOR_MS} ms: ${a.events.filter((e) => e.event !== 'stats').map((e) => e.event).join(',')}`);
  assert.equal(ea.code, 5, a.stderr());
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.reason, 'peer-lost');
  assert.match(String(ended.message), /kept dropping \(2 drops in \d+ s, never back for 10 s\)/);
});
