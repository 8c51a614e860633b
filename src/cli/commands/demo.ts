/**
 * `videochat demo`: a whole call on this machine, no camera or mic needed. It runs
 * `videochatd` on free loopback ports and two synthetic peers (test pattern + 1 kHz tone),
 * every one a CHILD PROCESS running the real programs (`bin/videochatd.js`, `bin/videochat.js
 * connect`): the cli never imports the daemon, and the demo exercises exactly what users run.
 *
 * Peer a is the one shown. In the TUI it is a child attached to this terminal (stdio
 * inherited), so it is `videochat connect` as a user would see it, with the terminal
 * detection, keys and restore of connect; this process never touches the terminal and only
 * supervises. Peer b always runs with `--json --audio-out none`.
 * With `--json` both peers' NDJSON lines are re-emitted on stdout, each tagged
 * `"peer":"a"` or `"peer":"b"` (a `peer-joined` line's own `peer` object moves to `remote`).
 *
 * Teardown (end of a peer, --duration, Ctrl-C, SIGTERM, SIGHUP, a closed stdout, an error):
 * peers get SIGINT (they hang up and exit), then the daemon SIGTERM; anything still alive
 * after a grace is killed. Every child also holds an IPC channel to us: when we die, even by
 * SIGKILL, it closes, and the peers hang up and the daemon shuts down by themselves.
 * The daemon and peer b run in their own process groups so that a Ctrl-C in the terminal
 * reaches only us and the teardown happens in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FatalError } from '../../codec/errors.js';
import { resolveFfmpeg } from '../../media/ffmpeg-path.js';
import { Supervisor, describeDeath } from '../../proc/supervisor.js';
import { RENDER_CHOICES, parseAudioOut, parseChoice, parseSeconds } from '../options.js';
import type { CommandContext, RawOptions } from '../program.js';
import { endReasonOf, exitStatusOf } from '../exit-codes.js';
import { ndjsonLine } from '../session/ndjson.js';
import { sessionCodeFor } from '../session/code.js';
import { watchHangup } from '../hangup-watch.js';

/** The daemon must print its listening line within this time. */
export const DAEMON_START_TIMEOUT_MS = 15_000;
/** How long the daemon may drain on shutdown (its --drain-timeout): the peers are gone by then. */
export const DAEMON_DRAIN_SEC = 2;
/** After one peer ended, the other gets this long to see the BYE and end by itself. */
export const PEER_FOLLOW_MS = 5000;
/** SIGINT to SIGKILL for a peer, SIGTERM to SIGKILL for the daemon. */
export const PEER_KILL_AFTER_MS = 5000;
export const DAEMON_KILL_AFTER_MS = 5000;
/** With --duration, the peers must have met and hung up within this much more (else teardown). */
export const DEMO_STARTUP_ALLOWANCE_MS = 30_000;
/** The peers give up waiting for each other after this long (their --wait). */
export const PEER_WAIT_SEC = 60;

const VIDEOCHAT_BIN = fileURLToPath(new URL('../../../bin/videochat.js', import.meta.url));
const VIDEOCHATD_BIN = fileURLToPath(new URL('../../../bin/videochatd.js', import.meta.url));

type PeerName = 'a' | 'b';

/**
 * One NDJSON line of a peer with the demo's tag: `{event, ts, peer, ...}`. The contract puts
 * `peer` on every demo line; `peer-joined` already has a `peer` field (the remote's HELLO),
 * which moves to `remote`. Returns null for a line that is not a JSON object.
 */
export function tagLine(line: string, peer: PeerName): string | null {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const { event, ts, peer: remote, ...rest } = obj as Record<string, unknown>;
  return `${JSON.stringify({ event, ts, peer, ...(remote !== undefined ? { remote } : {}), ...rest })}\n`;
}

/** Calls `onLine` for every complete line of `stream`. */
function eachLine(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) onLine(l);
  });
  stream.on('end', () => {
    if (partial.trim()) onLine(partial);
    partial = '';
  });
}

interface Relay {
  sup: Supervisor;
  videoPort: number;
  audioPort: number;
  pid: number;
}

/** Starts videochatd on loopback port 0 and waits for its listening line. */
function startRelay(ctx: CommandContext, track: (c: ChildProcess) => void): Promise<Relay> {
  return new Promise((resolve, reject) => {
    const sup = new Supervisor({
      name: 'videochatd',
      startupGraceMs: Infinity,
      killAfterMs: DAEMON_KILL_AFTER_MS,
      spawn: () => spawn(process.execPath, [
        VIDEOCHATD_BIN, '--host', '127.0.0.1', '--video-port', '0', '--audio-port', '0',
        '--log-level', 'warn', '--drain-timeout', String(DAEMON_DRAIN_SEC),
        // The IPC channel is its lifeline: it shuts down when we are gone, even SIGKILLed.
      ], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: ctx.env, detached: true }),
    });
    const timer = setTimeout(() => {
      void sup.close();
      reject(new FatalError('E_DEMO_RELAY', `the demo relay did not start within ${DAEMON_START_TIMEOUT_MS / 1000} s`));
    }, DAEMON_START_TIMEOUT_MS);
    sup.on('spawn', (child) => {
      track(child);
      eachLine(child.stdout, (line) => {
        try {
          const l = JSON.parse(line) as { msg?: string; videoPort?: number; audioPort?: number; pid?: number };
          if (l.msg === 'listening' && typeof l.videoPort === 'number' && typeof l.audioPort === 'number') {
            clearTimeout(timer);
            sup.markStarted();
            resolve({ sup, videoPort: l.videoPort, audioPort: l.audioPort, pid: l.pid ?? child.pid ?? 0 });
          }
        } catch {
          // Not a JSON line: the daemon's own business.
        }
      });
      child.stderr?.resume();
    });
    sup.on('died', (death) => {
      clearTimeout(timer);
      const message = `the demo relay ${describeDeath(death)}`;
      if (sup.started) ctx.stderr.write(`videochat: ${message}\n`);
      else reject(new FatalError('E_DEMO_RELAY', message));
    });
    sup.start();
  });
}

export async function run(_args: string[], raw: RawOptions, ctx: CommandContext): Promise<number> {
  const json = raw.json === true;
  const headless = json || raw.headless === true || ctx.stdout.isTTY !== true;
  const durationSec = typeof raw.duration === 'string' ? parseSeconds(raw.duration, '--duration') : undefined;
  const render = parseChoice(typeof raw.render === 'string' ? raw.render : 'auto', RENDER_CHOICES, '--render');
  // Checked here (exit 2 before anything starts); peer a checks a FILE.wav path again itself.
  const audioOut = typeof raw.audioOut === 'string' ? raw.audioOut : headless ? 'none' : 'speaker';
  parseAudioOut(audioOut);
  const fatal = (err: FatalError): number => {
    if (json) {
      for (const peer of ['a', 'b'] as const) {
        ctx.stdout.write(ndjsonLine('ended', { reason: endReasonOf(err), exitCode: exitStatusOf(err), message: err.message }, { peer }));
      }
    }
    ctx.stderr.write(`videochat: ${err.message}\n`);
    return exitStatusOf(err);
  };

  let ffmpeg: string;
  try {
    ffmpeg = (await resolveFfmpeg({ flag: typeof raw.ffmpeg === 'string' ? raw.ffmpeg : undefined, env: ctx.env })).path;
  } catch (err) {
    if (err instanceof FatalError) return fatal(err);
    throw err;
  }

  // Every child we start, so that even an unexpected exit of ours takes them along.
  const children = new Set<ChildProcess>();
  const track = (c: ChildProcess): void => {
    children.add(c);
    c.once('exit', () => children.delete(c));
  };
  const killAll = (): void => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.on('exit', killAll);

  let relay: Relay | undefined;
  const peers: Array<{ name: PeerName; sup: Supervisor; exited: Promise<number> }> = [];
  let stopping = false;
  let resolveStop: (() => void) | undefined;
  const stopRequested = new Promise<void>((r) => { resolveStop = r; });
  const requestStop = (): void => {
    if (stopping) return;
    stopping = true;
    resolveStop?.();
  };
  // SIGINT, SIGTERM, SIGHUP (the terminal closed) or a closed stdout (`demo --json | head`).
  const watch = watchHangup({ stdout: ctx.stdout, stderr: ctx.stderr, onHangup: requestStop });
  let safety: NodeJS.Timeout | undefined;

  try {
    try {
      relay = await startRelay(ctx, track);
    } catch (err) {
      if (err instanceof FatalError) return fatal(err);
      throw err;
    }
    const session = sessionCodeFor(undefined).code;
    const common = [
      'connect', '--host', '127.0.0.1', '--video-port', String(relay.videoPort), '--audio-port', String(relay.audioPort),
      '--session', session, '--video-in', 'test', '--audio-in', 'test', '--ffmpeg', ffmpeg, '--wait', String(PEER_WAIT_SEC),
      ...(durationSec !== undefined ? ['--duration', String(durationSec)] : []),
    ];
    // The peers are synthetic: the user's VIDEOCHAT_* defaults and config file (a `json`, `record`
    // or `snapshot` setting, say) must not leak into them; everything they need is on their command line.
    // --log-level debug reaches both peers as the variable (the relay keeps its own level).
    const peerEnv = demoPeerEnv(raw.logLevel === 'debug' ? { ...ctx.env, VIDEOCHAT_LOG_LEVEL: 'debug' } : ctx.env);
    const startPeer = (name: PeerName, args: string[], attachTty: boolean): void => {
      const sup = new Supervisor({
        name: `peer ${name}`,
        killAfterMs: PEER_KILL_AFTER_MS,
        // SIGINT is connect's hang up: it says BYE and exits 0.
        stop: (child) => child.kill('SIGINT'),
        spawn: () => spawn(process.execPath, [VIDEOCHAT_BIN, ...common, ...args], {
          // The IPC channel is its lifeline: it hangs up when we are gone, even SIGKILLed.
          stdio: attachTty ? ['inherit', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
          env: peerEnv,
          // The shown peer stays in the terminal's foreground group (it reads keys); the others
          // get their own group so that only we decide when they stop.
          detached: !attachTty,
        }),
      });
      const exited = new Promise<number>((resolve) => {
        sup.on('died', (death) => {
          if (death.spawnError) ctx.stderr.write(`videochat: ${describeDeath(death)}\n`);
          resolve(death.code ?? 1);
        });
        sup.on('closed', () => resolve(0));
      });
      sup.on('spawn', (child) => {
        track(child);
        if (attachTty) return;
        eachLine(child.stdout, (line) => {
          if (!json || watch.stdoutGone) return;
          const tagged = tagLine(line, name);
          if (tagged) ctx.stdout.write(tagged);
          else ctx.stderr.write(`${name}: ${line}\n`);
        });
        // Under the TUI the terminal belongs to peer a: b's progress lines would scribble over it.
        if (headless) eachLine(child.stderr, (line) => ctx.stderr.write(`${name}: ${line}\n`));
        else child.stderr?.resume();
      });
      sup.start();
      peers.push({ name, sup, exited });
    };

    // Peer b is silent (no speaker); a plays b's tone (--audio-out: the speaker in the TUI, nothing headless).
    startPeer('b', ['--json', '--audio-out', 'none'], false);
    startPeer('a', [...(headless ? [json ? '--json' : '--headless'] : ['--render', render]), '--audio-out', audioOut], !headless);
    ctx.stderr.write(`demo: relay pid ${relay.pid} on 127.0.0.1 video ${relay.videoPort} audio ${relay.audioPort}; `
      + `peers a and b, session ${session}${headless && durationSec === undefined ? '; Ctrl-C ends the demo' : ''}\n`);
    for (const p of peers) {
      const pid = p.sup.child?.pid;
      if (pid) ctx.stderr.write(`demo: peer ${p.name} pid ${pid}\n`);
    }
    if (durationSec !== undefined) {
      safety = setTimeout(requestStop, durationSec * 1000 + DEMO_STARTUP_ALLOWANCE_MS);
    }

    // The demo ends when a peer ends (q, --duration, a failure) or we are asked to stop.
    const codes = new Map<PeerName, number>();
    for (const p of peers) void p.exited.then((c) => codes.set(p.name, c));
    await Promise.race([...peers.map((p) => p.exited), stopRequested]);
    if (!stopping) {
      const follow = new Promise<void>((r) => setTimeout(r, PEER_FOLLOW_MS).unref());
      await Promise.race([Promise.all(peers.map((p) => p.exited)), follow, stopRequested]);
    }
    await Promise.all(peers.map((p) => p.sup.close()));
    const a = codes.get('a') ?? 0;
    const b = codes.get('b') ?? 0;
    return a !== 0 ? a : b;
  } finally {
    if (safety) clearTimeout(safety);
    await Promise.all(peers.map((p) => p.sup.close()));
    await relay?.sup.close();
    watch.stop();
    killAll();
    process.off('exit', killAll);
  }
}

/** The environment of a demo peer: the user's, minus videochat defaults (debugging kept), and no config file. */
export function demoPeerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('VIDEOCHAT_') || k === 'VIDEOCHAT_DEBUG' || k === 'VIDEOCHAT_LOG_LEVEL') out[k] = v;
  }
  // An empty file is an empty config (a missing VIDEOCHAT_CONFIG file is an error).
  out.VIDEOCHAT_CONFIG = '/dev/null';
  return out;
}
