/**
 * Pure ffmpeg argument builders: every ffmpeg process we run gets its command line here,
 * so it can be unit-tested as an exact array. No I/O.
 */

import type { AudioCodec, VideoCodec } from '../codec/protocol/messages.js';

/** Where video comes from (`--video-in`, minus `none`). */
export type VideoSource = { kind: 'camera'; device?: string } | { kind: 'test' } | { kind: 'file'; path: string };
/** Where audio comes from (`--audio-in`, minus `none`). */
export type AudioSource = { kind: 'mic'; device?: string } | { kind: 'test' } | { kind: 'file'; path: string };

/** Audio on the wire and in every pipe: 48 kHz mono s16le, 20 ms frames. */
export const AUDIO_SAMPLE_RATE_HZ = 48_000;
export const AUDIO_CHANNELS = 1;
export const AUDIO_BYTES_PER_SAMPLE = 2;
export const AUDIO_FRAME_MS = 20;
/** Bytes of one 20 ms PCM frame (48000 * 0.02 * 2 = 1920). */
export const AUDIO_FRAME_BYTES = (AUDIO_SAMPLE_RATE_HZ * AUDIO_FRAME_MS * AUDIO_BYTES_PER_SAMPLE * AUDIO_CHANNELS) / 1000;
/** Opus bitrate for speech, mono. */
export const OPUS_BITRATE_BPS = 32_000;
/** The test tone (`test` audio source). */
export const TEST_TONE_HZ = 1000;
/** The test tone is generated in 10 ms blocks (lavfi's default, 1024 samples, holds up to 21 ms). */
export const TEST_TONE_BLOCK_SAMPLES = 480;
/** PulseAudio capture fragment asked for: 20 ms of 48 kHz stereo s16 (the server's default may be far longer). */
export const PULSE_FRAGMENT_BYTES = 3840;
/** Ogg page length asked of ffmpeg: one 20 ms packet per page, so each leaves at once. */
export const OGG_PAGE_DURATION_US = 20_000;
/** Default picture quality, 1 (worst) .. 100 (best). */
export const DEFAULT_VIDEO_QUALITY = 70;
/** Default H.264 GOP: a keyframe every second (see docs/media.md on keyframes). */
export const DEFAULT_KEYFRAME_INTERVAL_MS = 1000;

const COMMON = ['-hide_banner', '-loglevel', 'error', '-nostats'];

/** Options of the process that owns a platform-specific device. */
export interface PlatformOptions {
  /** process.platform; default the current one. */
  platform?: NodeJS.Platform;
  /** Linux only: use PulseAudio for the mic (else ALSA). */
  pulse?: boolean;
}

export interface VideoCaptureParams {
  width: number;
  height: number;
  fps: number;
  codec: VideoCodec;
  /** 1 (worst) .. 100 (best). */
  quality?: number;
  /** H.264 keyframe interval in frames; default one second of frames. */
  gopFrames?: number;
  /** Encode at this size instead (rate control shrinks the picture on a slow path); the source is still opened at width x height. */
  scaleTo?: { width: number; height: number };
}

/** Default camera device per platform. */
export function defaultCameraDevice(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return '0';
  if (platform === 'win32') return 'Integrated Camera';
  return '/dev/video0';
}

/** Input arguments (up to and including `-i`) for a video source. */
export function videoInputArgs(source: VideoSource, p: { width: number; height: number; fps: number }, opts: PlatformOptions = {}): string[] {
  const platform = opts.platform ?? process.platform;
  const size = `${p.width}x${p.height}`;
  switch (source.kind) {
    case 'test':
      return ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${p.fps}`];
    case 'file':
      return ['-stream_loop', '-1', '-re', '-i', source.path];
    case 'camera': {
      const dev = source.device ?? defaultCameraDevice(platform);
      if (platform === 'darwin') return ['-f', 'avfoundation', '-framerate', String(p.fps), '-video_size', size, '-i', `${dev}:none`];
      if (platform === 'win32') return ['-f', 'dshow', '-framerate', String(p.fps), '-video_size', size, '-i', `video=${dev}`];
      return ['-f', 'v4l2', '-framerate', String(p.fps), '-video_size', size, '-i', dev];
    }
  }
}

/** MJPEG q:v (2 best .. 31 worst) for a quality 1..100. */
export function mjpegQscale(quality: number): number {
  return Math.round(31 - (clampQuality(quality) / 100) * 29);
}

/** x264 CRF (18 best .. 45 worst) for a quality 1..100. */
export function h264Crf(quality: number): number {
  return Math.round(45 - (clampQuality(quality) / 100) * 27);
}

function clampQuality(q: number): number {
  return Math.min(100, Math.max(1, q));
}

/** The pipe (fd) on which a video capture says when each raw frame enters the encoder. */
export const ENCODER_TAP_FD = 3;
/**
 * The last filters before the encoder: tag each frame, then print the tag at once to fd 3
 * (`frame:N pts:... pts_time:...` and `vc=1`, per frame). The moment a line arrives is the
 * moment that raw frame was handed to the encoder: the capture time `latencyMs` counts from
 * (capture.ts). `direct` writes each line unbuffered. The colon of `pipe:3` is escaped twice:
 * once for the filter graph, once for the filter's options.
 */
export const ENCODER_TAP_FILTER = `metadata=mode=add:key=vc:value=1,metadata=mode=print:file=pipe\\\\:${ENCODER_TAP_FD}:direct=1`;

/**
 * Output arguments that encode video to stdout: MJPEG as `-f mjpeg`, H.264 inside FLV.
 * `-threads 1` (an output option: it reaches the encoder): ffmpeg's encoders are
 * frame-threaded by default and then hold one or two frames before the first packet comes
 * out (68 ms at 15 fps, measured); with one thread a frame leaves as soon as it is encoded
 * (~1 ms at 320x240). `resampleFps`: only files need the `fps` filter (their rate is
 * whatever they were made at); the test source and cameras are opened at the asked rate.
 */
export function videoEncoderArgs(p: VideoCaptureParams, resampleFps = true): string[] {
  const quality = p.quality ?? DEFAULT_VIDEO_QUALITY;
  // scale makes every source match the size the peer was told, whatever it delivers.
  const out = p.scaleTo ?? { width: p.width, height: p.height };
  const filter = resampleFps ? `fps=${p.fps},scale=${out.width}:${out.height}` : `scale=${out.width}:${out.height}`;
  // Every filtered frame becomes exactly one packet (no duplicates or drops after the tap).
  const oneToOne = ['-fps_mode', 'passthrough'];
  if (p.codec === 'mjpeg') {
    return [
      '-an', '-vf', `${filter},format=yuvj420p,${ENCODER_TAP_FILTER}`, ...oneToOne,
      '-c:v', 'mjpeg', '-q:v', String(mjpegQscale(quality)), '-threads', '1', '-flush_packets', '1', '-f', 'mjpeg', 'pipe:1',
    ];
  }
  const gop = p.gopFrames ?? Math.max(1, Math.round((p.fps * DEFAULT_KEYFRAME_INTERVAL_MS) / 1000));
  return [
    '-an', '-vf', `${filter},format=yuv420p,${ENCODER_TAP_FILTER}`, ...oneToOne,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline',
    '-crf', String(h264Crf(quality)), '-g', String(gop), '-keyint_min', String(gop), '-bf', '0',
    // One slice per frame (zerolatency would slice per thread): simpler AUs, no quality loss at our sizes.
    // zerolatency already turns off lookahead and B-frames; with sliced threads off, x264 would
    // use frame threads (a frame held per thread): one thread codes each frame as it comes.
    '-x264-params', 'sliced-threads=0:repeat-headers=1', '-threads', '1',
    '-flush_packets', '1', '-f', 'flv', 'pipe:1',
  ];
}

/** The whole command line of a video capture process. */
export function videoCaptureArgs(source: VideoSource, p: VideoCaptureParams, opts: PlatformOptions = {}): string[] {
  return [...COMMON, '-nostdin', ...videoInputArgs(source, p, opts), ...videoEncoderArgs(p, source.kind === 'file')];
}

/** Input arguments for an audio source. */
export function audioInputArgs(source: AudioSource, opts: PlatformOptions = {}): string[] {
  const platform = opts.platform ?? process.platform;
  switch (source.kind) {
    case 'test':
      return ['-re', '-f', 'lavfi', '-i', `sine=frequency=${TEST_TONE_HZ}:sample_rate=${AUDIO_SAMPLE_RATE_HZ}:samples_per_frame=${TEST_TONE_BLOCK_SAMPLES}`];
    case 'file':
      return ['-stream_loop', '-1', '-re', '-i', source.path];
    case 'mic': {
      if (platform === 'darwin') return ['-f', 'avfoundation', '-i', `none:${source.device ?? '0'}`];
      if (platform === 'win32') return ['-f', 'dshow', '-i', `audio=${source.device ?? 'Microphone'}`];
      if (opts.pulse) return ['-f', 'pulse', '-fragment_size', String(PULSE_FRAGMENT_BYTES), '-i', source.device ?? 'default'];
      return ['-f', 'alsa', '-i', source.device ?? 'default'];
    }
  }
}

/** Output arguments that encode audio to stdout: Opus in Ogg (one packet per page) or raw PCM. */
export function audioEncoderArgs(codec: AudioCodec): string[] {
  const common = ['-vn', '-ac', String(AUDIO_CHANNELS), '-ar', String(AUDIO_SAMPLE_RATE_HZ)];
  if (codec === 'pcm') return [...common, '-f', 's16le', 'pipe:1'];
  return [
    ...common, '-c:a', 'libopus', '-b:a', String(OPUS_BITRATE_BPS), '-application', 'voip', '-frame_duration', String(AUDIO_FRAME_MS),
    '-flush_packets', '1', '-page_duration', String(OGG_PAGE_DURATION_US), '-f', 'ogg', 'pipe:1',
  ];
}

/** The whole command line of an audio capture process. */
export function audioCaptureArgs(source: AudioSource, codec: AudioCodec, opts: PlatformOptions = {}): string[] {
  return [...COMMON, '-nostdin', ...audioInputArgs(source, opts), ...audioEncoderArgs(codec)];
}

/** Demuxer for encoded video on a pipe: MJPEG as concatenated JPEGs, H.264 as Annex B. */
function videoDemuxer(codec: VideoCodec): string {
  return codec === 'mjpeg' ? 'mjpeg' : 'h264';
}

/** Boundary of the multipart stream the MJPEG decoder is fed (`-f mpjpeg`). */
export const MPJPEG_BOUNDARY = 'videochatframe';

/**
 * A video decoder: encoded frames on stdin -> rgb24 frames of exactly WxH on stdout.
 * Nothing in it holds a frame (measured: a frame leaves ~1 ms after it was written):
 * - MJPEG comes as multipart parts (`-f mpjpeg`, see mpjpegPart): each part says its length,
 *   so the demuxer hands the packet on at once. The byte-stream JPEG demuxers (`mjpeg`,
 *   `jpeg_pipe`, `image2pipe`) end a frame only when the next one starts (one frame late).
 * - H.264 is Annex B with an access unit delimiter after each frame (VideoDecoder.push).
 * - `-threads 1` twice: before `-i` it reaches the decoder, after it the rawvideo output
 *   (frame-threaded by default: it held another frame).
 * - `full_chroma_int+full_chroma_inp`: colour is scaled at full resolution. Without them
 *   swscale scales the 4:2:0 chroma planes to half the output size before converting: a
 *   testsrc2 JPEG decoded to 160x96 px was 25.1 dB from the picture scaled in RGB, now 43.7
 *   (test/media/args-jitter.test.ts); no cost measured at that size, about 1.8 ms a frame
 *   more in ffmpeg at 640x480.
 */
export function videoDecoderArgs(codec: VideoCodec, width: number, height: number): string[] {
  return [
    // Not `-fflags nobuffer`: with the h264 demuxer it loses frames (measured: 8 of 23 decoded).
    ...COMMON, '-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay', '-threads', '1',
    '-f', codec === 'mjpeg' ? 'mpjpeg' : 'h264', '-i', 'pipe:0', '-threads', '1',
    '-an', '-vf', `scale=${width}:${height}:flags=bicubic+full_chroma_int+full_chroma_inp`, '-pix_fmt', 'rgb24', '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** One JPEG as a part of the decoder's multipart input: boundary, headers with its length, the image, CRLF. */
export function mpjpegPart(jpeg: Uint8Array): Buffer[] {
  const head = `--${MPJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
  return [Buffer.from(head, 'latin1'), Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), CRLF];
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** An Opus decoder: Ogg pages on stdin -> 48 kHz mono s16le on stdout. */
export function audioDecoderArgs(): string[] {
  return [
    ...COMMON, '-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer', '-f', 'ogg', '-i', 'pipe:0',
    '-vn', '-ac', String(AUDIO_CHANNELS), '-ar', String(AUDIO_SAMPLE_RATE_HZ), '-flush_packets', '1', '-f', 's16le', 'pipe:1',
  ];
}

/** What a recording holds. */
export interface RecorderParams {
  path: string;
  /** Codec of the received video, or null for no video stream. */
  video: VideoCodec | null;
  /** Codec of the received audio, or null for no audio stream. */
  audio: AudioCodec | null;
}

/**
 * The recorder: video frames on fd 3, audio on fd 4 (Ogg pages or s16le), both stamped
 * with the wall clock as they arrive (a live call has no other timeline), copied into
 * Matroska without re-encoding.
 */
export function recorderArgs(p: RecorderParams): string[] {
  const args = [...COMMON, '-nostdin', '-y'];
  const maps: string[] = [];
  let index = 0;
  if (p.video) {
    args.push('-use_wallclock_as_timestamps', '1', '-probesize', '32', '-analyzeduration', '0', '-f', videoDemuxer(p.video), '-i', 'pipe:3');
    maps.push('-map', `${index++}:v`);
  }
  if (p.audio) {
    args.push('-use_wallclock_as_timestamps', '1', '-probesize', '32', '-analyzeduration', '0');
    if (p.audio === 'opus') args.push('-f', 'ogg', '-i', 'pipe:4');
    else args.push('-f', 's16le', '-ar', String(AUDIO_SAMPLE_RATE_HZ), '-ac', String(AUDIO_CHANNELS), '-i', 'pipe:4');
    maps.push('-map', `${index++}:a`);
  }
  return [...args, ...maps, '-c', 'copy', '-f', 'matroska', p.path];
}
