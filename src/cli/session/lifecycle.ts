/**
 * The life of a call as a pure reducer: a phase and what happened -> the next phase and the
 * effects the session carries out. No clock, no sockets: the session turns socket closes,
 * timers and messages into events and runs the effects (docs/resilience.md).
 *
 *   connecting ──attached──> waiting ──setup──> live ──bye──────────────> ending
 *                               │                 │ closed, silent, stalled, pairing-timeout
 *                               └──closed──> outage <┘  (reconnecting; --grace)
 *                                              │ back (no peer yet) ──> waiting
 *                                              └ setup (the peer is back) ──> live
 *
 * Without reconnecting (`--no-reconnect`, or `--grace 0` once a peer joined) a lost
 * connection ends the call instead. Any phase -> ending on `end`; ending is final.
 */
import type { Setup } from '../../codec/protocol/index.js';
import type { EndReason } from './events.js';

export type Phase = 'connecting' | 'waiting' | 'live' | 'outage' | 'ending';

export interface LifecycleState {
  phase: Phase;
  /** A peer joined at least once (the first `peer-joined` was emitted). */
  joined: boolean;
}

export interface LifecyclePolicy {
  /** Reconnect after an unexpected close. */
  reconnect: boolean;
  /** --grace in seconds (0: a lost joined peer ends the call). */
  graceSec: number;
}

export type LifecycleEvent =
  /** The first pair of channels is at the relay. */
  | { type: 'attached' }
  /** The peer's SETUP arrived on the current channels. */
  | { type: 'setup'; setup: Setup }
  /** The peer said BYE. */
  | { type: 'bye' }
  /** A current channel closed without a goodbye. */
  | { type: 'closed'; channel: 'video' | 'audio' }
  /** Nothing from the live peer for --peer-timeout (`why` says where and how long). */
  | { type: 'silent'; why: string }
  /** The peer stopped mid key exchange for --peer-timeout. */
  | { type: 'stalled'; why: string }
  /** One channel paired and the other not for too long. */
  | { type: 'pairing-timeout' }
  /** A reconnect attempt has both channels at the relay again. */
  | { type: 'back' }
  /** --wait ran out. */
  | { type: 'wait-expired'; waitSec: number }
  /** Something else ends the call (hang-up, a failure, the reconnector giving up). */
  | { type: 'end'; reason: EndReason; message?: string };

export type LifecycleEffect =
  /** The first peer joined: start its media, timers, tell it our state. */
  | { type: 'join'; setup: Setup }
  /** The peer is back on fresh channels. */
  | { type: 'resume'; setup: Setup }
  | { type: 'peer-left'; reason: 'bye' | 'lost' }
  | { type: 'warn'; code: string; message: string }
  /** Drop both channels and reconnect (the reconnector decides when, or gives up). */
  | { type: 'reconnect' }
  /** End the call; `bye`: tell the peer (not when it already left or was declared lost). */
  | { type: 'end'; reason: EndReason; message?: string; bye: boolean };

export interface Step {
  state: LifecycleState;
  effects: LifecycleEffect[];
}

export const INITIAL_LIFECYCLE: LifecycleState = { phase: 'connecting', joined: false };

export function stepLifecycle(state: LifecycleState, event: LifecycleEvent, policy: LifecyclePolicy): Step {
  const same: Step = { state, effects: [] };
  if (state.phase === 'ending') return same;
  const ending = (...effects: LifecycleEffect[]): Step => ({ state: { ...state, phase: 'ending' }, effects });
  const lose = (...first: LifecycleEffect[]): Step => ({
    state: { ...state, phase: 'outage' },
    effects: [...first, ...(state.phase === 'live' ? [{ type: 'peer-left', reason: 'lost' } as const] : []), { type: 'reconnect' }],
  });
  switch (event.type) {
    case 'attached':
      return state.phase === 'connecting' ? { state: { ...state, phase: 'waiting' }, effects: [] } : same;
    case 'setup':
      if (!state.joined) return { state: { phase: 'live', joined: true }, effects: [{ type: 'join', setup: event.setup }] };
      if (state.phase === 'outage') return { state: { ...state, phase: 'live' }, effects: [{ type: 'resume', setup: event.setup }] };
      return same;
    case 'bye':
      return ending({ type: 'peer-left', reason: 'bye' }, { type: 'end', reason: 'hangup', bye: false });
    case 'closed':
      if (policy.reconnect && !(state.joined && policy.graceSec === 0)) return lose();
      if (!state.joined) {
        return ending({ type: 'end', reason: 'relay-unreachable', bye: true,
          message: `the relay closed the ${event.channel} connection while we were waiting for a peer` });
      }
      // No reconnecting (or no grace to wait for the peer): a lost connection ends the call.
      return ending(...(state.phase === 'live' ? [{ type: 'peer-left', reason: 'lost' } as const] : []),
        { type: 'end', reason: 'peer-lost', bye: false, message: `the connection to the peer was lost (${event.channel} closed without goodbye)` });
    case 'silent': {
      if (state.phase !== 'live') return same;
      const warn: LifecycleEffect = { type: 'warn', code: 'W_PEER_SILENT', message: `${event.why}: treating it as lost` };
      if (policy.reconnect && policy.graceSec !== 0) return lose(warn);
      return ending(warn, { type: 'peer-left', reason: 'lost' }, { type: 'end', reason: 'peer-lost', bye: false, message: `the peer was lost: ${event.why}` });
    }
    case 'stalled':
      // A peer that never confirmed the code is not waited for again.
      if (!state.joined || !policy.reconnect) return ending({ type: 'end', reason: 'peer-lost', message: event.why, bye: true });
      return lose({ type: 'warn', code: 'W_PEER_SILENT', message: event.why });
    case 'pairing-timeout':
      return lose();
    case 'back':
      if (state.phase !== 'outage') return same;
      // Nobody had joined yet: being back at the relay is all there is to restore.
      return state.joined ? same : { state: { ...state, phase: 'waiting' }, effects: [] };
    case 'wait-expired':
      return state.joined ? same : ending({ type: 'end', reason: 'no-peer', bye: true, message: `no peer joined within ${event.waitSec} s` });
    case 'end':
      return ending({ type: 'end', reason: event.reason, bye: true, ...(event.message !== undefined ? { message: event.message } : {}) });
  }
}
