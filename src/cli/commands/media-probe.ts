/**
 * What `videochat play` needs to know about a file before it starts decoding: the picture
 * size and shape (to keep the aspect ratio in the terminal), the frame rate and duration (to
 * tell a file that ended early from one that played through) and whether it has sound.
 *
 * It asks ffmpeg itself (`ffmpeg -i FILE` with no output prints the stream list and exits
 * 1): ffprobe is not always installed beside ffmpeg (the `ffmpeg-static` package ships no
 * ffprobe), and we must work with the one binary we resolved.
 */
import { execFile } from 'node:child_process';
import { MediaError } from '../../media/errors.js';

/** The probe must answer within this time (a network path or a wedged binary must not hang play). */
export const PROBE_TIMEOUT_MS = 15_000;
/** ffmpeg's stream listing of a big file fits easily; guard against a runaway anyway. */
const PROBE_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** The first video stream, as ffmpeg will decode it (rotation applied). */
export interface ProbedVideo {
  width: number;
  height: number;
  /** Sample (pixel) aspect ratio, width / height of one pixel; 1 when square or unknown. */
  sar: number;
  /** Frames per second, when the file says. */
  fps: number | null;
}

export interface MediaProbe {
  video: ProbedVideo | null;
  hasAudio: boolean;
  /** Seconds, when the container knows. */
  durationSec: number | null;
}

/**
 * Parses the stream listing `ffmpeg -i FILE` writes to stderr. Pure, so that odd listings can
 * be tested without files. Only the first video stream counts (it is the one ffmpeg maps).
 */
export function parseProbe(text: string): MediaProbe {
  let video: ProbedVideo | null = null;
  let hasAudio = false;
  let durationSec: number | null = null;
  let rotation = 0;
  let inFirstVideo = false;
  for (const line of text.split(/\r?\n/)) {
    const d = /^\s*Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
    if (d && durationSec === null) durationSec = Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]);
    if (/^\s*Stream #\d+:\d+/.test(line)) {
      inFirstVideo = false;
      if (/: Audio: /.test(line)) hasAudio = true;
      // Attached pictures (cover art) are video streams too, but not a film.
      if (/: Video: /.test(line) && !video && !/\(attached pic\)/.test(line)) {
        const body = line.slice(line.indexOf(': Video: '));
        const size = /[ ,](\d{1,5})x(\d{1,5})(?=[ ,\]]|$)/.exec(body);
        if (size && Number(size[1]) > 0 && Number(size[2]) > 0) {
          const sarMatch = /\[SAR (\d+):(\d+)/.exec(body);
          const sar = sarMatch && Number(sarMatch[1]) > 0 && Number(sarMatch[2]) > 0 ? Number(sarMatch[1]) / Number(sarMatch[2]) : 1;
          const fpsMatch = /, (\d+(?:\.\d+)?) fps/.exec(body) ?? /, (\d+(?:\.\d+)?) tbr/.exec(body);
          video = { width: Number(size[1]), height: Number(size[2]), sar, fps: fpsMatch ? Number(fpsMatch[1]) : null };
          inFirstVideo = true;
        }
      }
      continue;
    }
    // Phone videos carry a display matrix; ffmpeg rotates them while decoding.
    const rot = /rotation of (-?\d+(?:\.\d+)?) degrees/.exec(line);
    if (rot && inFirstVideo) rotation = Number(rot[1]);
  }
  if (video && Math.abs(Math.round(rotation / 90)) % 2 === 1) {
    video = { ...video, width: video.height, height: video.width, sar: 1 / video.sar };
  }
  return { video, hasAudio, durationSec };
}

/**
 * Probes `file` with `ffmpeg`. A file ffmpeg cannot read as media is a MediaError
 * (E_MEDIA_UNREADABLE, exit 7) carrying ffmpeg's own last line.
 */
export function probeMedia(ffmpeg: string, file: string): Promise<MediaProbe> {
  return new Promise((resolve, reject) => {
    execFile(ffmpeg, ['-hide_banner', '-nostdin', '-i', file], { timeout: PROBE_TIMEOUT_MS, maxBuffer: PROBE_MAX_OUTPUT_BYTES },
      (err, _stdout, stderr) => {
        const text = String(stderr);
        const probe = parseProbe(text);
        if (probe.video || probe.hasAudio) {
          resolve(probe);
          return;
        }
        if ((err as { killed?: boolean } | null)?.killed) {
          reject(new MediaError('E_MEDIA_UNREADABLE', `${file}: ffmpeg did not answer within ${PROBE_TIMEOUT_MS / 1000} s`));
          return;
        }
        const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/output file must be specified/.test(l));
        const why = lines.pop() ?? 'no video or audio stream';
        reject(new MediaError('E_MEDIA_UNREADABLE', `cannot play ${file}: ${why.replace(`${file}: `, '')}`));
      });
  });
}
