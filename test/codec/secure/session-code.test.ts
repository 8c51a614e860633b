import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import {
  GENERATED_CODE_BITS,
  SESSION_CODE_NUMBER_LIMIT,
  SESSION_CODE_WORDS,
  WEAK_CODE_BITS,
  codeStrength,
  generateSessionCode,
  normalizeSessionCode,
} from '../../../src/codec/secure/index.js';

const DRAWS = 10_000;
const WORDS = new Set(wordlist);

test('generated codes: a number then five list words, already in normalized form', () => {
  for (let i = 0; i < 200; i++) {
    const code = generateSessionCode();
    assert.match(code, /^(0|[1-9]\d{0,2})(-[a-z]+){5}$/);
    const [number, ...words] = code.split('-');
    assert.ok(Number(number) < SESSION_CODE_NUMBER_LIMIT);
    assert.equal(words.length, SESSION_CODE_WORDS);
    for (const word of words) assert.ok(WORDS.has(word), word);
    assert.equal(normalizeSessionCode(code), code);
    assert.ok(code.length <= 3 + SESSION_CODE_WORDS * 9, code);
  }
});

test('generated codes: no repeat in 10 000 draws, and every part of the alphabet is used', () => {
  const codes = new Set<string>();
  const wordsSeen = new Set<string>();
  const numbersSeen = new Set<string>();
  for (let i = 0; i < DRAWS; i++) {
    const code = generateSessionCode();
    codes.add(code);
    const [number, ...words] = code.split('-');
    numbersSeen.add(number);
    for (const w of words) wordsSeen.add(w);
  }
  assert.equal(codes.size, DRAWS);
  // 50 000 word draws over 2048 words: a word left out by a uniform draw has odds e^-24.
  assert.equal(wordsSeen.size, wordlist.length);
  // 10 000 number draws over 1000 values: one left out has odds e^-10 each; allow a few.
  assert.ok(numbersSeen.size >= SESSION_CODE_NUMBER_LIMIT - 3, `${numbersSeen.size} numbers seen`);
});

test('entropy of a generated code: log2(1000) + 5 * 11 = 64.97 bits, above the weak threshold', () => {
  assert.equal(wordlist.length, 2048);
  assert.ok(Math.abs(GENERATED_CODE_BITS - (Math.log2(1000) + 55)) < 1e-9);
  assert.ok(GENERATED_CODE_BITS > 64.9 && GENERATED_CODE_BITS < 65);
  assert.ok(GENERATED_CODE_BITS >= WEAK_CODE_BITS + 8, 'a comfortable margin above the warning threshold');
  const strength = codeStrength(generateSessionCode());
  assert.equal(strength.weak, false);
  assert.equal(strength.warning, null);
  assert.ok(Math.abs(strength.bits - GENERATED_CODE_BITS) < 1e-9);
  // Typed back with other case and spaces, it is rated the same.
  assert.ok(Math.abs(codeStrength('417 Cruise abandon ZOO lemon oyster').bits - GENERATED_CODE_BITS) < 1e-9);
});

test('weak hand-typed codes get a one-line warning that never repeats the code', () => {
  for (const code of ['123456', 'password', 'Secret', 'hunter2', '7-crossover-clockwork', '7-lemon-oyster', 'Tr0ub4dor&3', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'qwerty123456', 'meeting-friday-2024']) {
    const strength = codeStrength(code);
    assert.equal(strength.weak, true, `${code} rated ${strength.bits} bits`);
    assert.ok(strength.bits < WEAK_CODE_BITS);
    assert.ok(strength.warning, code);
    assert.ok(!strength.warning.includes('\n'));
    assert.ok(!strength.warning.toLowerCase().includes(code.toLowerCase()), strength.warning);
    assert.match(strength.warning, /weak session code \(about \d+ bits: .+\)/);
    assert.ok(strength.reason.length > 0);
  }
  assert.equal(codeStrength('123456').reason, 'only digits');
  assert.equal(codeStrength('password').reason, 'a commonly used code');
  assert.equal(codeStrength('7-lemon-oyster').reason, 'only 2 words');
});

test('strong hand-typed codes pass without a warning', () => {
  for (const code of ['kJ8#mQ2vL9xP4z!r', 'a8Kd93hF0pQz7Lm2', 'xkqzvbnwrtplmfghjdsc', '1-abandon-zoo-lemon-oyster-cruise-vivid']) {
    const strength = codeStrength(code);
    assert.equal(strength.weak, false, `${code} rated ${strength.bits} bits`);
    assert.equal(strength.warning, null);
  }
});

test('an empty code rates 0 bits and is weak', () => {
  assert.deepEqual({ ...codeStrength('   '), warning: null }, { bits: 0, weak: true, reason: 'empty or too long', warning: null });
});
