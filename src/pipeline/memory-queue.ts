/**
 * The bounded memory queue between the normalizer and the output.
 *
 * Two producer disciplines share one buffer (ARCHITECTURE.md, "two inputs with very different
 * physics"):
 * - `publish` is for file inputs: when the queue is full it waits, which stops the tailer from
 *   reading, and nothing is lost;
 * - `tryPublish` is for the UDP input: it never waits; when the queue is full it returns false
 *   and counts a drop (the input may spill to the disk queue instead).
 *
 * One consumer side: `getBatch(max, waitMs)` hands out batches by size or by age.
 *
 * Layout: a fixed ring of `capacity` slots plus a FIFO of blocked publishers.
 *
 *        head                     head + size (mod capacity)
 *          |                        |
 *          v                        v
 *   ring [ e0 | e1 | e2 | e3 | e4 |  .  |  .  |  .  ]     times[i] = when ring[i] was admitted
 *          oldest ----------> newest   free slots
 *
 *   waiters:  [ p5 ] -> [ p6 ] -> ...   publish() calls holding their event until a slot frees
 *   consumers: [ c0 ] -> [ c1 ] ...     getBatch() calls not yet satisfied; c0 owns the age timer
 *
 * Invariants, true between any two calls:
 *   0 <= size <= capacity; slots outside [head, head + size) are undefined (no leaks).
 *   waiters is non-empty only if size == capacity (a freed slot is given to the first waiter
 *     at once, in FIFO order, so blocked publishers keep their order and `tryPublish` cannot
 *     overtake them).
 *   consumers is non-empty only if the queue is open and size < consumers[0].max, and (size == 0
 *     or the age timer of consumers[0] is pending).
 *   once closed: waiters is empty (they were rejected), nothing is ever admitted again, and
 *     getBatch hands out what remains, then [].
 *   published - taken == size, where taken counts events handed out by getBatch.
 */
import { FlowshipError } from '../util/errors.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Event } from './event.ts';

export interface MemoryQueueOptions {
  /** Maximum number of events held; default 3200 (Filebeat's `queue.mem.events`). */
  maxEvents?: number;
  /** Time source for batch age; default the system clock. */
  clock?: Clock;
}

interface Waiter {
  event: Event;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Consumer {
  max: number;
  waitMs: number;
  resolve: (batch: Event[]) => void;
  timer: TimerHandle | undefined;
  /** The age timer fired: hand out what there is. */
  expired: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();

export class MemoryQueue {
  /** Maximum number of events held. */
  readonly capacity: number;
  readonly #clock: Clock;
  readonly #ring: Array<Event | undefined>;
  readonly #times: Float64Array;
  #head = 0;
  #size = 0;
  #waiters: Waiter[] = [];
  #consumers: Consumer[] = [];
  #closed = false;
  #published = 0;
  #dropped = 0;

  constructor(options: MemoryQueueOptions = {}) {
    const { maxEvents = 3200, clock = systemClock } = options;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new RangeError(`queue maxEvents must be an integer >= 1, got ${maxEvents}`);
    }
    this.capacity = maxEvents;
    this.#clock = clock;
    this.#ring = new Array(maxEvents).fill(undefined);
    this.#times = new Float64Array(maxEvents);
  }

  /** Events held now (gauge). */
  get length(): number {
    return this.#size;
  }

  /** Events ever admitted (counter). */
  get published(): number {
    return this.#published;
  }

  /** Events refused by `tryPublish` because the queue was full or closed (counter). */
  get dropped(): number {
    return this.#dropped;
  }

  /** `publish` calls waiting for room (gauge). */
  get blocked(): number {
    return this.#waiters.length;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds an event, waiting while the queue is full (backpressure for file inputs). Rejects with
   * `FLOWSHIP_QUEUE_CLOSED` if the queue is closed, or closes while this call waits: the event
   * was then not accepted and must not be acknowledged by the caller.
   */
  publish(event: Event): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#waiters.length === 0 && this.#size < this.capacity) {
      this.#admit(event);
      this.#serve();
      return RESOLVED;
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ event, resolve, reject });
    });
  }

  /**
   * Adds an event if there is room now; otherwise returns false and counts a drop. Never waits
   * and never throws: safe in a UDP message handler.
   */
  tryPublish(event: Event): boolean {
    if (this.#closed || this.#size >= this.capacity || this.#waiters.length > 0) {
      this.#dropped++;
      return false;
    }
    this.#admit(event);
    this.#serve();
    return true;
  }

  /**
   * Takes up to `max` events, oldest first. Resolves as soon as `max` are available, or once the
   * oldest available event has waited `waitMs` (so a batch never ages beyond `waitMs` in the
   * queue), or at once with what remains when the queue is closed: `[]` means closed and empty.
   * Concurrent calls are served in call order.
   */
  getBatch(max: number, waitMs: number): Promise<Event[]> {
    if (!Number.isInteger(max) || max < 1) {
      return Promise.reject(new RangeError(`getBatch max must be an integer >= 1, got ${max}`));
    }
    return new Promise((resolve) => {
      this.#consumers.push({ max, waitMs: Math.max(0, waitMs), resolve, timer: undefined, expired: false });
      this.#serve();
    });
  }

  /**
   * Stops accepting events. Blocked `publish` calls reject with `FLOWSHIP_QUEUE_CLOSED`; events
   * already queued stay available to `getBatch`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(closedError());
    this.#serve();
  }

  #admit(event: Event): void {
    const tail = (this.#head + this.#size) % this.capacity;
    this.#ring[tail] = event;
    this.#times[tail] = this.#clock.now();
    this.#size++;
    this.#published++;
  }

  #take(n: number): Event[] {
    const out: Event[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#size -= n;
    // Freed slots go to blocked publishers first, in order.
    while (this.#waiters.length > 0 && this.#size < this.capacity) {
      const w = this.#waiters.shift()!;
      this.#admit(w.event);
      w.resolve();
    }
    return out;
  }

  /** Hands batches to waiting consumers while their conditions hold; arms the age timer otherwise. */
  #serve(): void {
    while (this.#consumers.length > 0) {
      const c = this.#consumers[0];
      const size = this.#size;
      const ready =
        size >= c.max ||
        this.#closed ||
        (size > 0 && (c.expired || this.#times[this.#head] + c.waitMs <= this.#clock.now()));
      if (ready) {
        this.#consumers.shift();
        if (c.timer !== undefined) this.#clock.clearTimeout(c.timer);
        c.resolve(this.#take(Math.min(c.max, size)));
        continue;
      }
      if (size > 0 && c.timer === undefined) {
        const delay = this.#times[this.#head] + c.waitMs - this.#clock.now();
        c.timer = this.#clock.setTimeout(() => {
          c.timer = undefined;
          c.expired = true;
          this.#serve();
        }, delay);
      }
      return;
    }
  }
}

function closedError(): FlowshipError {
  return new FlowshipError('FLOWSHIP_QUEUE_CLOSED', 'the queue is closed; the event was not accepted');
}
