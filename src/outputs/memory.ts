/**
 * An output that keeps what it receives in memory, for tests of everything upstream of a real
 * sink. It can be told to fail (`failNext`, `rejectNext`, a `decide` function) and to hold
 * batches until released (`hold`/`release`), which is how tests create backpressure and
 * in-flight batches at will.
 */
import { type EcsDocument, type Event, eventDocument } from '../pipeline/event.ts';
import type { BatchResult, ItemResult, ItemStatus, Output } from './output.ts';
import { uniformResult } from './output.ts';

export interface MemoryOutputOptions {
  /** Output name; default `memory`. */
  name?: string;
  /**
   * Verdict for one event; `attempt` counts the sends that included this event, starting at 1.
   * Default: always `ok`. `failNext` and `rejectNext` take precedence.
   */
  decide?: (event: Event, attempt: number) => ItemStatus | ItemResult;
}

interface Failure {
  kind: 'status' | 'reject';
  status: ItemStatus;
  error: unknown;
}

export class MemoryOutput implements Output {
  readonly name: string;
  /** Events that came back `ok`, in delivery order (an event retried then delivered appears once). */
  readonly events: Event[] = [];
  /** Events that came back `dead`. */
  readonly dead: Event[] = [];
  /** Every batch as received, retries included (shallow copies of the batch arrays). */
  readonly batches: Event[][] = [];

  readonly #decide: (event: Event, attempt: number) => ItemStatus | ItemResult;
  readonly #attempts = new WeakMap<Event, number>();
  readonly #failures: Failure[] = [];
  #held: Array<() => void> | undefined;
  #inFlight = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: MemoryOutputOptions = {}) {
    const { name = 'memory', decide = () => 'ok' } = options;
    this.name = name;
    this.#decide = decide;
  }

  /** The documents delivered `ok`, in order: what a test usually asserts on. */
  get docs(): EcsDocument[] {
    return this.events.map(eventDocument);
  }

  /** Number of `send` calls that have started. */
  get sendCount(): number {
    return this.batches.length;
  }

  /** Number of `send` calls that have not settled yet (held or running). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many sends have included `event` so far. */
  attempts(event: Event): number {
    return this.#attempts.get(event) ?? 0;
  }

  /** The next `sends` calls answer `status` for every item (default `retry`). */
  failNext(sends = 1, status: ItemStatus = 'retry', error = 'injected failure'): void {
    for (let i = 0; i < sends; i++) this.#failures.push({ kind: 'status', status, error });
  }

  /** The next `send` call rejects with `error` (a misbehaving output; the pipeline must cope). */
  rejectNext(error: unknown = new Error('injected rejection')): void {
    this.#failures.push({ kind: 'reject', status: 'retry', error });
  }

  /** From now on, `send` calls wait (in flight) until `release()` or `close()`. */
  hold(): void {
    this.#held ??= [];
  }

  /** Lets every held `send` proceed and stops holding new ones. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const resume of held) resume();
  }

  async send(batch: readonly Event[]): Promise<BatchResult> {
    this.batches.push([...batch]);
    this.#inFlight++;
    try {
      if (this.#held !== undefined && !this.#closed) {
        const held = this.#held;
        await new Promise<void>((resolve) => held.push(resolve));
      }
      if (this.#closed) return uniformResult(batch.length, 'retry', 'output closed');
      for (const event of batch) this.#attempts.set(event, this.attempts(event) + 1);
      const failure = this.#failures.shift();
      if (failure?.kind === 'reject') throw failure.error;
      if (failure !== undefined) return uniformResult(batch.length, failure.status, String(failure.error));
      const results: ItemResult[] = batch.map((event) => {
        const verdict = this.#decide(event, this.attempts(event));
        return typeof verdict === 'string' ? { status: verdict } : verdict;
      });
      results.forEach((r, i) => {
        if (r.status === 'ok') this.events.push(batch[i]);
        else if (r.status === 'dead') this.dead.push(batch[i]);
      });
      return { results };
    } finally {
      this.#inFlight--;
    }
  }

  /** Marks the output closed; held sends are released and answer `retry`. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.release();
    })();
    return this.#closing;
  }
}
