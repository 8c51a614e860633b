/** What a call (CallSession) is made with: the resolved options of `videochat connect`, and the SETUP they make. */
import type { Setup } from '../../codec/protocol/index.js';
import { AUDIO_FRAME_MS } from '../../media/args.js';
import type { AudioCodec, AudioIn, AudioOut, VideoCodec, VideoIn } from '../options.js';
import { VERSION } from '../version.js';
import type { ReceiveMedia } from './receive-pipeline.js';

export interface CallOptions {
  host: string;
  videoPort: number;
  audioPort: number;
  /** The session code as the user sees it. */
  session: string;
  videoIn: VideoIn;
  audioIn: AudioIn;
  width: number;
  height: number;
  fps: number;
  videoCodec: VideoCodec;
  audioCodec: AudioCodec;
  audioOut: AudioOut;
  record?: string;
  /** Hang up this many seconds after the peer joined. */
  durationSec?: number;
  waitSec: number;
  graceSec: number;
  ffmpeg: string;
  insecure: boolean;
  /** Pixel size decoded peer frames are scaled to; null = the peer's capture size. */
  decodeSize: { width: number; height: number } | null;
  /** End the call once the first peer frame is decoded (for --snapshot). */
  stopAfterFirstFrame?: boolean;
  /** Test only: our clock runs this many ms ahead of the wall clock. */
  clockOffsetMs?: number;
  /** Environment for children (the speaker child reads ALSA settings from it). */
  env?: NodeJS.ProcessEnv;
  /** Reconnect after an unexpected close (default true; `--no-reconnect` sets false). */
  reconnect?: boolean;
  /** Give up reconnecting after the relay was unreachable this long (default RECONNECT_GIVE_UP_SEC). */
  reconnectGiveUpSec?: number;
  /** Take the speaker's echo out of what the mic sends (default true; `--no-echo-cancel` sets false). */
  echoCancel?: boolean;
  /** Nothing from a joined peer for this long: it is lost (`--peer-timeout`; 0 = off; default DEFAULT_PEER_TIMEOUT_SEC). */
  peerTimeoutSec?: number;
  /** Put before the rendezvous id in the relay handshake (a room's `vcroom1-` when a relay without rooms pairs two members). */
  rendezvousPrefix?: string;
}

/** The SETUP we send: what we capture, or null for a medium we have no input for. */
export function ourSetup(opts: CallOptions): Setup {
  const { videoIn, audioIn, width, height, fps, videoCodec, audioCodec } = opts;
  return {
    client: 'videochat',
    clientVersion: VERSION,
    video: videoIn.kind === 'none' ? null : { codec: videoCodec, width, height, fps },
    audio: audioIn.kind === 'none' ? null : { codec: audioCodec, sampleRate: 48_000, channels: 1, frameMs: AUDIO_FRAME_MS },
  };
}

/** What the peer sends, at the size the renderer asked for (else its capture size). */
export function receiveMediaFor(peer: Setup, decodeSize: CallOptions['decodeSize']): ReceiveMedia {
  const size = peer.video ? decodeSize ?? { width: peer.video.width, height: peer.video.height } : null;
  return { video: peer.video && size ? { codec: peer.video.codec, ...size } : null, audio: peer.audio ? { codec: peer.audio.codec } : null };
}

/** The two SETUPs describe the same media (a returning peer that needs no new decoders). */
export function sameMedia(a: Setup | null, b: Setup): boolean {
  return JSON.stringify(a?.video ?? null) === JSON.stringify(b.video ?? null)
    && JSON.stringify(a?.audio ?? null) === JSON.stringify(b.audio ?? null);
}
