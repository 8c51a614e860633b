/**
 * Capture -> on the terminal (`node --import tsx bench/terminal.ts [--duration SEC]`; not a
 * test). Peer a sends stamped frames (bench/lib/stamp.ts through the ffmpeg stand-in, as in
 * bench:call) to client b, which runs its TUI in a real terminal, tmux (120x40, blocks). tmux
 * copies everything b writes to its terminal into a pipe we read (`pipe-pane`); a small screen
 * model replays it, and at the end of each synchronized update (`CSI ? 2026 l`, how the painter
 * ends every frame) the stamp is read back from the picture's cells: capture -> on the
 * terminal, paint budget and synchronized output included. Beside it, in the same run, the same
 * frames as b decoded them (its TEST-ONLY frame tap): capture -> decoded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../test/helpers/relay-client.js';
import { DEFAULT_CELL_ASPECT, fitVideo } from '../src/cli/ui/fit-video.js';
import { computeLayout } from '../src/cli/ui/layout.js';
import { FrameTapReader, VIDEOCHAT_BIN, benchSession, delay, percentile, spawnClient } from './lib/call-run.js';
import { backgroundFrames, readStamp, stampAgeMs } from './lib/stamp.js';
import { shimLauncher } from './lib/shim.js';

const COLS = 120;
const ROWS = 40;
const W = 320;
const H = 240;
const FPS = 15;
const WARMUP_MS = 6000;
const SOCKET = `vcbench-term-${process.pid}`;

type Rgb = [number, number, number];

/** Just enough of a terminal for what the blocks renderer and Ink write: CUP, SGR truecolor, text. */
class Screen {
  readonly fg: Rgb[][];
  readonly bg: Rgb[][];
  readonly ch: string[][];
  private row = 0;
  private col = 0;
  private curFg: Rgb = [255, 255, 255];
  private curBg: Rgb = [0, 0, 0];
  private saved = { row: 0, col: 0 };
  private rest = '';

  constructor(readonly cols: number, readonly rows: number) {
    this.fg = Array.from({ length: rows }, () => Array.from({ length: cols }, () => [255, 255, 255] as Rgb));
    this.bg = Array.from({ length: rows }, () => Array.from({ length: cols }, () => [0, 0, 0] as Rgb));
    this.ch = Array.from({ length: rows }, () => Array.from({ length: cols }, () => ' '));
  }

  /** Feeds output; calls `onSyncEnd` at the end of every synchronized update. */
  feed(text: string, onSyncEnd: () => void): void {
    const s = this.rest + text;
    this.rest = '';
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === '\x1b') {
        if (i + 1 >= s.length) { this.rest = s.slice(i); return; }
        const n = s[i + 1]!;
        if (n === '[') {
          let j = i + 2;
          while (j < s.length && !/[@-~]/.test(s[j]!)) j++;
          if (j >= s.length) { this.rest = s.slice(i); return; }
          this.csi(s.slice(i + 2, j), s[j]!, onSyncEnd);
          i = j + 1;
          continue;
        }
        if (n === '7') this.saved = { row: this.row, col: this.col };
        if (n === '8') ({ row: this.row, col: this.col } = this.saved);
        if (n === 'P' || n === '_' || n === ']') {
          // DCS / APC / OSC: skip to ST or BEL.
          let j = i + 2;
          while (j < s.length && !(s[j] === '\x07' || (s[j] === '\x1b' && s[j + 1] === '\\'))) j++;
          if (j >= s.length) { this.rest = s.slice(i); return; }
          i = s[j] === '\x07' ? j + 1 : j + 2;
          continue;
        }
        i += 2;
        continue;
      }
      if (c === '\r') { this.col = 0; i++; continue; }
      if (c === '\n') { this.row = Math.min(this.rows - 1, this.row + 1); i++; continue; }
      const cp = s.codePointAt(i)!;
      const chr = String.fromCodePoint(cp);
      if (this.row < this.rows && this.col < this.cols) {
        this.ch[this.row]![this.col] = chr;
        this.fg[this.row]![this.col] = this.curFg;
        this.bg[this.row]![this.col] = this.curBg;
      }
      this.col++;
      i += chr.length;
    }
  }

  private csi(params: string, final: string, onSyncEnd: () => void): void {
    if (final === 'H' || final === 'f') {
      const [r, c] = params.split(';').map((x) => Number(x || '1'));
      this.row = (r ?? 1) - 1;
      this.col = (c ?? 1) - 1;
    } else if (final === 'm') {
      const codes = params.split(';').map((x) => Number(x || '0'));
      for (let k = 0; k < codes.length; k++) {
        const v = codes[k]!;
        if (v === 0) { this.curFg = [255, 255, 255]; this.curBg = [0, 0, 0]; }
        else if ((v === 38 || v === 48) && codes[k + 1] === 2) {
          const rgb: Rgb = [codes[k + 2]!, codes[k + 3]!, codes[k + 4]!];
          if (v === 38) this.curFg = rgb; else this.curBg = rgb;
          k += 4;
        }
      }
    } else if (final === 'l' && params === '?2026') {
      onSyncEnd();
    }
  }

  /** The picture in `box` as RGB24, two pixels per cell (blocks: upper half = foreground). */
  picture(box: { col: number; row: number; cols: number; rows: number }): Buffer {
    const w = box.cols;
    const h = box.rows * 2;
    const out = Buffer.alloc(w * h * 3);
    for (let y = 0; y < box.rows; y++) {
      for (let x = 0; x < w; x++) {
        const ch = this.ch[box.row + y]![box.col + x]!;
        const fg = this.fg[box.row + y]![box.col + x]!;
        const bg = this.bg[box.row + y]![box.col + x]!;
        const [top, bottom] = ch === '▀' ? [fg, bg] : ch === '▄' ? [bg, fg] : ch === '█' ? [fg, fg] : [bg, bg];
        top.forEach((v, k) => { out[((2 * y) * w + x) * 3 + k] = v; });
        bottom.forEach((v, k) => { out[((2 * y + 1) * w + x) * 3 + k] = v; });
      }
    }
    return out;
  }
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const d = argv.indexOf('--duration');
  const seconds = d >= 0 ? Number(argv[d + 1]) : 20;
  const dir = mkdtempSync(join(os.tmpdir(), 'vcbench-term-'));
  const shim = shimLauncher(dir);
  const background = join(dir, 'background.rgb');
  writeFileSync(background, Buffer.concat(backgroundFrames('ffmpeg', W, H, FPS)));
  const daemon = await startDaemon(['--log-level', 'warn']);
  const session = benchSession('terminal');
  const relay = ['--host', '127.0.0.1', '--video-port', String(daemon.videoPort), '--audio-port', String(daemon.audioPort), '--session', session];
  const killAfterMs = (seconds + 120) * 1000;
  const a = spawnClient({ host: '127.0.0.1', videoPort: daemon.videoPort, audioPort: daemon.audioPort, session, killAfterMs,
    extra: ['--ffmpeg', shim, '--duration', String(seconds + 60)], env: { VC_SHIM_BACKGROUND: background, VC_SHIM_LOG: join(dir, 'shim.log') } });
  await a.waitFor('waiting', 60_000);

  // b's terminal output, as tmux received it, and b's decoded frames, each through a FIFO.
  const screenFifo = join(dir, 'screen.fifo');
  const tapFifo = join(dir, 'tap.fifo');
  spawnSync('mkfifo', [screenFifo, tapFifo]);
  const painted: Array<{ at: number; latencyMs: number }> = [];
  const decoded: Array<{ at: number; latencyMs: number }> = [];
  const tap = new FrameTapReader((_stamp, latencyMs) => decoded.push({ at: Date.now(), latencyMs }));
  createReadStream(tapFifo).on('data', (c) => tap.push(c as Buffer));
  const layout = computeLayout(COLS, ROWS);
  const fit = fitVideo(layout.main.cols, layout.main.rows, W, H, DEFAULT_CELL_ASPECT);
  const box = { col: layout.main.col + fit.col, row: layout.main.row + fit.row, cols: fit.cols, rows: fit.rows };
  const screen = new Screen(COLS, ROWS);
  let lastStamp = -1;
  let unreadable = 0;
  const onSyncEnd = (): void => {
    const now = Date.now();
    const stamp = readStamp(screen.picture(box), box.cols, box.rows * 2);
    if (stamp === null) { unreadable++; return; }
    if (stamp === lastStamp) return;
    lastStamp = stamp;
    painted.push({ at: now, latencyMs: stampAgeMs(stamp, now) });
  };
  // Opened for writing by tmux's pipe-pane and by b's shell; read here.
  const screenStream = createReadStream(screenFifo, { encoding: 'utf8' });
  screenStream.on('data', (t) => screen.feed(t as string, onSyncEnd));

  const name = 'b';
  const command = `env -u CI COLORTERM=truecolor VIDEOCHAT_TEST_FRAME_FD=3 ${process.execPath} ${VIDEOCHAT_BIN} connect ${relay.join(' ')} ` +
    `--video-in none --audio-in none --audio-out none --render blocks 3>${tapFifo}; sleep 60`;
  tmux('new-session', '-d', '-s', name, '-x', String(COLS), '-y', String(ROWS), command);
  tmux('pipe-pane', '-t', name, '-o', `cat > ${screenFifo}`);
  // Keep the FIFOs from hitting EOF between writers.
  const keep = [openSync(screenFifo, 'w'), openSync(tapFifo, 'w')];
  try {
    await a.waitFor('peer-joined', 60_000);
    await delay(WARMUP_MS);
    const from = Date.now();
    await delay(seconds * 1000);
    const to = Date.now();
    const inWindow = (xs: Array<{ at: number; latencyMs: number }>) => xs.filter((x) => x.at >= from && x.at <= to).map((x) => x.latencyMs);
    const p = inWindow(painted);
    const q = inWindow(decoded);
    const row = (what: string, xs: number[]) => `| ${what} | ${percentile(xs, 50)} | ${percentile(xs, 95)} | ${xs.length} | ${(xs.length / ((to - from) / 1000)).toFixed(1)} |`;
    console.log([
      `tmux ${COLS}x${ROWS}, blocks, truecolor; ${W}x${H}@${FPS} MJPEG; picture ${box.cols}x${box.rows} cells; ${seconds} s after ${WARMUP_MS / 1000} s warm-up; load ${os.loadavg()[0]!.toFixed(1)}`,
      '',
      '| capture -> | p50 ms | p95 ms | frames | fps |',
      '|---|---|---|---|---|',
      row('decoded (b\'s frame tap)', q),
      row('on the terminal (tmux pipe-pane, end of the synchronized update)', p),
      '',
      `unreadable stamps on screen: ${unreadable}; goal p50 <= ${Math.round(1000 / FPS + 10)} ms (one frame interval + 10 ms)`,
    ].join('\n'));
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    a.child.kill('SIGINT');
    await Promise.race([a.exited, delay(5000)]);
    a.child.kill('SIGKILL');
    for (const fd of keep) { try { closeSync(fd); } catch { /* closed */ } }
    screenStream.destroy();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
