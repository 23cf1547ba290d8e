/**
 * The spool: the netflow input's sink when a disk queue is configured (OUTPUT.md, "The queue").
 *
 *   UDP handler ──tryPublish──► DiskQueue (write-through) ──pump──► MemoryQueue ──► Pipeline
 *                                   ▲                                                  │
 *                                   └──────────── ack(position), per event ◄───────────┘
 *
 * Every event is written to disk first, so a crash or an Elasticsearch outage loses nothing up
 * to the disk queue's size. The pump moves records from disk into the memory queue with ack
 * handles that acknowledge the disk record; the memory queue's `publish` waits while it is full,
 * which is the backpressure: the records stay on disk meanwhile. After a restart the records
 * not acknowledged are read again; their `_id` travels with them, so Elasticsearch indexes each
 * one once.
 *
 * Ack handles on the events given to the spool are not called: it is meant for sources that do
 * not track delivery (UDP). The event's document crosses the disk as JSON text (`eventJson`).
 *
 * Lifecycle: `start()` runs the pump; `stop()` ends it without waiting for a `publish` that is
 * blocked on a full memory queue (that event, if the queue takes it later, is still delivered
 * and acknowledged; records read and not handed over are read again after a restart). Then stop
 * the pipeline (which drains the memory queue and so acknowledges what it delivers), then
 * `close()` (which closes the disk queue and writes its ledger).
 */
import type { EventSink } from '../inputs/input.ts';
import { type Logger, silentLogger } from '../monitoring/logger.ts';
import type { MetricsRegistry } from '../monitoring/metrics.ts';
import { FlowshipError } from '../util/errors.ts';
import { sleep, systemClock } from './clock.ts';
import { DiskQueue, type DiskQueueOptions } from './disk-queue.ts';
import { type Event, eventId, eventJson } from './event.ts';
import type { MemoryQueue } from './memory-queue.ts';

export interface DiskSpoolOptions {
  /** Where events are written first; `close()` closes it. */
  diskQueue: DiskQueue;
  /** Where the pump puts them, for the pipeline. */
  memoryQueue: MemoryQueue;
  /** Records taken from disk per read; default 512. */
  readBatch?: number;
  /** Pause after a failed read before trying again, in ms; default 1000. */
  readRetryMs?: number;
  logger?: Logger;
  /** Registry for the `flowship_diskspool_*` metrics (the disk queue registers its own). */
  metrics?: MetricsRegistry;
}

/** Options of {@link DiskSpool.open}: the disk queue's, plus the spool's. */
export interface OpenDiskSpoolOptions extends DiskQueueOptions, Omit<DiskSpoolOptions, 'diskQueue'> {}

export interface DiskSpoolStats {
  /** Events written to the disk queue (accepted by its `append`). */
  spooled: number;
  /** Events refused: disk queue full or closed, or not encodable. */
  dropped: number;
  /** Events that could not be encoded (a dataset, namespace or id over 65535 bytes). */
  encodeErrors: number;
  /** Events handed to the memory queue by the pump. */
  pumped: number;
  /** Records that could not be decoded (acknowledged and skipped). */
  decodeErrors: number;
  /** Failed disk queue reads (retried). */
  readErrors: number;
}

/** An event as read back from the spool. */
export interface SpooledEvent {
  dataset: string;
  namespace?: string;
  id?: string;
  json: string;
}

/**
 * A spool record's payload (inside a disk queue frame), big-endian:
 *
 *   offset      size  field
 *   +-----------+-----+---------------------------------------------------------+
 *   | 0         | 1   | version = 1                                             |
 *   | 1         | 1   | flags: bit 0 namespace present, bit 1 id present        |
 *   | 2         | 2   | D: dataset length in bytes                              |
 *   | 4         | 2   | N: namespace length in bytes (0 when absent)            |
 *   | 6         | 2   | I: id length in bytes (0 when absent)                   |
 *   | 8         | D   | dataset, UTF-8                                          |
 *   | 8+D       | N   | namespace, UTF-8                                        |
 *   | 8+D+N     | I   | id, UTF-8                                               |
 *   | 8+D+N+I   | ..  | the document as JSON text, UTF-8, to the end            |
 *   +-----------+-----+---------------------------------------------------------+
 */
const VERSION = 1;
const HAS_NAMESPACE = 1;
const HAS_ID = 2;
const FIXED = 8;
const MAX_FIELD = 0xffff;

/**
 * Encodes `event` into `scratch` (grown when too small; pass the returned buffer next time).
 * Returns the buffer and the payload length, or undefined when a field is too long to encode.
 */
export function encodeSpoolRecord(
  event: Event,
  scratch: Buffer = Buffer.allocUnsafe(0),
): { buffer: Buffer; length: number } | undefined {
  const dataset = event.dataset;
  const namespace = event.namespace;
  const id = eventId(event);
  const json = eventJson(event);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const worst = FIXED + 3 * (dataset.length + (namespace?.length ?? 0) + (id?.length ?? 0) + json.length);
  let buf = scratch;
  if (buf.length < worst) buf = Buffer.allocUnsafe(Math.max(worst, 2 * buf.length, 4096));
  let at = FIXED;
  const d = buf.write(dataset, at, 'utf8');
  at += d;
  const n = namespace === undefined ? 0 : buf.write(namespace, at, 'utf8');
  at += n;
  const i = id === undefined ? 0 : buf.write(id, at, 'utf8');
  at += i;
  if (d > MAX_FIELD || n > MAX_FIELD || i > MAX_FIELD) return undefined;
  at += buf.write(json, at, 'utf8');
  buf[0] = VERSION;
  buf[1] = (namespace === undefined ? 0 : HAS_NAMESPACE) | (id === undefined ? 0 : HAS_ID);
  buf.writeUInt16BE(d, 2);
  buf.writeUInt16BE(n, 4);
  buf.writeUInt16BE(i, 6);
  return { buffer: buf, length: at };
}

/** Decodes a spool record; throws `FLOWSHIP_QUEUE_CORRUPT` when it is not one. */
export function decodeSpoolRecord(payload: Uint8Array): SpooledEvent {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < FIXED || buf[0] !== VERSION) {
    throw new FlowshipError(
      'FLOWSHIP_QUEUE_CORRUPT',
      buf.length < FIXED ? 'spool record too short' : `unknown spool record version ${buf[0]}`,
    );
  }
  const flags = buf[1];
  const d = buf.readUInt16BE(2);
  const n = buf.readUInt16BE(4);
  const i = buf.readUInt16BE(6);
  const nsAt = FIXED + d;
  const idAt = nsAt + n;
  const jsonAt = idAt + i;
  if (jsonAt > buf.length)
    throw new FlowshipError('FLOWSHIP_QUEUE_CORRUPT', 'spool record fields overrun it');
  const out: SpooledEvent = {
    dataset: buf.toString('utf8', FIXED, nsAt),
    json: buf.toString('utf8', jsonAt, buf.length),
  };
  if ((flags & HAS_NAMESPACE) !== 0) out.namespace = buf.toString('utf8', nsAt, idAt);
  if ((flags & HAS_ID) !== 0) out.id = buf.toString('utf8', idAt, jsonAt);
  return out;
}

export class DiskSpool implements EventSink {
  readonly #disk: DiskQueue;
  readonly #memory: MemoryQueue;
  readonly #readBatch: number;
  readonly #readRetryMs: number;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #scratch: Buffer = Buffer.allocUnsafe(16 * 1024);
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #stats: DiskSpoolStats = {
    spooled: 0,
    dropped: 0,
    encodeErrors: 0,
    pumped: 0,
    decodeErrors: 0,
    readErrors: 0,
  };

  constructor(options: DiskSpoolOptions) {
    const {
      diskQueue,
      memoryQueue,
      readBatch = 512,
      readRetryMs = 1000,
      logger = silentLogger,
      metrics,
    } = options;
    if (!Number.isInteger(readBatch) || readBatch < 1) {
      throw new RangeError(`spool readBatch must be an integer >= 1, got ${readBatch}`);
    }
    this.#disk = diskQueue;
    this.#memory = memoryQueue;
    this.#readBatch = readBatch;
    this.#readRetryMs = readRetryMs;
    this.#logger = logger;
    if (metrics !== undefined) this.#registerMetrics(metrics);
  }

  /** Opens the disk queue (recovering what a previous run left) and makes a spool on it. */
  static async open(options: OpenDiskSpoolOptions): Promise<DiskSpool> {
    const diskQueue = await DiskQueue.open(options);
    return new DiskSpool({ ...options, diskQueue });
  }

  /** The disk queue under the spool (for its stats). */
  get diskQueue(): DiskQueue {
    return this.#disk;
  }

  /** A copy of the counters. */
  get stats(): DiskSpoolStats {
    return { ...this.#stats };
  }

  /** Writes the event to the disk queue; false (counted) when it is full or closed. Never throws. */
  tryPublish(event: Event): boolean {
    let encoded: { buffer: Buffer; length: number } | undefined;
    try {
      encoded = encodeSpoolRecord(event, this.#scratch);
    } catch (err) {
      // A document that does not serialise (a BigInt, a cycle) is a bug upstream; count it.
      encoded = undefined;
      this.#logger.rateLimited('spool-encode-throw', 10_000).error('event could not be serialised', {
        dataset: event.dataset,
        error: err,
      });
    }
    if (encoded === undefined) {
      this.#stats.encodeErrors++;
      this.#stats.dropped++;
      this.#logger.rateLimited('spool-encode', 10_000).error('event could not be spooled; dropped', {
        dataset: event.dataset,
      });
      return false;
    }
    this.#scratch = encoded.buffer;
    if (this.#disk.append(encoded.buffer.subarray(0, encoded.length))) {
      this.#stats.spooled++;
      return true;
    }
    this.#stats.dropped++;
    return false;
  }

  /**
   * As `tryPublish`, for sources that could wait: resolves at once either way (a full disk queue
   * drops the event, counted, rather than blocking: the spool exists for sources that cannot wait).
   */
  publish(event: Event): Promise<void> {
    this.tryPublish(event);
    return Promise.resolve();
  }

  /** Starts the pump from disk to the memory queue. Idempotent; does nothing after `stop()`. */
  start(): void {
    if (this.#running !== undefined || this.#abort.signal.aborted) return;
    this.#running = this.#pump(this.#abort.signal).catch((err: unknown) => {
      this.#logger.error('spool pump failed', { error: err });
    });
  }

  /** Stops the pump (see the file comment). Every call returns the same promise. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      await this.#running;
    })();
    return this.#stopping;
  }

  /** Stops the pump and closes the disk queue (writing its ledger). Every call returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.stop();
      await this.#disk.close();
    })();
    return this.#closing;
  }

  async #pump(signal: AbortSignal): Promise<void> {
    const disk = this.#disk;
    const stats = this.#stats;
    const stopped = new Promise<'stopped'>((resolve) => {
      signal.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
    while (!signal.aborted) {
      let records: Awaited<ReturnType<DiskQueue['read']>>;
      try {
        records = await disk.read(this.#readBatch, signal);
      } catch (err) {
        stats.readErrors++;
        this.#logger.rateLimited('spool-read', 10_000).error('disk queue read failed; retrying', {
          error: err,
        });
        await sleep(systemClock, this.#readRetryMs, signal);
        continue;
      }
      if (records.length === 0) return; // closed, or stopped
      for (const record of records) {
        if (signal.aborted) return;
        const position = record.position;
        let spooled: SpooledEvent;
        try {
          spooled = decodeSpoolRecord(record.payload);
        } catch (err) {
          stats.decodeErrors++;
          this.#logger.rateLimited('spool-decode', 10_000).error('spool record unreadable; skipped', {
            error: err,
          });
          disk.ack(position);
          continue;
        }
        const event: Event = {
          json: spooled.json,
          dataset: spooled.dataset,
          ack: { ack: () => disk.ack(position) },
        };
        if (spooled.namespace !== undefined) event.namespace = spooled.namespace;
        if (spooled.id !== undefined) event.id = spooled.id;
        const memory = this.#memory;
        // Room now: taken at once, without a promise per event (the common case).
        if (memory.length < memory.capacity && memory.blocked === 0 && !memory.closed) {
          memory.tryPublish(event);
          stats.pumped++;
          continue;
        }
        const published = memory.publish(event);
        // A publish left behind by stop() may still reject when the memory queue closes.
        published.catch(() => {});
        try {
          if ((await Promise.race([published, stopped])) === 'stopped') return;
        } catch (err) {
          if (err instanceof FlowshipError && err.code === 'FLOWSHIP_QUEUE_CLOSED') return;
          throw err;
        }
        stats.pumped++;
      }
    }
  }

  #registerMetrics(registry: MetricsRegistry): void {
    const s = this.#stats;
    registry.counter({
      name: 'flowship_diskspool_pumped_total',
      help: 'Events moved from the disk queue to the memory queue.',
      collect: () => s.pumped,
    });
    registry.counter({
      name: 'flowship_diskspool_dropped_total',
      help: 'Events the spool could not write to the disk queue (full, closed or not encodable).',
      collect: () => s.dropped,
    });
    registry.counter({
      name: 'flowship_diskspool_decode_errors_total',
      help: 'Disk queue records that were not spool records (skipped).',
      collect: () => s.decodeErrors,
    });
  }
}
