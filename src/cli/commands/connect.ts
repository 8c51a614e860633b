/**
 * `videochat connect`: validates options, finds ffmpeg, runs a CallSession and presents it
 * as the TUI (stdout a TTY, no --headless/--json), NDJSON (--json) or plain progress lines
 * on stderr (--headless). Resolves to the exit status of docs/contract.md.
 */
import { DITHER_KINDS, type DitherKind } from '../../codec/render/dither.js';
import { spawn } from 'node:child_process';
import { UsageError } from '../../codec/errors.js';
import { resolveFfmpeg } from '../../media/ffmpeg-path.js';
import type { CommandContext, RawOptions } from '../program.js';
import {
  AUDIO_CODECS, COLORS_CHOICES, SYMBOLS_CHOICES, DEFAULT_AUDIO_PORT, DEFAULT_FPS, DEFAULT_GRACE_SEC, DEFAULT_HOST, DEFAULT_SIZE,
  DEFAULT_PEER_TIMEOUT_SEC, DEFAULT_VIDEO_PORT, DEFAULT_WAIT_SEC, MAX_FPS, RENDER_CHOICES, VIDEO_CODECS,
  parseAudioIn, parseAudioOut, parseCells, parseChoice, parsePeerTimeout, parsePort, parsePositiveInt, parseSeconds, parseSession,
  parseSize, parseVideoIn, PEER_PROTOCOLS, type ColorsChoice, type PeerProtocol, type RenderChoice, type SymbolsChoice,
} from '../options.js';
import { CallSession, type CallOptions } from '../session/call.js';
import { OriginalCallSession } from '../session/original-call.js';
import { EXIT_CODES, type CallStats, type EndReason } from '../session/events.js';
import { endReasonOf } from '../exit-codes.js';
import { attachNdjson, ndjsonLine } from '../session/ndjson.js';
import { attachHumanLog } from '../session/human-log.js';
import { sessionCodeFor } from '../session/code.js';
import { reconnectGiveUpSec } from '../session/reconnect.js';
import { blameSource } from '../option-source.js';
import { preflightPaths } from '../preflight.js';
import { watchHangup } from '../hangup-watch.js';
import { endedLine } from '../session/human-log.js';
import { roomSettings, runRoom } from './connect-room.js';
import { presentAndRun } from './present-session.js';

/** Everything `connect` needs, validated. */
export interface ConnectSettings {
  call: Omit<CallOptions, 'ffmpeg'>;
  render: RenderChoice;
  colors: ColorsChoice;
  dither: DitherKind;
  symbols: SymbolsChoice;
  cells?: { cols: number; rows: number };
  snapshot?: string;
  json: boolean;
  headless: boolean;
  ffmpegFlag?: string;
  reconnect: boolean;
  /** The code was generated here (show it to the user). */
  generatedCode: boolean;
  /** One line when a typed code is weak. */
  codeWarning?: string;
  /** Whom we call: a videochat peer, or the original VideoChat client. */
  peerProtocol: PeerProtocol;
  /** `--room`: a group call (connect-room.ts), and `--name`. */
  room?: { name?: string };
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Turns raw option values into settings, or throws a UsageError naming the bad option. */
export function resolveConnectSettings(raw: RawOptions, env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): ConnectSettings {
  const size = parseSize(str(raw.size) ?? DEFAULT_SIZE);
  const json = raw.json === true;
  const headless = json || raw.headless === true || !stdoutIsTTY;
  const snapshot = str(raw.snapshot);
  if (snapshot !== undefined && !/\.png$/i.test(snapshot)) throw new UsageError(`--snapshot must name a .png file, got '${snapshot}'`);
  const record = str(raw.record);
  if (record !== undefined && !/\.mkv$/i.test(record)) throw new UsageError(`--record must name a .mkv file, got '${record}'`);
  const clockOffset = env.VIDEOCHAT_TEST_CLOCK_OFFSET_MS;
  const code = sessionCodeFor(str(raw.session) !== undefined ? parseSession(str(raw.session)!) : undefined);
  const peerProtocol = parseChoice(str(raw.peerProtocol) ?? 'videochat', PEER_PROTOCOLS, '--peer-protocol');
  if (peerProtocol === 'original') {
    // The original speaks JPEG and 44.1 kHz PCM only, and knows no reconnection.
    if (str(raw.videoCodec) !== undefined && str(raw.videoCodec) !== 'mjpeg') {
      throw new UsageError(`--peer-protocol original sends JPEG frames; --video-codec ${str(raw.videoCodec)} does not apply`);
    }
    if (str(raw.audioCodec) !== undefined) throw new UsageError('--peer-protocol original sends raw 44.1 kHz PCM; --audio-codec does not apply');
    if (str(raw.session) === undefined) {
      throw new UsageError('--peer-protocol original needs --session: the original client has no generated codes (its default is ABC123)');
    }
  }
  const room = raw.room === true ? roomSettings(raw) : undefined;
  if (!room && str(raw.name) !== undefined) throw new UsageError('--name is for --room (the name the other members see)');
  return {
    ...(room ? { room } : {}),
    call: {
      host: str(raw.host) ?? DEFAULT_HOST,
      videoPort: parsePort(str(raw.videoPort) ?? String(DEFAULT_VIDEO_PORT), '--video-port'),
      audioPort: parsePort(str(raw.audioPort) ?? String(DEFAULT_AUDIO_PORT), '--audio-port'),
      session: code.code,
      videoIn: parseVideoIn(str(raw.videoIn) ?? 'camera'),
      audioIn: parseAudioIn(str(raw.audioIn) ?? 'mic'),
      width: size.width,
      height: size.height,
      fps: parsePositiveInt(str(raw.fps) ?? String(DEFAULT_FPS), '--fps', MAX_FPS),
      videoCodec: parseChoice(str(raw.videoCodec) ?? 'mjpeg', VIDEO_CODECS, '--video-codec'),
      audioCodec: parseChoice(str(raw.audioCodec) ?? 'opus', AUDIO_CODECS, '--audio-codec'),
      audioOut: parseAudioOut(str(raw.audioOut) ?? 'speaker'),
      ...(record ? { record } : {}),
      ...(raw.duration !== undefined ? { durationSec: parseSeconds(str(raw.duration) ?? '', '--duration') } : {}),
      waitSec: parseSeconds(str(raw.wait) ?? String(DEFAULT_WAIT_SEC), '--wait'),
      graceSec: parseSeconds(str(raw.grace) ?? String(DEFAULT_GRACE_SEC), '--grace'),
      peerTimeoutSec: parsePeerTimeout(str(raw.peerTimeout) ?? String(DEFAULT_PEER_TIMEOUT_SEC)),
      insecure: raw.insecure === true,
      decodeSize: null,
      echoCancel: raw.echoCancel !== false,
      stopAfterFirstFrame: snapshot !== undefined,
      ...(clockOffset && /^-?\d+(\.\d+)?$/.test(clockOffset) ? { clockOffsetMs: Number(clockOffset) } : {}),
      env,
    },
    render: parseChoice(str(raw.render) ?? 'auto', RENDER_CHOICES, '--render'),
    colors: parseChoice(str(raw.colors) ?? 'auto', COLORS_CHOICES, '--colors'),
    dither: parseChoice(str(raw.dither) ?? 'none', DITHER_KINDS, '--dither'),
    symbols: parseChoice(str(raw.symbols) ?? 'auto', SYMBOLS_CHOICES, '--symbols'),
    ...(str(raw.cells) ? { cells: parseCells(str(raw.cells)!) } : {}),
    ...(snapshot ? { snapshot } : {}),
    json,
    headless,
    ...(str(raw.ffmpeg) ? { ffmpegFlag: str(raw.ffmpeg) } : {}),
    reconnect: raw.reconnect !== false,
    generatedCode: code.generated,
    ...(code.warning && peerProtocol === 'videochat' ? { codeWarning: code.warning } : {}),
    peerProtocol,
  };
}

const ZERO_STATS: CallStats = {
  videoFramesSent: 0, videoFramesReceived: 0, videoFramesDropped: 0, videoFpsIn: 0, videoFpsOut: 0,
  audioMsSent: 0, audioMsReceived: 0, audioBufferMs: 0, audioUnderruns: 0, bytesSent: 0, bytesReceived: 0,
  rttMs: null, latencyMs: null, encrypted: false,
};

/** Writes one RGB24 frame as PNG with a one-shot ffmpeg (once per call, never per frame). */
function writePng(ffmpeg: string, frame: { width: number; height: number; data: Uint8Array }, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
      '-s', `${frame.width}x${frame.height}`, '-i', 'pipe:0', '-frames:v', '1', path], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not write ${path}: ${err.trim().split('\n').pop() ?? code}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
  });
}

export async function run(_args: string[], raw: RawOptions, ctx: CommandContext): Promise<number> {
  const json = raw.json === true;
  // Armed first: a signal, a closed stdout or a vanished parent hangs up whatever the stage.
  let session: { hangup(why?: string): void } | undefined;
  let hungUp: string | undefined;
  const watch = watchHangup({
    stdout: ctx.stdout, stderr: ctx.stderr, stdin: ctx.stdin,
    onHangup: (why) => {
      hungUp = why;
      session?.hangup(why);
    },
  });
  try {
    return await runConnect(raw, ctx, json, {
      started: (s) => {
        session = s;
        if (hungUp !== undefined) s.hangup(hungUp);
      },
      hungUp: () => hungUp,
    });
  } finally {
    watch.stop();
  }
}

async function runConnect(
  raw: RawOptions, ctx: CommandContext, json: boolean,
  hooks: { started: (s: { hangup(why?: string): void }) => void; hungUp: () => string | undefined },
): Promise<number> {
  const fatal = (reason: EndReason, message: string): number => {
    const exitCode = EXIT_CODES[reason];
    if (json) ctx.stdout.write(ndjsonLine('ended', { reason, exitCode, message, ...ZERO_STATS }));
    ctx.stderr.write(`videochat: ${message}\n`);
    return exitCode;
  };

  let settings: ConnectSettings;
  let ffmpeg: string;
  try {
    settings = resolveConnectSettings(raw, ctx.env, ctx.stdout.isTTY === true);
    ffmpeg = (await resolveFfmpeg({ flag: settings.ffmpegFlag, env: ctx.env })).path;
    await preflightPaths(ffmpeg, { ...settings.call, ...(settings.snapshot ? { snapshot: settings.snapshot } : {}) });
  } catch (caught) {
    const err = blameSource(caught, raw);
    const reason = endReasonOf(err);
    if (reason !== undefined) return fatal(reason, (err as Error).message);
    throw err;
  }

  if (settings.room) return runRoom(settings, ffmpeg, ctx, hooks);

  const session = settings.peerProtocol === 'original'
    ? new OriginalCallSession({ ...settings.call, ffmpeg })
    : new CallSession({ ...settings.call, ffmpeg, reconnect: settings.reconnect, reconnectGiveUpSec: reconnectGiveUpSec(ctx.env) });

  let snapshotDone: Promise<void> | undefined;
  let snapshotError: Error | undefined;
  if (settings.snapshot) {
    const path = settings.snapshot;
    session.once('video-frame', (frame) => {
      snapshotDone = writePng(ffmpeg, { ...frame, data: Buffer.from(frame.data) }, path).catch((e: Error) => { snapshotError = e; });
    });
  }

  const result = await presentAndRun(session, settings, ctx, hooks, {
    ndjson: attachNdjson, humanLog: attachHumanLog, endedLine,
    tui: async () => (await import('./connect-tui.js')).prepareInteractive(settings, ctx),
  });
  if (snapshotDone) await snapshotDone;
  if (settings.snapshot) {
    if (snapshotError) {
      ctx.stderr.write(`videochat: ${snapshotError.message}\n`);
      return EXIT_CODES.media;
    }
    if (!snapshotDone && result.exitCode === 0) {
      ctx.stderr.write('videochat: the call ended before a peer frame was decoded; no snapshot written\n');
      return EXIT_CODES.media;
    }
  }
  return result.exitCode;
}
