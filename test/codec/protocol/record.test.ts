import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitStatusOf } from '../../../src/cli/exit-codes.js';
import {
  MAX_RECORD_BYTES,
  ProtocolError,
  RECORD_HEADER_BYTES,
  RecordParser,
  encodeRecord,
} from '../../../src/codec/protocol/index.js';
import { pattern } from './fixtures.js';

const bodies = [pattern(0), pattern(1, 2), pattern(5, 3), pattern(300, 4), pattern(4, 5)];
const stream = Buffer.concat(bodies.map((b) => encodeRecord(b)));

function parseAll(parser: RecordParser, chunks: Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...parser.push(c));
  return out;
}

test('a record is a u32 big-endian length then the body', () => {
  assert.deepEqual(encodeRecord(Buffer.from('abc')), Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]));
});

test('glued records split at every byte offset parse to the same bodies', () => {
  for (let i = 0; i <= stream.length; i++) {
    const parser = new RecordParser();
    const got = parseAll(parser, [stream.subarray(0, i), stream.subarray(i)]);
    assert.deepEqual(got, bodies, `split at ${i}`);
    assert.equal(parser.idle, true);
    assert.equal(parser.bufferedBytes, 0);
  }
});

test('one byte at a time', () => {
  const parser = new RecordParser();
  const got = parseAll(parser, Array.from(stream, (b) => Uint8Array.of(b)));
  assert.deepEqual(got, bodies);
});

test('a length above the maximum fails with E_FRAME_TOO_LARGE before allocating, even byte by byte', () => {
  for (const length of [MAX_RECORD_BYTES + 1, 0xffff_ffff]) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    const parser = new RecordParser();
    for (let i = 0; i < 3; i++) assert.deepEqual(parser.push(header.subarray(i, i + 1)), []);
    assert.ok(parser.bufferedBytes <= RECORD_HEADER_BYTES);
    assert.throws(
      () => parser.push(header.subarray(3)),
      (err: unknown) => err instanceof ProtocolError && err.code === 'E_FRAME_TOO_LARGE' && exitStatusOf(err) === 6,
    );
    assert.equal(parser.bufferedBytes, 0, 'nothing allocated for the oversize record');
    // The stream has lost its framing: it stays failed.
    assert.throws(() => parser.push(Buffer.alloc(10)), { code: 'E_FRAME_TOO_LARGE' });
  }
});

test('records before a framing error in the same chunk are delivered by parse()', () => {
  const bad = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const parser = new RecordParser();
  const seen: Buffer[] = [];
  assert.throws(() => parser.parse(Buffer.concat([encodeRecord(Buffer.from('bye')), bad]), (b) => seen.push(b)), {
    code: 'E_FRAME_TOO_LARGE',
  });
  assert.deepEqual(seen, [Buffer.from('bye')]);
});

test('buffered bytes stay within header + maximum while a big record trickles in', () => {
  const max = 1000;
  const parser = new RecordParser({ maxRecordBytes: max });
  const big = encodeRecord(pattern(max), max);
  let peak = 0;
  const got: Buffer[] = [];
  for (let i = 0; i < big.length; i += 7) {
    got.push(...parser.push(big.subarray(i, i + 7)));
    peak = Math.max(peak, parser.bufferedBytes);
  }
  assert.deepEqual(got, [pattern(max)]);
  assert.ok(peak <= RECORD_HEADER_BYTES + max, `peak ${peak}`);
  assert.throws(() => encodeRecord(pattern(max + 1), max), { code: 'E_FRAME_TOO_LARGE' });
});

test('a record whole inside one chunk is a view of it, a split one is its own copy', () => {
  const chunk = encodeRecord(Buffer.from('hello'));
  const [view] = new RecordParser().push(chunk);
  assert.equal(view.buffer, chunk.buffer);
  const parser = new RecordParser();
  parser.push(chunk.subarray(0, 6));
  const [copy] = parser.push(chunk.subarray(6));
  chunk.fill(0x21);
  assert.equal(copy.toString(), 'hello');
  assert.equal(view.toString(), '!!!!!');
});

test('a callback that throws mid-chunk leaves the parser failed rather than out of sync', () => {
  const parser = new RecordParser();
  const stream = Buffer.concat([encodeRecord(Buffer.from('a')), encodeRecord(Buffer.from('b'))]);
  assert.throws(() => parser.parse(stream, () => {
    throw new Error('handler bug');
  }), /handler bug/);
  assert.throws(() => parser.push(encodeRecord(Buffer.from('c'))), /handler bug/);
});
