import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endReasonOf, exitStatusOf } from '../../../src/cli/exit-codes.js';
import { deflateRawSync } from 'node:zlib';
import {
  HelloParser,
  MessageFramer,
  MessageType,
  RecordParser,
  encodeHello,
  type Channel,
  type Message,
  type MessageInit,
} from '../../../src/codec/protocol/index.js';
import {
  ConnectionSecurity,
  KeyConfirmationError,
  RecordRejectedError,
  deriveCodeSecrets,
  generateSessionCode,
} from '../../../src/codec/secure/index.js';

/** One client end: its security state, its framer, and parsers for what it receives. */
class End {
  readonly security: ConnectionSecurity;
  readonly framer = new MessageFramer();
  readonly received: Message[] = [];
  private readonly helloParser = new HelloParser();
  private readonly records = new RecordParser();
  private helloDone = false;
  /** Bytes this end wants to send, in order. */
  outbox: Buffer[] = [];

  constructor(channel: Channel, insecure: boolean, codeKey: Buffer | null) {
    this.security = new ConnectionSecurity({ channel, insecure, codeKey });
    this.outbox.push(encodeHello(this.security.helloInit()));
  }

  /** Feeds bytes from the wire; returns nothing, throws what the security layer throws. */
  receive(chunk: Buffer): void {
    let rest = chunk;
    if (!this.helloDone) {
      const result = this.helloParser.push(chunk);
      if (!result) return;
      this.helloDone = true;
      const confirm = this.security.onPeerHello(result.hello);
      if (confirm) this.outbox.push(this.framer.frame(confirm));
      rest = result.rest;
    }
    for (const body of this.records.push(rest)) {
      const message = this.security.onRecord(body);
      if (message) this.received.push(message);
    }
  }

  send(init: MessageInit): void {
    this.outbox.push(this.security.encodeRecord(this.framer.number(init)));
  }

  takeOutbox(): Buffer {
    const out = Buffer.concat(this.outbox);
    this.outbox = [];
    return out;
  }
}

/**
 * A relay in memory that moves bytes between two ends, records all of them, and may
 * tamper with what passes. Returns the errors each end threw.
 */
function relay(a: End, b: End, tap: Buffer[], tamper: (bytes: Buffer, from: 'a' | 'b') => Buffer = (x) => x) {
  const errors: { a: unknown; b: unknown } = { a: null, b: null };
  for (let round = 0; round < 4; round++) {
    for (const [from, to, key] of [[a, b, 'b'], [b, a, 'a']] as const) {
      const bytes = tamper(from.takeOutbox(), key === 'b' ? 'a' : 'b');
      tap.push(bytes);
      if (bytes.length === 0 || errors[key]) continue;
      try {
        to.receive(bytes);
      } catch (err) {
        errors[key] = err;
      }
    }
  }
  return errors;
}

const frame = Buffer.concat([Buffer.from('ffd8ffe000104a46494600', 'hex'), Buffer.alloc(20_000, 0x41), Buffer.from('ffd9', 'hex')]);

test('same code: HELLO, KEY_CONFIRM, then sealed messages flow both ways; the tap sees no code and no plaintext', async () => {
  const code = generateSessionCode();
  const { codeKey, rendezvousId } = await deriveCodeSecrets(code);
  const a = new End('video', false, codeKey);
  const b = new End('video', false, Buffer.from(codeKey));
  const tap: Buffer[] = [];
  assert.deepEqual(relay(a, b, tap), { a: null, b: null });
  assert.equal(a.security.state, 'sealed');
  assert.equal(b.security.state, 'sealed');
  a.send({ type: MessageType.SETUP, setup: { client: 'videochat', clientVersion: '0.1.0', video: null, audio: null }, timestampUs: 1 });
  a.send({ type: MessageType.VIDEO, keyframe: true, data: frame, timestampUs: 2 });
  b.send({ type: MessageType.BYE, reason: 'hanging up now', timestampUs: 3 });
  assert.deepEqual(relay(a, b, tap), { a: null, b: null });
  assert.deepEqual(b.received.map((m) => m.type), [MessageType.SETUP, MessageType.VIDEO]);
  assert.ok(b.received[1].type === MessageType.VIDEO && Buffer.from(b.received[1].data).equals(frame));
  assert.ok(a.received[0].type === MessageType.BYE && a.received[0].reason === 'hanging up now');
  assert.equal(a.security.stats.encrypted, true);
  assert.equal(b.security.stats.openedRecords, 2);

  const wire = Buffer.concat(tap);
  for (const secret of [code, ...code.split('-').filter((w) => w.length > 3), 'videochat', 'hanging up', 'JFIF', rendezvousId]) {
    assert.equal(wire.indexOf(Buffer.from(secret)), -1, `"${secret}" on the wire`);
  }
  assert.equal(wire.indexOf(Buffer.from('ffd8ff', 'hex')), -1);
  assert.equal(wire.indexOf(Buffer.alloc(16, 0x41)), -1);
  assert.ok(deflateRawSync(wire).length > wire.length * 0.98, 'the relayed bytes compress like ciphertext');
});

test('different codes meeting on a relay that pairs everyone: both ends fail key confirmation (exit 8)', async () => {
  const [one, two] = await Promise.all([deriveCodeSecrets(generateSessionCode()), deriveCodeSecrets(generateSessionCode())]);
  const a = new End('audio', false, one.codeKey);
  const b = new End('audio', false, two.codeKey);
  const errors = relay(a, b, []);
  for (const err of [errors.a, errors.b]) {
    assert.ok(err instanceof KeyConfirmationError);
    assert.equal(err.code, 'E_KEY_CONFIRMATION');
    assert.equal(exitStatusOf(err), 8);
    assert.equal(endReasonOf(err), 'key-confirmation');
  }
  assert.equal(a.security.state, 'failed');
  assert.throws(() => a.security.encodeRecord({ type: MessageType.BYE, reason: '', seq: 9, timestampUs: 0 }));
});

test('a flipped byte in a sealed record is rejected with E_AUTH and counted; later records still open', async () => {
  const { codeKey } = await deriveCodeSecrets('a-strong-enough-test-code-9f8e7d');
  const a = new End('video', false, codeKey);
  const b = new End('video', false, codeKey);
  relay(a, b, []);
  a.send({ type: MessageType.VIDEO, keyframe: false, data: frame, timestampUs: 5 });
  const errors = relay(a, b, [], (bytes, from) => {
    if (from === 'a' && bytes.length > 1000) bytes[500] ^= 0x10;
    return bytes;
  });
  assert.ok(errors.b instanceof RecordRejectedError);
  assert.equal(errors.b.code, 'E_AUTH');
  assert.equal(b.security.stats.rejectedAuth, 1);
  a.send({ type: MessageType.KEYFRAME_REQUEST, timestampUs: 6 });
  const parser = new RecordParser();
  for (const body of parser.push(a.takeOutbox())) assert.equal(b.security.onRecord(body)?.type, MessageType.KEYFRAME_REQUEST);
});

test('insecure on both sides: plaintext records; insecure meeting secure: both refuse', async () => {
  const a = new End('video', true, null);
  const b = new End('video', true, null);
  relay(a, b, []);
  assert.equal(a.security.state, 'plaintext');
  a.send({ type: MessageType.BYE, reason: 'plain', timestampUs: 0 });
  relay(a, b, []);
  assert.ok(b.received[0].type === MessageType.BYE && b.received[0].reason === 'plain');
  assert.equal(b.security.stats.encrypted, false);

  const { codeKey } = await deriveCodeSecrets('a-strong-enough-test-code-9f8e7d');
  const secure = new End('video', false, codeKey);
  const insecure = new End('video', true, null);
  const errors = relay(secure, insecure, []);
  for (const err of [errors.a, errors.b]) {
    assert.ok(err instanceof KeyConfirmationError);
    assert.equal(err.code, 'E_INSECURE_MISMATCH');
  }
});

test('a peer that skips KEY_CONFIRM, or leaves before it, fails key confirmation', async () => {
  const { codeKey } = await deriveCodeSecrets('a-strong-enough-test-code-9f8e7d');
  const victim = new ConnectionSecurity({ channel: 'video', insecure: false, codeKey });
  const impostor = new ConnectionSecurity({ channel: 'video', insecure: false, codeKey: Buffer.alloc(32) });
  const impostorHello = new HelloParser().push(encodeHello(impostor.helloInit()));
  assert.ok(impostorHello);
  assert.ok(victim.onPeerHello(impostorHello.hello));
  const setup = new MessageFramer().frame({ type: MessageType.STATE, muted: true, cameraOff: false, timestampUs: 0 });
  const [body] = new RecordParser().push(setup);
  assert.throws(() => victim.onRecord(body), (err: unknown) => err instanceof KeyConfirmationError && /got STATE/.test(err.message));

  const waiting = new ConnectionSecurity({ channel: 'audio', insecure: false, codeKey });
  const peer = new HelloParser().push(encodeHello(new ConnectionSecurity({ channel: 'audio', insecure: false, codeKey }).helloInit()));
  assert.ok(peer);
  waiting.onPeerHello(peer.hello);
  const ended = waiting.onEnd();
  assert.ok(ended instanceof KeyConfirmationError && exitStatusOf(ended) === 8);
});
