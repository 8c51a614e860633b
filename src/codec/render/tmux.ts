/**
 * tmux passthrough: tmux forwards `ESC P tmux; <payload with every ESC doubled> ESC \` to the
 * outer terminal when its `allow-passthrough` option is on. Graphics escapes (sixel, kitty)
 * need it; text modes do not.
 */

const ESC = 0x1b;
const PREFIX = Buffer.from('\x1bPtmux;', 'latin1');
const SUFFIX = Buffer.from('\x1b\\', 'latin1');

/** Wrap terminal bytes for tmux passthrough. Empty stays empty. */
export function wrapTmuxPassthrough(bytes: Uint8Array): Buffer {
  if (bytes.length === 0) return Buffer.alloc(0);
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === ESC) escapes++;
  const out = Buffer.allocUnsafe(PREFIX.length + bytes.length + escapes + SUFFIX.length);
  PREFIX.copy(out, 0);
  let o = PREFIX.length;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out[o++] = b;
    if (b === ESC) out[o++] = ESC;
  }
  SUFFIX.copy(out, o);
  return out;
}
