/**
 * TEST-ONLY: a minimal truecolor half-block renderer, so that the TUI tests do not depend
 * on the codec's renderers (tested on their own). Upper half block: foreground = top pixel,
 * background = bottom pixel. Redraws everything every frame.
 */
import type { RenderMode, RenderTarget, Renderer, RgbFrame } from '../../../src/codec/render/types.js';

export class StubBlocksRenderer implements Renderer {
  resets = 0;
  frames = 0;
  constructor(readonly mode: RenderMode = 'blocks') {}

  pixelSize(target: RenderTarget): { width: number; height: number } {
    return { width: target.cols, height: target.rows * 2 };
  }

  render(frame: RgbFrame, target: RenderTarget): Buffer {
    this.frames++;
    let out = '';
    for (let row = 0; row < target.rows; row++) {
      out += `\x1b[${target.row + row + 1};${target.col + 1}H`;
      for (let col = 0; col < target.cols; col++) {
        const top = ((row * 2) * frame.width + col) * 3;
        const bottom = ((row * 2 + 1) * frame.width + col) * 3;
        const d = frame.data;
        out += `\x1b[38;2;${d[top]};${d[top + 1]};${d[top + 2]}m\x1b[48;2;${d[bottom]};${d[bottom + 1]};${d[bottom + 2]}m▀`;
      }
    }
    return Buffer.from(out + '\x1b[0m');
  }

  reset(): void {
    this.resets++;
  }
}
