/** Room mode (docs/rooms.md): the envelope the relay reads, its control messages, sender keys. */
export * from './constants.js';
export * from './errors.js';
export * from './envelope.js';
export * from './control.js';
export * from './sender-key.js';
export * from './member.js';
