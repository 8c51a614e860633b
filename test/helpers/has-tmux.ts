// TEST-ONLY: whether tmux is installed (the real-terminal tests skip without it).
import { execFileSync } from 'node:child_process';

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}
