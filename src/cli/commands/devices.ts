/**
 * `videochat devices [--json]`: the cameras and microphones a call can use, with the exact
 * `--video-in camera:ID` / `--audio-in mic:ID` to pass. Empty lists are a normal answer
 * (a server has no camera): exit 0 either way. ffmpeg is used to check cameras when it is
 * there; without it devices are listed unchecked and a note says so.
 */
import { resolveFfmpeg } from '../../media/ffmpeg-path.js';
import type { CommandContext, RawOptions } from '../program.js';
import { listDevices, type Device } from './device-list.js';

function lines(title: string, flag: string, devices: Device[], none: string): string {
  if (devices.length === 0) return `${title}: none found (${none})\n`;
  const width = Math.max(...devices.map((d) => d.id.length));
  return `${title}:\n${devices.map((d) => `  ${d.id.padEnd(width)}  ${d.name} [${d.backend}]  ${flag}${d.id}`).join('\n')}\n`;
}

export async function run(_args: string[], raw: RawOptions, ctx: CommandContext): Promise<number> {
  const flag = typeof raw.ffmpeg === 'string' ? raw.ffmpeg : undefined;
  let ffmpeg: string | undefined;
  const notes: string[] = [];
  try {
    ffmpeg = (await resolveFfmpeg({ flag, env: ctx.env })).path;
  } catch (err) {
    notes.push(`devices not checked with ffmpeg: ${(err as Error).message}`);
  }
  const list = await listDevices({ ...(ffmpeg ? { ffmpeg } : {}), env: ctx.env });
  list.notes.unshift(...notes);
  if (raw.json === true) {
    ctx.stdout.write(`${JSON.stringify(list)}\n`);
    return 0;
  }
  const noCamera = list.notes.find((n) => n.startsWith('no camera')) ?? 'nothing ffmpeg can capture from';
  const noMic = list.notes.find((n) => n.startsWith('no microphone')) ?? 'nothing ffmpeg can record from';
  ctx.stdout.write(lines('Cameras', '--video-in camera:', list.cameras, noCamera.replace(/^no camera: /, '')));
  ctx.stdout.write(lines('Microphones', '--audio-in mic:', list.microphones, noMic.replace(/^no microphone: /, '')));
  const rest = list.notes.filter((n) => !n.startsWith('no camera') && !n.startsWith('no microphone'));
  for (const n of rest) ctx.stderr.write(`note: ${n}\n`);
  if (list.cameras.length === 0 || list.microphones.length === 0) {
    ctx.stdout.write('Without them, calls still work: --video-in test|FILE|none, --audio-in test|FILE|none.\n');
  }
  return 0;
}
