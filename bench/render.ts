/**
 * Render benchmark (`npm run bench:render`; not a test): per-frame time, bytes and PSNR of
 * every mode on ffmpeg `testsrc2` and `mandelbrot` frames, beside chafa on the same frames in
 * the same run. Text modes at 160x48 cells are measured against a 2x6-pixels-per-cell
 * reference via cell-to-pixel reconstruction; sixel at 640x480 is decoded back with
 * ImageMagick. `--write` replaces the figures section of docs/rendering.md.
 *
 * Times are CPU time (not wall time: the machine is shared), the median and the minimum of
 * many runs of full frames (the renderer is reset before each, so no delta shortcut).
 *
 * "Talking head" rows: a still picture (a frozen mandelbrot frame) with a face-sized patch
 * that moves and camera-like noise, through MJPEG and back as a camera would deliver it, 90
 * frames in a row through one renderer: sixel redrawing changed cell rows only (the default)
 * against whole frames. Their PSNR is of what the screen then shows (the source pixels last
 * sent in each cell row, before quantization) against each frame, averaged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRenderer } from '../src/codec/render/index.js';
import { createSixelRenderer } from '../src/codec/render/sixel.js';
import { psnr } from '../src/codec/render/quality.js';
import { reconstructPixels } from '../src/codec/render/reconstruct.js';
import type { ColorDepth, RenderMode, RenderTarget, RgbFrame } from '../src/codec/render/types.js';

const SOURCES = ['testsrc2', 'mandelbrot'] as const;
const SRC_W = 640;
const SRC_H = 480;
const TEXT_COLS = 160;
const TEXT_ROWS = 48;
/** Cell size that makes 64x24 cells exactly 640x480 pixels for the graphics modes. */
const CELL_W_PX = 10;
const CELL_H_PX = 20;
const WARMUP_RUNS = 20;
const TIMED_RUNS = 150;
const CHAFA_RUNS = 20;
const FFMPEG_TIMEOUT_MS = 30_000;
const MAX_BUFFER_BYTES = 256 * 1024 * 1024;

const tmp = mkdtempSync(join(tmpdir(), 'bench-render-'));

function ffmpegFrame(source: string, width: number, height: number): RgbFrame {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `${source}=size=${SRC_W}x${SRC_H}`, '-frames:v', '1',
    '-vf', `format=rgb24,scale=${width}:${height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
  return { width, height, data: new Uint8Array(raw) };
}

function sourcePng(source: string): string {
  const path = join(tmp, `${source}.png`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${source}=size=${SRC_W}x${SRC_H}`, '-frames:v', '1', path], { timeout: FFMPEG_TIMEOUT_MS });
  return path;
}

/** Decode sixel bytes with ImageMagick (via PNG: its direct raw output of sixel is wrong). */
function decodeSixel(bytes: Uint8Array, width: number, height: number): RgbFrame {
  const six = join(tmp, 'x.six');
  const png = join(tmp, 'x.png');
  const start = Buffer.from(bytes).indexOf('\x1bP');
  writeFileSync(six, bytes.subarray(start));
  execFileSync('/usr/bin/convert', [`sixel:${six}`, png], { timeout: FFMPEG_TIMEOUT_MS });
  const raw = execFileSync('/usr/bin/convert', [png, '-background', 'black', '-flatten', '-extent', `${width}x${height}`, '-depth', '8', 'rgb:-'], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
  return { width, height, data: new Uint8Array(raw) };
}

function stats(times: number[]): { median: number; min: number } {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

interface Row {
  source: string;
  what: string;
  medianMs: number;
  minMs: number;
  bytes: number;
  secondBytes: number | null;
  psnrDb: number;
}

const rows: Row[] = [];
/** `--only SUBSTRING` measures only the rows whose label contains it (for quick iterations). */
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? process.argv[onlyArg + 1] : undefined;
const want = (label: string) => only === undefined || label.includes(only);

function timeRenderer(mode: RenderMode, colors: ColorDepth, frame: RgbFrame, target: RenderTarget): { times: number[]; bytes: Uint8Array; second: number } {
  const r = createRenderer(mode);
  for (let i = 0; i < WARMUP_RUNS; i++) {
    r.reset();
    r.render(frame, target);
  }
  const times: number[] = [];
  let bytes: Uint8Array = Buffer.alloc(0);
  for (let i = 0; i < TIMED_RUNS; i++) {
    r.reset();
    // CPU time of this process, not wall time: on a shared machine the wall clock also
    // counts the time other processes held the core.
    const c0 = process.cpuUsage();
    bytes = r.render(frame, target);
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1000);
  }
  const second = r.render(frame, target).length;
  return { times, bytes, second };
}

/**
 * chafa's output for one image, and its CPU time per image (user + system of all its threads,
 * from GNU time) over CHAFA_RUNS images in one process, so its start-up counts once.
 */
function chafaTime(args: string[], png: string): { perFrameMs: number; out: Buffer } {
  const out = execFileSync('chafa', [...args, png], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
  const timesFile = join(tmp, 'chafa.time');
  execFileSync('/usr/bin/time', ['-o', timesFile, '-f', '%U %S', 'chafa', ...args, ...Array.from({ length: CHAFA_RUNS }, () => png)], { timeout: FFMPEG_TIMEOUT_MS * 4, maxBuffer: MAX_BUFFER_BYTES });
  const [user, system] = readFileSync(timesFile, 'utf8').trim().split(/\s+/).map(Number);
  return { perFrameMs: ((user + system) * 1000) / CHAFA_RUNS, out };
}

for (const source of SOURCES) {
  const png = sourcePng(source);
  const area = { col: 0, row: 0, cols: TEXT_COLS, rows: TEXT_ROWS };
  const reference = ffmpegFrame(source, TEXT_COLS * 2, TEXT_ROWS * 6);
  const textRuns: [RenderMode, ColorDepth][] = [
    ['blocks', 'truecolor'], ['blocks', 256], ['blocks', 16],
    ['symbols', 'truecolor'], ['symbols', 256],
    ['ascii', 16], ['ascii', 'mono'],
  ];
  for (const [mode, colors] of textRuns) {
    if (!want(`${mode} ${colors}`)) continue;
    const target: RenderTarget = { ...area, colors };
    const size = createRenderer(mode).pixelSize(target);
    const frame = ffmpegFrame(source, size.width, size.height);
    const { times, bytes, second } = timeRenderer(mode, colors, frame, target);
    const t = stats(times);
    const q = psnr(reconstructPixels([bytes], area), reference);
    rows.push({ source, what: `${mode} ${colors} ${TEXT_COLS}x${TEXT_ROWS}`, medianMs: t.median, minMs: t.min, bytes: bytes.length, secondBytes: second, psnrDb: q });
  }
  for (const [name, colorArg] of [['truecolor', 'full'], ['256', '256']] as const) {
    if (!want(`chafa symbols ${name}`)) continue;
    const chafa = chafaTime(['-f', 'symbols', '--symbols', 'sextant,quad,half,space', '-c', colorArg, '--size', `${TEXT_COLS}x${TEXT_ROWS}`, '--stretch', '--animate', 'off', '--polite', 'on'], png);
    const q = psnr(reconstructPixels([chafa.out], area), reference);
    rows.push({ source, what: `chafa symbols ${name} ${TEXT_COLS}x${TEXT_ROWS}`, medianMs: chafa.perFrameMs, minMs: NaN, bytes: chafa.out.length, secondBytes: null, psnrDb: q });
  }
  if (want('chafa half')) {
    const chafa = chafaTime(['-f', 'symbols', '--symbols', 'vhalf,space', '-c', 'full', '--size', `${TEXT_COLS}x${TEXT_ROWS}`, '--stretch', '--animate', 'off', '--polite', 'on'], png);
    const q = psnr(reconstructPixels([chafa.out], area), reference);
    rows.push({ source, what: `chafa half-blocks truecolor ${TEXT_COLS}x${TEXT_ROWS}`, medianMs: chafa.perFrameMs, minMs: NaN, bytes: chafa.out.length, secondBytes: null, psnrDb: q });
  }

  const gTarget: RenderTarget = { col: 0, row: 0, cols: SRC_W / CELL_W_PX, rows: SRC_H / CELL_H_PX, colors: 'truecolor', cellWidthPx: CELL_W_PX, cellHeightPx: CELL_H_PX };
  const full = ffmpegFrame(source, SRC_W, SRC_H);
  if (want('sixel')) {
    const { times, bytes, second } = timeRenderer('sixel', 'truecolor', full, gTarget);
    const t = stats(times);
    const q = psnr(decodeSixel(bytes, SRC_W, SRC_H), full);
    rows.push({ source, what: `sixel ${SRC_W}x${SRC_H}`, medianMs: t.median, minMs: t.min, bytes: bytes.length, secondBytes: second, psnrDb: q });
  }
  if (want('chafa sixel')) {
    // chafa sizes sixels in cells and assumes 8x8-pixel cells off a terminal: 80x60 = 640x480.
    const chafa = chafaTime(['-f', 'sixels', '--size', `${SRC_W / 8}x${SRC_H / 8}`, '--stretch', '--animate', 'off', '--polite', 'on'], png);
    const q = psnr(decodeSixel(chafa.out, SRC_W, SRC_H), full);
    rows.push({ source, what: `chafa sixel ${SRC_W}x${SRC_H}`, medianMs: chafa.perFrameMs, minMs: NaN, bytes: chafa.out.length, secondBytes: null, psnrDb: q });
  }
  if (want('iterm')) {
    const { times, bytes, second } = timeRenderer('iterm', 'truecolor', full, gTarget);
    const t = stats(times);
    rows.push({ source, what: `iterm ${SRC_W}x${SRC_H}`, medianMs: t.median, minMs: t.min, bytes: bytes.length, secondBytes: second, psnrDb: Infinity });
  }
  if (want('kitty')) {
    const { times, bytes, second } = timeRenderer('kitty', 'truecolor', full, gTarget);
    const t = stats(times);
    rows.push({ source, what: `kitty ${SRC_W}x${SRC_H}`, medianMs: t.median, minMs: t.min, bytes: bytes.length, secondBytes: second, psnrDb: Infinity });
  }
}
/** A box blur of about a cell (2x6 sub-pixels: 3 across, 7 down): the picture as seen from a normal distance. */
function blurCell(f: RgbFrame): RgbFrame {
  const { width: w, height: h, data } = f;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0, n = 0;
        for (let dy = -3; dy <= 3; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            sum += data[(yy * w + xx) * 3 + c];
            n++;
          }
        }
        out[(y * w + x) * 3 + c] = Math.round(sum / n);
      }
    }
  }
  return { width: w, height: h, data: out };
}

interface DitherRow { source: string; what: string; psnrDb: number; blurredDb: number }
const ditherRows: DitherRow[] = [];
if (want('dither')) {
  for (const source of SOURCES) {
    const png = sourcePng(source);
    const area = { col: 0, row: 0, cols: TEXT_COLS, rows: TEXT_ROWS };
    const reference = ffmpegFrame(source, TEXT_COLS * 2, TEXT_ROWS * 6);
    const blurredRef = blurCell(reference);
    const frame = ffmpegFrame(source, TEXT_COLS, TEXT_ROWS * 2);
    for (const depth of [256, 16] as const) {
      for (const dither of ['none', 'ordered', 'noise'] as const) {
        const out = createRenderer('blocks', { dither }).render(frame, { ...area, colors: depth });
        const rec = reconstructPixels([out], area);
        ditherRows.push({ source, what: `blocks ${depth} --dither ${dither}`, psnrDb: psnr(rec, reference), blurredDb: psnr(blurCell(rec), blurredRef) });
      }
      for (const dither of ['none', 'ordered', 'diffusion']) {
        const out = execFileSync('chafa', ['-f', 'symbols', '--symbols', 'vhalf,space', '-c', String(depth), '--dither', dither, '--size', `${TEXT_COLS}x${TEXT_ROWS}`, '--stretch', '--animate', 'off', '--polite', 'on', png], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
        const rec = reconstructPixels([out], area);
        ditherRows.push({ source, what: `chafa half-blocks ${depth} --dither ${dither}`, psnrDb: psnr(rec, reference), blurredDb: psnr(blurCell(rec), blurredRef) });
      }
      // Symbols: ours on its 2x6 frame, chafa restricted to the same glyphs (chafa 1.12 has no octants).
      const symbolsFrame = ffmpegFrame(source, TEXT_COLS * 2, TEXT_ROWS * 6);
      for (const dither of ['none', 'ordered', 'noise'] as const) {
        const out = createRenderer('symbols', { dither }).render(symbolsFrame, { ...area, colors: depth });
        const rec = reconstructPixels([out], area);
        ditherRows.push({ source, what: `symbols ${depth} --dither ${dither}`, psnrDb: psnr(rec, reference), blurredDb: psnr(blurCell(rec), blurredRef) });
      }
      for (const dither of ['none', 'ordered', 'diffusion']) {
        const out = execFileSync('chafa', ['-f', 'symbols', '--symbols', 'sextant,quad,half,space', '-c', String(depth), '--dither', dither, '--size', `${TEXT_COLS}x${TEXT_ROWS}`, '--stretch', '--animate', 'off', '--polite', 'on', png], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
        const rec = reconstructPixels([out], area);
        ditherRows.push({ source, what: `chafa symbols ${depth} --dither ${dither}`, psnrDb: psnr(rec, reference), blurredDb: psnr(blurCell(rec), blurredRef) });
      }
    }
  }
}

if (want('talking head')) {
  const clip = join(tmp, 'head.mkv');
  const FRAMES = 90;
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i',
    `mandelbrot=size=${SRC_W}x${SRC_H}:rate=15,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/15/TB[bg];color=c=0xc08060:size=160x200:rate=15[face];`
    + "[bg][face]overlay=x='240+16*sin(t*3)':y='140+8*sin(t*5)',noise=alls=4:allf=t",
    '-frames:v', String(FRAMES), '-c:v', 'mjpeg', '-q:v', '5', clip], { timeout: FFMPEG_TIMEOUT_MS });
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { timeout: FFMPEG_TIMEOUT_MS, maxBuffer: MAX_BUFFER_BYTES });
  const size = SRC_W * SRC_H * 3;
  const frames: RgbFrame[] = Array.from({ length: FRAMES }, (_, i) => ({ width: SRC_W, height: SRC_H, data: new Uint8Array(raw.buffer, raw.byteOffset + i * size, size) }));
  const target: RenderTarget = { col: 0, row: 0, cols: SRC_W / CELL_W_PX, rows: SRC_H / CELL_H_PX, colors: 'truecolor', cellWidthPx: CELL_W_PX, cellHeightPx: CELL_H_PX };
  for (const changedRows of [false, true]) {
    const r = createSixelRenderer({ changedRows });
    const screen = new Uint8Array(size);
    const times: number[] = [];
    let bytes = 0;
    let quality = 0;
    for (const frame of frames) {
      const c0 = process.cpuUsage();
      const out = r.render(frame, target);
      const c = process.cpuUsage(c0);
      times.push((c.user + c.system) / 1000);
      bytes += out.length;
      // Where the update put images: each starts at a cursor move to its cell row, with its height.
      const text = out.toString('latin1');
      // eslint-disable-next-line no-control-regex -- terminal escapes are what is matched
      for (const m of text.matchAll(/\x1b\[(\d+);\d+H\x1bP0;1;0q"1;1;\d+;(\d+)/g)) {
        const y0 = (Number(m[1]) - 1) * CELL_H_PX;
        screen.set(frame.data.subarray(y0 * SRC_W * 3, (y0 + Number(m[2])) * SRC_W * 3), y0 * SRC_W * 3);
      }
      quality += Math.min(99, psnr({ width: SRC_W, height: SRC_H, data: screen }, frame));
    }
    const t = stats(times);
    rows.push({ source: 'talking head', what: `sixel ${SRC_W}x${SRC_H} ${changedRows ? 'changed rows' : 'whole frames'}`, medianMs: t.median, minMs: t.min, bytes: Math.round(bytes / FRAMES), secondBytes: null, psnrDb: quality / FRAMES });
  }
}
rmSync(tmp, { recursive: true, force: true });

const fmt = (n: number, d: number) => (Number.isNaN(n) ? '-' : Number.isFinite(n) ? n.toFixed(d) : 'lossless');
const table = [
  '| source | renderer | CPU ms/frame median | CPU ms min | bytes/frame | identical 2nd frame bytes | PSNR dB |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.source} | ${r.what} | ${fmt(r.medianMs, 2)} | ${fmt(r.minMs, 2)} | ${r.bytes} | ${r.secondBytes ?? '-'} | ${fmt(r.psnrDb, 1)} |`),
].join('\n');
const ditherTable = ditherRows.length === 0 ? '' : [
  '',
  `Dithering (${TEXT_COLS}x${TEXT_ROWS} cells): PSNR per sub-pixel, and after a box blur of about a cell on both sides (the picture from a normal viewing distance, where dithering is meant to work).`,
  '',
  '| source | renderer | PSNR dB | blurred PSNR dB |',
  '| --- | --- | ---: | ---: |',
  ...ditherRows.map((r) => `| ${r.source} | ${r.what} | ${fmt(r.psnrDb, 2)} | ${fmt(r.blurredDb, 2)} |`),
].join('\n');
console.log(table + ditherTable);

if (process.argv.includes('--write')) {
  const docPath = new URL('../docs/rendering.md', import.meta.url);
  const doc = readFileSync(docPath, 'utf8');
  const begin = '<!-- bench:render begin -->';
  const end = '<!-- bench:render end -->';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < 0) throw new Error('docs/rendering.md has no bench:render markers');
  const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on the 2-core dev machine (Node ${process.version}, ${execFileSync('chafa', ['--version']).toString().split('\n')[0]}).`;
  writeFileSync(docPath, `${doc.slice(0, i + begin.length)}\n${stamp}\n\n${table}\n${ditherTable ? `${ditherTable}\n` : ''}${doc.slice(j)}`);
}
