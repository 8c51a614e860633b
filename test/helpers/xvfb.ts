/**
 * A private X server for real-terminal tests (xterm, mlterm), and a polite stop for the
 * processes they start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A slow start on a loaded machine still counts. */
const XVFB_START_TIMEOUT_MS = 30_000;
/** SIGTERM, then SIGKILL after this long. */
const STOP_KILL_AFTER_MS = 5000;

/**
 * Starts Xvfb on a free display and resolves with it (`:N`). `-displayfd`: Xvfb picks the
 * display and writes its number to fd 3 (no clash with other tests). `-noreset`: by default an
 * X server resets when its last client leaves and refuses clients meanwhile; each test's
 * terminal is the only client, so the next one failed now and then ("Can't open display").
 */
export async function startXvfb(size: { width: number; height: number }, track: (child: ChildProcess) => void): Promise<string> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-noreset', '-screen', '0', `${size.width}x${size.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  track(xvfb);
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display')), XVFB_START_TIMEOUT_MS);
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    xvfb.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code})`));
    });
  });
}

/** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
  await exited;
  clearTimeout(timer);
}
