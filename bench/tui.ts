/**
 * Bench: one peer video frame on the call screen, two ways.
 *  - react: the frame as rows of coloured text in React props, re-rendered by Ink (layout,
 *    text measuring, output) into a fake stdout;
 *  - direct: the VideoPainter, as the TUI does it: the delta renderer, one synchronized write.
 * Same frames (a moving gradient, so every frame changes), same sizes. Prints a markdown table.
 * Run: node --import tsx bench/tui.ts
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { render, Box, Text } from 'ink';
import React from 'react';
import { createRenderer } from '../src/codec/render/index.js';
import { TerminalSurface } from '../src/cli/ui/terminal-surface.js';
import { VideoPainter } from '../src/cli/ui/video-painter.js';
import { fitVideo } from '../src/cli/ui/fit-video.js';
import { computeLayout } from '../src/cli/ui/layout.js';

/** Frames measured per path; Ink at 200x60 takes seconds per frame, so it gets fewer. */
const DIRECT_FRAMES = 150;
const REACT_FRAMES_PER_MEGACELL = 3000;
const WARMUP_FRAMES = 5;
const SIZES = [
  { cols: 80, rows: 24 },
  { cols: 200, rows: 60 },
];

function gradient(width: number, height: number, t: number): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      data[i] = (x * 5 + t * 7) & 255;
      data[i + 1] = (y * 3 + t * 2) & 255;
      data[i + 2] = (x + y + t) & 255;
    }
  }
  return { width, height, data };
}

/** The same half-block picture as text rows (what a React component would have to render). */
function frameToRows(frame: { width: number; height: number; data: Uint8Array }, cols: number, rows: number): string[] {
  const out: string[] = [];
  const d = frame.data;
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let c = 0; c < cols; c++) {
      const t = (2 * r * frame.width + c) * 3;
      const b = ((2 * r + 1) * frame.width + c) * 3;
      line += `\x1b[38;2;${d[t]};${d[t + 1]};${d[t + 2]}m\x1b[48;2;${d[b]};${d[b + 1]};${d[b + 2]}m▀`;
    }
    out.push(line + '\x1b[0m');
  }
  return out;
}

class FakeStdout extends EventEmitter {
  bytes = 0;
  writes = 0;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  isTTY = false;
  write = (data: string | Uint8Array): boolean => {
    this.bytes += data.length;
    this.writes++;
    return true;
  };
}

function Picture({ lines, status }: { lines: string[]; status: string }) {
  return React.createElement(
    Box,
    { flexDirection: 'column' },
    ...lines.map((line, i) => React.createElement(Text, { key: i, wrap: 'truncate-end' }, line)),
    React.createElement(Text, { key: 's' }, status),
  );
}

interface Result {
  msPerFrame: number;
  bytesPerFrame: number;
}

function benchReact(cols: number, rows: number): Result {
  const FRAMES = Math.max(5, Math.round((REACT_FRAMES_PER_MEGACELL * 1000) / (cols * rows * 100)));
  const box = fitVideo(cols, computeLayout(cols, rows).main.rows, 4, 3);
  const out = new FakeStdout(cols, rows);
  const stdout = out as unknown as NodeJS.WriteStream;
  const frames = Array.from({ length: FRAMES + WARMUP_FRAMES }, (_, t) => frameToRows(gradient(box.cols, box.rows * 2, t), box.cols, box.rows));
  const app = render(React.createElement(Picture, { lines: frames[0], status: 'status' }), { stdout, debug: true, patchConsole: false, exitOnCtrlC: false });
  let start = 0;
  let bytesAtStart = 0;
  for (let t = 0; t < frames.length; t++) {
    if (t === WARMUP_FRAMES) {
      start = performance.now();
      bytesAtStart = out.bytes;
    }
    app.rerender(React.createElement(Picture, { lines: frames[t], status: `status ${t}` }));
  }
  const elapsed = performance.now() - start;
  app.unmount();
  return { msPerFrame: elapsed / FRAMES, bytesPerFrame: (out.bytes - bytesAtStart) / FRAMES };
}

function benchDirect(cols: number, rows: number): Result {
  const FRAMES = DIRECT_FRAMES;
  const out = new FakeStdout(cols, rows);
  const surface = new TerminalSurface(out);
  const controls = { size: { width: 0, height: 0 }, setVideoSize(w: number, h: number) { this.size = { width: w, height: h }; }, requestKeyframe() {} };
  const painter = new VideoPainter({ surface, controls, createRenderer: (m) => createRenderer(m), colors: 'truecolor' });
  painter.setLayout({ area: computeLayout(cols, rows).main, mode: 'blocks', selfView: false, source: { width: 4, height: 3 } });
  const { width, height } = controls.size;
  const frames = Array.from({ length: FRAMES + WARMUP_FRAMES }, (_, t) => gradient(width, height, t));
  let start = 0;
  let bytesAtStart = 0;
  for (let t = 0; t < frames.length; t++) {
    if (t === WARMUP_FRAMES) {
      start = performance.now();
      bytesAtStart = out.bytes;
    }
    painter.onVideoFrame(frames[t]);
  }
  const elapsed = performance.now() - start;
  return { msPerFrame: elapsed / FRAMES, bytesPerFrame: (out.bytes - bytesAtStart) / FRAMES };
}

console.log('| terminal | path | ms / frame | KiB / frame | max fps (CPU bound) |');
console.log('|---|---|---|---|---|');
for (const { cols, rows } of SIZES) {
  for (const [name, run] of [['react (Ink re-render)', benchReact], ['direct (VideoPainter)', benchDirect]] as const) {
    const r = run(cols, rows);
    console.log(`| ${cols}x${rows} | ${name} | ${r.msPerFrame.toFixed(2)} | ${(r.bytesPerFrame / 1024).toFixed(1)} | ${Math.floor(1000 / r.msPerFrame)} |`);
  }
}
