import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeHandshake,
  HandshakeError,
  HandshakeReader,
  HANDSHAKE_LENGTH_PREFIX_BYTES,
  SESSION_CODE_MAX_BYTES,
} from '../../src/codec/handshake.js';

/** Cases the two properties below run together (the fuzzing bar of the relay is 100,000). */
const ROUND_TRIP_RUNS = 30_000;
const ARBITRARY_BYTES_RUNS = 80_000;

test('encodes the original format: int32 LE length + UTF-8 code', () => {
  assert.deepEqual(encodeHandshake('ABC123'), Buffer.from([6, 0, 0, 0, 0x41, 0x42, 0x43, 0x31, 0x32, 0x33]));
  assert.equal(encodeHandshake('ż').readInt32LE(0), 2);
  assert.throws(() => encodeHandshake(''), (e: HandshakeError) => e.code === 'E_HANDSHAKE_LENGTH');
  assert.throws(() => encodeHandshake('x'.repeat(SESSION_CODE_MAX_BYTES + 1)), HandshakeError);
  assert.equal(encodeHandshake('x'.repeat(SESSION_CODE_MAX_BYTES)).length, 4 + SESSION_CODE_MAX_BYTES);
});

test('a handshake glued to payload, split at every byte offset, yields the code and every payload byte', () => {
  const hs = encodeHandshake('session-42');
  const payload = Buffer.from('first frame bytes');
  const all = Buffer.concat([hs, payload]);
  for (let cut = 0; cut <= all.length; cut++) {
    const r = new HandshakeReader();
    const first = r.push(all.subarray(0, cut));
    const result = first ?? r.push(all.subarray(cut));
    assert.ok(result, `cut ${cut}`);
    assert.equal(result.code.toString(), 'session-42');
    const rest = first ? Buffer.concat([result.rest, all.subarray(cut)]) : result.rest;
    assert.deepEqual(rest, payload, `cut ${cut}`);
  }
});

test('one byte at a time', () => {
  const all = Buffer.concat([encodeHandshake('dribble'), Buffer.from([1, 2, 3])]);
  const r = new HandshakeReader();
  let result;
  for (let i = 0; i < all.length && !result; i++) result = r.push(all.subarray(i, i + 1));
  assert.equal(result?.code.toString(), 'dribble');
  assert.deepEqual(result?.rest, Buffer.alloc(0));
});

test('invalid lengths fail as soon as the prefix is complete, before any body arrives', () => {
  for (const n of [0, -1, 1025, 2 ** 31 - 1, -(2 ** 31)]) {
    const h = Buffer.alloc(4);
    h.writeInt32LE(n);
    const r = new HandshakeReader();
    assert.equal(r.push(h.subarray(0, 3)), undefined);
    assert.throws(() => r.push(h.subarray(3)), (e: HandshakeError) => e.code === 'E_HANDSHAKE_LENGTH', `length ${n}`);
  }
});

test('a truncated handshake reports E_HANDSHAKE_TRUNCATED', () => {
  const r = new HandshakeReader();
  r.push(encodeHandshake('abcdef').subarray(0, 7));
  assert.equal(r.truncated().code, 'E_HANDSHAKE_TRUNCATED');
});

test('property: any valid code round-trips whatever the chunking', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: SESSION_CODE_MAX_BYTES }),
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (code, tail, cuts) => {
        const all = Buffer.concat([encodeHandshake(code), tail]);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const r = new HandshakeReader();
        let result;
        let prev = 0;
        const pieces: Buffer[] = [];
        for (const p of [...points, all.length]) {
          pieces.push(all.subarray(prev, p));
          prev = p;
        }
        const after: Buffer[] = [];
        for (const piece of pieces) {
          if (result) after.push(piece);
          else result = r.push(piece);
        }
        assert.ok(result);
        assert.deepEqual(result.code, Buffer.from(code));
        assert.deepEqual(Buffer.concat([result.rest, ...after]), Buffer.from(tail));
      },
    ),
    { numRuns: ROUND_TRIP_RUNS },
  );
});

test('property: arbitrary bytes in arbitrary chunks never crash the reader, and while it waits it holds less than one longest handshake', () => {
  // Lengths near the limits are the interesting ones: bias the prefix towards them.
  const prefix = fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.integer({ min: -2, max: 3 }),
    fc.integer({ min: SESSION_CODE_MAX_BYTES - 2, max: SESSION_CODE_MAX_BYTES + 2 }),
  );
  fc.assert(
    fc.property(prefix, fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), fc.boolean(), (len, chunks, raw) => {
      const head = Buffer.alloc(HANDSHAKE_LENGTH_PREFIX_BYTES);
      head.writeInt32LE(len);
      // Half the cases are pure noise (no well-formed prefix at all).
      const pieces = raw ? chunks.map((c) => Buffer.from(c)) : [head, ...chunks.map((c) => Buffer.from(c))];
      const r = new HandshakeReader();
      let outcome: 'waiting' | 'done' | 'failed' = 'waiting';
      for (const piece of pieces) {
        try {
          const result = r.push(piece);
          if (result) {
            outcome = 'done';
            assert.ok(result.code.length >= 1 && result.code.length <= SESSION_CODE_MAX_BYTES);
            break;
          }
        } catch (err) {
          assert.ok(err instanceof HandshakeError, `only HandshakeError may escape, got ${String(err)}`);
          assert.equal(err.code, 'E_HANDSHAKE_LENGTH');
          outcome = 'failed';
          break;
        }
        assert.ok(r.bufferedBytes < HANDSHAKE_LENGTH_PREFIX_BYTES + SESSION_CODE_MAX_BYTES, 'held bytes bounded');
      }
      if (!raw && (len < 1 || len > SESSION_CODE_MAX_BYTES)) assert.equal(outcome, 'failed', `length ${len} must be refused`);
      if (outcome === 'waiting') assert.equal(r.truncated().code, 'E_HANDSHAKE_TRUNCATED');
    }),
    { numRuns: ARBITRARY_BYTES_RUNS },
  );
});
