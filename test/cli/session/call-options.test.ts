import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ourSetup, receiveMediaFor, sameMedia, type CallOptions } from '../../../src/cli/session/call-options.js';
import type { Setup } from '../../../src/codec/protocol/index.js';

const peer = (video: Setup['video'], audio: Setup['audio']): Setup => ({ client: 'videochat', video, audio }) as Setup;
const vga = { codec: 'mjpeg', width: 640, height: 480, fps: 15 } as Setup['video'];
const opus = { codec: 'opus', sampleRate: 48_000, channels: 1, frameMs: 20 } as Setup['audio'];

test('our SETUP: what we capture; null for a medium we have no input for', () => {
  const opts = { videoIn: { kind: 'test' }, audioIn: { kind: 'none' }, width: 320, height: 240, fps: 10, videoCodec: 'h264', audioCodec: 'opus' } as unknown as CallOptions;
  const s = ourSetup(opts);
  assert.equal(s.client, 'videochat');
  assert.deepEqual(s.video, { codec: 'h264', width: 320, height: 240, fps: 10 });
  assert.equal(s.audio, null);
});

test("the decoders follow the renderer's size, else the peer's capture size", () => {
  assert.deepEqual(receiveMediaFor(peer(vga, opus), { width: 200, height: 100 }), { video: { codec: 'mjpeg', width: 200, height: 100 }, audio: { codec: 'opus' } });
  assert.deepEqual(receiveMediaFor(peer(vga, null), null), { video: { codec: 'mjpeg', width: 640, height: 480 }, audio: null });
  assert.deepEqual(receiveMediaFor(peer(null, opus), { width: 200, height: 100 }), { video: null, audio: { codec: 'opus' } });
});

test('a returning peer with the same media keeps its decoders; any change in either medium does not', () => {
  assert.equal(sameMedia(peer(vga, opus), peer({ ...vga! }, { ...opus! })), true);
  assert.equal(sameMedia(peer(vga, opus), peer({ ...vga!, fps: 30 }, opus)), false);
  assert.equal(sameMedia(peer(vga, opus), peer(vga, null)), false);
  assert.equal(sameMedia(null, peer(null, null)), true);
});
