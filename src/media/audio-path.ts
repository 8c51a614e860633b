/**
 * Which audio path a call takes, decided once per call:
 * - in-process (when `@discordjs/opus` loads, or with `--audio-codec pcm`): ffmpeg hands over
 *   raw PCM from the mic, and echo cancelling, Opus encoding and decoding happen here;
 * - else ffmpeg encodes Opus into Ogg and another ffmpeg decodes it (no echo canceller).
 * The echo canceller runs when it is wanted (`--no-echo-cancel` turns it off), there is
 * something to cancel (our mic and a loudspeaker), the path is in-process and the addon is built.
 */
import type { AudioCodec } from '../codec/protocol/messages.js';
import { echoCancellerStatus } from './echo.js';
import { hasInProcessOpus, opusLoadError } from './opus.js';

export interface AudioPathInput {
  audioCodec: AudioCodec;
  audioIn: { kind: string };
  audioOut: { kind: string };
  /** Default true; `--no-echo-cancel` sets false. */
  echoCancel?: boolean;
}

export interface AudioPlan {
  /** Opus is encoded and decoded in-process. */
  inProcessOpus: boolean;
  /** The canceller's name when it will run, else null. */
  echoCanceller: string | null;
  /** Why not, when it will not ('' when it will). */
  echoWhyNot: string;
}

export function planAudioPath(o: AudioPathInput): AudioPlan {
  const inProcessOpus = hasInProcessOpus();
  const inProcess = o.audioCodec === 'pcm' || inProcessOpus;
  const status = echoCancellerStatus();
  let why = '';
  if (o.echoCancel === false) why = 'turned off (--no-echo-cancel)';
  else if (o.audioIn.kind === 'none') why = 'no microphone';
  else if (o.audioOut.kind !== 'speaker') why = 'no loudspeaker';
  else if (!inProcess) why = `Opus is not in-process (${opusLoadError()})`;
  else if (!status.name) why = status.why;
  return { inProcessOpus, echoCanceller: why ? null : status.name, echoWhyNot: why };
}
