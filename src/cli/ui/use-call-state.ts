import { useEffect, useReducer, type Dispatch } from 'react';
import type { EventEmitter } from 'node:events';
import type { SessionEvents } from '../session/events.js';
import { callReducer, initialCallView, type CallAction, type CallViewState, type InitialCallView } from './call-state.js';

/**
 * The call screen's state, fed by the session's typed events. Video frames are not state:
 * they go to the painter directly.
 */
export function useCallState(session: EventEmitter<SessionEvents>, init: InitialCallView): [CallViewState, Dispatch<CallAction>] {
  const [state, dispatch] = useReducer(callReducer, init, initialCallView);
  useEffect(() => {
    const handlers: { [K in keyof SessionEvents]?: (...args: SessionEvents[K]) => void } = {
      connecting: (relay) => dispatch(relay
        ? { type: 'connecting', relay: { host: relay.host, videoPort: relay.videoPort, audioPort: relay.audioPort } }
        : { type: 'connecting' }),
      waiting: ({ session: code }) => dispatch({ type: 'waiting', session: code }),
      'peer-joined': ({ peer }) => dispatch({ type: 'peer-joined', peer }),
      'peer-state': (peerState) => dispatch({ type: 'peer-state', state: peerState }),
      stats: (stats) => dispatch({ type: 'stats', stats, nowMs: Date.now() }),
      warning: ({ code, message }) => dispatch({ type: 'warning', code, message }),
      'peer-left': ({ reason }) => dispatch({ type: 'peer-left', reason }),
      reconnecting: ({ attempt, giveUpAtMs }) => dispatch({ type: 'reconnecting', attempt, ...(giveUpAtMs !== undefined ? { giveUpAtMs } : {}) }),
      reconnected: ({ peer }) => dispatch(peer ? { type: 'reconnected', peer } : { type: 'reconnected' }),
      ended: ({ reason, exitCode, message }) => dispatch({ type: 'ended', reason, exitCode, message }),
    };
    const entries = Object.entries(handlers) as Array<[keyof SessionEvents, (...args: unknown[]) => void]>;
    // EventEmitter<T>'s overloads do not accept a union of event names; the map above is typed per event.
    const emitter = session as unknown as EventEmitter;
    for (const [event, handler] of entries) emitter.on(event, handler);
    return () => {
      for (const [event, handler] of entries) emitter.off(event, handler);
    };
  }, [session]);
  return [state, dispatch];
}
