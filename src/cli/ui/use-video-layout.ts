import { useEffect } from 'react';
import type { RenderMode } from '../../codec/render/types.js';
import type { CellBox } from './fit-video.js';
import type { VideoPainter } from './video-painter.js';

/**
 * Hands the painter its area after every render: the layout, the mode, the self-view or
 * the peer's picture shape may have changed, or a resize may have cleared the screen.
 * `setLayout` returns at once when nothing changed. `area` null gives the rows back to Ink
 * (waiting screen, overlays, messages).
 */
export function useVideoLayout(
  painter: VideoPainter | undefined,
  area: CellBox | null,
  mode: RenderMode,
  selfView: boolean,
  source: { width: number; height: number },
): void {
  useEffect(() => {
    painter?.setLayout({ area: area && area.cols > 0 && area.rows > 0 ? area : null, mode, selfView, source });
  });
}
