// One message of every known type, with payloads that exercise each field. Shared by the
// protocol tests; Buffers (not plain Uint8Arrays) so that decoded messages compare deep-equal.
import { MessageType, type KnownMessage } from '../../../src/codec/protocol/index.js';

/** A deterministic byte pattern of `length` bytes. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const T = 1_760_000_000_123_456; // µs since the epoch, late 2025

export function fixtureMessages(): KnownMessage[] {
  return [
    {
      type: MessageType.SETUP,
      seq: 0,
      timestampUs: T,
      setup: {
        client: 'videochat',
        clientVersion: '0.1.0',
        video: { codec: 'h264', width: 320, height: 240, fps: 15, extradata: pattern(24).toString('base64') },
        audio: { codec: 'opus', sampleRate: 48000, channels: 1, frameMs: 20, extradata: pattern(19, 7).toString('base64') },
      },
    },
    {
      type: MessageType.SETUP,
      seq: 1,
      timestampUs: T + 1,
      setup: { client: 'videochat', clientVersion: '0.1.0', video: { codec: 'mjpeg', width: 640, height: 480, fps: 7.5 }, audio: null },
    },
    { type: MessageType.VIDEO, seq: 2, timestampUs: T + 66_666, keyframe: true, data: pattern(300, 3) },
    { type: MessageType.VIDEO, seq: 3, timestampUs: T + 133_333, keyframe: false, data: pattern(17, 4) },
    { type: MessageType.AUDIO, seq: 4, timestampUs: T + 20_000, data: pattern(61, 5) },
    { type: MessageType.AUDIO, seq: 5, timestampUs: T + 40_000, data: Buffer.alloc(0) },
    { type: MessageType.PING, seq: 6, timestampUs: T + 2, t0Us: T + 2 },
    { type: MessageType.PONG, seq: 7, timestampUs: T + 9, t0Us: T + 2, t1Us: T + 7, t2Us: T + 9 },
    { type: MessageType.STATE, seq: 8, timestampUs: T + 10, muted: true, cameraOff: false },
    { type: MessageType.STATE, seq: 9, timestampUs: T + 11, muted: false, cameraOff: true },
    { type: MessageType.STATE, seq: 9, timestampUs: T + 11, muted: false, cameraOff: true, noCamera: true, noMic: true },
    { type: MessageType.KEYFRAME_REQUEST, seq: 10, timestampUs: T + 12 },
    {
      type: MessageType.REPORT,
      seq: 11,
      timestampUs: T + 13,
      report: {
        videoFramesReceived: 150,
        videoFramesDropped: 3,
        videoFpsIn: 14.8,
        audioMsReceived: 10_000,
        audioBufferMs: 60,
        audioUnderruns: 1,
        bytesReceived: 1_234_567,
        latencyMs: 87.5,
      },
    },
    { type: MessageType.KEY_CONFIRM, seq: 12, timestampUs: T + 14, mac: pattern(32, 9) },
    { type: MessageType.BYE, seq: 13, timestampUs: T + 15, reason: 'hangup: au revoir ✓' },
    { type: MessageType.BYE, seq: 0xffff_ffff, timestampUs: 0, reason: '' },
  ];
}
