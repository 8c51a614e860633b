/**
 * The end-to-end protocol the two clients speak inside the relayed stream, after the
 * relay handshake: HELLO, then records holding typed messages. Pure: no sockets, no
 * timers. docs/protocol.md is the specification.
 */
export * from './constants.js';
export * from './errors.js';
export * from './hello.js';
export * from './record.js';
export * from './messages.js';
export { EMPTY_PAYLOAD, MessageFramer, STATE_CAMERA_OFF_BIT, STATE_MUTED_BIT, STATE_NO_CAMERA_BIT, STATE_NO_MIC_BIT, encodeFramedMessage, encodeMessage, truncateUtf8 } from './serialize.js';
export * from './parse.js';
export * from './clock.js';
