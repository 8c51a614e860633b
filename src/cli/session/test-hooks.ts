/**
 * TEST-ONLY hooks for the benchmarks (bench/call.ts), read from the environment; unset, they
 * change nothing:
 * - VIDEOCHAT_TEST_VIDEO_DECODER=ffmpeg: decode MJPEG with ffmpeg, not in process (to measure
 *   one against the other).
 * - VIDEOCHAT_TEST_FRAME_FD=N: write every decoded peer frame to fd N as it is handed to the UI
 *   (u16 width, u16 height, big-endian, then RGB24), so the benchmark can read the stamp drawn
 *   into it at capture (bench/lib/stamp.ts). Frames are dropped, never queued, when the
 *   reader is slow.
 */
import net from 'node:net';

export const TEST_VIDEO_DECODER_ENV = 'VIDEOCHAT_TEST_VIDEO_DECODER';
export const TEST_FRAME_FD_ENV = 'VIDEOCHAT_TEST_FRAME_FD';
/** Bytes allowed to wait in the frame tap before frames are dropped. */
const FRAME_TAP_MAX_QUEUED = 4 * 1024 * 1024;

/** False when the benchmark asks for the ffmpeg decoder. */
export function inProcessDecodeAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_VIDEO_DECODER_ENV] !== 'ffmpeg';
}

export type FrameTap = (frame: { width: number; height: number; data: Uint8Array }) => void;

/** The frame tap, or null when none is asked for (or its fd is not open). */
export function openFrameTap(env: NodeJS.ProcessEnv = process.env): FrameTap | null {
  const fd = Number(env[TEST_FRAME_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return null;
  let sock: net.Socket;
  try {
    sock = new net.Socket({ fd, readable: false, writable: true });
  } catch {
    return null;
  }
  sock.on('error', () => undefined);
  sock.unref();
  return (frame) => {
    if (sock.destroyed || sock.writableLength > FRAME_TAP_MAX_QUEUED) return;
    const head = Buffer.alloc(4);
    head.writeUInt16BE(frame.width, 0);
    head.writeUInt16BE(frame.height, 2);
    sock.write(head);
    sock.write(frame.data);
  };
}
