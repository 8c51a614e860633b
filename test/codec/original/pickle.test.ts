/**
 * The original client's pickled JPEG arrays: our encoder writes what numpy writes, byte for
 * byte (numpy itself, run through Debian's python3-numpy, is the reference); the recognizer
 * takes numpy's pickles and refuses everything else (code-running pickles, other types,
 * shapes that lie, truncation at every offset, random bytes) with PickleRefusedError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { PickleRefusedError, encodeJpegPickle, parseJpegPickle, MAX_PICKLE_BYTES } from '../../../src/codec/original/pickle.js';
import { OriginalVideoParser, encodeOriginalVideo } from '../../../src/codec/original/video-framing.js';
import { PYTHON_WITH_NUMPY } from '../../helpers/python.js';

/** numpy's own protocol-0 pickle of `bytes` as a uint8 array of `shape` ('N1' = (N, 1), 'N' = (N,)). */
function numpyPickle(data: Buffer, shape: 'N1' | 'N'): Buffer {
  const script = `
import sys, pickle, numpy as np
d = sys.stdin.buffer.read()
a = np.frombuffer(d, np.uint8)
if sys.argv[1] == 'N1': a = a.reshape(-1, 1)
sys.stdout.buffer.write(pickle.dumps(a, protocol=0))`;
  return execFileSync(PYTHON_WITH_NUMPY, ['-c', script, shape], { input: data, maxBuffer: 64 * 1024 * 1024 });
}

/** A JPEG-looking byte string with every byte value, the escaped ones included. */
function jpegLike(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b[0] = 0xff; b[1] = 0xd8;
  b.set([0x5c, 0x00, 0x0a, 0x0d, 0x1a, 0x80, 0xff], 2);
  return b;
}

const refused = (fn: () => unknown): void => assert.throws(fn, PickleRefusedError);

test('our pickle is byte for byte what numpy writes for an OpenCV JPEG array (N x 1)', () => {
  for (const n of [10, 100, 5000]) {
    const data = jpegLike(n, n);
    assert.deepEqual(encodeJpegPickle(data), numpyPickle(data, 'N1'), `${n} bytes`);
  }
});

test('numpy pickles of shape (N, 1) and (N,) give back the JPEG bytes', () => {
  const data = jpegLike(3000, 7);
  assert.deepEqual(parseJpegPickle(numpyPickle(data, 'N1')), data);
  assert.deepEqual(parseJpegPickle(numpyPickle(data, 'N')), data);
  assert.deepEqual(parseJpegPickle(encodeJpegPickle(data)), data);
});

test('a pickle that would run code is refused, whatever callable it names', () => {
  for (const evil of [
    "cos\nsystem\n(S'touch /tmp/x'\ntR.",
    "cposix\nsystem\n(Vtouch /tmp/x\ntR.",
    "c__builtin__\neval\n(Vprint(1)\ntR.",
    "cbuiltins\nexec\n(Vprint(1)\ntR.",
    "csubprocess\nPopen\n((Vtouch\nV/tmp/x\nttR.",
  ]) {
    assert.throws(() => parseJpegPickle(Buffer.from(evil, 'latin1')), (err: Error) => err instanceof PickleRefusedError && /names|opcode/.test(err.message), evil);
  }
});

test('a numpy pickle with one global swapped for a dangerous one is refused', () => {
  const good = encodeJpegPickle(jpegLike(50)).toString('latin1');
  for (const [from, to] of [['_codecs\nencode', 'os\nsystem'], ['numpy\ndtype', 'builtins\neval'], ['numpy\nndarray', 'os\npopen']]) {
    refused(() => parseJpegPickle(Buffer.from(good.replace(from!, to!), 'latin1')));
  }
});

test('other element types, shapes that lie and a non-JPEG payload are refused', () => {
  const data = jpegLike(64);
  const good = encodeJpegPickle(data).toString('latin1');
  refused(() => parseJpegPickle(Buffer.from(good.replace('Vu1', 'Vf8'), 'latin1')));
  refused(() => parseJpegPickle(Buffer.from(good.replace('(I64\nI1\nt', '(I65\nI1\nt'), 'latin1')));
  refused(() => parseJpegPickle(Buffer.from(good.replace('(I64\nI1\nt', '(I8\nI8\nt'), 'latin1')));
  refused(() => parseJpegPickle(Buffer.from(good.replace('(I64\nI1\nt', '(I32\nI2\nt'), 'latin1')));
  refused(() => parseJpegPickle(Buffer.from(good + 'x', 'latin1')));
  const notJpeg = Buffer.from(data);
  notJpeg[0] = 0x89;
  refused(() => parseJpegPickle(encodeJpegPickle(notJpeg)));
  // float64 zeros, as numpy pickles them
  refused(() => parseJpegPickle(execFileSync(PYTHON_WITH_NUMPY, ['-c',
    'import sys,pickle,numpy as np; sys.stdout.buffer.write(pickle.dumps(np.zeros((10,1)), protocol=0))'])));
});

test('every truncation of a good pickle is refused', () => {
  const good = encodeJpegPickle(jpegLike(40));
  for (let n = 0; n < good.length; n++) refused(() => parseJpegPickle(good.subarray(0, n)));
});

test('random bytes and random edits never get past the recognizer as anything but a refusal', () => {
  const good = encodeJpegPickle(jpegLike(40));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
    try {
      parseJpegPickle(bytes);
      return false;
    } catch (err) {
      return err instanceof PickleRefusedError;
    }
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
    const edited = Buffer.from(good);
    edited[at] = value;
    try {
      const out = parseJpegPickle(edited);
      // An edit inside the data string may leave a valid pickle of other bytes, of the same length.
      return out.length === 40 && out[0] === 0xff && out[1] === 0xd8;
    } catch (err) {
      return err instanceof PickleRefusedError;
    }
  }), { numRuns: 3000 });
});

test('video messages: split at every offset, two glued, and a length over the limit refused before buffering', () => {
  const a = jpegLike(300, 3);
  const b = jpegLike(200, 4);
  const stream = Buffer.concat([encodeOriginalVideo(a), encodeOriginalVideo(b)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new OriginalVideoParser();
    const frames = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    assert.deepEqual(frames, [a, b], `cut at ${cut}`);
  }
  const huge = Buffer.alloc(4);
  huge.writeUInt32LE(MAX_PICKLE_BYTES + 1, 0);
  const p = new OriginalVideoParser();
  refused(() => p.push(huge));
  refused(() => new OriginalVideoParser().push(Buffer.alloc(4)));
});
