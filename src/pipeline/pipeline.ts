/**
 * The consumer side of the pipeline: queue -> output, with acknowledgements and retries.
 *
 * Each worker takes a batch from the queue (by size or by age), sends it, and then, per event:
 * - `ok`: acknowledged (`event.ack?.ack()`), counted as acked;
 * - `dead`: acknowledged too (the output dead-lettered it; a bad document must not block a
 *   file forever), counted as dead;
 * - `retry`: sent again, alone with the other retried events of the batch, after an
 *   exponential backoff with jitter; forever, never dropped. A rejected `send` counts as
 *   `retry` for the whole batch.
 * Every event is acknowledged exactly once: it leaves the retry loop on its first `ok` or `dead`.
 *
 * A worker finishes its batch before taking the next one, so with one worker (the default)
 * an outage holds the pipeline: the queue fills, file inputs pause, the UDP input drops or spills.
 *
 * `stop({ timeoutMs })` drains: the queue stops accepting, workers flush everything queued
 * through the output, then the output is closed. If the timeout hits first, workers give up at
 * their next retry pause, the events still queued or in flight are reported as `left`, never
 * acknowledged (file inputs will read them again), and the output is closed anyway. The close
 * gets what is left of the timeout (nothing, after a drain that timed out, beyond what it
 * finishes at once): an output stuck in close (a console write to a pipe nobody reads) is
 * reported as `closed: false` and left behind, so `stop` always ends within the timeout.
 */
import type { Logger } from '../monitoring/logger.ts';
import type { MetricsRegistry } from '../monitoring/metrics.ts';
import type { ItemResult, Output } from '../outputs/output.ts';
import { errorText } from '../outputs/output.ts';
import type { Clock } from './clock.ts';
import { sleep, systemClock } from './clock.ts';
import { type Event, eventId } from './event.ts';
import type { MemoryQueue } from './memory-queue.ts';

export interface PipelineOptions {
  /** Where events come from. */
  queue: MemoryQueue;
  /** Where they go. */
  output: Output;
  /** Events per batch; default 1600 (Filebeat's `bulk_max_size`). */
  batchSize?: number;
  /** Longest an event waits in the queue for its batch to fill, in ms; default 1000. */
  flushIntervalMs?: number;
  /** Batches in flight at once; default 1. */
  workers?: number;
  /** First retry pause in ms; default 1000 (Filebeat's `backoff.init`). */
  backoffInitMs?: number;
  /** Longest retry pause in ms; default 60000 (Filebeat's `backoff.max`). */
  backoffMaxMs?: number;
  /** Time source for backoff and the stop timeout; default the system clock. */
  clock?: Clock;
  /** Uniform random in [0, 1) for jitter; default `Math.random`. */
  random?: () => number;
  /** Registry to publish the pipeline's and the queue's metrics in. */
  metrics?: MetricsRegistry;
  /** Where send failures and dead events are reported (rate-limited). */
  logger?: Logger;
}

export interface StopOptions {
  /** Longest the whole stop may take (drain, then closing the output), in ms; default: no limit. */
  timeoutMs?: number;
}

export interface StopResult {
  /** Everything queued went through the output before the timeout. */
  drained: boolean;
  /** Events still queued or in flight (not acknowledged) when the timeout hit; 0 if drained. */
  left: number;
  /** The output's `close()` resolved within the timeout (false: it failed, or was still pending). */
  closed: boolean;
}

/** The pipeline's counters (all cumulative except `inFlight`). */
export interface PipelineStats {
  /** Events the output accepted (`ok`) and that were acknowledged. */
  acked: number;
  /** Events the output rejected for good (`dead`), acknowledged too. */
  dead: number;
  /** `retry` verdicts (an event retried three times counts three). */
  retried: number;
  /** Batches taken from the queue. */
  batches: number;
  /** `send` calls, retries included. */
  sends: number;
  /** `send` calls that rejected (treated as `retry` for the whole batch). */
  sendErrors: number;
  /** Events taken from the queue and not yet acknowledged (gauge). */
  inFlight: number;
}

export class Pipeline {
  readonly #queue: MemoryQueue;
  readonly #output: Output;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #workers: number;
  readonly #backoffInitMs: number;
  readonly #backoffMaxMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger | undefined;
  readonly #abort = new AbortController();
  readonly #stats: PipelineStats = {
    acked: 0,
    dead: 0,
    retried: 0,
    batches: 0,
    sends: 0,
    sendErrors: 0,
    inFlight: 0,
  };
  #sendSeconds: { observe(v: number): void } | undefined;
  #running: Promise<void> | undefined;
  #stopping: Promise<StopResult> | undefined;

  constructor(options: PipelineOptions) {
    const {
      queue,
      output,
      batchSize = 1600,
      flushIntervalMs = 1000,
      workers = 1,
      backoffInitMs = 1000,
      backoffMaxMs = 60_000,
      clock = systemClock,
      random = Math.random,
      metrics,
      logger,
    } = options;
    for (const [k, v, min] of [
      ['batchSize', batchSize, 1],
      ['workers', workers, 1],
      ['flushIntervalMs', flushIntervalMs, 0],
      ['backoffInitMs', backoffInitMs, 0],
    ] as const) {
      if (!Number.isInteger(v) || v < min)
        throw new RangeError(`pipeline ${k} must be an integer >= ${min}, got ${v}`);
    }
    this.#queue = queue;
    this.#output = output;
    this.#batchSize = batchSize;
    this.#flushIntervalMs = flushIntervalMs;
    this.#workers = workers;
    this.#backoffInitMs = backoffInitMs;
    // A maximum below the initial pause would make backoff shrink; clamp instead of failing.
    this.#backoffMaxMs = Math.max(backoffMaxMs, backoffInitMs);
    if (backoffMaxMs < backoffInitMs) {
      logger?.warning('backoff max is below backoff init; using init as max', {
        backoff_init_ms: backoffInitMs,
        backoff_max_ms: backoffMaxMs,
      });
    }
    this.#clock = clock;
    this.#random = random;
    this.#logger = logger;
    if (metrics !== undefined) this.#registerMetrics(metrics);
  }

  /** A copy of the counters. */
  get stats(): PipelineStats {
    return { ...this.#stats };
  }

  /** Starts the workers. Idempotent. */
  start(): void {
    if (this.#running !== undefined) return;
    const workers: Promise<void>[] = [];
    for (let i = 0; i < this.#workers; i++) workers.push(this.#work());
    this.#running = Promise.all(workers).then(() => {});
  }

  /**
   * Drains and stops: closes the queue, waits until everything queued went through the output
   * (or `timeoutMs` passed), then closes the output. Starts the workers if `start()` was never
   * called, so that queued events are still delivered. Every call returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    this.#stopping ??= this.#stop(options.timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number | undefined): Promise<StopResult> {
    const started = this.#clock.now();
    this.start();
    this.#queue.close();
    const running = this.#running!;
    let result = { drained: true, left: 0 };
    if (timeoutMs === undefined) {
      await running;
    } else {
      const timer = new AbortController();
      const timedOut = await Promise.race([
        running.then(() => false),
        sleep(this.#clock, timeoutMs, timer.signal).then(() => true),
      ]);
      timer.abort();
      if (timedOut) {
        result = { drained: false, left: this.#queue.length + this.#stats.inFlight };
        this.#abort.abort();
        this.#logger?.warning('pipeline stop timed out; events left unacknowledged', {
          timeout_ms: timeoutMs,
          left: result.left,
        });
      }
    }
    const remaining =
      timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (this.#clock.now() - started));
    return { ...result, closed: await this.#closeOutput(remaining) };
  }

  /** Closes the output, waiting at most `withinMs` (no limit when undefined); true if it closed. */
  async #closeOutput(withinMs: number | undefined): Promise<boolean> {
    const name = this.#output.name;
    const closing = (async () => this.#output.close())().then(
      () => true,
      (err: unknown) => {
        this.#logger?.error('closing the output failed', { output: name, error: err });
        return false;
      },
    );
    if (withinMs === undefined) return closing;
    const timer = new AbortController();
    const closed = await Promise.race([
      closing,
      sleep(this.#clock, withinMs, timer.signal).then(() => undefined),
    ]);
    timer.abort();
    if (closed !== undefined) return closed;
    this.#logger?.warning('the output did not close within the stop timeout; leaving it behind', {
      output: name,
    });
    return false;
  }

  async #work(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const batch = await this.#queue.getBatch(this.#batchSize, this.#flushIntervalMs);
      if (batch.length === 0) return; // closed and empty
      if (signal.aborted) return; // taken after the stop timeout: left unacknowledged
      await this.#deliver(batch, signal);
    }
  }

  /** Sends until every event of the batch is `ok` or `dead`, or the pipeline is aborted. */
  async #deliver(batch: Event[], signal: AbortSignal): Promise<void> {
    const stats = this.#stats;
    stats.batches++;
    stats.inFlight += batch.length;
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      const results = await this.#send(pending);
      const retry: Event[] = [];
      let lastError: string | undefined;
      for (let i = 0; i < pending.length; i++) {
        const event = pending[i];
        const r = results[i];
        if (r?.status === 'ok') {
          stats.acked++;
          this.#ack(event);
        } else if (r?.status === 'dead') {
          stats.dead++;
          this.#logger
            ?.rateLimited('pipeline-dead', 10_000)
            .warning('event rejected by the output for good', {
              output: this.#output.name,
              dataset: event.dataset,
              id: eventId(event),
              reason: r.error,
            });
          this.#ack(event);
        } else {
          stats.retried++;
          lastError = r?.error ?? lastError;
          retry.push(event);
        }
      }
      stats.inFlight -= pending.length - retry.length;
      pending = retry;
      if (pending.length === 0 || signal.aborted) return;
      const pause = this.#backoff(attempt);
      this.#logger?.rateLimited('pipeline-retry', 10_000).warning('output asked to retry events', {
        output: this.#output.name,
        events: pending.length,
        attempt: attempt + 1,
        backoff_ms: Math.round(pause),
        reason: lastError,
      });
      await sleep(this.#clock, pause, signal);
      if (signal.aborted) return;
    }
  }

  /** One `send`, never rejecting: failures become `retry` for the whole batch. */
  async #send(batch: readonly Event[]): Promise<Array<ItemResult | undefined>> {
    this.#stats.sends++;
    const started = this.#clock.now();
    try {
      const { results } = await this.#output.send(batch);
      this.#sendSeconds?.observe((this.#clock.now() - started) / 1000);
      if (results.length !== batch.length) {
        this.#logger
          ?.rateLimited('pipeline-result-count', 60_000)
          .error('output returned the wrong number of results', {
            output: this.#output.name,
            events: batch.length,
            results: results.length,
          });
      }
      // Missing results fall through to `retry` in #deliver; surplus ones are ignored.
      return results;
    } catch (err) {
      this.#stats.sendErrors++;
      this.#logger?.rateLimited('pipeline-send-error', 10_000).error('output send failed', {
        output: this.#output.name,
        events: batch.length,
        error: err,
      });
      return batch.map(() => ({ status: 'retry', error: errorText(err) }));
    }
  }

  #ack(event: Event): void {
    try {
      event.ack?.ack();
    } catch (err) {
      this.#logger
        ?.rateLimited('pipeline-ack-error', 10_000)
        .error('acknowledgement callback failed', { error: err });
    }
  }

  /**
   * "Equal jitter" (Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
   * half the exponential step is kept, half is random, so pauses still grow while workers and
   * instances spread out.
   */
  #backoff(attempt: number): number {
    const step = Math.min(this.#backoffMaxMs, this.#backoffInitMs * 2 ** Math.min(attempt, 30));
    return step / 2 + this.#random() * (step / 2);
  }

  #registerMetrics(registry: MetricsRegistry): void {
    const s = this.#stats;
    const q = this.#queue;
    const counter = (name: string, help: string, read: () => number): void => {
      registry.counter({ name, help, collect: read });
    };
    const gauge = (name: string, help: string, read: () => number): void => {
      registry.gauge({ name, help, collect: read });
    };
    counter(
      'flowship_pipeline_events_acked_total',
      'Events accepted by the output and acknowledged.',
      () => s.acked,
    );
    counter(
      'flowship_pipeline_events_dead_total',
      'Events rejected by the output for good (acknowledged).',
      () => s.dead,
    );
    counter(
      'flowship_pipeline_events_retried_total',
      'Retry verdicts from the output, per event and attempt.',
      () => s.retried,
    );
    counter('flowship_pipeline_batches_total', 'Batches taken from the queue.', () => s.batches);
    counter(
      'flowship_pipeline_send_errors_total',
      'Output send calls that failed as a whole.',
      () => s.sendErrors,
    );
    gauge(
      'flowship_pipeline_events_in_flight',
      'Events taken from the queue and not yet acknowledged.',
      () => s.inFlight,
    );
    gauge('flowship_queue_events', 'Events in the memory queue.', () => q.length);
    gauge('flowship_queue_capacity_events', 'Capacity of the memory queue in events.', () => q.capacity);
    gauge(
      'flowship_queue_blocked_publishers',
      'Publishers waiting for room in the memory queue.',
      () => q.blocked,
    );
    counter('flowship_queue_published_total', 'Events admitted into the memory queue.', () => q.published);
    counter(
      'flowship_queue_dropped_total',
      'Events refused because the memory queue was full or closed.',
      () => q.dropped,
    );
    this.#sendSeconds = registry.histogram({
      name: 'flowship_output_send_duration_seconds',
      help: 'Time taken by one output send call, retries counted separately.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
    });
  }
}
