/**
 * End-to-end security of a call (docs/security.md): session codes, the rendezvous id the
 * relay sees instead of the code, per-connection key agreement with key confirmation, and
 * sealed records. Pure apart from node:crypto: no sockets, no timers.
 */
export * from './constants.js';
export * from './errors.js';
export * from './normalize.js';
export * from './rendezvous.js';
export * from './key-exchange.js';
export * from './confirm.js';
export * from './aead.js';
export * from './session-code.js';
export * from './connection.js';
