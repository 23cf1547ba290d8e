/**
 * Ordered acknowledgement of one entry's ranges (TAILER.md §7): Filebeat's ordered ACK, Vector's
 * ordered finalizer. Ranges are queued in read order; acks mark them done in any order; the acked
 * offset is the end of the longest prefix of done ranges, and only that offset is persisted.
 *
 *     fifo:    [ g3 0-310 done ][ g3 310-311 done (empty) ][ g3 311-640 pending 1 ][ g3 640-990 done ]
 *              '--------- popped: acked = 311 -----------' '-- head: waits --------'
 *
 * A generation (truncation or replacement) empties the queue: acks of older generations then find
 * their range gone and never move the new generation's offset.
 */
import { EMPTY_MARKER, markerOf } from './identity.ts';

export interface TrackedRange {
  readonly generation: number;
  readonly start: number;
  readonly end: number;
  /** The up to 32 bytes before `end`: the marker's input if this range ends the acked prefix. */
  readonly tail: Buffer;
  /** Parts (documents) not yet acknowledged; 0 = done. */
  pending: number;
}

export class AckTracker {
  #generation = 0;
  #acked: number;
  #ackedTail: Buffer | undefined;
  #ackedMarker: string | undefined;
  #fifo: TrackedRange[] = [];
  #head = 0;
  #bytes = 0;

  /** Starts at `offset` with its marker (known from the registry) or the bytes before it. */
  constructor(offset = 0, marker: string | Buffer = EMPTY_MARKER) {
    this.#acked = offset;
    if (typeof marker === 'string') this.#ackedMarker = marker;
    else this.#ackedTail = marker;
  }

  get generation(): number {
    return this.#generation;
  }

  /** End of the longest prefix of done ranges (a line start). */
  get acked(): number {
    return this.#acked;
  }

  /** The marker of `acked`, hashed on demand (at registry writes, not per line). */
  get ackedMarker(): string {
    this.#ackedMarker ??= markerOf(this.#ackedTail ?? Buffer.alloc(0));
    return this.#ackedMarker;
  }

  /** Ranges queued (done or not) behind the acked offset. */
  get size(): number {
    return this.#fifo.length - this.#head;
  }

  /** Bytes of the queued ranges: the entry's share of the in-flight bound. */
  get inFlightBytes(): number {
    return this.#bytes;
  }

  /** Queues the next range in read order; `pending` 0 enters it already done. */
  push(start: number, end: number, tail: Buffer, pending: number): TrackedRange {
    const range: TrackedRange = { generation: this.#generation, start, end, tail, pending };
    this.#fifo.push(range);
    this.#bytes += end - start;
    return range;
  }

  /**
   * One part of `range` is acknowledged. Returns true when the range became done; a range of an
   * older generation, or one already done, is ignored.
   */
  ack(range: TrackedRange): boolean {
    if (range.generation !== this.#generation || range.pending <= 0) return false;
    range.pending--;
    return range.pending === 0;
  }

  /** Pops the done prefix; returns the bytes released (0 when the acked offset did not move). */
  advance(): number {
    let released = 0;
    while (this.#head < this.#fifo.length && this.#fifo[this.#head].pending === 0) {
      const r = this.#fifo[this.#head++];
      released += r.end - r.start;
      this.#acked = r.end;
      this.#ackedTail = r.tail;
      this.#ackedMarker = undefined;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#head);
      this.#head = 0;
    }
    this.#bytes -= released;
    return released;
  }

  /**
   * Moves the acked offset forward with nothing queued (`ignore_older` skipping a file's unread
   * bytes); same generation. Returns false, doing nothing, while ranges are queued.
   */
  skipTo(offset: number, tail: Buffer): boolean {
    if (this.size > 0) return false;
    this.#acked = offset;
    this.#ackedTail = tail;
    this.#ackedMarker = undefined;
    return true;
  }

  /**
   * A new generation from `offset` (0 after a truncation). Returns the bytes dropped from the
   * queue: their acks no longer count.
   */
  reset(offset = 0, marker: string | Buffer = EMPTY_MARKER): number {
    const dropped = this.#bytes;
    this.#generation++;
    this.#fifo = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#acked = offset;
    this.#ackedTail = typeof marker === 'string' ? undefined : marker;
    this.#ackedMarker = typeof marker === 'string' ? marker : undefined;
    return dropped;
  }
}
