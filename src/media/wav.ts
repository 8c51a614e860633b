/**
 * WAV output for `--audio-out FILE.wav`: written in-process (no device, nothing that can
 * abort us), with the RIFF sizes patched on close so the file is valid.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const WAV_HEADER_BYTES = 44;
/** RIFF sizes are 32-bit: stop writing before the file would become invalid. */
export const WAV_MAX_DATA_BYTES = 0xffffffff - WAV_HEADER_BYTES;

/** A canonical 44-byte PCM WAV header. */
export function wavHeader(dataBytes: number, sampleRateHz: number, channels: number, bitsPerSample: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = (channels * bitsPerSample) / 8;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRateHz, 24);
  h.writeUInt32LE(sampleRateHz * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** Appends PCM to a WAV file; `close()` writes the final header. */
export class WavFileWriter {
  private fd: number | undefined;
  private dataBytes = 0;

  constructor(
    readonly path: string,
    private readonly sampleRateHz = 48_000,
    private readonly channels = 1,
    private readonly bitsPerSample = 16,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(0, sampleRateHz, channels, bitsPerSample));
  }

  write(pcm: Uint8Array): void {
    if (this.fd === undefined || this.dataBytes + pcm.length > WAV_MAX_DATA_BYTES) return;
    writeSync(this.fd, pcm);
    this.dataBytes += pcm.length;
  }

  /** Finalizes the header. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, wavHeader(this.dataBytes, this.sampleRateHz, this.channels, this.bitsPerSample), 0, WAV_HEADER_BYTES, 0);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
