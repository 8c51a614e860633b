/**
 * What the relay holds for one member of a room: one FIFO per sender, served in deficit
 * round robin by bytes, so a member who floods the room takes at most its share of each
 * receiver's link, never the others' share. Media is bounded in time: a droppable envelope
 * older than its budget (video shorter than audio) is dropped rather than sent late, and
 * when the bytes held pass the bound, the oldest droppable video goes first, then audio.
 * Envelopes that are not droppable (keys, control) are never dropped; a receiver that lets
 * those pile past the bound is too slow to stay (the caller cuts it).
 *
 * Pure: bytes in, bytes out, an injected clock; the room does the socket work.
 */
import { EnvelopeFlag } from '../../codec/room/index.js';

/** Video older than this is dropped, not sent (a late frame is worth less than the next). */
export const ROOM_VIDEO_BUDGET_MS = 300;
/** Audio older than this is dropped: longer than video, since a gap in speech hurts more. */
export const ROOM_AUDIO_BUDGET_MS = 600;
/** Bytes one receiver's queue may hold before media is evicted (then the receiver is cut). */
export const ROOM_QUEUE_MAX_BYTES = 8 * 1024 * 1024;
/** Bytes a sender may send per round before the next sender's turn. */
export const ROOM_QUANTUM_BYTES = 16 * 1024;

interface Item {
  bytes: Buffer;
  flags: number;
  atMs: number;
}

interface SenderQueue {
  senderId: number;
  items: Item[];
  /** Index of the first item not yet taken (items are shifted out in batches). */
  head: number;
  deficit: number;
  dropped: number;
}

/** Options of a ReceiverQueue. */
export interface ReceiverQueueOptions {
  now: () => number;
  videoBudgetMs?: number;
  audioBudgetMs?: number;
  maxBytes?: number;
  quantumBytes?: number;
}

function budgetOf(flags: number, video: number, audio: number): number {
  return flags & EnvelopeFlag.AUDIO ? audio : video;
}

/** One receiver's queue. */
export class ReceiverQueue {
  private readonly now: () => number;
  private readonly videoBudgetMs: number;
  private readonly audioBudgetMs: number;
  private readonly maxBytes: number;
  private readonly quantumBytes: number;
  private readonly senders = new Map<number, SenderQueue>();
  /** Senders with something queued, in round-robin order; `cursor` is whose turn it is. */
  private active: SenderQueue[] = [];
  private cursor = 0;
  /** True while the sender at `cursor` has had its quantum for this visit. */
  private visited = false;
  private held = 0;
  private heldControl = 0;

  constructor(options: ReceiverQueueOptions) {
    this.now = options.now;
    this.videoBudgetMs = options.videoBudgetMs ?? ROOM_VIDEO_BUDGET_MS;
    this.audioBudgetMs = options.audioBudgetMs ?? ROOM_AUDIO_BUDGET_MS;
    this.maxBytes = options.maxBytes ?? ROOM_QUEUE_MAX_BYTES;
    this.quantumBytes = options.quantumBytes ?? ROOM_QUANTUM_BYTES;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** Bytes held that may not be dropped. */
  get controlBytes(): number {
    return this.heldControl;
  }

  /**
   * Queues one envelope (already rewritten with its sender's id). Returns false when the
   * queue is over its bound with nothing left to drop: the receiver is too slow to stay.
   */
  push(senderId: number, flags: number, bytes: Buffer): boolean {
    let q = this.senders.get(senderId);
    if (!q) {
      q = { senderId, items: [], head: 0, deficit: 0, dropped: 0 };
      this.senders.set(senderId, q);
    }
    if (q.head === q.items.length) this.active.push(q);
    q.items.push({ bytes, flags, atMs: this.now() });
    this.held += bytes.length;
    if (!(flags & EnvelopeFlag.DROPPABLE)) this.heldControl += bytes.length;
    if (this.held > this.maxBytes) this.evict();
    return this.held <= this.maxBytes;
  }

  /** The next envelope to write, or null when nothing is due. Expired media is dropped on the way. */
  next(): Buffer | null {
    while (this.active.length > 0) {
      if (this.cursor >= this.active.length) this.cursor = 0;
      const q = this.active[this.cursor];
      this.expire(q);
      if (q.head === q.items.length) {
        this.retire(this.cursor);
        continue;
      }
      if (!this.visited) {
        q.deficit += this.quantumBytes;
        this.visited = true;
      }
      const item = q.items[q.head];
      if (item.bytes.length <= q.deficit) {
        q.deficit -= item.bytes.length;
        this.take(q);
        if (q.head === q.items.length) this.retire(this.cursor);
        return item.bytes;
      }
      // Not enough credit for this one: the next sender's turn; credit carries over.
      this.cursor++;
      this.visited = false;
    }
    return null;
  }

  /**
   * Drops every sender's expired media now, without taking anything (for a receiver that
   * is not being written to: its kernel buffer is full).
   */
  dropExpired(): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const q = this.active[i];
      this.expire(q);
      if (q.head === q.items.length) this.retire(i);
    }
  }

  /** Drops counted per sender since the last call (for DROPPED control envelopes). */
  takeDrops(): Map<number, number> {
    const out = new Map<number, number>();
    for (const q of this.senders.values()) {
      if (q.dropped > 0) out.set(q.senderId, q.dropped);
      q.dropped = 0;
    }
    return out;
  }

  /** Forgets a sender that left (what it sent and has not gone out is dropped). */
  removeSender(senderId: number): void {
    const q = this.senders.get(senderId);
    if (!q) return;
    while (q.head < q.items.length) this.take(q);
    const at = this.active.indexOf(q);
    if (at >= 0) this.retire(at);
    this.senders.delete(senderId);
  }

  private take(q: SenderQueue): Item {
    const item = q.items[q.head];
    q.items[q.head] = undefined as unknown as Item; // let the buffer go now, not at compaction
    q.head++;
    this.held -= item.bytes.length;
    if (!(item.flags & EnvelopeFlag.DROPPABLE)) this.heldControl -= item.bytes.length;
    if (q.head === q.items.length) {
      q.items = [];
      q.head = 0;
    } else if (q.head > 1024) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
    return item;
  }

  private retire(at: number): void {
    const [q] = this.active.splice(at, 1);
    q.deficit = 0;
    if (at < this.cursor) this.cursor--;
    else if (at === this.cursor) this.visited = false;
  }

  /** Drops this sender's expired media at the head of its queue (what is behind is younger). */
  private expire(q: SenderQueue): void {
    const now = this.now();
    while (q.head < q.items.length) {
      const item = q.items[q.head];
      if (!(item.flags & EnvelopeFlag.DROPPABLE)) return;
      if (now - item.atMs <= budgetOf(item.flags, this.videoBudgetMs, this.audioBudgetMs)) return;
      this.take(q);
      q.dropped++;
    }
  }

  /** Over the bound: drop the oldest droppable video, then audio, until under it or none is left. */
  private evict(): void {
    for (const audio of [false, true]) {
      while (this.held > this.maxBytes) {
        let oldest: { q: SenderQueue; index: number } | null = null;
        for (const q of this.active) {
          for (let i = q.head; i < q.items.length; i++) {
            const item = q.items[i];
            if (!(item.flags & EnvelopeFlag.DROPPABLE) || Boolean(item.flags & EnvelopeFlag.AUDIO) !== audio) continue;
            if (!oldest || item.atMs < oldest.q.items[oldest.index].atMs) oldest = { q, index: i };
            break; // within one sender the first match is its oldest
          }
        }
        if (!oldest) break;
        const { q, index } = oldest;
        const [item] = q.items.splice(index, 1);
        this.held -= item.bytes.length;
        q.dropped++;
        if (q.head === q.items.length) {
          q.items = [];
          q.head = 0;
          const at = this.active.indexOf(q);
          if (at >= 0) this.retire(at);
        }
      }
    }
  }
}
