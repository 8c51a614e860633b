/**
 * The default placement: `--handlers` pre-forked handler processes, each relaying many pairs.
 * The video and audio pairs of one session go to the same handler when it has room; a slot
 * whose handler dies is forked again (up to HANDLER_MAX_RESTARTS a window), and a heartbeat
 * tells a stalled handler from a busy one.
 */
import { HEARTBEAT_INTERVAL_MS } from './ipc.js';
import { HandlerProcess } from './handler-process.js';
import { Placement, type ActivePair, type PairToPlace } from './placement.js';

/** Pre-forked handlers, least loaded first, sessions kept together. */
export class PoolPlacement extends Placement {
  private readonly size: number;
  private readonly slots: HandlerProcess[] = [];
  /** session hash -> handler slot and how many of its pairs are there (affinity). */
  private readonly sessionSlot = new Map<string, { slot: number; pairs: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  private pingSeq = 0;

  constructor(handlers: number) {
    super();
    this.size = handlers;
  }

  start(): void {
    for (let slot = 0; slot < this.size; slot++) this.slots.push(this.slotHandler(slot));
    for (const h of this.slots) h.start();
    this.heartbeat = setInterval(() => {
      const seq = ++this.pingSeq;
      for (const h of this.slots) h.beat(seq);
    }, HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  hasRoom(session: string): boolean {
    if (!this.slots.some((h) => h.usable)) return true;
    return this.pick(session) !== undefined;
  }

  /** A new room: beside the code's other room when that handler has room, else the least loaded. */
  protected roomHandler(session: string): HandlerProcess | undefined | null {
    const together = this.rooms.handlerOf(session);
    if (together?.hasRoomForMember) return together;
    if (!this.slots.some((h) => h.usable)) return undefined;
    const load = (h: HandlerProcess): number => h.pairs.size + h.members / 2;
    let best: HandlerProcess | undefined;
    for (const h of this.slots) if (h.hasRoomForMember && (!best || load(h) < load(best))) best = h;
    return best ?? null;
  }

  override close(): Promise<void> {
    clearInterval(this.heartbeat);
    return super.close();
  }

  protected handlers(): Iterable<HandlerProcess> {
    return this.slots;
  }

  protected place(pair: PairToPlace): void {
    const target = this.pick(pair.session);
    if (target) this.send(target, pair);
    else if (this.slots.some((h) => h.usable)) this.refuse(pair);
    else this.pending.push(pair);
  }

  protected override tookPair(h: HandlerProcess, pair: PairToPlace): void {
    const slot = h.slot!;
    const a = this.sessionSlot.get(pair.session);
    if (a && a.slot === slot) a.pairs++;
    else this.sessionSlot.set(pair.session, { slot, pairs: 1 });
  }

  protected override droppedPair(h: HandlerProcess, pair: ActivePair): void {
    const a = this.sessionSlot.get(pair.session);
    if (a && a.slot === h.slot && --a.pairs <= 0) this.sessionSlot.delete(pair.session);
  }

  private slotHandler(slot: number): HandlerProcess {
    const h = new HandlerProcess(slot);
    this.watch(h, () => {});
    h.on('ready', (pid) => {
      if (pid !== undefined) this.emit('handler-started', pid, slot);
      this.flushPending();
    });
    h.on('recovered', (pid) => {
      this.emit('handler-recovered', pid, slot);
      this.flushPending();
    });
    h.on('restarting', (attempt, delayMs) => this.emit('handler-restarting', slot, attempt, delayMs));
    h.on('gave-up', (death) => this.emit('handler-gave-up', death, slot));
    return h;
  }

  /** Pairs that waited for a usable handler go to one now. */
  private flushPending(): void {
    for (const pair of this.pending.splice(0)) this.place(pair);
  }

  /** The session's handler if it has room, else the least loaded one with room. */
  private pick(session: string): HandlerProcess | undefined {
    const affinity = this.sessionSlot.get(session);
    if (affinity) {
      const h = this.slots[affinity.slot];
      if (h?.hasRoom) return h;
    }
    let best: HandlerProcess | undefined;
    for (const h of this.slots) if (h.hasRoom && (!best || h.pairs.size < best.pairs.size)) best = h;
    return best;
  }
}
