/**
 * How a call that never got past the key exchange ends. The real videochatd on loopback and
 * a real `videochat connect`; the other end is our own protocol code (the client's Channel on
 * a real socket, no media) so that it can stop at an exact step: a peer that crashes after
 * its HELLO (its sockets reset before its KEY_CONFIRM) is a lost peer, exit 5; a peer whose
 * KEY_CONFIRM is wrong (it does not know the code) is a failed key confirmation, exit 8; a
 * peer that sends its HELLO and then freezes is lost after --peer-timeout, exit 5.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { clientArgs, runClient, type ClientRun } from '../helpers/call.js';
import { openRelayChannel } from '../../src/cli/session/relay-link.js';
import { Channel } from '../../src/cli/session/channel.js';
import { deriveCodeSecrets } from '../../src/codec/secure/rendezvous.js';
import { ConnectionSecurity } from '../../src/codec/secure/connection.js';
import { encodeHello } from '../../src/codec/protocol/index.js';

const STEP_MS = 45_000;
let daemon: StartedDaemon;
let n = 0;
const code = (): string => `kex-${process.pid}-${++n}-amber-orchard`;
const runs: ClientRun[] = [];

before(async () => {
  daemon = await startDaemon(['--log-level', 'warn']);
});
after(async () => {
  for (const r of runs) r.child.kill('SIGKILL');
  await daemon?.stop();
});

/** Joins `session` on both ports as a peer whose code key is that of `keyCode`; `onHello` runs when the client's HELLO arrives. */
async function peer(session: string, keyCode: string, onHello: (ch: Channel) => void): Promise<Channel[]> {
  const { rendezvousId } = await deriveCodeSecrets(session);
  const { codeKey } = await deriveCodeSecrets(keyCode);
  const channels: Channel[] = [];
  for (const [name, port] of [['video', daemon.videoPort], ['audio', daemon.audioPort]] as const) {
    const socket = await openRelayChannel('127.0.0.1', port, rendezvousId);
    const ch = new Channel(name, socket, { insecure: false, codeKey });
    ch.on('error', () => undefined);
    ch.on('hello', () => onHello(ch));
    ch.sendHello();
    channels.push(ch);
  }
  return channels;
}

async function client(session: string): Promise<ClientRun> {
  const a = runClient(clientArgs(daemon, session, ['--audio-in', 'none', '--wait', '60', '--grace', '60']), {}, 120_000);
  runs.push(a);
  await a.waitFor('waiting', STEP_MS);
  return a;
}

test('a peer that crashes during the key exchange (reset after its HELLO, before its KEY_CONFIRM): peer lost, exit 5', async () => {
  const session = code();
  const a = await client(session);
  // Reset at the client's HELLO: our KEY_CONFIRM (written right after this event) never leaves.
  await peer(session, session, (ch) => ch.socket.resetAndDestroy());
  const ea = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), STEP_MS))]);
  assert.ok(ea, 'the client ended');
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.event, 'ended', a.stdout());
  assert.equal(ended.reason, 'peer-lost', a.stderr());
  assert.equal(ea.code, 5);
  assert.match(String(ended.message), /the peer vanished during the key exchange/);
});

test('a peer whose KEY_CONFIRM is wrong (another code, same rendezvous): key confirmation failed, exit 8', async () => {
  const session = code();
  const a = await client(session);
  await peer(session, `${session}-not-it`, () => undefined);
  const ea = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), STEP_MS))]);
  assert.ok(ea, 'the client ended');
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.reason, 'key-confirmation', a.stderr());
  assert.equal(ea.code, 8);
  assert.match(String(ended.message), /key confirmation failed/);
});

test('a peer that freezes during the key exchange (its HELLO, then nothing): peer lost after --peer-timeout, exit 5, not a wait of --wait', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--audio-in', 'none', '--wait', '120', '--peer-timeout', '3']), {}, 150_000);
  runs.push(a);
  await a.waitFor('waiting', STEP_MS);
  const { rendezvousId, codeKey } = await deriveCodeSecrets(session);
  const sockets = [];
  for (const [name, port] of [['video', daemon.videoPort], ['audio', daemon.audioPort]] as const) {
    const socket = await openRelayChannel('127.0.0.1', port, rendezvousId);
    // A HELLO as a real peer sends it, and then silence, the sockets held open.
    socket.write(encodeHello(new ConnectionSecurity({ channel: name, insecure: false, codeKey }).helloInit()));
    sockets.push(socket);
  }
  const t0 = Date.now();
  const ea = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), STEP_MS))]);
  for (const s of sockets) s.destroy();
  assert.ok(ea, `the client still waits ${STEP_MS} ms after the peer froze mid-exchange`);
  assert.ok(Date.now() - t0 >= 2500, 'not before --peer-timeout');
  const ended = a.events[a.events.length - 1];
  assert.equal(ended.reason, 'peer-lost', a.stderr());
  assert.equal(ea.code, 5);
  assert.match(String(ended.message), /stalled during the key exchange/);
});
