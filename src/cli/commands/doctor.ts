/**
 * `videochat doctor [--host H] [--json]`: checks what a call needs and prints a fix for every
 * problem. Exit 1 when something needed is missing (ffmpeg, or one of its codecs we use),
 * 3 when all that fails is the relay asked about with --host, else 0: audio output, camera,
 * microphone and terminal are warnings only, so doctor passes on a headless server with ffmpeg. `--json`: one object `{ ok, checks: [{ name,
 * status: ok|warn|fail, detail, fix }] }`.
 */
import { EXIT_CODES, EXIT_FAILURE } from '../exit-codes.js';
import { DEFAULT_AUDIO_PORT, DEFAULT_VIDEO_PORT, parsePort } from '../options.js';
import type { CommandContext, RawOptions } from '../program.js';
import {
  checkAudioOutput, checkCodecs, checkDevices, checkEchoCanceller, checkFfmpeg, checkRelay, checkTerminal, devicesFor, type CheckResult,
} from '../doctor/checks.js';

/** Exit status when something needed is missing. */
export const EXIT_DOCTOR_FAILED = EXIT_FAILURE;
/** Exit status when only the relay asked about (--host) is unreachable (as connect's relay-unreachable). */
export const EXIT_DOCTOR_RELAY_DOWN = EXIT_CODES['relay-unreachable'];

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Runs every check, in report order. */
export async function runChecks(raw: RawOptions, ctx: CommandContext): Promise<CheckResult[]> {
  const host = str(raw.host);
  const videoPort = parsePort(str(raw.videoPort) ?? String(DEFAULT_VIDEO_PORT), '--video-port');
  const audioPort = parsePort(str(raw.audioPort) ?? String(DEFAULT_AUDIO_PORT), '--audio-port');
  const { result, ffmpeg } = await checkFfmpeg(str(raw.ffmpeg), ctx.env);
  // Independent checks run side by side: each waits on a child process or a socket.
  const [codecs, audio, devices, relay] = await Promise.all([
    checkCodecs(ffmpeg),
    checkAudioOutput(ctx.env),
    devicesFor(ffmpeg, ctx.env),
    host ? checkRelay(host, videoPort, audioPort) : Promise.resolve(undefined),
  ]);
  return [
    result, ...codecs, ...audio, ...checkEchoCanceller(), ...checkDevices(devices), checkTerminal(ctx.env, ctx.stdout.isTTY === true),
    ...(relay ? [relay] : []),
  ];
}

function human(checks: CheckResult[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${c.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function run(_args: string[], raw: RawOptions, ctx: CommandContext): Promise<number> {
  const checks = await runChecks(raw, ctx);
  const failed = checks.filter((c) => c.status === 'fail');
  const ok = failed.length === 0;
  const onlyRelay = !ok && failed.every((c) => c.name === 'relay');
  if (raw.json === true) {
    ctx.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
  } else {
    ctx.stdout.write(human(checks));
    const warns = checks.filter((c) => c.status === 'warn').length;
    ctx.stdout.write(ok
      ? `\nready for calls${warns ? ` (${warns} warning${warns > 1 ? 's' : ''}: see the fixes above)` : ''}\n`
      : onlyRelay ? `\nnot ready: the relay at ${str(raw.host)} is unreachable (see its fix above)\n`
        : '\nnot ready: fix the failed checks above\n');
  }
  return ok ? 0 : onlyRelay ? EXIT_DOCTOR_RELAY_DOWN : EXIT_DOCTOR_FAILED;
}
