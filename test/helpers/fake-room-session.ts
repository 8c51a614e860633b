/**
 * TEST-ONLY stand-in for the room session of `videochat connect --room`, which is being
 * built apart from the grid (issue 17) and is not merged yet: an EventEmitter of the grid's
 * events (src/cli/ui/grid/room-view-events.ts) that emits what a test asks and records every
 * control call. Once the real session lands, the grid is also tested against it.
 */
import { EventEmitter } from 'node:events';
import type { MemberId, RoomControls, RoomViewEvents } from '../../src/cli/ui/grid/room-view-events.js';
import { makeFrame } from './fake-session.js';

export type RoomControlCall =
  | { name: 'hangup' }
  | { name: 'setMuted'; value: boolean }
  | { name: 'setCameraOff'; value: boolean }
  | { name: 'requestKeyframe' }
  | { name: 'setSelfView'; value: boolean }
  | { name: 'setVideoSize'; width: number; height: number };

export class FakeRoomSession extends EventEmitter<RoomViewEvents> implements RoomControls {
  readonly calls: RoomControlCall[] = [];
  muted = false;
  cameraOff = false;
  encrypted = true;
  /** The tile size the grid last asked the decoders for. */
  videoSize: { width: number; height: number } | null = null;
  selfView = false;

  constructor(readonly session = 'apple-river-room') {
    super();
  }

  hangup(): void {
    this.calls.push({ name: 'hangup' });
    setImmediate(() => this.emit('ended', { reason: 'hangup', exitCode: 0 }));
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.calls.push({ name: 'setMuted', value: muted });
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    this.calls.push({ name: 'setCameraOff', value: off });
  }

  setVideoSize(width: number, height: number): void {
    this.videoSize = { width, height };
    this.calls.push({ name: 'setVideoSize', width, height });
  }

  requestKeyframe(): void {
    this.calls.push({ name: 'requestKeyframe' });
  }

  setSelfView(on: boolean): void {
    this.selfView = on;
    this.calls.push({ name: 'setSelfView', value: on });
  }

  /** A member's frame at the size the grid asked for (or 160x120), filled by `pixel`. */
  emitMemberFrame(memberId: MemberId, pixel: (x: number, y: number) => [number, number, number]): void {
    const size = this.videoSize ?? { width: 160, height: 120 };
    this.emit('member-frame', { memberId, ...makeFrame(size.width, size.height, pixel) });
  }
}
