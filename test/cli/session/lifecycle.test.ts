import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_LIFECYCLE, stepLifecycle, type LifecycleEvent, type LifecyclePolicy, type LifecycleState } from '../../../src/cli/session/lifecycle.js';
import type { Setup } from '../../../src/codec/protocol/index.js';

const setup = { client: 'videochat', video: null, audio: null } as unknown as Setup;
const RECONNECT: LifecyclePolicy = { reconnect: true, graceSec: 30 };

function run(events: LifecycleEvent[], policy = RECONNECT, from: LifecycleState = INITIAL_LIFECYCLE) {
  let state = from;
  const effects: string[] = [];
  for (const e of events) {
    const step = stepLifecycle(state, e, policy);
    state = step.state;
    for (const fx of step.effects) effects.push(fx.type === 'end' ? `end:${fx.reason}:${fx.bye ? 'bye' : 'no-bye'}` : fx.type === 'peer-left' ? `peer-left:${fx.reason}` : fx.type);
  }
  return { state, effects };
}

test('connecting -> waiting -> live: the first SETUP joins the peer once', () => {
  const r = run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'setup', setup }]);
  assert.deepEqual(r.state, { phase: 'live', joined: true });
  assert.deepEqual(r.effects, ['join']);
});

test('a live call that loses its connection reconnects; the returning peer resumes it', () => {
  const r = run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'closed', channel: 'video' }]);
  assert.equal(r.state.phase, 'outage');
  assert.deepEqual(r.effects, ['join', 'peer-left:lost', 'reconnect']);
  const back = run([{ type: 'back' }, { type: 'setup', setup }], RECONNECT, r.state);
  assert.equal(back.state.phase, 'live');
  assert.deepEqual(back.effects, ['resume']);
});

test('before anyone joined, being back at the relay is waiting again; --wait then ends with no-peer', () => {
  const r = run([{ type: 'attached' }, { type: 'closed', channel: 'audio' }, { type: 'back' }, { type: 'wait-expired', waitSec: 5 }]);
  assert.equal(r.state.phase, 'ending');
  assert.deepEqual(r.effects, ['reconnect', 'end:no-peer:bye']);
});

test('without reconnecting a close ends the call: relay-unreachable while waiting, peer-lost once joined (no BYE to a lost peer)', () => {
  const off = { reconnect: false, graceSec: 30 };
  assert.deepEqual(run([{ type: 'attached' }, { type: 'closed', channel: 'video' }], off).effects, ['end:relay-unreachable:bye']);
  assert.deepEqual(run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'closed', channel: 'video' }], off).effects,
    ['join', 'peer-left:lost', 'end:peer-lost:no-bye']);
  // --grace 0: the same once a peer joined, though reconnecting is on.
  assert.deepEqual(run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'silent', why: 'x' }], { reconnect: true, graceSec: 0 }).effects,
    ['join', 'warn', 'peer-left:lost', 'end:peer-lost:no-bye']);
});

test('BYE ends with hangup and no BYE back; ending is final', () => {
  const r = run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'bye' }, { type: 'closed', channel: 'video' }, { type: 'end', reason: 'media' }, { type: 'setup', setup }]);
  assert.deepEqual(r.effects, ['join', 'peer-left:bye', 'end:hangup:no-bye']);
  assert.equal(r.state.phase, 'ending');
});

test('a stall in the key exchange ends a call nobody joined, and reconnects one that was joined', () => {
  assert.deepEqual(run([{ type: 'attached' }, { type: 'stalled', why: 'x' }]).effects, ['end:peer-lost:bye']);
  assert.deepEqual(run([{ type: 'attached' }, { type: 'setup', setup }, { type: 'closed', channel: 'video' }, { type: 'back' }, { type: 'stalled', why: 'x' }]).effects,
    ['join', 'peer-left:lost', 'reconnect', 'warn', 'reconnect']);
  // Silence only counts while live.
  assert.deepEqual(run([{ type: 'attached' }, { type: 'silent', why: 'x' }]).effects, []);
});
