/**
 * TEST-ONLY stand-in for the call session: an `EventEmitter<SessionEvents>` that emits
 * whatever a test asks, and implements `CallControls` by recording every call. The TUI is
 * tested against this because its only contract with the real session is these events and
 * these controls; the real session is tested on its own with real sockets and ffmpeg.
 */
import { EventEmitter } from 'node:events';
import type { CallStats, EndReason } from '../../src/cli/session/events.js';
import { EXIT_CODES, type SessionEvents } from '../../src/cli/session/events.js';
import type { CallControls } from '../../src/cli/ui/controls.js';

export type ControlCall =
  | { name: 'hangup' }
  | { name: 'setMuted'; value: boolean }
  | { name: 'setCameraOff'; value: boolean }
  | { name: 'requestKeyframe' }
  | { name: 'setVideoSize'; width: number; height: number };

export function zeroStats(overrides: Partial<CallStats> = {}): CallStats {
  return {
    videoFramesSent: 0,
    videoFramesReceived: 0,
    videoFramesDropped: 0,
    videoFpsIn: 0,
    videoFpsOut: 0,
    audioMsSent: 0,
    audioMsReceived: 0,
    audioBufferMs: 0,
    audioUnderruns: 0,
    bytesSent: 0,
    bytesReceived: 0,
    rttMs: null,
    latencyMs: null,
    encrypted: false,
    ...overrides,
  };
}

export class FakeSession extends EventEmitter<SessionEvents> implements CallControls {
  readonly calls: ControlCall[] = [];
  muted = false;
  cameraOff = false;
  encrypted: boolean;
  /** The last size the UI asked the decoder for. */
  videoSize: { width: number; height: number } | null = null;
  /** Emit `ended` (reason hangup) when `hangup()` is called, as the real session does. */
  endOnHangup = true;

  constructor(
    readonly session = 'apple-river',
    options: { encrypted?: boolean } = {},
  ) {
    super();
    this.encrypted = options.encrypted ?? true;
  }

  hangup(): void {
    this.calls.push({ name: 'hangup' });
    if (this.endOnHangup) setImmediate(() => this.end('hangup'));
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.calls.push({ name: 'setMuted', value: muted });
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    this.calls.push({ name: 'setCameraOff', value: off });
  }

  requestKeyframe(): void {
    this.calls.push({ name: 'requestKeyframe' });
  }

  setVideoSize(width: number, height: number): void {
    this.videoSize = { width, height };
    this.calls.push({ name: 'setVideoSize', width, height });
  }

  /** The calls of one kind, in order. */
  callsNamed<N extends ControlCall['name']>(name: N): Array<Extract<ControlCall, { name: N }>> {
    return this.calls.filter((c): c is Extract<ControlCall, { name: N }> => c.name === name);
  }

  end(reason: EndReason = 'hangup', stats: Partial<CallStats> = {}): void {
    this.emit('ended', { reason, exitCode: EXIT_CODES[reason], ...zeroStats(stats) });
  }

  /** A peer frame at the size the UI asked for (or `size`), filled by `pixel(x, y)`. */
  emitFrame(pixel: (x: number, y: number) => [number, number, number], size = this.videoSize): boolean {
    if (!size) return false;
    this.emit('video-frame', makeFrame(size.width, size.height, pixel));
    return true;
  }
}

/** An RGB24 frame filled by `pixel(x, y)`. */
export function makeFrame(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const i = (y * width + x) * 3;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  }
  return { width, height, data };
}
