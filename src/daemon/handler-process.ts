/**
 * One handler process (handler-main.ts), supervised through src/proc/supervisor.ts: its
 * child, whether it is ready and answering its pings, the pairs it holds and how many it can
 * hold within its descriptor limit, and the hand-over of a pair's sockets to it.
 */
import { EventEmitter } from 'node:events';
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { Supervisor, type ProcessDeath } from '../proc/supervisor.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_KILL_MS, HEARTBEAT_STALL_MS, type Channel, type FromHandler, type RoomMessage, type ToHandler } from './ipc.js';
import { openFds, pairCapacity, readNofile } from './fd-limits.js';

/** Restarts of one pool slot allowed per HANDLER_RESTART_WINDOW_MS before it gives up. */
export const HANDLER_MAX_RESTARTS = 20;
export const HANDLER_RESTART_WINDOW_MS = 60_000;
export const HANDLER_RESTART_INITIAL_DELAY_MS = 100;
/** Time a handler gets to exit after its IPC channel is closed, before SIGKILL. */
export const HANDLER_STOP_KILL_AFTER_MS = 2000;

/** A pair about to be handed to a handler. */
export interface PairHandover {
  pairId: number;
  channel: Channel;
  /** Session hash (never the raw code). */
  session: string;
  /** [the client that waited, the client that completed the pair] */
  sockets: [Socket, Socket];
  /** Bytes each client sent past its handshake, already read by the daemon. */
  rests: [Buffer, Buffer];
  /** When the pair formed (ms since the epoch): usage durations count from here. */
  pairedAt: number;
}

export interface HandlerProcessEvents {
  /** It said `ready` (its capacity is measured). */
  ready: [pid: number | undefined];
  /** A pair message from it (or from its previous child, whose last words may come late). */
  message: [msg: Extract<FromHandler, { type: 'pair-started' | 'progress' | 'pair-ended' }>];
  /** A room message from it (members admitted, joined, ended; room counters). */
  'room-message': [msg: RoomMessage];
  stalled: [pid: number | undefined, silentMs: number];
  recovered: [pid: number | undefined];
  killed: [pid: number | undefined, silentMs: number];
  /** It died and its channel has delivered everything: `lost` are the pairs it held. */
  died: [death: ProcessDeath, lost: number[]];
  stderr: [line: string, pid: number | undefined];
  restarting: [attempt: number, delayMs: number];
  'gave-up': [death: ProcessDeath];
}

function handlerEntry(): string {
  // Under tsx (tests importing src/) the sibling is .ts; in dist/ it is .js.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./handler-main${ext}`, import.meta.url).pathname;
}

/**
 * Stops the daemon's own reading of a socket and returns the bytes its stream had already
 * buffered, so the handler can be given every byte. Node's `send(msg, socket)` swaps the
 * handle's read callback for a no-op until the child acknowledges the handle, so a handle
 * still reading would silently drop whatever arrives in between: stop it at the source and
 * let the kernel hold the bytes for the child.
 */
function detachForHandover(socket: Socket): Buffer {
  socket.pause();
  const extra: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) extra.push(chunk);
  // read() may restart the handle's reading; stopping it must come last, in the same tick.
  // `_handle` is internal but has been stable since Node 0.x; there is no public readStop.
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  // Late events on the parent's now handle-less socket must not crash the daemon.
  socket.on('error', () => {});
  return extra.length === 0 ? Buffer.alloc(0) : Buffer.concat(extra);
}

/** A handler child and its supervisor. `slot` null: a single-pair child (--fork-per-pair). */
export class HandlerProcess extends EventEmitter<HandlerProcessEvents> {
  readonly slot: number | null;
  child: ChildProcess | undefined;
  ready = false;
  readonly pairs = new Set<number>();
  /** Room members handed to it and not yet ended (one descriptor each, half a pair). */
  members = 0;
  /** Pairs it can hold within its descriptor limit (measured when it is ready). */
  capacity = Infinity;
  /**
   * Pings sent since it last sent anything. Counted, not timed: after the acceptor itself was
   * stopped (SIGSTOP, a paused VM, a long stall) the wall clock said every handler had been
   * silent, and on waking it took them all for stalled (at 20 s it would have killed them,
   * and every call with them); it only knows of the pings it actually sent.
   */
  private unanswered = 0;
  /** Silent for HEARTBEAT_STALL_MS: no new pairs until it answers. */
  private stalled = false;
  private readonly supervisor: Supervisor;

  constructor(slot: number | null) {
    super();
    this.slot = slot;
    this.supervisor = new Supervisor({
      name: slot === null ? 'handler' : `handler-${slot}`,
      startupGraceMs: Infinity,
      killAfterMs: HANDLER_STOP_KILL_AFTER_MS,
      // Closing the IPC channel is the handler's signal to leave; SIGKILL follows if it does not.
      stop: (child) => {
        if (child.connected) child.disconnect();
        else child.kill('SIGTERM');
      },
      // A pool slot is forked again after a death; a single-pair child is not.
      ...(slot === null
        ? {}
        : { restart: { maxRestarts: HANDLER_MAX_RESTARTS, windowMs: HANDLER_RESTART_WINDOW_MS, initialDelayMs: HANDLER_RESTART_INITIAL_DELAY_MS, afterFailedStart: true } }),
      spawn: () => fork(handlerEntry(), slot === null ? ['--single-pair'] : [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] }),
    });
    this.supervisor.on('spawn', (child) => {
      this.child = child;
      this.ready = false;
      this.stalled = false;
      this.unanswered = 0;
      child.on('message', (msg: FromHandler) => this.onMessage(child, msg));
      // A write to a handler that just died must not take the daemon down.
      child.on('error', () => {});
    });
    this.supervisor.on('stderr', (line) => this.emit('stderr', line, this.child?.pid));
    this.supervisor.on('died', (death) => this.onDied(death));
    this.supervisor.on('restarting', (attempt, delayMs) => this.emit('restarting', attempt, delayMs));
    this.supervisor.on('gave-up', (death) => this.emit('gave-up', death));
  }

  /** Ready and answering its pings: may get new pairs. */
  get usable(): boolean {
    return this.ready && !this.stalled;
  }

  /** Usable with a descriptor to spare for one more pair. */
  get hasRoom(): boolean {
    return this.usable && this.pairs.size + Math.ceil(this.members / 2) < this.capacity;
  }

  /** Usable with a descriptor to spare for one more room member. */
  get hasRoomForMember(): boolean {
    return this.usable && this.pairs.size + Math.ceil((this.members + 1) / 2) <= this.capacity;
  }

  start(): void {
    this.supervisor.start();
  }

  /** Stops it (its IPC channel closes; SIGKILL later). Resolves once it has exited. */
  close(): Promise<void> {
    return this.supervisor.close();
  }

  /**
   * One heartbeat tick: silent for HEARTBEAT_STALL_MS (stopped, or stuck in a loop) it is
   * stalled and gets no new pairs; silent for HEARTBEAT_KILL_MS it is killed, and the
   * supervisor forks its replacement (its pairs end as handler-died).
   */
  beat(seq: number): void {
    if (!this.ready || !this.child) return;
    const silent = this.unanswered * HEARTBEAT_INTERVAL_MS;
    if (silent >= HEARTBEAT_KILL_MS) {
      this.emit('killed', this.child.pid, silent);
      this.ready = false;
      this.child.kill('SIGKILL');
      return;
    }
    if (silent >= HEARTBEAT_STALL_MS && !this.stalled) {
      this.stalled = true;
      this.emit('stalled', this.child.pid, silent);
    }
    this.send({ type: 'ping', seq });
    this.unanswered++;
  }

  send(msg: ToHandler): void {
    const child = this.child;
    if (!child?.connected) return;
    try {
      child.send(msg);
    } catch {
      // The handler is dying; its 'died' event settles its pairs.
    }
  }

  /** Sends both sockets of a pair (and the bytes already read from each); the caller checked `ready`. */
  handOver(pair: PairHandover): void {
    const child = this.child!;
    this.pairs.add(pair.pairId);
    for (const side of [0, 1] as const) {
      const socket = pair.sockets[side];
      const rest = Buffer.concat([pair.rests[side], detachForHandover(socket)]);
      const msg: ToHandler = { type: 'side', pairId: pair.pairId, side, rest, remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}` };
      try {
        child.send(msg, socket, { keepOpen: false }, (err) => {
          if (err) {
            socket.destroy();
            this.send({ type: 'abort', pairId: pair.pairId });
          }
        });
      } catch {
        socket.destroy();
      }
    }
  }

  /**
   * Sends a room member's socket (and the bytes already read from it); the caller checked
   * `ready`. `failed` runs if the handle cannot be sent (the socket is closed then).
   */
  handOverMember(m: { roomId: number; memberKey: number; socket: Socket; rest: Buffer; maxMembers: number; helloTimeoutMs: number }, failed: () => void): void {
    const child = this.child!;
    const { socket } = m;
    const rest = Buffer.concat([m.rest, detachForHandover(socket)]);
    const msg: ToHandler = {
      type: 'member',
      roomId: m.roomId,
      memberKey: m.memberKey,
      rest,
      remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`,
      maxMembers: m.maxMembers,
      helloTimeoutMs: m.helloTimeoutMs,
    };
    const fail = (): void => {
      socket.destroy();
      failed();
    };
    try {
      child.send(msg, socket, { keepOpen: false }, (err) => {
        if (err) fail();
      });
    } catch {
      fail();
    }
  }

  private onMessage(child: ChildProcess, msg: FromHandler): void {
    // (A dead child's last messages may still arrive after its replacement spawned.)
    if (this.child === child) this.unanswered = 0;
    if (this.child === child && this.stalled) {
      this.stalled = false;
      this.emit('recovered', child.pid);
    }
    if (msg.type === 'pong') return;
    if (msg.type === 'member-admitted' || msg.type === 'member-joined' || msg.type === 'member-ended' || msg.type === 'room-progress') {
      this.emit('room-message', msg);
      return;
    }
    if (msg.type !== 'ready') {
      this.emit('message', msg);
      return;
    }
    this.ready = true;
    if (child.pid !== undefined) {
      const limit = readNofile(child.pid);
      const baseline = openFds(child.pid);
      this.capacity = limit && baseline !== null ? pairCapacity(limit.soft, baseline) : Infinity;
    }
    this.supervisor.markStarted();
    this.emit('ready', child.pid);
  }

  private onDied(death: ProcessDeath): void {
    const child = this.child;
    this.ready = false;
    this.child = undefined;
    // The pairs the dead process held. Taken now: by the time its channel has drained, the
    // slot's replacement may already hold new pairs of its own in `pairs`.
    const lost = [...this.pairs];
    // 'exit' can overtake the last IPC messages (a per-pair handler reports its pair's end
    // and exits): settle the pairs only once the channel has delivered everything.
    const settle = (): void => {
      this.emit('died', death, lost);
    };
    if (child?.connected) child.once('disconnect', settle);
    else settle();
  }
}
