/**
 * The audio decoder: received packets -> 48 kHz mono s16le PCM for the sink. `pcm` passes
 * straight through; Opus is decoded in this process when `@discordjs/opus` loads, else by one
 * long-lived, supervised ffmpeg fed Ogg pages on stdin.
 */
import { OggWriter, opusHead, opusTags } from '../codec/ogg.js';
import type { AudioCodec } from '../codec/protocol/messages.js';
import { describeDeath } from '../proc/supervisor.js';
import { AUDIO_SAMPLE_RATE_HZ, audioDecoderArgs } from './args.js';
import { DECODER_MAX_QUEUED_BYTES } from './decode.js';
import { MediaError, type MediaWarning } from './errors.js';
import { MEDIA_MAX_RESTARTS, SupervisedMedia, restartWarning } from './ffmpeg-process.js';
import { OpusPacketDecoder } from './opus.js';

export interface AudioDecoderEvents {
  /** s16le mono 48 kHz PCM, in whatever chunk sizes ffmpeg writes. */
  pcm: [Buffer];
  warning: [MediaWarning];
  error: [MediaError];
}

export interface AudioDecoderOptions {
  ffmpeg: string;
  codec: AudioCodec;
  /** Decode Opus in-process (`@discordjs/opus`) instead of through an ffmpeg fed Ogg pages. */
  inProcessOpus?: boolean;
}

/**
 * Audio packets -> PCM. `pcm` packets pass straight through; Opus is decoded in-process
 * when `@discordjs/opus` loads (0.03 ms a packet, nothing held), else by an ffmpeg fed Ogg pages.
 */
export class AudioDecoder extends SupervisedMedia<AudioDecoderEvents> {
  private readonly ffmpeg: string;
  private readonly codec: AudioCodec;
  private readonly opus: OpusPacketDecoder | null;
  private ogg = new OggWriter();
  private closed = false;
  droppedPackets = 0;

  constructor(opts: AudioDecoderOptions) {
    super();
    this.ffmpeg = opts.ffmpeg;
    this.codec = opts.codec;
    this.opus = opts.codec === 'opus' && opts.inProcessOpus ? new OpusPacketDecoder() : null;
  }

  /** True when no ffmpeg is involved. */
  get inProcess(): boolean {
    return this.codec === 'pcm' || this.opus !== null;
  }

  start(): this {
    if (!this.inProcess && !this.sup && !this.closed) this.launch();
    return this;
  }

  private launch(): void {
    this.superviseFfmpeg({
      name: 'ffmpeg-opus-decoder',
      ffmpeg: this.ffmpeg,
      args: () => audioDecoderArgs(),
      stdio: ['pipe', 'pipe', 'pipe'],
      restart: { maxRestarts: MEDIA_MAX_RESTARTS, afterFailedStart: true },
      stop: (child) => child.stdin?.end(),
      killAfterMs: 1000,
    }, {
      spawn: (child, sup) => {
        // Every process needs its own Ogg stream, headers first.
        this.ogg = new OggWriter();
        child.stdin?.write(this.ogg.page(opusHead(1, 0, AUDIO_SAMPLE_RATE_HZ), 0, { bos: true }));
        child.stdin?.write(this.ogg.page(opusTags()));
        child.stdout?.on('data', (chunk: Buffer) => {
          sup.markStarted();
          this.emit('pcm', chunk);
        });
      },
      died: (death) => this.emit('warning', restartWarning('W_DECODER_RESTART', death)),
      gaveUp: (death) => this.emit('error', new MediaError('E_DECODE_FAILED', `audio decoding failed: ${describeDeath(death)}`)),
    });
  }

  /** Feeds one packet with its duration. Returns false when dropped (decoder backed up). */
  push(packet: Uint8Array, durationMs: number): boolean {
    if (this.closed) return false;
    if (this.codec === 'pcm') {
      this.emit('pcm', Buffer.from(packet));
      return true;
    }
    if (this.opus) {
      const pcm = this.opus.decode(packet);
      if (!pcm) {
        this.droppedPackets++;
        return false;
      }
      this.emit('pcm', pcm);
      return true;
    }
    if (!this.sup) this.launch();
    const stdin = this.sup?.child?.stdin;
    if (!stdin || !stdin.writable || stdin.writableLength > DECODER_MAX_QUEUED_BYTES) {
      this.droppedPackets++;
      return false;
    }
    stdin.write(this.ogg.page(packet, Math.round((durationMs * AUDIO_SAMPLE_RATE_HZ) / 1000)));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.retire();
  }
}
