// `videochat connect` end to end: a real videochatd on loopback, real ffmpeg (lavfi test
// sources stand in for the camera and microphone, which this machine does not have), real
// speaker into an ALSA file device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { startDaemon, type StartedDaemon } from '../helpers/relay-client.js';
import { runClient, clientArgs, decodeRgb, decodePcm, psnr, ASOUNDRC, type EventLine, type ClientRun } from '../helpers/call.js';
import { dominantIs1kHz, tempDir } from '../media/helpers.js';
import { encodeHello } from '../../src/codec/protocol/index.js';
import { deriveRendezvousId } from '../../src/codec/secure/rendezvous.js';

let daemon: StartedDaemon;
let n = 0;
const code = (): string => `test-${process.pid}-${++n}-walnut-orbit-lantern`;

before(async () => {
  daemon = await startDaemon(['--log-level', 'warn']);
});
after(async () => {
  await daemon?.stop();
});

function ended(run: ClientRun): EventLine {
  const e = run.events.find((x) => x.event === 'ended');
  assert.ok(e, `no ended event; stderr: ${run.stderr()}`);
  assert.equal(run.events[run.events.length - 1].event, 'ended', 'ended is the last line');
  return e;
}

async function call(extraA: string[], extraB: string[], envA: NodeJS.ProcessEnv = {}, envB: NodeJS.ProcessEnv = {}) {
  const session = code();
  const a = runClient(clientArgs(daemon, session, extraA), envA);
  await a.waitFor('waiting');
  const b = runClient(clientArgs(daemon, session, extraB), envB);
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  return { a, b, ea, eb };
}

function assertExchanged(a: EventLine, b: EventLine, what: string): void {
  const num = (e: EventLine, k: string): number => e[k] as number;
  assert.ok(num(a, 'videoFramesSent') > 20, `${what}: a sent ${num(a, 'videoFramesSent')} frames`);
  assert.ok(num(b, 'videoFramesSent') > 20, `${what}: b sent ${num(b, 'videoFramesSent')} frames`);
  assert.ok(num(b, 'videoFramesReceived') >= 0.8 * num(a, 'videoFramesSent'), `${what}: b received ${num(b, 'videoFramesReceived')} of ${num(a, 'videoFramesSent')}`);
  assert.ok(num(a, 'videoFramesReceived') >= 0.8 * num(b, 'videoFramesSent'), `${what}: a received ${num(a, 'videoFramesReceived')} of ${num(b, 'videoFramesSent')}`);
  assert.ok(num(a, 'audioMsSent') > 1500 && num(b, 'audioMsSent') > 1500, `${what}: audio sent`);
  assert.ok(num(b, 'audioMsReceived') >= 0.8 * num(a, 'audioMsSent'), `${what}: b audio ${num(b, 'audioMsReceived')} of ${num(a, 'audioMsSent')} ms`);
  assert.ok(num(a, 'audioMsReceived') >= 0.8 * num(b, 'audioMsSent'), `${what}: a audio ${num(a, 'audioMsReceived')} of ${num(b, 'audioMsSent')} ms`);
}

test('two test-source clients exchange video and audio through the relay and both exit 0', async () => {
  // b would stay longer: a hangs up by --duration and b ends on its BYE (with equal durations
  // both could hang up at once, and neither would see the other's BYE).
  const { a, b, ea, eb } = await call(['--duration', '6'], ['--duration', '12']);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  const endA = ended(a);
  const endB = ended(b);
  assert.equal(endA.reason, 'hangup');
  assert.equal(endA.exitCode, 0);
  assertExchanged(endA, endB, 'mjpeg/opus');
  // The contract: connecting, waiting, peer-joined, stats every second, ended last; ts on every line.
  const names = a.events.map((e) => e.event);
  assert.deepEqual(names.slice(0, 3), ['connecting', 'waiting', 'peer-joined']);
  assert.ok(names.filter((x) => x === 'stats').length >= 4, `stats lines: ${names.join(',')}`);
  assert.ok(a.events.every((e) => typeof e.ts === 'number' && e.ts > 1e12));
  const peer = a.events[2].peer as { client: string; video: { codec: string } };
  assert.equal(peer.client, 'videochat');
  assert.equal(peer.video.codec, 'mjpeg');
  const lastStats = a.events.filter((e) => e.event === 'stats').pop()!;
  assert.ok((lastStats.rttMs as number) >= 0 && (lastStats.rttMs as number) < 500, `rtt ${lastStats.rttMs}`);
  assert.ok(typeof lastStats.latencyMs === 'number', 'latency measured');
  assert.ok((lastStats.videoFpsIn as number) > 5, `fps in ${lastStats.videoFpsIn}`);
  assert.ok((endA.bytesSent as number) > 50_000 && (endA.bytesReceived as number) > 50_000);
  assert.equal(endA.encrypted, true);
  assert.equal(lastStats.encrypted, true);
  // a hung up by --duration; b saw its BYE.
  const left = b.events.filter((e) => e.event === 'peer-left');
  assert.deepEqual(left.map((e) => e.reason), ['bye']);
});

test('H.264 video and PCM audio work end to end', async () => {
  const opts = ['--duration', '6', '--video-codec', 'h264', '--audio-codec', 'pcm'];
  const { a, b, ea, eb } = await call(opts, opts);
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  const endA = ended(a);
  const endB = ended(b);
  // H.264 starts at a keyframe (GOP 1 s), so fewer frames are sent; all sent must arrive.
  assertExchanged(endA, endB, 'h264/pcm');
  const peer = a.events.find((e) => e.event === 'peer-joined')!.peer as { video: { codec: string }; audio: { codec: string } };
  assert.equal(peer.video.codec, 'h264');
  assert.equal(peer.audio.codec, 'pcm');
  const statsB = b.events.filter((e) => e.event === 'stats').pop()!;
  assert.ok((statsB.videoFpsIn as number) > 5, `h264 decoded fps ${statsB.videoFpsIn}`);
});

test('content is faithful: a still image + 1 kHz tone sent as a FILE is recorded by the peer (PSNR >= 25 dB, tone 1 kHz)', async () => {
  const dir = tempDir();
  const still = join(dir, 'still.png');
  const source = join(dir, 'source.mkv');
  const rec = join(dir, 'peer.mkv');
  const snap = join(dir, 'peer.png');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=1', '-frames:v', '1', still]);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-framerate', '15', '-i', still,
    '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '3', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p',
    '-c:a', 'pcm_s16le', source]);
  const session = code();
  const sender = runClient(['connect', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--session', session, '--video-in', source, '--audio-in', source, '--audio-out', 'none', '--json', '--duration', '6']);
  await sender.waitFor('waiting');
  const receiver = runClient(clientArgs(daemon, session, ['--video-in', 'none', '--audio-in', 'none', '--record', rec]));
  const [es, er] = await Promise.all([sender.exited, receiver.exited]);
  assert.equal(es.code, 0, sender.stderr());
  assert.equal(er.code, 0, receiver.stderr());
  // The recording is a finalized Matroska file with one video and one audio stream.
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', rec], { encoding: 'utf8' })) as {
    streams: Array<{ codec_type: string }>; format: { duration: string };
  };
  assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
  assert.ok(Number(probe.format.duration) > 2, `recorded ${probe.format.duration} s`);
  const ref = decodeRgb(still, 320, 240);
  const got = decodeRgb(rec, 320, 240, 1);
  const quality = psnr(ref, got);
  assert.ok(quality >= 25, `recorded frame PSNR ${quality.toFixed(1)} dB`);
  assert.ok(dominantIs1kHz(decodePcm(rec)), 'recorded audio is a 1 kHz tone');

  // --snapshot: the first decoded frame of the peer as PNG, then hang up with exit 0.
  const session2 = code();
  const sender2 = runClient(['connect', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort),
    '--session', session2, '--video-in', source, '--audio-in', 'none', '--audio-out', 'none', '--json', '--duration', '20']);
  await sender2.waitFor('waiting');
  const snapper = runClient(clientArgs(daemon, session2, ['--video-in', 'none', '--audio-in', 'none', '--snapshot', snap]));
  const [e2s, e2r] = await Promise.all([sender2.exited, snapper.exited]);
  assert.equal(e2r.code, 0, snapper.stderr());
  assert.equal(e2s.code, 0, sender2.stderr());
  assert.ok(existsSync(snap) && statSync(snap).size > 1000);
  const snapQuality = psnr(ref, decodeRgb(snap, 320, 240));
  assert.ok(snapQuality >= 25, `snapshot PSNR ${snapQuality.toFixed(1)} dB`);
});

test('received audio plays through the real speaker into an ALSA file device and contains the tone', async () => {
  const dir = tempDir();
  const out = join(dir, 'speaker.raw');
  const { a, b, ea, eb } = await call(['--duration', '5'], ['--audio-out', 'speaker:tofile', '--video-in', 'none'], {}, {
    ALSA_CONFIG_PATH: ASOUNDRC, VC_AUDIO_OUT: out,
  });
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  assert.ok(!b.events.some((e) => e.event === 'warning' && e.code === 'W_AUDIO_OUT'), b.stderr());
  const pcm = readFileSync(out);
  assert.ok(pcm.length > 48_000 * 2 * 1, `speaker wrote ${pcm.length} bytes`);
  assert.ok(dominantIs1kHz(pcm), 'the speaker got a 1 kHz tone');
});

test('a peer SIGKILLed mid-call with --grace 0: the other side reports peer-left (lost) within 2 s and exits 5', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session, ['--grace', '0']));
  await a.waitFor('waiting');
  const b = runClient(clientArgs(daemon, session));
  await a.waitFor('peer-joined');
  await b.waitFor('stats');
  const killedAt = Date.now();
  b.child.kill('SIGKILL');
  const left = await a.waitFor('peer-left', 5000);
  assert.equal(left.reason, 'lost');
  assert.ok((left.ts as number) - killedAt < 2000, `peer-left after ${(left.ts as number) - killedAt} ms`);
  const ea = await a.exited;
  assert.equal(ea.code, 5);
  const end = ended(a);
  assert.equal(end.reason, 'peer-lost');
  assert.equal(end.exitCode, 5);
});

test('a client whose clock runs 5 s ahead still reports a true latency', async () => {
  const { a, b, ea, eb } = await call(['--duration', '6'], ['--duration', '6'], { VIDEOCHAT_TEST_CLOCK_OFFSET_MS: '5000' });
  assert.equal(ea.code, 0, a.stderr());
  assert.equal(eb.code, 0, b.stderr());
  for (const run of [a, b]) {
    const stats = run.events.filter((e) => e.event === 'stats' && typeof e.latencyMs === 'number');
    assert.ok(stats.length >= 2, 'latency reported');
    const latency = stats[stats.length - 1].latencyMs as number;
    // Without clock-offset correction this would be about +5000 or -5000 ms.
    assert.ok(latency > 0 && latency < 1000, `latency ${latency} ms`);
  }
});

test('exit statuses: relay unreachable 3, no peer 4, bad usage 2, ffmpeg missing 7 — each with an ended line', async () => {
  // A port with nothing listening: bind one, then close it.
  const closedPort = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  const cases: Array<{ args: string[]; code: number; reason: string; env?: NodeJS.ProcessEnv }> = [
    { args: clientArgs({ videoPort: closedPort, audioPort: closedPort }, code()), code: 3, reason: 'relay-unreachable' },
    { args: clientArgs(daemon, code(), ['--wait', '1']), code: 4, reason: 'no-peer' },
    { args: clientArgs(daemon, code(), ['--size', 'huge']), code: 2, reason: 'usage' },
    { args: clientArgs(daemon, code(), ['--ffmpeg', '/nonexistent/ffmpeg']), code: 7, reason: 'media' },
  ];
  for (const c of cases) {
    const run = runClient(c.args, c.env);
    const { code: exit } = await run.exited;
    assert.equal(exit, c.code, `${c.reason}: ${run.stderr()}`);
    const end = ended(run);
    assert.equal(end.reason, c.reason);
    assert.equal(end.exitCode, c.code);
    const errLines = run.stderr().trim().split('\n').filter((l) => !l.startsWith('videochat: connecting') && !l.startsWith('videochat: waiting') && !l.startsWith('videochat: call ended'));
    assert.ok(errLines.length <= 1, `one error line, got: ${run.stderr()}`);
  }
});

test('a peer speaking another protocol version ends the call with exit 6', async () => {
  const session = code();
  const a = runClient(clientArgs(daemon, session));
  await a.waitFor('waiting');
  // A fake peer: the relay handshake (with the rendezvous id, as clients present it), then a
  // HELLO claiming version 2, on both channels.
  const rendezvous = await deriveRendezvousId(session);
  const sockets = await Promise.all([daemon.videoPort, daemon.audioPort].map((port, i) => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const codeBytes = Buffer.from(rendezvous);
      const hs = Buffer.alloc(4);
      hs.writeInt32LE(codeBytes.length);
      s.write(Buffer.concat([hs, codeBytes, encodeHello({ channel: i === 0 ? 'video' : 'audio', insecure: true, version: 2 })]));
      resolve(s);
    });
    s.on('error', () => undefined);
  })));
  const { code: exit } = await a.exited;
  sockets.forEach((s) => s.destroy());
  assert.equal(exit, 6, a.stderr());
  const end = ended(a);
  assert.equal(end.reason, 'protocol');
  assert.match(String(end.message), /version 2/);
});
