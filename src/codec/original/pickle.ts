/**
 * The original client's video payload: a Python pickle (protocol 0) of the numpy uint8
 * array that OpenCV's `imencode('.jpg', ...)` returns (shape (N, 1), or (N,)), i.e. one
 * JPEG. See docs/protocol.md, "The original client".
 *
 * We never unpickle. The parser below is a recognizer for exactly what numpy's
 * `ndarray.__reduce__` produces at protocol 0 and nothing else:
 *
 *   c numpy.core.multiarray _reconstruct      (numpy 2: numpy._core.multiarray)
 *   ( c numpy ndarray  ( I0 t  c _codecs encode ( V b  V latin1 t R  t R     -> empty array
 *   ( I1  ( I<N> [I1] t  c numpy dtype ( V u1 I00 I01 t R                    -> dtype u1
 *       ( I3 V| N N N I-1 I-1 I0 t b                                          -> dtype state
 *     I00  c _codecs encode ( V <data> V latin1 t R  t b .                    -> array state
 *
 * with PUT (`p<n>`) after any object and GET (`g<n>`) standing for an object PUT earlier.
 * It runs on a tiny stack machine that knows eleven opcodes and three callables, each of
 * which it checks against the one argument list numpy uses; anything else (another opcode,
 * another global, another dtype, a shape that does not match the data) is refused with a
 * ProtocolError before anything of that size is allocated. The payload's size is bounded by
 * the caller (the frame length) and by MAX_PICKLE_JPEG_BYTES.
 */
import { FatalError } from '../errors.js';

/** A JPEG larger than this is refused (a 1080p camera frame at quality 80 is ~0.3-0.5 MB). */
export const MAX_PICKLE_JPEG_BYTES = 4 * 1024 * 1024;
/**
 * Largest video message accepted, checked against its length header before anything is
 * buffered. Protocol 0 writes 5 of the 256 byte values as 6-byte `\u00XX` escapes, so a
 * camera JPEG grows by ~10 %; twice its size leaves room for any real image.
 */
export const MAX_PICKLE_BYTES = MAX_PICKLE_JPEG_BYTES * 2 + 1024;
/** Deeper nesting than numpy's (3 marks) is not an array pickle. */
const MAX_STACK_DEPTH = 32;
/** numpy's pickle uses ~21 memo slots. */
const MAX_MEMO_ENTRIES = 64;
/** Longest text line other than the data string (module names, ints). */
const MAX_SHORT_LINE_BYTES = 64;

/** A pickle that is not exactly a numpy uint8 array of a JPEG: exit 6 (`protocol`). */
export class PickleRefusedError extends FatalError {
  constructor(message: string) {
    super('E_BAD_PICKLE', `the original client's video message was refused: ${message}`);
    this.name = 'PickleRefusedError';
  }
}

// ---- values the recognizer can hold ----

type Callable = 'reconstruct' | 'ndarray' | 'encode' | 'dtype';

/** A global that names one of the callables we know; every other global is refused. */
interface GlobalRef { kind: 'global'; name: Callable }
interface Mark { kind: 'mark' }
interface Tuple { kind: 'tuple'; items: Value[] }
interface Bytes { kind: 'bytes'; data: Buffer }
interface DtypeU1 { kind: 'dtype'; built: boolean }
interface ArrayValue { kind: 'array'; data: Buffer | null; shape: number[] }
type Value = GlobalRef | Mark | Tuple | Bytes | DtypeU1 | ArrayValue | string | number | boolean | null;

const GLOBALS: ReadonlyMap<string, Callable> = new Map([
  ['numpy.core.multiarray\n_reconstruct', 'reconstruct'],
  ['numpy._core.multiarray\n_reconstruct', 'reconstruct'],
  ['numpy\nndarray', 'ndarray'],
  ['_codecs\nencode', 'encode'],
  ['numpy\ndtype', 'dtype'],
]);

const isGlobal = (v: Value, name: Callable): boolean => typeof v === 'object' && v !== null && v.kind === 'global' && v.name === name;
const isTuple = (v: Value): v is Tuple => typeof v === 'object' && v !== null && v.kind === 'tuple';

/** Decodes protocol 0's `V` text: raw-unicode-escape, where only `\uXXXX` / `\UXXXXXXXX` are escapes. */
function rawUnicodeEscape(line: Buffer): string {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    const slash = line.indexOf(0x5c, i);
    if (slash < 0) break;
    const kind = line[slash + 1];
    if (kind !== 0x75 && kind !== 0x55) {
      // A lone backslash stands for itself.
      parts.push(line.toString('latin1', i, slash + 1));
      i = slash + 1;
      continue;
    }
    const digits = kind === 0x75 ? 4 : 8;
    const hex = line.toString('latin1', slash + 2, slash + 2 + digits);
    if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) throw new PickleRefusedError('bad \\u escape in a text value');
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff) throw new PickleRefusedError('bad code point in a text value');
    parts.push(line.toString('latin1', i, slash), String.fromCodePoint(cp));
    i = slash + 2 + digits;
  }
  parts.push(line.toString('latin1', i));
  return parts.join('');
}

/** latin-1 text -> bytes, as `_codecs.encode(s, 'latin1')`; a character above U+00FF is refused. */
function latin1Bytes(s: string): Buffer {
  // eslint-disable-next-line no-control-regex -- the whole latin-1 range is the point
  if (/[^\u0000-\u00ff]/.test(s)) throw new PickleRefusedError('array data is not latin-1 text');
  return Buffer.from(s, 'latin1');
}

/**
 * Returns the JPEG inside the original's pickled numpy array, or throws PickleRefusedError.
 * Checks that the array is uint8, one-dimensional (or N x 1), that its size matches the data,
 * and that the data starts like a JPEG (FF D8).
 */
export function parseJpegPickle(pickle: Uint8Array): Buffer {
  if (pickle.length > MAX_PICKLE_BYTES) throw new PickleRefusedError(`${pickle.length} bytes is over the limit of ${MAX_PICKLE_BYTES}`);
  const buf = Buffer.from(pickle.buffer, pickle.byteOffset, pickle.byteLength);
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;

  const line = (maxBytes: number): Buffer => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw new PickleRefusedError('truncated');
    if (end - pos > maxBytes) throw new PickleRefusedError('a text line is longer than any numpy writes');
    const l = buf.subarray(pos, end);
    pos = end + 1;
    return l;
  };
  const push = (v: Value): void => {
    if (stack.length >= MAX_STACK_DEPTH) throw new PickleRefusedError('nested deeper than a numpy array');
    stack.push(v);
  };
  const pop = (): Value => {
    if (stack.length === 0) throw new PickleRefusedError('stack underflow');
    const v = stack.pop()!;
    if (typeof v === 'object' && v !== null && v.kind === 'mark') throw new PickleRefusedError('unexpected mark');
    return v;
  };
  const popToMark = (): Value[] => {
    const items: Value[] = [];
    for (;;) {
      if (stack.length === 0) throw new PickleRefusedError('tuple without a mark');
      const v = stack.pop()!;
      if (typeof v === 'object' && v !== null && v.kind === 'mark') return items.reverse();
      items.push(v);
    }
  };

  while (pos < buf.length) {
    const op = buf[pos++]!;
    switch (op) {
      case 0x63: { // c GLOBAL: module \n name \n
        const module = line(MAX_SHORT_LINE_BYTES).toString('latin1');
        const name = line(MAX_SHORT_LINE_BYTES).toString('latin1');
        const known = GLOBALS.get(`${module}\n${name}`);
        if (!known) throw new PickleRefusedError(`it names ${module}.${name}, which no numpy array pickle uses`);
        push({ kind: 'global', name: known });
        break;
      }
      case 0x70: { // p PUT n
        const n = Number(line(MAX_SHORT_LINE_BYTES).toString('latin1'));
        if (!Number.isInteger(n) || n < 0 || n >= MAX_MEMO_ENTRIES) throw new PickleRefusedError('bad memo index');
        if (stack.length === 0) throw new PickleRefusedError('memo put on an empty stack');
        memo.set(n, stack[stack.length - 1]!);
        break;
      }
      case 0x67: { // g GET n
        const n = Number(line(MAX_SHORT_LINE_BYTES).toString('latin1'));
        if (!memo.has(n)) throw new PickleRefusedError('memo get of nothing');
        const v = memo.get(n)!;
        // Only immutable things are shared: a global or a text value (numpy reuses `encode`, 'latin1').
        if (!(typeof v === 'string' || isGlobal(v, 'encode'))) throw new PickleRefusedError('memo get of a mutable object');
        push(v);
        break;
      }
      case 0x28: // ( MARK
        push({ kind: 'mark' });
        break;
      case 0x74: // t TUPLE
        push({ kind: 'tuple', items: popToMark() });
        break;
      case 0x4e: // N NONE
        push(null);
        break;
      case 0x49: { // I INT (I00 / I01 are False / True)
        const text = line(MAX_SHORT_LINE_BYTES).toString('latin1');
        if (text === '00') push(false);
        else if (text === '01') push(true);
        else if (/^-?\d{1,10}$/.test(text)) push(Number(text));
        else throw new PickleRefusedError('bad integer');
        break;
      }
      case 0x56: { // V UNICODE: the data string can be as long as the frame allows
        push(rawUnicodeEscape(line(MAX_PICKLE_BYTES)));
        break;
      }
      case 0x52: { // R REDUCE: callable, args
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 0x62: { // b BUILD: object, state
        const state = pop();
        const obj = pop();
        build(obj, state);
        push(obj);
        break;
      }
      case 0x2e: { // . STOP
        if (pos !== buf.length) throw new PickleRefusedError('bytes after the end of the pickle');
        if (stack.length !== 1) throw new PickleRefusedError('not one object');
        return finish(stack[0]!);
      }
      default:
        throw new PickleRefusedError(`opcode 0x${op.toString(16).padStart(2, '0')} is not one numpy uses for an array`);
    }
  }
  throw new PickleRefusedError('truncated (no STOP)');
}

function reduce(fn: Value, args: Value): Value {
  if (!isTuple(args)) throw new PickleRefusedError('call arguments are not a tuple');
  const a = args.items;
  if (isGlobal(fn, 'encode')) {
    // _codecs.encode(text, 'latin1'): how protocol 0 spells bytes.
    if (a.length !== 2 || typeof a[0] !== 'string' || a[1] !== 'latin1') throw new PickleRefusedError('unexpected bytes encoding');
    return { kind: 'bytes', data: latin1Bytes(a[0]) };
  }
  if (isGlobal(fn, 'reconstruct')) {
    // _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD.
    const shape = a[1];
    const typecode = a[2];
    const ok = a.length === 3 && isGlobal(a[0]!, 'ndarray') && isTuple(shape!) && shape.items.length === 1 && shape.items[0] === 0
      && typeof typecode === 'object' && typecode !== null && typecode.kind === 'bytes' && typecode.data.equals(Buffer.from('b'));
    if (!ok) throw new PickleRefusedError('unexpected array constructor arguments');
    return { kind: 'array', data: null, shape: [] };
  }
  if (isGlobal(fn, 'dtype')) {
    // dtype('u1', False, True): uint8, the only element type of an encoded JPEG.
    if (a.length !== 3 || a[0] !== 'u1' || a[1] !== false || a[2] !== true) throw new PickleRefusedError('the array is not uint8');
    return { kind: 'dtype', built: false };
  }
  throw new PickleRefusedError('a call of something that is not a numpy array constructor');
}

function build(obj: Value, state: Value): void {
  if (typeof obj !== 'object' || obj === null || !isTuple(state)) throw new PickleRefusedError('unexpected object state');
  const s = state.items;
  if (obj.kind === 'dtype') {
    // (3, '|', None, None, None, -1, -1, 0): version 3, no byte order, no fields, itemsize/alignment implied.
    const expected: Value[] = [3, '|', null, null, null, -1, -1, 0];
    if (obj.built || s.length !== expected.length || s.some((v, i) => v !== expected[i])) throw new PickleRefusedError('unexpected dtype state');
    obj.built = true;
    return;
  }
  if (obj.kind === 'array') {
    // (1, shape, dtype, is_fortran, data)
    const [version, shape, dtype, fortran, data] = s;
    if (s.length !== 5 || version !== 1 || !isTuple(shape!) || typeof dtype !== 'object' || dtype === null || dtype.kind !== 'dtype'
      || !dtype.built || fortran !== false || typeof data !== 'object' || data === null || data.kind !== 'bytes' || obj.data !== null) {
      throw new PickleRefusedError('unexpected array state');
    }
    const dims = shape.items;
    const okShape = (dims.length === 1 || (dims.length === 2 && dims[1] === 1)) && dims.every((d) => typeof d === 'number' && d >= 0);
    if (!okShape) throw new PickleRefusedError('the array is not one JPEG (shape N or N x 1)');
    if (dims[0] !== data.data.length) throw new PickleRefusedError(`the shape says ${String(dims[0])} bytes, the data has ${data.data.length}`);
    obj.data = data.data;
    obj.shape = dims as number[];
    return;
  }
  throw new PickleRefusedError('state for an object that takes none');
}

function finish(v: Value): Buffer {
  if (typeof v !== 'object' || v === null || v.kind !== 'array' || v.data === null) throw new PickleRefusedError('the pickle is not a numpy array');
  const jpeg = v.data;
  if (jpeg.length > MAX_PICKLE_JPEG_BYTES) throw new PickleRefusedError(`a ${jpeg.length}-byte image is over the limit of ${MAX_PICKLE_JPEG_BYTES}`);
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new PickleRefusedError('the array does not hold a JPEG');
  return jpeg;
}

/** Bytes that protocol 0 writes as `\u00XX` inside a `V` line (pickle's own rule). */
function needsEscape(b: number): boolean {
  return b === 0x5c || b === 0x00 || b === 0x0a || b === 0x0d || b === 0x1a;
}

const HEAD = Buffer.from(
  'cnumpy.core.multiarray\n_reconstruct\np0\n(cnumpy\nndarray\np1\n(I0\ntp2\nc_codecs\nencode\np3\n(Vb\np4\nVlatin1\np5\ntp6\nRp7\ntp8\nRp9\n(I1\n(I',
  'latin1',
);
const MIDDLE = Buffer.from(
  '\nI1\ntp10\ncnumpy\ndtype\np11\n(Vu1\np12\nI00\nI01\ntp13\nRp14\n(I3\nV|\np15\nNNNI-1\nI-1\nI0\ntp16\nbI00\ng3\n(V',
  'latin1',
);
const TAIL = Buffer.from('\np17\ng5\ntp18\nRp19\ntp20\nb.', 'latin1');
const HEX = '0123456789abcdef';

/**
 * The pickle numpy writes for `cv2.imencode('.jpg', img)[1]` (a uint8 array of shape (N, 1))
 * with `pickle.dumps(arr, protocol=0)`, byte for byte as numpy 1.x does. It names
 * `numpy.core.multiarray._reconstruct`, which numpy 2 still provides for old pickles, so both
 * load it.
 */
export function encodeJpegPickle(jpeg: Uint8Array): Buffer {
  if (jpeg.length > MAX_PICKLE_JPEG_BYTES) throw new RangeError(`a ${jpeg.length}-byte JPEG is over the limit of ${MAX_PICKLE_JPEG_BYTES}`);
  let escapes = 0;
  for (const b of jpeg) if (needsEscape(b)) escapes++;
  const count = Buffer.from(String(jpeg.length), 'latin1');
  const out = Buffer.allocUnsafe(HEAD.length + count.length + MIDDLE.length + jpeg.length + escapes * 5 + TAIL.length);
  let o = HEAD.copy(out, 0);
  o += count.copy(out, o);
  o += MIDDLE.copy(out, o);
  for (const b of jpeg) {
    if (needsEscape(b)) {
      out[o++] = 0x5c; out[o++] = 0x75; out[o++] = 0x30; out[o++] = 0x30;
      out[o++] = HEX.charCodeAt(b >> 4); out[o++] = HEX.charCodeAt(b & 15);
    } else {
      out[o++] = b;
    }
  }
  o += TAIL.copy(out, o);
  return out;
}
