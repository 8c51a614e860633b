import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import {
  MAX_PAYLOAD_BYTES,
  MAX_RECORD_BYTES,
  MessageType,
  RecordParser,
  SEAL_OVERHEAD_RESERVED_BYTES,
  decodeMessage,
  encodeMessage,
  encodeRecord,
} from '../../../src/codec/protocol/index.js';
import {
  MAX_RECORD_COUNTER,
  NonceExhaustedError,
  RecordRejectedError,
  RecordSealer,
  SEAL_OVERHEAD_BYTES,
  createLocalHelloSecrets,
  createRecordCiphers,
  deriveSessionKeys,
} from '../../../src/codec/secure/index.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function rejected(code: 'E_AUTH' | 'E_REPLAY') {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RecordRejectedError, `expected RecordRejectedError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Both ends of one connection: what A seals, B opens, and the other way round. */
function connection() {
  const codeKey = randomBytes(32);
  const a = createLocalHelloSecrets();
  const b = createLocalHelloSecrets();
  const keysA = deriveSessionKeys({ channel: 'video', codeKey, local: a, peer: { publicKey: b.keyPair.publicKey, nonce: b.nonce } });
  const keysB = deriveSessionKeys({ channel: 'video', codeKey, local: b, peer: { publicKey: a.keyPair.publicKey, nonce: a.nonce } });
  return { a: createRecordCiphers(keysA), b: createRecordCiphers(keysB) };
}

test('known answer: node ChaCha20-Poly1305 matches RFC 8439 section 2.8.2', () => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.", 'utf8');
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  assert.equal(ciphertext.subarray(0, 16).toString('hex'), 'd31a8d34648e60db7b86afbc53ef7ec2');
  assert.equal(cipher.getAuthTag().toString('hex'), '1ae10b594f09e26a7e902ecbd0600691');
});

test('known answer: a sealed body is counter | ChaCha20-Poly1305(iv XOR counter, aad = length | counter) | tag', () => {
  const key = Buffer.alloc(32, 0x42);
  const iv = hex('000102030405060708090a0b');
  const sealer = new RecordSealer(key, iv, { firstCounter: 0x0102n });
  const plaintext = Buffer.from('hello, sealed world', 'utf8');
  const body = sealer.seal(plaintext);

  const counter = hex('0000000000000102');
  const nonce = hex('000102030405060708090b09'); // the last two bytes XOR 0x0102
  assert.deepEqual(sealer.nonceFor(0x0102n), nonce);
  const aad = Buffer.concat([Buffer.from([0, 0, 0, 8 + plaintext.length + 16]), counter]);
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const expected = Buffer.concat([counter, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  assert.deepEqual(body, expected);
  assert.equal(body.length, plaintext.length + SEAL_OVERHEAD_BYTES);
  assert.equal(sealer.nextCounter, 0x0103n);
});

test('round trip: messages of many sizes, both directions, and the stats count them', () => {
  const { a, b } = connection();
  for (const size of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 65_536, 300_000]) {
    const plaintext = randomBytes(size);
    assert.deepEqual(b.opener.open(a.sealer.seal(plaintext)), plaintext);
    assert.deepEqual(a.opener.open(b.sealer.seal(plaintext)), plaintext);
  }
  assert.equal(a.sealer.stats.sealedRecords, 11);
  assert.deepEqual(b.opener.stats, { openedRecords: 11, rejectedAuth: 0, rejectedReplay: 0, missingRecords: 0 });
});

test('sealed records ride the real record layer: encode, frame, split at every byte, parse, open, decode', () => {
  const { a, b } = connection();
  const frame = randomBytes(200);
  const messages = [
    encodeMessage({ type: MessageType.VIDEO, keyframe: true, data: frame, seq: 0, timestampUs: 1_700_000_000_000_000 }),
    encodeMessage({ type: MessageType.BYE, reason: 'bye', seq: 1, timestampUs: 1_700_000_000_000_100 }),
  ];
  const wire = Buffer.concat([a.sealer.sealRecord(messages[0]), encodeRecord(a.sealer.seal(messages[1]))]);
  const bodies = new RecordParser().push(Buffer.from(wire));
  assert.equal(bodies.length, 2);
  for (let split = 0; split <= wire.length; split++) {
    const parser = new RecordParser();
    const parts = [...parser.push(Buffer.from(wire.subarray(0, split))), ...parser.push(Buffer.from(wire.subarray(split)))];
    assert.deepEqual(parts, bodies, `split at ${split}`);
  }
  const first = decodeMessage(b.opener.open(bodies[0]));
  assert.equal(first.type, MessageType.VIDEO);
  assert.ok(first.type === MessageType.VIDEO && Buffer.from(first.data).equals(frame));
  const second = decodeMessage(b.opener.open(bodies[1]));
  assert.ok(second.type === MessageType.BYE && second.reason === 'bye');
});

test('the largest payload the protocol allows still fits one record once sealed', () => {
  assert.ok(SEAL_OVERHEAD_BYTES <= SEAL_OVERHEAD_RESERVED_BYTES);
  const { a, b } = connection();
  const message = encodeMessage({ type: MessageType.VIDEO, keyframe: false, data: Buffer.alloc(MAX_PAYLOAD_BYTES, 7), seq: 0, timestampUs: 0 });
  const record = a.sealer.sealRecord(message);
  assert.ok(record.length - 4 <= MAX_RECORD_BYTES);
  const [body] = new RecordParser().push(record);
  assert.deepEqual(b.opener.open(body), message);
});

test('a flipped bit anywhere in a sealed body is rejected with E_AUTH, counted, and changes nothing', () => {
  const { a, b } = connection();
  const body = a.sealer.seal(Buffer.from('a short media packet', 'utf8'));
  let rejections = 0;
  for (let i = 0; i < body.length; i++) {
    const altered = Buffer.from(body);
    altered[i] ^= 0x01 << (i % 8);
    assert.throws(() => b.opener.open(altered), rejected('E_AUTH'));
    rejections++;
  }
  assert.throws(() => b.opener.open(body.subarray(0, body.length - 1)), rejected('E_AUTH'));
  assert.throws(() => b.opener.open(body.subarray(0, 10)), rejected('E_AUTH'));
  assert.throws(() => b.opener.open(Buffer.concat([body, Buffer.of(0)])), rejected('E_AUTH'));
  assert.equal(b.opener.stats.rejectedAuth, rejections + 3);
  // The genuine record still opens: rejections do not advance the opener.
  assert.equal(b.opener.open(body).toString('utf8'), 'a short media packet');
  assert.equal(b.opener.stats.openedRecords, 1);
});

test('records sealed for the other direction, or by another call, do not open (E_AUTH)', () => {
  const one = connection();
  const two = connection();
  const body = one.a.sealer.seal(Buffer.from('x'));
  assert.throws(() => one.a.opener.open(body), rejected('E_AUTH'));
  assert.throws(() => two.b.opener.open(body), rejected('E_AUTH'));
  assert.equal(one.b.opener.open(body).toString(), 'x');
});

test('replayed and reordered records are rejected with E_REPLAY and counted; deleted ones are counted as missing', () => {
  const { a, b } = connection();
  const bodies = Array.from({ length: 5 }, (_, i) => a.sealer.seal(Buffer.from(`record ${i}`)));
  assert.equal(b.opener.open(bodies[0]).toString(), 'record 0');
  assert.throws(() => b.opener.open(bodies[0]), rejected('E_REPLAY')); // replay
  assert.equal(b.opener.open(bodies[2]).toString(), 'record 2'); // record 1 held back...
  assert.throws(() => b.opener.open(bodies[1]), rejected('E_REPLAY')); // ...and delivered late
  assert.equal(b.opener.open(bodies[4]).toString(), 'record 4'); // record 3 deleted
  assert.throws(() => b.opener.open(bodies[2]), rejected('E_REPLAY'));
  assert.deepEqual(b.opener.stats, { openedRecords: 3, rejectedAuth: 0, rejectedReplay: 3, missingRecords: 2 });
  assert.equal(b.opener.lastAcceptedCounter, 4n);
});

test('nonces never repeat: 10 000 records carry strictly increasing counters and distinct nonces', () => {
  const { a, b } = connection();
  const nonces = new Set<string>();
  let previous = -1n;
  for (let i = 0; i < 10_000; i++) {
    const counter = a.sealer.nextCounter;
    const body = a.sealer.seal(Buffer.of(i & 0xff));
    const carried = body.readBigUInt64BE(0);
    assert.equal(carried, counter);
    assert.ok(carried > previous);
    previous = carried;
    nonces.add(a.sealer.nonceFor(carried).toString('hex'));
    b.opener.open(body);
  }
  assert.equal(nonces.size, 10_000);
  assert.equal(b.opener.stats.openedRecords, 10_000);
});

test('the sealer refuses to go past the last counter (E_NONCE_EXHAUSTED)', () => {
  const sealer = new RecordSealer(randomBytes(32), randomBytes(12), { firstCounter: MAX_RECORD_COUNTER });
  const last = sealer.seal(Buffer.from('last'));
  assert.equal(last.readBigUInt64BE(0), MAX_RECORD_COUNTER);
  assert.throws(() => sealer.seal(Buffer.from('one too many')), (err: unknown) => err instanceof NonceExhaustedError && err.code === 'E_NONCE_EXHAUSTED');
  assert.throws(() => sealer.seal(Buffer.from('still no')), NonceExhaustedError);
});

test('sealed bytes show no plaintext and do not compress, even for highly repetitive media', () => {
  const { a } = connection();
  // A fake JPEG: SOI marker, then long runs a real encoder would emit for a flat image.
  const jpegLike = Buffer.concat([hex('ffd8ffe000104a464946'), Buffer.alloc(50_000, 0x55), hex('ffd9')]);
  const body = a.sealer.seal(jpegLike);
  assert.equal(body.indexOf(hex('ffd8ff')), -1);
  assert.equal(body.indexOf(Buffer.from('JFIF')), -1);
  assert.ok(deflateRawSync(jpegLike).length < jpegLike.length / 100, 'the plaintext itself compresses well');
  const ratio = deflateRawSync(body).length / body.length;
  assert.ok(ratio > 0.99, `sealed bytes compressed to ${ratio}`);
});
