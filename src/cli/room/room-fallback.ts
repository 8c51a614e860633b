/**
 * A relay that knows no rooms: the room session goes on as a one-to-one CallSession on the
 * same code (`vcroom1-` + id as the handshake code, which the other member reconnects with
 * too), its events passed on as the room's: the peer becomes member 1.
 */
import type { EventEmitter } from 'node:events';
import { ROOM_CODE_PREFIX } from '../../codec/room/index.js';
import { CallSession, type CallOptions } from '../session/call.js';
import type { CallStats } from '../session/events.js';
import type { MemberInfo, MemberStats, RoomSessionEvents } from './room-events.js';

type Ended = RoomSessionEvents['ended'][0];

/** The peer of the one-to-one call, as the room's member. */
const PEER_MEMBER_ID = 1;

/** Starts the one-to-one call; `done` gets its end in the room's terms (also emitted on `room`). */
export function fallBackToCall(opts: CallOptions, room: EventEmitter<RoomSessionEvents>, done: (e: Ended) => void): CallSession {
  const call = new CallSession({ ...opts, rendezvousPrefix: ROOM_CODE_PREFIX });
  const forward = ['waiting', 'warning', 'self-frame'] as const;
  for (const name of forward) (call as unknown as EventEmitter).on(name, (...args: unknown[]) => (room as unknown as EventEmitter).emit(name, ...args));
  let joined = false;
  const membersOf = (s: Pick<CallStats, 'videoFramesReceived' | 'audioMsReceived' | 'latencyMs'>): MemberStats[] => (joined
    ? [{ id: PEER_MEMBER_ID, videoFramesReceived: s.videoFramesReceived, audioMsReceived: s.audioMsReceived, latencyMs: s.latencyMs, present: true }]
    : []);
  call.on('stats', (s) => room.emit('stats', { ...s, members: membersOf(s) }));
  call.on('peer-joined', ({ peer }) => {
    joined = true;
    room.emit('member-joined', { memberId: PEER_MEMBER_ID, member: peer as MemberInfo });
  });
  call.on('video-frame', (f) => room.emit('member-frame', { memberId: PEER_MEMBER_ID, ...f }));
  call.on('peer-left', ({ reason }) => room.emit('member-left', { memberId: PEER_MEMBER_ID, reason: reason === 'bye' ? 'left' : 'lost' }));
  void call.run().then((ended) => {
    const e = { ...ended, members: membersOf(ended) } as Ended;
    room.emit('ended', e);
    done(e);
  });
  return call;
}
