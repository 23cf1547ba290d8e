/**
 * The contract between the pipeline and a sink (Elasticsearch, file, console, memory).
 *
 * The pipeline hands an output a batch and gets back one verdict per event, in order. The output
 * never acknowledges events itself: the pipeline acks `ok` and `dead` items and re-sends `retry`
 * items with backoff, so every output gets at-least-once delivery without knowing about inputs.
 */
import type { Event } from '../pipeline/event.ts';

/**
 * The fate of one event in a batch.
 *
 * - `ok`: the sink has it (for Elasticsearch: 2xx, or 409 on a create with our own id).
 * - `retry`: not delivered, try again later (429, 5xx, I/O errors, the output is closed).
 * - `dead`: will never be delivered as it is (mapping conflict, a document too large for the
 *   sink); the output has dead-lettered it where it can, and the pipeline acknowledges it so a
 *   bad document never blocks a file forever.
 */
export type ItemStatus = 'ok' | 'retry' | 'dead';

/** The verdict for one event. */
export interface ItemResult {
  /** What happened to the event. */
  status: ItemStatus;
  /** Why it was not `ok`: short human-readable text for logs and the dead-letter file. */
  error?: string;
}

/** The verdicts for one `send` call. */
export interface BatchResult {
  /** Exactly one result per event of the batch, in the batch's order. */
  results: ItemResult[];
}

/** A sink for batches of events. Each output has an in-memory twin for tests: `MemoryOutput`. */
export interface Output {
  /** Short stable name for logs and metric labels (`elasticsearch`, `file`, `console`, `memory`). */
  readonly name: string;

  /**
   * Delivers a batch and reports one result per event, in order.
   *
   * Failures are reported as `retry` (or `dead`) results, not thrown: a rejected promise is
   * treated by the pipeline as `retry` for the whole batch. Calls may overlap when the pipeline
   * runs several workers; an output serialises internally if its sink needs it. The batch array
   * and its events must not be modified or kept after the promise settles (the pipeline re-sends
   * the same event objects on retry). After `close()`, every item comes back as `retry`.
   */
  send(batch: readonly Event[]): Promise<BatchResult>;

  /**
   * Flushes what the output buffers (fsync for files), releases its resources, and resolves
   * when done. Idempotent: every call returns the same promise. Waits for an in-flight `send`
   * to finish writing but does not accept new ones.
   */
  close(): Promise<void>;
}

/** A result of `count` identical verdicts: handy for whole-batch failures. */
export function uniformResult(count: number, status: ItemStatus, error?: string): BatchResult {
  const results: ItemResult[] = new Array(count);
  for (let i = 0; i < count; i++) results[i] = error === undefined ? { status } : { status, error };
  return { results };
}

/** `err.message` for Errors (with the code when there is one), `String(err)` otherwise. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
