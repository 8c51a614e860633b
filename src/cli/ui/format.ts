/** Small formatting helpers for the status bar: fixed widths so the bar does not jitter. */
import type { CallViewState } from './call-state.js';

/** Shown for a value that is not known yet. */
export const UNKNOWN = '–';

export function formatFps(fps: number | null | undefined): string {
  return fps === null || fps === undefined || !Number.isFinite(fps) ? UNKNOWN : fps.toFixed(fps < 10 ? 1 : 0);
}

export function formatKbps(kbps: number | null): string {
  if (kbps === null || !Number.isFinite(kbps)) return UNKNOWN;
  return kbps >= 10_000 ? `${(kbps / 1000).toFixed(1)} Mbps` : `${Math.round(kbps)} kbps`;
}

export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? UNKNOWN : `${Math.round(ms)} ms`;
}

/** How the peer is doing, in a few words. */
export function describePeer(state: CallViewState): string {
  switch (state.phase) {
    case 'connecting':
      return 'connecting';
    case 'waiting':
      return 'waiting for peer';
    case 'reconnecting':
      return `reconnecting (${state.reconnectAttempt})`;
    case 'peer-left':
      return state.peerLeftReason === 'lost' ? 'peer lost' : 'peer left';
    case 'ended':
      return 'ended';
    case 'in-call': {
      const flags = [state.peerState.muted ? 'muted' : '', state.peerState.cameraOff ? 'camera off' : ''].filter(Boolean);
      return flags.length ? `peer ${flags.join(', ')}` : 'peer live';
    }
  }
}
