// End-to-end security of `videochat connect` (docs/security.md) with real client processes
// (real ffmpeg test sources) through hostile relays: one that records every byte, one that
// pairs everyone whatever the code, one that flips a byte mid-call; and the real videochatd
// at debug log level. What is asserted is what an observer of the relay could see.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { startTestRelay, type TestRelay, type TestRelayOptions } from '../helpers/test-relay.js';
import { startDaemon, withTimeout } from '../helpers/relay-client.js';
import { runClient, clientArgs, type ClientRun, type EventLine } from '../helpers/call.js';
import { deriveRendezvousId } from '../../src/codec/secure/rendezvous.js';
import { HELLO_BYTES, RECORD_HEADER_BYTES } from '../../src/codec/protocol/constants.js';

/** A client process gets this long before it is killed (the machine is shared and slow). */
const CLIENT_TIMEOUT_MS = 150_000;
/** A whole two-client call gets this long to end on its own. */
const CALL_TIMEOUT_MS = 160_000;
/** The sealed counter in front of each ciphertext (docs/security.md section 5). */
const SEALED_COUNTER_BYTES = 8;
/** Printable ASCII this long outside the handshake would be plaintext leaking (random bytes: ~2^-46 per position). */
const MAX_PRINTABLE_RUN_BYTES = 32;

const relays: TestRelay[] = [];
after(async () => {
  await Promise.all(relays.map((r) => r.close()));
});

async function relay(opts: TestRelayOptions): Promise<TestRelay> {
  const r = await startTestRelay(opts);
  relays.push(r);
  return r;
}

let n = 0;
/** Long, unusual words: none can turn up by chance in megabytes of ciphertext (8+ bytes each). */
const WORDS = ['crossover', 'clockwork', 'hurricane', 'paperweight'];
const uniqueCode = (): string => `417-${WORDS.join('-')}-${process.pid}x${++n}`;

function ended(run: ClientRun): EventLine {
  const e = run.events.find((x) => x.event === 'ended');
  assert.ok(e, `no ended event; stderr: ${run.stderr()}`);
  return e;
}

/** Starts a (first, waits for it to be waiting), then b; resolves when both have exited. */
async function call(r: { videoPort: number; audioPort: number }, codeA: string, codeB: string, extraA: string[], extraB: string[]) {
  const a = runClient(clientArgs(r, codeA, extraA), {}, CLIENT_TIMEOUT_MS);
  await a.waitFor('waiting', 60_000);
  const b = runClient(clientArgs(r, codeB, extraB), {}, CLIENT_TIMEOUT_MS);
  const [ea, eb] = await withTimeout(Promise.all([a.exited, b.exited]), CALL_TIMEOUT_MS, 'both clients to exit');
  return { a, b, ea, eb };
}

function count(hay: Buffer, needle: Buffer): number {
  let c = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) c++;
  return c;
}

function longestPrintableRun(buf: Buffer): number {
  let best = 0;
  let run = 0;
  for (const b of buf) {
    run = b >= 0x20 && b < 0x7f ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** Fraction of bytes zlib at level 9 saves (negative when it grows). */
function deflateSavings(buf: Buffer): number {
  return 1 - deflateSync(buf, { level: 9 }).length / buf.length;
}

/**
 * The ciphertext (with tags) of one relayed direction: the public framing stripped (HELLO,
 * length headers, the explicit counters, and the one plaintext KEY_CONFIRM record).
 */
function ciphertextOf(stream: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = HELLO_BYTES;
  let first = true;
  while (pos + RECORD_HEADER_BYTES <= stream.length) {
    const len = stream.readUInt32BE(pos);
    const body = stream.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
    pos += RECORD_HEADER_BYTES + len;
    if (!first) parts.push(body.subarray(SEALED_COUNTER_BYTES));
    first = false;
  }
  return Buffer.concat(parts);
}

/** Every form in which the code (or a piece of it) could leak. */
function codeForms(code: string): Array<[string, Buffer]> {
  const forms: Array<[string, Buffer]> = [];
  for (const text of [code, ...WORDS]) {
    forms.push([`utf8 ${text}`, Buffer.from(text, 'utf8')]);
    forms.push([`utf16le ${text}`, Buffer.from(text, 'utf16le')]);
    forms.push([`upper ${text}`, Buffer.from(text.toUpperCase(), 'utf8')]);
  }
  const hex = Buffer.from(code, 'utf8').toString('hex');
  forms.push(['hex', Buffer.from(hex)], ['HEX', Buffer.from(hex.toUpperCase())], ['base64', Buffer.from(Buffer.from(code).toString('base64'))]);
  return forms;
}

const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);
const MEDIA_STRINGS = ['OpusHead', 'OggS', 'Lavc', 'Lavf', 'JFIF'];

test('a tapping relay sees no code, no media, nothing compressible; an --insecure call through the same tap shows all of it', async () => {
  const code = uniqueCode();
  const rendezvousId = await deriveRendezvousId(code);
  assert.match(rendezvousId, /^[0-9a-f]{64}$/);
  const results: Record<'secure' | 'insecure', { relay: TestRelay; a: ClientRun; b: ClientRun }> = {} as never;
  for (const mode of ['secure', 'insecure'] as const) {
    const tap = await relay({ tap: true });
    const extra = ['--duration', '5', ...(mode === 'insecure' ? ['--insecure'] : [])];
    const { a, b, ea, eb } = await call(tap, code, code, extra, extra);
    assert.equal(ea.code, 0, `${mode} a: ${a.stderr()}`);
    assert.equal(eb.code, 0, `${mode} b: ${b.stderr()}`);
    assert.equal(ended(a).encrypted, mode === 'secure');
    assert.equal(ended(b).encrypted, mode === 'secure');
    // Media really flowed, so what the tap holds is a call, not just a handshake.
    assert.ok((ended(a).videoFramesSent as number) >= 20, `${mode}: a sent ${ended(a).videoFramesSent} frames`);
    assert.ok((ended(b).videoFramesReceived as number) >= 10, `${mode}: b received ${ended(b).videoFramesReceived} frames`);

    // The handshake, in both modes: the 64-hex rendezvous id, never the code.
    assert.equal(tap.handshakes.length, 4, `${mode}: two handshakes per port`);
    const expected = Buffer.concat([Buffer.from([64, 0, 0, 0]), Buffer.from(rendezvousId)]);
    for (const h of tap.handshakes) assert.deepEqual(h.raw, expected, `${mode}: ${h.channel} handshake is the rendezvous id`);
    const seen = tap.allSeen();
    for (const [what, form] of codeForms(code)) assert.equal(seen.indexOf(form), -1, `${mode}: the code leaked (${what})`);
    results[mode] = { relay: tap, a, b };
  }

  const secure = results.secure.relay.relayed();
  const insecure = results.insecure.relay.relayed();
  assert.ok(secure.length > 200_000, `secure tap holds ${secure.length} bytes`);

  // Media signatures: each plaintext MJPEG frame starts with FF D8 FF (random data: one
  // such triple per 16 MiB on average, so a handful at most is chance, not a frame).
  const soiSecure = count(secure, JPEG_SOI);
  const soiInsecure = count(insecure, JPEG_SOI);
  assert.ok(soiSecure <= 3, `secure: ${soiSecure} JPEG starts`);
  assert.ok(soiInsecure >= 10, `insecure: only ${soiInsecure} JPEG starts: the test could not see plaintext`);
  for (const s of MEDIA_STRINGS) assert.equal(secure.indexOf(s), -1, `secure: '${s}' seen`);
  assert.ok(['Lavc', 'JFIF'].some((s) => insecure.includes(s)), 'insecure: the encoder signature shows');
  // SETUP names the client; sealed, it does not show.
  assert.equal(secure.indexOf('videochat'), -1, 'secure: SETUP readable');
  assert.ok(insecure.includes('videochat'), 'insecure: SETUP readable');
  const runSecure = longestPrintableRun(secure);
  assert.ok(runSecure < MAX_PRINTABLE_RUN_BYTES, `secure: a run of ${runSecure} printable bytes`);

  // Compressibility: ciphertext does not compress; only the clear framing (length headers,
  // counters) gives deflate a little, and under 2 % of the whole stream.
  const savesSecure = deflateSavings(secure);
  const savesInsecure = deflateSavings(insecure);
  assert.ok(savesSecure < 0.02, `secure stream: deflate saves ${(savesSecure * 100).toFixed(2)} %`);
  assert.ok(savesInsecure > savesSecure + 0.05, `insecure stream: deflate saves ${(savesInsecure * 100).toFixed(2)} %, secure ${(savesSecure * 100).toFixed(2)} %`);
  const perDirection: string[] = [];
  for (const ch of ['video', 'audio'] as const) {
    for (const dir of ['aToB', 'bToA'] as const) {
      const stream = results.secure.relay.relayed(ch, dir);
      const ct = ciphertextOf(stream);
      if (ct.length < 20_000) continue; // too little to measure (a peer whose capture started late)
      const saves = deflateSavings(ct);
      perDirection.push(`${ch} ${dir} ${stream.length} B: ${(deflateSavings(stream) * 100).toFixed(2)} % framed, ${(saves * 100).toFixed(2)} % ciphertext`);
      assert.ok(saves < 0.01, `${ch} ${dir} ciphertext: deflate saves ${(saves * 100).toFixed(2)} %`);
    }
  }
  console.log(`# tap: secure ${secure.length} B, deflate ${(savesSecure * 100).toFixed(2)} %, ${soiSecure} FF D8 FF, longest printable run ${runSecure}; ` +
    `insecure ${insecure.length} B, deflate ${(savesInsecure * 100).toFixed(2)} %, ${soiInsecure} FF D8 FF; ${perDirection.join('; ')}`);
});

test('a relay that pairs everyone: two clients with different codes meet and both exit 8 without any media', async () => {
  const hostile = await relay({ pairBy: 'anyone', tap: true });
  const codeA = uniqueCode();
  const codeB = uniqueCode();
  const { a, b, ea, eb } = await call(hostile, codeA, codeB, [], []);
  // The relay did pair them (both ports), though their rendezvous ids differ.
  assert.equal(hostile.pairs, 2, `a: ${a.stderr()}\nb: ${b.stderr()}`);
  const ids = new Set(hostile.handshakes.map((h) => h.code.toString()));
  assert.deepEqual(ids, new Set([await deriveRendezvousId(codeA), await deriveRendezvousId(codeB)]));
  for (const [name, run, exit] of [['a', a, ea], ['b', b, eb]] as const) {
    assert.equal(exit.code, 8, `${name}: ${run.stderr()}`);
    const end = ended(run);
    assert.equal(end.reason, 'key-confirmation');
    assert.equal(end.exitCode, 8);
    assert.equal(end.videoFramesReceived, 0, `${name} received media`);
    assert.equal(end.audioMsReceived, 0, `${name} received audio`);
    assert.equal(end.encrypted, false);
    assert.ok(!run.events.some((e) => e.event === 'peer-joined'), `${name}: a peer joined`);
    assert.match(run.stderr(), /key|code/i, `${name}: the message says why`);
  }
});

test('a byte flipped in a sealed video record mid-call is rejected and reported; the call goes on', async () => {
  const tamper = await relay({
    tamper: { channel: 'video', direction: 'aToB', afterBytes: 60_000, flipMask: 0x01, target: 'body', minBodyBytes: 1000 },
  });
  const code = uniqueCode();
  const { a, b, ea, eb } = await call(tamper, code, code, ['--duration', '8'], []);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  assert.ok(tamper.tampered, 'the relay flipped a byte');
  assert.ok((tamper.tampered.recordBodyBytes ?? 0) >= 1000, 'it hit a video frame');
  const warnings = b.events.filter((e) => e.event === 'warning' && e.code === 'W_RECORD_REJECTED');
  assert.equal(warnings.length, 1, `one (throttled) warning: ${JSON.stringify(warnings)}`);
  assert.match(String(warnings[0].message), /video record was rejected \(E_AUTH\)/);
  const endB = ended(b);
  assert.equal(endB.recordsRejected, 1);
  assert.equal(ended(a).recordsRejected, 0);
  assert.ok(b.events.some((e) => e.event === 'stats' && (e.recordsRejected as number) >= 1), 'stats report the rejection');
  // Frames kept flowing after the rejection.
  const at = b.events.indexOf(warnings[0]);
  const before = Math.max(0, ...b.events.slice(0, at).filter((e) => e.event === 'stats').map((e) => e.videoFramesReceived as number));
  const afterCount = (endB.videoFramesReceived as number) - before;
  assert.ok(afterCount >= 15, `only ${afterCount} frames after the rejection`);
  assert.ok((endB.videoFramesReceived as number) < (ended(a).videoFramesSent as number), 'the altered frame was not delivered');
});

// A flipped byte in a record's LENGTH header (which is authenticated as AAD, but must be read
// before anything can be checked) desynchronizes the stream: the record it announces fails
// authentication, and the next "length" is read from inside sealed bytes, which is above the
// 4 MiB maximum with probability 1 - 2^-10. The receiver then ends with a protocol error
// (exit 6) at once; it never hangs or crashes.
for (const c of [
  { what: 'the top byte (length above the maximum at once)', lengthByte: 0, flipMask: 0x80, onlySetBits: false },
  { what: 'the low byte, shortened by 16 (the next length is read from the tag)', lengthByte: 3, flipMask: 0x10, onlySetBits: true },
]) {
  test(`a byte flipped in a record length header, ${c.what}: the receiver ends with exit 6, no hang`, async () => {
    const tamper = await relay({
      tamper: { channel: 'video', direction: 'aToB', afterBytes: 60_000, target: 'length', minBodyBytes: 1000, ...c },
    });
    const code = uniqueCode();
    const { a, b, ea, eb } = await call(tamper, code, code, ['--duration', '15'], []);
    assert.ok(tamper.tampered, 'the relay flipped a byte');
    assert.equal(eb.code, 6, b.stderr());
    const endB = ended(b);
    assert.equal(endB.reason, 'protocol');
    assert.match(String(endB.message), /exceeds the maximum/);
    assert.ok((endB.videoFramesReceived as number) > 0, 'frames arrived before the flip');
    const secondsToEnd = ((endB.ts as number) - tamper.tampered.atMs) / 1000;
    assert.ok(secondsToEnd < 10, `the receiver ended ${secondsToEnd} s after the flip`);
    console.log(`# length flip (${c.what}): receiver ended ${secondsToEnd.toFixed(2)} s after it, ${endB.recordsRejected} record(s) rejected; sender exit ${ea.code}`);
    // The sender sees its peer go without a goodbye and ends on its own with a contract status.
    assert.equal(ea.signal, null, `a was killed: ${a.stderr()}`);
    assert.ok([0, 5, 9].includes(ea.code ?? -1), `a exit ${ea.code}: ${a.stderr()}`);
    assert.ok(ended(a));
  });
}

test('one side --insecure, the other not: both refuse with exit 8 and say why', async () => {
  const r = await relay({});
  const code = uniqueCode();
  const { a, b, ea, eb } = await call(r, code, code, [], ['--insecure']);
  for (const [name, run, exit] of [['a (secure)', a, ea], ['b (--insecure)', b, eb]] as const) {
    assert.equal(exit.code, 8, `${name}: ${run.stderr()}`);
    const end = ended(run);
    assert.equal(end.reason, 'key-confirmation');
    assert.match(String(end.message), /--insecure/);
    assert.equal(end.videoFramesReceived, 0);
    assert.ok(!run.events.some((e) => e.event === 'peer-joined'), `${name}: a peer joined`);
  }
  assert.match(String(ended(a).message), /refuses to send anything unencrypted/);
  assert.match(String(ended(b).message), /requires encryption/);
});

test('the real videochatd at --log-level debug never logs the code, only a short hash of the rendezvous id', async () => {
  const daemon = await startDaemon(['--log-level', 'debug']);
  try {
    const code = uniqueCode();
    const rendezvousId = await deriveRendezvousId(code);
    const { a, b, ea, eb } = await call(daemon, code, code, ['--duration', '3'], []);
    assert.equal(ea.code, 0, a.stderr());
    assert.equal(eb.code, 0, b.stderr());
    await daemon.waitForLines((l) => l.msg === 'pair ended', 2, 15_000);
    await daemon.stop();
    const log = daemon.lines.map((l) => JSON.stringify(l)).join('\n') + '\n' + daemon.stderr();
    assert.ok(daemon.lines.some((l) => l.level === 20), 'debug lines were logged');
    for (const [what, form] of codeForms(code)) assert.equal(log.indexOf(form.toString('latin1')), -1, `the daemon logged the code (${what})`);
    assert.equal(log.indexOf(rendezvousId), -1, 'the daemon logged the whole rendezvous id');
    const hashes = new Set(daemon.lines.filter((l) => typeof l.session === 'string').map((l) => l.session as string));
    assert.equal(hashes.size, 1, `one session hash for the call: ${[...hashes].join(', ')}`);
    const [hash] = hashes;
    assert.match(hash, /^[0-9a-f]{8,16}$/);
    assert.ok(!rendezvousId.includes(hash), 'the hash is not a piece of the id');
  } finally {
    await daemon.stop();
  }
});
