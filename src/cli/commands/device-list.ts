/**
 * Cameras and microphones on this system, as `--video-in camera:ID` / `--audio-in mic:ID`
 * would name them. Shared by `videochat devices` and `videochat doctor`.
 *
 * Linux: cameras are the V4L2 nodes /dev/video* (named from /sys/class/video4linux), kept
 * only when ffmpeg can list their capture formats (a UVC camera also has a metadata node
 * that cannot capture); microphones are PulseAudio sources (`pactl`, monitors of outputs
 * left out) and ALSA capture devices (`arecord -l`, else /proc/asound/pcm).
 * macOS and Windows: ffmpeg's own device listing (avfoundation, dshow). Those parsers follow
 * ffmpeg's documented output and are not exercised on this Linux test machine.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Each helper program (ffmpeg, pactl, arecord) must answer within this time. */
export const DEVICE_PROBE_TIMEOUT_MS = 5000;

export type DeviceBackend = 'v4l2' | 'avfoundation' | 'dshow' | 'pulse' | 'alsa';

/** One camera or microphone. */
export interface Device {
  /** What goes after `camera:` / `mic:`. */
  id: string;
  name: string;
  backend: DeviceBackend;
}

export interface DeviceList {
  cameras: Device[];
  microphones: Device[];
  /** How the lists were made, and what could not be checked. */
  notes: string[];
}

export interface ListDevicesOptions {
  /** A verified ffmpeg, or undefined when there is none (devices are then listed unverified). */
  ffmpeg?: string;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Roots for tests; default '/dev', '/sys/class/video4linux', '/proc/asound'. */
  devDir?: string;
  sysVideoDir?: string;
  procAsoundDir?: string;
}

interface RunResult {
  ok: boolean;
  missing: boolean;
  stdout: string;
  stderr: string;
}

function runTool(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: DEVICE_PROBE_TIMEOUT_MS, env: env ?? process.env, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: !err, missing, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `pactl list short sources`: `IDX NAME MODULE FORMAT STATE` per line; monitors of outputs are not microphones. */
export function parsePactlSources(text: string): Device[] {
  const out: Device[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 2 || !/^\d+$/.test(cols[0])) continue;
    const name = cols[1];
    if (name.endsWith('.monitor')) continue;
    out.push({ id: name, name, backend: 'pulse' });
  }
  return out;
}

/** `arecord -l`: `card 0: PCH [HDA Intel PCH], device 0: ALC892 Analog [ALC892 Analog]`. */
export function parseArecordList(text: string): Device[] {
  const out: Device[] = [];
  for (const line of text.split('\n')) {
    const m = /^card (\d+): [^[]*\[([^\]]*)\], device (\d+): [^[]*\[([^\]]*)\]/.exec(line);
    if (m) out.push({ id: `hw:${m[1]},${m[3]}`, name: `${m[2]}: ${m[4]}`, backend: 'alsa' });
  }
  return out;
}

/** /proc/asound/pcm: `00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1`. */
export function parseProcAsoundPcm(text: string): Device[] {
  const out: Device[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)-(\d+): ([^:]*):/.exec(line);
    if (m && /capture \d+/.test(line)) out.push({ id: `hw:${Number(m[1])},${Number(m[2])}`, name: m[3].trim(), backend: 'alsa' });
  }
  return out;
}

/**
 * ffmpeg's avfoundation / dshow listing on stderr. avfoundation: a video section then an
 * audio section of `[AVFoundation indev @ 0x..] [0] FaceTime HD Camera`. dshow (ffmpeg 5):
 * `[dshow @ 0x..] "Integrated Camera" (video)` / `... (audio)`, older builds use sections.
 */
export function parseFfmpegDeviceList(text: string, backend: 'avfoundation' | 'dshow'): { cameras: Device[]; microphones: Device[] } {
  const cameras: Device[] = [];
  const microphones: Device[] = [];
  let section: 'video' | 'audio' | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\[[^\]]*@ [^\]]*\]\s*/, '');
    if (/video devices/i.test(line)) { section = 'video'; continue; }
    if (/audio devices/i.test(line)) { section = 'audio'; continue; }
    if (/Alternative name/i.test(line)) continue;
    if (backend === 'avfoundation') {
      const m = /^\[(\d+)\] (.+)$/.exec(line.trim());
      if (!m || !section) continue;
      if (/^Capture screen/i.test(m[2])) continue;
      (section === 'video' ? cameras : microphones).push({ id: m[1], name: m[2], backend });
    } else {
      const m = /^"([^"]+)"(?: \((video|audio)\))?/.exec(line.trim());
      if (!m) continue;
      const kind = m[2] ?? section;
      if (kind === 'video') cameras.push({ id: m[1], name: m[1], backend });
      else if (kind === 'audio') microphones.push({ id: m[1], name: m[1], backend });
    }
  }
  return { cameras, microphones };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function linuxCameras(o: ListDevicesOptions, notes: string[]): Promise<Device[]> {
  const devDir = o.devDir ?? '/dev';
  const sysDir = o.sysVideoDir ?? '/sys/class/video4linux';
  let nodes: string[];
  try {
    nodes = readdirSync(devDir).filter((n) => /^video\d+$/.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  } catch {
    nodes = [];
  }
  if (nodes.length === 0) {
    notes.push(`no camera: no ${devDir}/video* device`);
    return [];
  }
  const cameras: Device[] = [];
  for (const node of nodes) {
    const path = `${devDir}/${node}`;
    const name = readText(`${sysDir}/${node}/name`)?.trim() || node;
    if (o.ffmpeg) {
      // Metadata nodes and busy or unreadable devices cannot capture: ffmpeg lists no formats.
      const r = await runTool(o.ffmpeg, ['-hide_banner', '-nostdin', '-f', 'v4l2', '-list_formats', 'all', '-i', path], o.env);
      if (!/(Raw|Compressed)\s*:/.test(r.stderr)) {
        const why = r.stderr.trim().split('\n').pop() ?? 'no capture formats';
        notes.push(`${path} (${name}) skipped: ffmpeg cannot capture from it (${why})`);
        continue;
      }
    }
    cameras.push({ id: path, name, backend: 'v4l2' });
  }
  return cameras;
}

async function linuxMicrophones(o: ListDevicesOptions, notes: string[]): Promise<Device[]> {
  const mics: Device[] = [];
  const pactl = await runTool('pactl', ['list', 'short', 'sources'], o.env);
  if (pactl.missing) notes.push('PulseAudio: pactl not installed, pulse sources not listed');
  else if (!pactl.ok) notes.push('PulseAudio: no server answered (pactl failed)');
  else mics.push(...parsePactlSources(pactl.stdout));
  const arecord = await runTool('arecord', ['-l'], o.env);
  if (arecord.ok || (!arecord.missing && /no soundcards/i.test(arecord.stderr))) {
    mics.push(...parseArecordList(arecord.stdout));
  } else {
    const procPcm = readText(`${o.procAsoundDir ?? '/proc/asound'}/pcm`);
    if (procPcm !== undefined) mics.push(...parseProcAsoundPcm(procPcm));
    else notes.push('ALSA: no sound card (/proc/asound/pcm missing)');
  }
  if (mics.length === 0) notes.push('no microphone: no PulseAudio source and no ALSA capture device');
  return mics;
}

/** Lists cameras and microphones. Never throws: what cannot be checked becomes a note. */
export async function listDevices(o: ListDevicesOptions = {}): Promise<DeviceList> {
  const platform = o.platform ?? process.platform;
  const notes: string[] = [];
  if (platform === 'darwin' || platform === 'win32') {
    const backend = platform === 'darwin' ? 'avfoundation' : 'dshow';
    if (!o.ffmpeg) {
      notes.push(`ffmpeg is needed to list ${backend} devices`);
      return { cameras: [], microphones: [], notes };
    }
    const r = await runTool(o.ffmpeg, ['-hide_banner', '-nostdin', '-f', backend, '-list_devices', 'true', '-i', platform === 'darwin' ? '' : 'dummy'], o.env);
    const found = parseFfmpegDeviceList(r.stderr, backend);
    if (found.cameras.length === 0) notes.push('no camera found');
    if (found.microphones.length === 0) notes.push('no microphone found');
    return { ...found, notes };
  }
  const cameras = await linuxCameras(o, notes);
  const microphones = await linuxMicrophones(o, notes);
  return { cameras, microphones, notes };
}
