import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitStatusOf } from '../../../src/cli/exit-codes.js';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js';
import { encodeHandshake } from '../../../src/codec/handshake.js';
import {
  CODE_KDF_BLOCK_SIZE_R,
  CODE_KDF_COST_N,
  CODE_KDF_PARALLELISM_P,
  CODE_KDF_SALT,
  CODE_KEY_LABEL,
  MAX_SESSION_CODE_BYTES,
  RENDEZVOUS_ID_LABEL,
  SessionCodeError,
  deriveCodeKey,
  deriveCodeSecrets,
  deriveRendezvousId,
  normalizeSessionCode,
} from '../../../src/codec/secure/index.js';
import { hkdfByHand, utf8 } from './hkdf-by-hand.js';

const CODE = '417-crossover-clockwork-lemon-oyster-banner';

test('known answer: rendezvous id and code key match an independent scrypt and a hand-written HKDF', async () => {
  const secrets = await deriveCodeSecrets(CODE);
  // @noble/hashes is a separate scrypt implementation (pure JS), not node's OpenSSL one.
  const root = nobleScrypt(utf8(CODE), utf8(CODE_KDF_SALT), { N: CODE_KDF_COST_N, r: CODE_KDF_BLOCK_SIZE_R, p: CODE_KDF_PARALLELISM_P, dkLen: 32 });
  assert.equal(secrets.rendezvousId, hkdfByHand(root, Buffer.alloc(0), utf8(RENDEZVOUS_ID_LABEL), 32).toString('hex'));
  assert.deepEqual(secrets.codeKey, hkdfByHand(root, Buffer.alloc(0), utf8(CODE_KEY_LABEL), 32));
  // Pinned, so that a change of parameters or labels (a protocol change) cannot slip through.
  assert.equal(secrets.rendezvousId, '7a244b5daa16e674b801bbfe00d1b531cfdf440735a451864ab45f5042a33249');
});

test('the rendezvous id is stable for one code, differs between codes, and fits the original handshake', async () => {
  const [a1, a2, b, c] = await Promise.all([
    deriveRendezvousId(CODE),
    deriveRendezvousId(CODE),
    deriveRendezvousId('417-crossover-clockwork-lemon-oyster-bannex'),
    deriveRendezvousId('secret'),
  ]);
  assert.equal(a1, a2);
  assert.notEqual(a1, b);
  assert.notEqual(a1, c);
  for (const id of [a1, b, c]) {
    assert.match(id, /^[0-9a-f]{64}$/);
    const handshake = encodeHandshake(id);
    assert.equal(handshake.readInt32LE(0), 64);
  }
});

test('the rendezvous id never contains the code, its words, its bytes in hex, nor the code key', async () => {
  const secrets = await deriveCodeSecrets(CODE);
  const id = secrets.rendezvousId;
  assert.ok(!id.includes(CODE));
  for (const word of CODE.split('-')) assert.ok(!id.includes(word), `rendezvous id contains "${word}"`);
  assert.ok(!id.includes(utf8(CODE).toString('hex').slice(0, 8)));
  assert.ok(!id.includes(secrets.codeKey.toString('hex').slice(0, 8)));
  assert.notEqual(id, secrets.codeKey.toString('hex'));
  assert.deepEqual(await deriveCodeKey(CODE), secrets.codeKey);
});

test('a hex-looking code gives an id unrelated to it (the relay is never shown the code itself)', async () => {
  const code = 'a'.repeat(64);
  const id = await deriveRendezvousId(code);
  assert.notEqual(id, code);
  assert.match(id, /^[0-9a-f]{64}$/);
});

test('generated-shape codes are case- and separator-insensitive; hand-typed ones keep their case', async () => {
  assert.equal(normalizeSessionCode('  7 Crossover  CLOCKWORK\t'), '7-crossover-clockwork');
  assert.equal(normalizeSessionCode('7_crossover.clockwork'), '7-crossover-clockwork');
  assert.equal(normalizeSessionCode(' Secret Garden '), 'Secret Garden');
  assert.notEqual(normalizeSessionCode('Secret'), normalizeSessionCode('secret'));
  const [typed, canonical] = await Promise.all([deriveRendezvousId('417 Crossover Clockwork Lemon Oyster Banner'), deriveRendezvousId(CODE)]);
  assert.equal(typed, canonical);
});

test('Unicode NFC: a composed and a decomposed accent are the same code', async () => {
  const composed = 'caf\u00e9-au-lait';
  const decomposed = 'cafe\u0301-au-lait';
  assert.notEqual(composed, decomposed);
  assert.equal(normalizeSessionCode(composed), normalizeSessionCode(decomposed));
  assert.equal(await deriveRendezvousId(composed), await deriveRendezvousId(decomposed));
});

test('empty and oversized codes are refused with E_SESSION_CODE (exit 2)', async () => {
  for (const bad of ['', '   ', 'x'.repeat(MAX_SESSION_CODE_BYTES + 1)]) {
    await assert.rejects(deriveRendezvousId(bad), (err: unknown) => {
      assert.ok(err instanceof SessionCodeError);
      assert.equal(err.code, 'E_SESSION_CODE');
      assert.equal(exitStatusOf(err), 2);
      return true;
    });
  }
  assert.equal(normalizeSessionCode('x'.repeat(MAX_SESSION_CODE_BYTES)).length, MAX_SESSION_CODE_BYTES);
});
