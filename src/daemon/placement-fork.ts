/**
 * `--fork-per-pair`: a fresh handler child per channel pair, as the original server did. The
 * child exits with its pair and is never forked again; it gets no heartbeat (a stuck one
 * holds only its own pair). A room (docs/rooms.md) gets a child of its own too, for all its
 * members, closed once the last one has gone.
 */
import { HandlerProcess } from './handler-process.js';
import { Placement, type PairToPlace } from './placement.js';

/** One single-pair child per pair. */
export class ForkPerPairPlacement extends Placement {
  private readonly children = new Set<HandlerProcess>();

  start(): void {}

  /** A new child has all its descriptors. */
  hasRoom(): boolean {
    return true;
  }

  protected handlers(): Iterable<HandlerProcess> {
    return this.children;
  }

  /** A room gets a child of its own, closed when the room's last member has gone. */
  protected roomHandler(): HandlerProcess {
    const h = new HandlerProcess(null);
    this.children.add(h);
    this.watch(h, () => this.children.delete(h));
    h.on('ready', (pid) => {
      if (pid !== undefined) this.emit('handler-started', pid, null);
    });
    h.on('recovered', (pid) => this.emit('handler-recovered', pid, null));
    h.on('gave-up', () => this.children.delete(h));
    h.start();
    return h;
  }

  protected override roomClosed(h: HandlerProcess): void {
    void h.close();
  }

  protected place(pair: PairToPlace): void {
    const h = new HandlerProcess(null);
    this.children.add(h);
    this.watch(h, () => this.children.delete(h));
    h.on('ready', (pid) => {
      if (pid !== undefined) this.emit('handler-started', pid, null);
      const idx = this.pending.findIndex((p) => h.pairs.has(p.pairId));
      if (idx >= 0) this.send(h, this.pending.splice(idx, 1)[0]!);
    });
    h.on('recovered', (pid) => this.emit('handler-recovered', pid, null));
    h.on('gave-up', () => this.children.delete(h));
    this.pending.push(pair);
    h.pairs.add(pair.pairId);
    h.start();
  }
}
