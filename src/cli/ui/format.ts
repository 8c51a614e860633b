/** Small formatting helpers for the status bar: fixed widths so the bar does not jitter. */
import { peerHasNoCamera, peerHasNoMic, type CallViewState } from './call-state.js';
import { DEFAULT_AUDIO_PORT, DEFAULT_VIDEO_PORT } from '../options.js';

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
      const mic = peerHasNoMic(state) ? 'no mic' : state.peerState.muted ? 'muted' : '';
      const camera = peerHasNoCamera(state) ? 'no camera' : state.peerState.cameraOff ? 'camera off' : '';
      const flags = [mic, camera].filter(Boolean);
      return flags.length ? `peer ${flags.join(', ')}` : 'peer live';
    }
  }
}

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._:@/+=,%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command the other person runs to reach us: the same relay (host, and ports when not the
 * defaults), the same --insecure choice (both sides must agree), the session code.
 */
export function peerCommand(state: Pick<CallViewState, 'relay' | 'insecure' | 'session'>): string {
  const parts = ['videochat', 'connect'];
  const r = state.relay;
  if (r) {
    parts.push('--host', shellWord(r.host));
    if (r.videoPort !== DEFAULT_VIDEO_PORT) parts.push('--video-port', String(r.videoPort));
    if (r.audioPort !== DEFAULT_AUDIO_PORT) parts.push('--audio-port', String(r.audioPort));
  }
  if (state.insecure) parts.push('--insecure');
  parts.push('--session', shellWord(state.session));
  return parts.join(' ');
}

/** Whole seconds from now until `atMs`, never below 0. */
export function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}
