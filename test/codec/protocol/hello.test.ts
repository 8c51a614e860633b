import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endReasonOf, exitStatusOf } from '../../../src/cli/exit-codes.js';
import {
  HELLO_BYTES,
  HELLO_MAGIC,
  HelloParser,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolVersionError,
  decodeHello,
  encodeHello,
} from '../../../src/codec/protocol/index.js';
import { pattern } from './fixtures.js';

const key = pattern(32, 11);
const nonce = pattern(32, 12);

test('HELLO is 72 bytes: magic VCHT, version, flags, key, nonce', () => {
  const hello = encodeHello({ channel: 'audio', insecure: false, publicKey: key, nonce });
  assert.equal(hello.length, HELLO_BYTES);
  assert.equal(HELLO_BYTES, 72);
  assert.equal(hello.subarray(0, 4).toString('latin1'), 'VCHT');
  assert.deepEqual([...hello.subarray(0, 4)], [...HELLO_MAGIC]);
  assert.equal(hello.readUInt16BE(4), PROTOCOL_VERSION);
  assert.equal(hello.readUInt16BE(6), 0x0001);
  assert.deepEqual(hello.subarray(8, 40), key);
  assert.deepEqual(hello.subarray(40, 72), nonce);
  assert.deepEqual(decodeHello(hello), { version: PROTOCOL_VERSION, channel: 'audio', insecure: false, flags: 1, publicKey: key, nonce });
  const insecure = decodeHello(encodeHello({ channel: 'video', insecure: true }));
  assert.equal(insecure.channel, 'video');
  assert.equal(insecure.insecure, true);
  assert.deepEqual(insecure.publicKey, Buffer.alloc(32));
});

test('HELLO followed by other bytes, split at every offset: same HELLO, no byte of the rest lost', () => {
  const hello = encodeHello({ channel: 'video', insecure: false, publicKey: key, nonce });
  const after = pattern(20, 13);
  const stream = Buffer.concat([hello, after]);
  for (let i = 0; i <= stream.length; i++) {
    for (const chunks of [[stream.subarray(0, i), stream.subarray(i)], [...stream.subarray(0, i)].map((b) => Uint8Array.of(b)).concat([stream.subarray(i)])]) {
      const parser = new HelloParser();
      let result = null;
      const rest: Buffer[] = [];
      for (const chunk of chunks) {
        if (result) rest.push(Buffer.from(chunk));
        else {
          result = parser.push(chunk);
          if (result) rest.push(result.rest);
        }
      }
      assert.ok(result, `split at ${i}`);
      assert.deepEqual(result.hello.publicKey, key);
      assert.deepEqual(result.hello.nonce, nonce);
      assert.deepEqual(Buffer.concat(rest), after, `split at ${i}`);
      assert.ok(parser.bufferedBytes <= HELLO_BYTES);
    }
  }
});

test('another version fails with E_PROTOCOL_VERSION as soon as the version bytes arrive, naming both', () => {
  const v2 = encodeHello({ channel: 'video', insecure: true, version: 2 });
  const parser = new HelloParser();
  assert.equal(parser.push(v2.subarray(0, 5)), null);
  let caught: unknown;
  try {
    parser.push(v2.subarray(5, 6));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolVersionError);
  assert.equal(caught.code, 'E_PROTOCOL_VERSION');
  assert.equal(exitStatusOf(caught), 6);
  assert.equal(endReasonOf(caught), 'protocol');
  assert.equal(caught.ourVersion, PROTOCOL_VERSION);
  assert.equal(caught.peerVersion, 2);
  assert.match(caught.message, /version 2.*version 1/);
  assert.throws(() => parser.push(v2.subarray(6)), { code: 'E_PROTOCOL_VERSION' });
  assert.throws(() => decodeHello(encodeHello({ channel: 'audio', insecure: true, version: 0 })), { code: 'E_PROTOCOL_VERSION' });
});

test('an original client (length + pickle) fails with E_NOT_VIDEOCHAT on its first byte', () => {
  // What the original Python client sends first on the video connection: struct.pack("I", n)
  // then a protocol-0 pickle of the JPEG numpy array.
  const pickle = Buffer.from('cnumpy.core.multiarray\n_reconstruct\np0\n(cnumpy\nndarray\n', 'latin1');
  const first = Buffer.alloc(4);
  first.writeUInt32LE(23456);
  const parser = new HelloParser();
  assert.throws(
    () => parser.push(Buffer.concat([first, pickle]).subarray(0, 1)),
    (err: unknown) => err instanceof ProtocolError && err.code === 'E_NOT_VIDEOCHAT' && /original client/.test(err.message),
  );
  // Raw PCM from the original's audio connection.
  assert.throws(() => new HelloParser().push(Buffer.from([0x12, 0x00, 0xfe, 0xff])), { code: 'E_NOT_VIDEOCHAT' });
  // A near miss on the last magic byte.
  assert.throws(() => new HelloParser().push(Buffer.from('VCHX')), { code: 'E_NOT_VIDEOCHAT' });
});

test('unknown flag bits are ignored', () => {
  const hello = encodeHello({ channel: 'video', insecure: true });
  hello.writeUInt16BE(0xff02, 6);
  const decoded = decodeHello(hello);
  assert.equal(decoded.channel, 'video');
  assert.equal(decoded.insecure, true);
  assert.equal(decoded.flags, 0xff02);
});
