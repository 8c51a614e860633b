/**
 * The checks of `videochat doctor`. Each returns one result with a fix hint. Only ffmpeg
 * and its codecs are needed (`fail`); everything else is a `warn`, so that doctor passes on
 * a headless server that has ffmpeg and nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegCapabilities, resolveFfmpeg, type ResolvedFfmpeg } from '../../media/ffmpeg-path.js';
import { AUDIO_FRAME_BYTES } from '../../media/args.js';
import { speakerChildCommand } from '../../media/audio-sink.js';
import { echoCancellerStatus } from '../../media/echo.js';
import { opusLoadError } from '../../media/opus.js';
import { NO_SOUND_CARD, alsaDefaultSource } from '../../media/alsa.js';
import { chooseRendering, readTerminalEnv } from '../commands/terminal-env.js';
import { listDevices, type DeviceList } from '../commands/device-list.js';
import { describeConnectError } from '../net-words.js';

/** A relay port must accept a TCP connection within this time. */
export const RELAY_CONNECT_TIMEOUT_MS = 3000;
/** The speaker child must play a little silence and exit within this time. */
export const SPEAKER_CHECK_TIMEOUT_MS = 8000;
/** Silence written to the speaker child: a few 20 ms frames, enough to open the device. */
const SPEAKER_CHECK_FRAMES = 3;

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the report. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; null when there is nothing to do. */
  fix: string | null;
}

/** Encoders and decoders a call needs: MJPEG and H.264 video, Opus audio. */
export const NEEDED_ENCODERS = ['mjpeg', 'libx264', 'libopus'] as const;
/** Decoders: ffmpeg's native opus decoder or libopus both do. */
export const NEEDED_DECODERS: ReadonlyArray<readonly string[]> = [['mjpeg'], ['h264'], ['opus', 'libopus']];

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail, fix: null });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'warn', detail, fix });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });

/** ffmpeg itself: found and runs. Also returns the binary for the following checks. */
export async function checkFfmpeg(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<{ result: CheckResult; ffmpeg?: ResolvedFfmpeg }> {
  try {
    const ffmpeg = await resolveFfmpeg({ flag, env });
    return { result: ok('ffmpeg', `${ffmpeg.path} (${versionWords(ffmpeg.version)}; found via ${ffmpeg.source})`), ffmpeg };
  } catch (err) {
    return {
      result: fail('ffmpeg', (err as Error).message.replace(/; install ffmpeg.*$/, ''),
        'install ffmpeg (apt install ffmpeg, dnf install ffmpeg, brew install ffmpeg) or pass --ffmpeg PATH / set VIDEOCHAT_FFMPEG'),
    };
  }
}

/** `ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers` -> `version 5.1.6-0+deb12u1`. */
export function versionWords(firstLine: string): string {
  return firstLine.replace(/\s+Copyright\b.*$/i, '').replace(/^ffmpeg\s+/i, '').trim() || firstLine;
}

/** The codecs we encode and decode with, plus lavfi for `--video-in test` (a warning only). */
export async function checkCodecs(ffmpeg: ResolvedFfmpeg | undefined): Promise<CheckResult[]> {
  if (!ffmpeg) return [fail('ffmpeg codecs', 'not checked: no working ffmpeg', 'fix ffmpeg first (see above)')];
  let caps;
  try {
    caps = await ffmpegCapabilities(ffmpeg.path);
  } catch (err) {
    return [fail('ffmpeg codecs', `ffmpeg could not list its codecs: ${(err as Error).message}`, 'reinstall ffmpeg')];
  }
  const missingEnc = NEEDED_ENCODERS.filter((e) => !caps.encoders.includes(e));
  const missingDec = NEEDED_DECODERS.filter((alts) => !alts.some((d) => caps.decoders.includes(d))).map((alts) => alts.join('/'));
  const results: CheckResult[] = [];
  const have = `encoders ${NEEDED_ENCODERS.join(', ')}; decoders ${NEEDED_DECODERS.map((a) => a.find((d) => caps.decoders.includes(d)) ?? a[0]).join(', ')}`;
  if (missingEnc.length || missingDec.length) {
    const what = [...missingEnc.map((e) => `encoder ${e}`), ...missingDec.map((d) => `decoder ${d}`)].join(', ');
    results.push(fail('ffmpeg codecs', `missing ${what}`,
      'install an ffmpeg built with libx264 and libopus (Debian/Ubuntu: apt install ffmpeg; the ffmpeg-static npm package also has them)'));
  } else {
    results.push(ok('ffmpeg codecs', have));
  }
  if (!caps.inputDevices.includes('lavfi')) {
    results.push(warn('ffmpeg lavfi', 'no lavfi input: `--video-in test`, `--audio-in test` and `demo` will not work',
      'install an ffmpeg built with libavfilter devices (most distributions ship it)'));
  }
  return results;
}

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
}

/** Waits for a check's child process: its exit, its stderr, and SIGKILL past the check's time limit. */
function outcomeOf(child: ChildProcess): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, SPEAKER_CHECK_TIMEOUT_MS);
    child.on('error', (err) => { stderr += err.message; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr: stderr.trim(), timedOut });
    });
  });
}

/** Runs the real speaker child (the one calls use) on `device`, feeding it a little silence. */
function runSpeakerChild(device: string, env: NodeJS.ProcessEnv): Promise<ChildOutcome> {
  const { command, args } = speakerChildCommand();
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...env, VIDEOCHAT_SPEAKER_DEVICE: device } });
  const outcome = outcomeOf(child);
  child.stdin.on('error', () => undefined);
  child.stdin.end(Buffer.alloc(AUDIO_FRAME_BYTES * SPEAKER_CHECK_FRAMES));
  return outcome;
}

function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
}

/**
 * ALSA configuration for the load check: speaker's native module opens ALSA's `default` PCM
 * while it loads (to ask for its formats) and aborts when there is none, so loading it with
 * the machine's configuration would test the default, not the module.
 */
const NULL_DEFAULT_ASOUNDRC = 'pcm.!default { type null }\npcm.null { type null }\n';

/** Loads (only loads) the speaker module in a child: a broken native build must not take us down. */
function loadSpeakerChild(env: NodeJS.ProcessEnv): Promise<ChildOutcome> {
  let target: string;
  try {
    target = createRequire(import.meta.url).resolve('speaker');
  } catch {
    return Promise.resolve({ code: 1, signal: null, stderr: 'Cannot find module speaker', timedOut: false });
  }
  const dir = mkdtempSync(join(tmpdir(), 'videochat-doctor-'));
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, NULL_DEFAULT_ASOUNDRC);
  const script = `require(${JSON.stringify(target)})`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, ALSA_CONFIG_PATH: conf } });
  return outcomeOf(child).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/**
 * Audio output: the speaker module loads, ALSA has a default, and the default output really
 * plays (the real speaker child of calls, fed a little silence). All in child processes:
 * speaker can abort the process that opens a device.
 */
export async function checkAudioOutput(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): Promise<CheckResult[]> {
  const fallback = 'calls still work: --audio-out none, or --audio-out FILE.wav to record the sound';
  const load = await loadSpeakerChild(env);
  if (load.code !== 0) {
    const why = /Cannot find (module|package)/.test(load.stderr) ? 'the speaker module is not installed'
      : load.signal ? `loading speaker killed the child (${load.signal})` : lastLine(load.stderr) || `exit ${load.code}`;
    return [warn('speaker', why, `npm rebuild speaker (on Linux it needs libasound2-dev to build); ${fallback}`)];
  }
  const results: CheckResult[] = [ok('speaker', 'the speaker module loads')];
  const played = await runSpeakerChild('', env);
  const linux = platform === 'linux';
  if (linux) {
    const source = alsaDefaultSource(env);
    if (source) results.push(ok('ALSA default', source));
    else if (played.code === 0) results.push(ok('ALSA default', 'from the system configuration'));
    else {
      results.push(warn('ALSA default', `${NO_SOUND_CARD} (~/.asoundrc, /etc/asound.conf, a pulse/pipewire plugin)`,
        `on a desktop install a sound server (PipeWire or PulseAudio with its ALSA plugin); on a server: ${fallback}`));
    }
  }
  if (played.code === 0) {
    results.push(ok('audio output', 'the default output played a short silence'));
  } else {
    const why = played.timedOut ? `no answer within ${SPEAKER_CHECK_TIMEOUT_MS / 1000} s`
      : played.signal ? `the audio library aborted (${played.signal})`
        : lastLine(played.stderr) || `exit ${played.code}`;
    results.push(warn('audio output', `the default output cannot play: ${why}`,
      linux ? `check that ALSA's default device works (aplay -L; speaker-test -c1 -l1); ${fallback}` : fallback));
  }
  return results;
}

/**
 * The echo canceller calls would use (it needs in-process Opus, or `--audio-codec pcm`, and
 * the native/aec addon), named; none is a warning with the way to get one.
 */
export function checkEchoCanceller(): CheckResult[] {
  const opusError = opusLoadError();
  const opus = opusError
    ? warn('opus in-process', `no: ${opusError}`, 'npm rebuild @discordjs/opus; meanwhile ffmpeg encodes and decodes Opus (no echo canceller)')
    : ok('opus in-process', '@discordjs/opus');
  const status = echoCancellerStatus();
  const name = 'echo canceller';
  if (status.name && !opusError) return [opus, ok(name, `${status.name}; --no-echo-cancel turns it off`)];
  const why = status.name ? 'none: it needs in-process Opus' : `none: ${status.why}`;
  return [opus, warn(name, why, 'apt-get install libwebrtc-audio-processing-dev pkg-config, then npm rebuild videochat; meanwhile use headphones')];
}

/** Camera and microphone, from the device list. */
export function checkDevices(list: DeviceList): CheckResult[] {
  const note = (prefix: string): string | undefined => list.notes.find((n) => n.startsWith(prefix))?.replace(/^[^:]*: /, '');
  const cams = list.cameras;
  const mics = list.microphones;
  return [
    cams.length
      ? ok('camera', cams.map((d) => `${d.id} (${d.name})`).join(', '))
      : warn('camera', note('no camera') ?? 'none found',
        'plug in a camera and check its permissions (Linux: the video group); meanwhile --video-in test, a FILE or none'),
    mics.length
      ? ok('microphone', mics.map((d) => `${d.id} (${d.name}, ${d.backend})`).join(', '))
      : warn('microphone', note('no microphone') ?? 'none found',
        'plug in a microphone (Linux: check pactl list short sources / arecord -l); meanwhile --audio-in test, a FILE or none'),
  ];
}

/** What `--render auto` and `--colors auto` would pick here, from the environment. */
export function checkTerminal(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): CheckResult {
  const t = readTerminalEnv(env);
  const choice = chooseRendering('auto', 'auto', env, stdoutIsTTY);
  const picks = `--render auto -> ${choice.mode ?? 'none'}, --colors auto -> ${choice.colors}`;
  if (!stdoutIsTTY) {
    return ok('terminal', `standard output is not a terminal: ${picks} (run doctor in the terminal you call from to check it)`);
  }
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const detail = `TERM=${t.term || '(unset)'}${t.program ? ` TERM_PROGRAM=${t.program}` : ''}; truecolor ${yes(t.truecolor)}, `
    + `kitty graphics ${yes(t.kitty)}, sixel not queried, tmux ${yes(t.tmux)}; ${picks}`;
  if (choice.colors === 16) {
    return warn('terminal', detail, 'if your terminal shows 24-bit colour, set COLORTERM=truecolor (or pass --colors truecolor)');
  }
  if (t.tmux) {
    return warn('terminal', detail, "inside tmux, sixel and kitty graphics need `set -g allow-passthrough on` in tmux.conf; blocks always work");
  }
  return ok('terminal', detail);
}

/** TCP connect (then close, no handshake: the relay drops it as a short read) to one port. */
export function tcpReachable(host: string, port: number, timeoutMs = RELAY_CONNECT_TIMEOUT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (err: string | null): void => {
      socket.destroy();
      resolve(err);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(describeConnectError(e, host, port)));
  });
}

/** The relay's two ports. */
export async function checkRelay(host: string, videoPort: number, audioPort: number): Promise<CheckResult> {
  const [v, a] = await Promise.all([tcpReachable(host, videoPort), tcpReachable(host, audioPort)]);
  if (!v && !a) return ok('relay', `${host} accepts connections on video port ${videoPort} and audio port ${audioPort}`);
  const bad = [v ? `video port: ${v}` : '', a ? `audio port: ${a}` : ''].filter(Boolean).join('; ');
  // The relay asked about is down: calls through it cannot work, so this fails (not a warning).
  return fail('relay', `${host} unreachable (${bad})`,
    'check that videochatd runs there and listens on these ports (--video-port/--audio-port), and that no firewall blocks them');
}

/** Cameras and microphones for the device checks (ffmpeg verifies cameras when there is one). */
export function devicesFor(ffmpeg: ResolvedFfmpeg | undefined, env: NodeJS.ProcessEnv): Promise<DeviceList> {
  return listDevices({ ...(ffmpeg ? { ffmpeg: ffmpeg.path } : {}), env });
}
