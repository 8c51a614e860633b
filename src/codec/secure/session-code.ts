/**
 * Session codes people can read aloud: `417-crossover-clockwork-lemon-oyster-banner`, a
 * number and words drawn uniformly with crypto.randomInt from the BIP-39 English list
 * (2048 words, 11 bits each; the first four letters of every word are unique, so a typo
 * rarely lands on another valid word). The entropy is sized for the threat model of
 * docs/security.md: the relay sees a slow hash of the code and may guess offline.
 *
 * codeStrength rates a code typed by hand, so that the client can warn in one line when a
 * code is within reach of offline guessing. It is a conservative estimate, not a proof:
 * it under-rates rather than over-rates.
 */
import { randomInt } from 'node:crypto';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { hasGeneratedShape, normalizeSessionCode } from './normalize.js';

/** Words in a generated code. */
export const SESSION_CODE_WORDS = 5;
/** The number of a generated code is drawn from 0 .. SESSION_CODE_NUMBER_LIMIT - 1. */
export const SESSION_CODE_NUMBER_LIMIT = 1000;
/** Size of the word list (2048 = 2^11). */
export const SESSION_CODE_WORDLIST_SIZE = wordlist.length;
/** Entropy of a generated code in bits: log2(1000) + 5 * 11 = 64.97. */
export const GENERATED_CODE_BITS = Math.log2(SESSION_CODE_NUMBER_LIMIT) + SESSION_CODE_WORDS * Math.log2(SESSION_CODE_WORDLIST_SIZE);
/**
 * Below this estimate a hand-typed code gets a warning: 2^56 scrypt guesses take about 230
 * years at 10^7 guesses per second (1000 GPUs at a generous 10^4 each; docs/security.md).
 */
export const WEAK_CODE_BITS = 56;

const WORD_SET: ReadonlySet<string> = new Set(wordlist);

/**
 * Codes people pick first. A code equal to one of them (case-insensitive) is rated as one
 * guess among a few thousand: attackers try such lists before anything else.
 */
const COMMON_CODES: ReadonlySet<string> = new Set([
  'password', 'passw0rd', 'secret', 'letmein', 'welcome', 'qwerty', 'azerty', 'admin', 'test',
  'testing', 'hello', 'hi', 'abc', 'abc123', 'iloveyou', 'monkey', 'dragon', 'sunshine',
  'princess', 'football', 'baseball', 'master', 'shadow', 'trustno1', 'changeme', 'default',
  'videochat', 'chat', 'video', 'call', 'meeting', 'meet', 'session', 'room', 'demo', 'foo',
  'bar', 'foobar', 'mycode', 'code',
]);

/** Bits charged for a code from COMMON_CODES: log2 of a generous attacker list size. */
const COMMON_CODE_BITS = 16;
/** Bits charged for one word an attacker's dictionary holds: log2(2048), as in our own list. */
const DICTIONARY_WORD_BITS = Math.log2(SESSION_CODE_WORDLIST_SIZE);
/** A run of at least this many repeated or consecutive characters counts as one choice. */
const PATTERN_RUN_MIN_CHARS = 3;

/** Generates a fresh session code: `<number>-<word>-<word>-<word>-<word>-<word>`. */
export function generateSessionCode(): string {
  const parts = [String(randomInt(SESSION_CODE_NUMBER_LIMIT))];
  for (let i = 0; i < SESSION_CODE_WORDS; i++) parts.push(wordlist[randomInt(SESSION_CODE_WORDLIST_SIZE)]);
  return parts.join('-');
}

/** How hard a session code is to guess. */
export interface CodeStrength {
  /** Estimated entropy in bits (exact for generated-shape codes made of list words). */
  bits: number;
  /** True when `bits` < WEAK_CODE_BITS. */
  weak: boolean;
  /** Short reason, e.g. `only digits`, `short (6 characters)`, `a generated code`. */
  reason: string;
  /** The one-line warning to show when weak, else null. Never contains the code. */
  warning: string | null;
}

/** Bits charged for one separator between words (space, dash, dot, underscore): a handful of choices. */
const SEPARATOR_BITS = 2;
/** Bits per letter of a word-like run not in our list: English words carry far less than random letters. */
const WORDLIKE_BITS_PER_LETTER = 2.5;
/** Bits charged for capitalizing a word-like run (first letter or all letters). */
const CAPITALIZATION_BITS = 1;
/** Word-like runs: at least this share of vowels (y included)... */
const WORDLIKE_MIN_VOWEL_SHARE = 0.2;
/** ...and no more consonants in a row than this. */
const WORDLIKE_MAX_CONSONANT_RUN = 4;
/** Alphabet sizes an attacker must try per character of a run of that class. */
const ALPHABET = { lower: 26, mixedCase: 52, digit: 10, symbol: 33, nonAscii: 100 } as const;

/** True when the characters of `run` repeat one character or step by +1 / -1 each time. */
function isPatternRun(run: string[]): boolean {
  if (run.length < PATTERN_RUN_MIN_CHARS) return false;
  const points = run.map((ch) => ch.toLowerCase().codePointAt(0) ?? 0);
  const step = points[1] - points[0];
  if (step !== 0 && step !== 1 && step !== -1) return false;
  return points.every((p, i) => i === 0 || p - points[i - 1] === step);
}

/** Letter rows of common keyboard layouts, and the digit row: walks along them are patterns. */
const KEYBOARD_ROWS = ['qwertyuiopasdfghjklzxcvbnm', 'qwertyuiop', 'qwertzuiop', 'azertyuiop', 'asdfghjkl', 'qsdfghjklm', 'zxcvbnm', 'wxcvbn', '1234567890'];

/** True when `lower` is a walk of at least PATTERN_RUN_MIN_CHARS + 1 keys along one keyboard row (either way). */
function isKeyboardWalk(lower: string): boolean {
  if (lower.length <= PATTERN_RUN_MIN_CHARS) return false;
  const reversed = Array.from(lower).reverse().join('');
  return KEYBOARD_ROWS.some((row) => row.includes(lower) || row.includes(reversed));
}

/**
 * True when a letter run reads like a word of a Latin-script language: enough vowels
 * (accents ignored, y included) and no long consonant clusters. Random letters rarely pass
 * the cluster rule; real words that fail are merely rated higher, as random letters.
 */
function isWordLike(lower: string): boolean {
  if (!/^\p{L}{4,}$/u.test(lower)) return false;
  const base = lower.normalize('NFD').replace(/\p{M}/gu, '');
  if (!/^[a-zß]+$/.test(base)) return false;
  const vowels = base.replace(/[^aeiouy]/g, '').length;
  const longestCluster = Math.max(...base.split(/[aeiouy]+/).map((c) => c.length));
  return vowels / base.length >= WORDLIKE_MIN_VOWEL_SHARE && longestCluster <= WORDLIKE_MAX_CONSONANT_RUN;
}

/** Bits per character of a run, from the classes it uses. */
function perCharBits(token: string): number {
  if (/^\p{N}+$/u.test(token)) return Math.log2(ALPHABET.digit);
  if (/[^\p{ASCII}]/u.test(token)) return Math.log2(ALPHABET.nonAscii);
  if (/^[a-z]+$/.test(token)) return Math.log2(ALPHABET.lower);
  if (/^[A-Za-z]+$/.test(token)) return Math.log2(ALPHABET.mixedCase);
  return Math.log2(ALPHABET.symbol);
}

interface Estimate {
  bits: number;
  words: number;
  patterns: number;
}

/**
 * Estimates a hand-typed code token by token (letter runs, digit runs, single other
 * characters): dictionary words 11 bits, word-like runs 2.5 bits a letter, repeated or
 * sequential runs one choice, separators 2 bits, anything else its alphabet per character.
 */
function estimateTyped(code: string): Estimate {
  let bits = 0;
  let words = 0;
  let patterns = 0;
  for (const token of code.match(/\p{L}+|\p{N}+|[^\p{L}\p{N}]/gu) ?? []) {
    const lower = token.toLowerCase();
    const capitalization = token === lower ? 0 : CAPITALIZATION_BITS;
    const simpleCase = token === lower || token === token.toUpperCase() || token.slice(1) === lower.slice(1);
    if (/^[-\s._]$/.test(token)) {
      bits += SEPARATOR_BITS;
    } else if (isPatternRun(Array.from(token)) || isKeyboardWalk(lower)) {
      // "aaaa", "1234", "dcba", "qwerty": the attacker picks a start, a direction and a length.
      bits += perCharBits(token) + 2 + Math.log2(Array.from(token).length);
      patterns++;
    } else if (simpleCase && token.length >= 2 && (WORD_SET.has(lower) || COMMON_CODES.has(lower))) {
      bits += DICTIONARY_WORD_BITS + capitalization;
      words++;
    } else if (simpleCase && isWordLike(lower)) {
      const letters = Array.from(lower).length;
      bits += Math.min(letters * WORDLIKE_BITS_PER_LETTER, letters * perCharBits(lower)) + capitalization;
      words++;
    } else {
      bits += Array.from(token).length * perCharBits(token);
    }
  }
  return { bits, words, patterns };
}

function describe(bits: number, reason: string): CodeStrength {
  const weak = bits < WEAK_CODE_BITS;
  return {
    bits,
    weak,
    reason,
    warning: weak
      ? `weak session code (about ${Math.floor(bits)} bits: ${reason}); whoever runs the relay could guess it ` +
        'offline and impersonate your peer: run connect without --session to get a strong generated code'
      : null,
  };
}

/**
 * Rates a session code (as typed; it is normalized first). Generated-shape codes whose
 * words are all in the list get their exact entropy; other codes a conservative estimate.
 */
export function codeStrength(code: string): CodeStrength {
  let normalized: string;
  try {
    normalized = normalizeSessionCode(code);
  } catch {
    return describe(0, 'empty or too long');
  }
  const chars = Array.from(normalized);
  if (COMMON_CODES.has(normalized.toLowerCase())) return describe(Math.min(COMMON_CODE_BITS, estimateTyped(normalized).bits), 'a commonly used code');
  if (hasGeneratedShape(normalized)) {
    const [number, ...words] = normalized.split('-');
    if (words.every((w) => WORD_SET.has(w)) && Number(number) < SESSION_CODE_NUMBER_LIMIT) {
      const bits = Math.log2(SESSION_CODE_NUMBER_LIMIT) + words.length * DICTIONARY_WORD_BITS;
      return describe(bits, words.length >= SESSION_CODE_WORDS ? 'a generated code' : `only ${words.length} word${words.length === 1 ? '' : 's'}`);
    }
  }
  const estimate = estimateTyped(normalized);
  let reason: string;
  if (/^\p{N}+$/u.test(normalized)) reason = 'only digits';
  else if (chars.length < 12) reason = `short (${chars.length} characters)`;
  else if (estimate.words > 0) reason = 'made of dictionary words';
  else if (estimate.patterns > 0) reason = 'repeated or sequential characters';
  else reason = 'too few random characters';
  return describe(estimate.bits, estimate.bits >= WEAK_CODE_BITS ? 'strong enough' : reason);
}
