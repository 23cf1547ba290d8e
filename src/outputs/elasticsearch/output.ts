/**
 * `output.elasticsearch`: batches from the pipeline become `_bulk` requests of `create` actions
 * into the data streams (or a plain index), and each event gets its verdict back.
 *
 *   pipeline batch (bulk_max_size events, or flush_interval)
 *     └─ split into requests of at most `maxBulkBytes` of NDJSON
 *          └─ gzip (compression_level > 0, on libuv's thread pool) ─► POST /_bulk?pipeline=_none
 *               ├─ no response (refused, timeout, TLS) ─► every event retry
 *               ├─ 413 ─► split in halves and send again; a single event: dead
 *               ├─ 429, 5xx, 401/403 or any other request-level failure ─► every event retry
 *               └─ 200 ─► per item: 2xx and 409 ok, 429/5xx retry, other 4xx dead
 *                                                         └─ the dead-letter file, fsynced
 *
 * The pipeline acknowledges `ok` and `dead` and re-sends `retry` with backoff, forever: nothing
 * is acknowledged that Elasticsearch did not accept (or that is not in the dead-letter file).
 * The request helper never retries by itself. The server's version is probed before the first
 * bulk, and again after a request got no answer or a 401/403 (the cluster may have been
 * replaced, the credentials rotated), so an unsupported cluster is named in the log, not guessed
 * at. An event that cannot be serialised is `dead`; a dead letter that cannot be written is
 * `retry`, so nothing is acknowledged that is neither in Elasticsearch nor in the file.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import { type Event, eventId, eventJson } from '../../pipeline/event.ts';
import { FlowshipError } from '../../util/errors.ts';
import type { BatchResult, ItemResult, Output } from '../output.ts';
import { errorText, uniformResult } from '../output.ts';
import { BulkEncoder, type BulkResponse, classifyItems, type ItemOutcome, indexSelector } from './bulk.ts';
import {
  authMessage,
  type Connection,
  checkServerVersion,
  connectionErrorText,
  type ServerInfo,
} from './connection.ts';
import type { DeadLetter, DeadLetterFile } from './dead-letter.ts';

const gzipAsync = promisify(gzip);

/** What `filter_path` keeps of a bulk response: only what the verdicts need. */
const BULK_FILTER = 'errors,items.*.status,items.*.error';

export interface ElasticsearchOutputOptions {
  connection: Connection;
  /** A plain index for every event instead of `logs-<dataset>-<namespace>`. */
  index?: string;
  /** Ingest pipeline; default none (`_none`): flowship's documents are final. */
  pipeline?: string;
  /** gzip level of request bodies, 0 (off) to 9; default 1. */
  compressionLevel?: number;
  /** Largest NDJSON body of one request, in characters (bytes for ASCII), before gzip; default 5 MiB. */
  maxBulkBytes?: number;
  /** Where rejected documents go; without one they are logged and counted only. */
  deadLetter?: DeadLetterFile;
  /**
   * Runs after each successful probe, before the next bulk (`run` installs missing index
   * templates here). A failure fails the probe: nothing is sent until it succeeds.
   */
  onConnect?: (server: ServerInfo) => Promise<void>;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** Counters of the Elasticsearch output. */
export interface ElasticsearchOutputStats {
  /** Documents indexed (2xx). */
  created: number;
  /** Documents answered 409: indexed before (a replay), acknowledged. */
  duplicates: number;
  /** Item verdicts `retry` (429, 5xx, no response), per attempt. */
  retried: number;
  /** Documents rejected for good (other 4xx). */
  dead: number;
  /** `_bulk` requests sent. */
  requests: number;
  /** Requests that failed as a whole (no response, or a non-200 status). */
  requestFailures: number;
  /** Request body bytes sent (after compression). */
  bytesSent: number;
}

export class ElasticsearchOutput implements Output {
  readonly name = 'elasticsearch';
  readonly stats: ElasticsearchOutputStats = {
    created: 0,
    duplicates: 0,
    retried: 0,
    dead: 0,
    requests: 0,
    requestFailures: 0,
    bytesSent: 0,
  };
  readonly #connection: Connection;
  readonly #encoder: BulkEncoder;
  readonly #query: Record<string, string>;
  readonly #compressionLevel: number;
  readonly #maxBulkBytes: number;
  readonly #deadLetter: DeadLetterFile | undefined;
  readonly #logger: Logger | undefined;
  readonly #onConnect: ((server: ServerInfo) => Promise<void>) | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #server: Promise<ServerInfo> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ElasticsearchOutputOptions) {
    const {
      connection,
      index,
      pipeline = '_none',
      compressionLevel = 1,
      maxBulkBytes = 5 * 1024 * 1024,
    } = options;
    if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
      throw new RangeError(`compressionLevel must be an integer from 0 to 9, got ${compressionLevel}`);
    }
    this.#connection = connection;
    this.#encoder = new BulkEncoder(indexSelector(index));
    this.#query = { pipeline, filter_path: BULK_FILTER };
    this.#compressionLevel = compressionLevel;
    this.#maxBulkBytes = maxBulkBytes;
    this.#deadLetter = options.deadLetter;
    this.#logger = options.logger;
    this.#onConnect = options.onConnect;
    if (options.metrics !== undefined) this.#registerMetrics(options.metrics);
  }

  /** The server's version, probed once (and again after a failed probe). */
  server(): Promise<ServerInfo> {
    if (this.#server === undefined) {
      const probing = this.#connection.probe().then(async (info) => {
        checkServerVersion(info);
        this.#logger?.info('connected to Elasticsearch', {
          version: info.version,
          cluster: info.clusterName,
        });
        // a data stream created before its template would keep the wrong mappings until rollover
        await this.#onConnect?.(info);
        return info;
      });
      probing.catch(() => {
        if (this.#server === probing) this.#server = undefined;
      });
      this.#server = probing;
    }
    return this.#server;
  }

  send(batch: readonly Event[]): Promise<BatchResult> {
    if (this.#closing !== undefined)
      return Promise.resolve(uniformResult(batch.length, 'retry', 'output closed'));
    const sending = this.#send(batch);
    this.#inFlight.add(sending);
    // both ways: a `finally` would hand a rejection to a promise nobody awaits
    const done = () => {
      this.#inFlight.delete(sending);
    };
    sending.then(done, done);
    return sending;
  }

  async #send(batch: readonly Event[]): Promise<BatchResult> {
    if (batch.length === 0) return { results: [] };
    try {
      await this.server();
    } catch (err) {
      this.stats.requestFailures++;
      this.stats.retried += batch.length;
      const text = err instanceof FlowshipError ? err.message : connectionErrorText(err);
      this.#logger?.rateLimited('es-connect', 10_000).error('cannot use Elasticsearch', { error: text });
      return uniformResult(batch.length, 'retry', text);
    }
    const results: ItemResult[] = new Array(batch.length);
    const dead: Array<{ at: number; letter: DeadLetter }> = [];
    // requests of at most maxBulkBytes, one after another (the pipeline's workers give concurrency)
    let chunk: number[] = [];
    let body = '';
    const flush = async () => {
      const events = chunk.map((i) => batch[i]);
      this.#collect(events, chunk, await this.#bulk(events, body), results, dead);
      chunk = [];
      body = '';
    };
    for (let i = 0; i < batch.length; i++) {
      let lines: string;
      try {
        lines = `${this.#encoder.action(batch[i])}\n${eventJson(batch[i])}\n`;
      } catch (err) {
        // an event that cannot be serialised never will be: it must not hold up the rest
        this.stats.dead++;
        results[i] = { status: 'dead', error: `cannot serialise the document: ${errorText(err)}` };
        this.#logger?.rateLimited('es-encode', 10_000).error('a document cannot be serialised; dropped', {
          dataset: batch[i].dataset,
          error: errorText(err),
        });
        continue;
      }
      if (body.length > 0 && body.length + lines.length > this.#maxBulkBytes) await flush();
      body += lines;
      chunk.push(i);
    }
    if (chunk.length > 0) await flush();
    if (dead.length > 0 && this.#deadLetter !== undefined) {
      // a letter that could not be written is not acknowledged: the document is sent again
      if (!(await this.#deadLetter.write(dead.map((d) => d.letter)))) {
        for (const { at } of dead)
          results[at] = { status: 'retry', error: 'the dead-letter file cannot be written' };
        this.stats.dead -= dead.length;
        this.stats.retried += dead.length;
      }
    }
    return { results };
  }

  /** Verdicts of `events` (at `positions` in the batch) into `results`; dead ones into `dead`. */
  #collect(
    events: readonly Event[],
    positions: readonly number[],
    outcomes: ItemOutcome[],
    results: ItemResult[],
    dead: Array<{ at: number; letter: DeadLetter }>,
  ) {
    const stats = this.stats;
    for (let k = 0; k < outcomes.length; k++) {
      const outcome = outcomes[k];
      const at = positions[k];
      if (outcome.status === 'ok') {
        if (outcome.duplicate === true) stats.duplicates++;
        else stats.created++;
        results[at] = { status: 'ok' };
        continue;
      }
      if (outcome.status === 'retry') {
        stats.retried++;
      } else {
        stats.dead++;
        const event = events[k];
        const index = this.#encoder.index(event);
        dead.push({
          at,
          letter: {
            index,
            id: eventId(event),
            status: outcome.httpStatus,
            error: outcome.error ?? '',
            json: eventJson(event),
          },
        });
        this.#logger?.rateLimited('es-dead', 10_000).warning('Elasticsearch rejected a document', {
          index,
          id: eventId(event),
          status: outcome.httpStatus,
          reason: outcome.error,
          dead_letter: this.#deadLetter?.path,
        });
      }
      results[at] =
        outcome.error === undefined
          ? { status: outcome.status }
          : { status: outcome.status, error: outcome.error };
    }
  }

  /** One `_bulk` request for `events` (whose NDJSON is `body`); one outcome per event. */
  async #bulk(events: readonly Event[], body: string): Promise<ItemOutcome[]> {
    const stats = this.stats;
    stats.requests++;
    let reply: { status: number; body: unknown };
    try {
      const payload =
        this.#compressionLevel > 0 ? await gzipAsync(body, { level: this.#compressionLevel }) : body;
      stats.bytesSent += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      reply = await this.#connection.request('POST', '/_bulk', {
        query: this.#query,
        ndjson: payload,
        gzipped: typeof payload !== 'string',
      });
    } catch (err) {
      this.#server = undefined; // no answer: the cluster may come back as another version
      return this.#requestFailed(events.length, connectionErrorText(err));
    }
    if (reply.status === 200) return classifyItems(reply.body as BulkResponse, events.length);
    if (reply.status === 413) {
      if (events.length === 1) {
        return [
          {
            status: 'dead',
            httpStatus: 413,
            error: 'document larger than the cluster accepts (http.max_content_length)',
          },
        ];
      }
      // too large as a whole: each half goes on its own
      const half = Math.ceil(events.length / 2);
      const first = events.slice(0, half);
      const second = events.slice(half);
      return [
        ...(await this.#bulk(first, this.#encoder.encode(first))),
        ...(await this.#bulk(second, this.#encoder.encode(second))),
      ];
    }
    if (reply.status === 401 || reply.status === 403) {
      this.#server = undefined; // credentials may change under us (an API key rotated): probe again
      return this.#requestFailed(events.length, authMessage(reply));
    }
    const reason = (reply.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
    const text = reason === undefined ? '' : `: ${reason.type ?? ''} ${reason.reason ?? ''}`.trimEnd();
    return this.#requestFailed(events.length, `bulk request answered ${reply.status}${text}`);
  }

  #requestFailed(count: number, error: string): ItemOutcome[] {
    this.stats.requestFailures++;
    this.#logger
      ?.rateLimited('es-request', 10_000)
      .warning('bulk request failed; the batch will be retried', {
        events: count,
        error,
      });
    const outcomes: ItemOutcome[] = new Array(count);
    for (let i = 0; i < count; i++) outcomes[i] = { status: 'retry', httpStatus: 0, error };
    return outcomes;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.#deadLetter?.close();
      await this.#connection.close();
    })();
    return this.#closing;
  }

  #registerMetrics(registry: MetricsRegistry): void {
    const s = this.stats;
    registry.counter({
      name: 'flowship_elasticsearch_events_total',
      help: 'Bulk item outcomes: created, duplicate (409, indexed before), retried (429/5xx/no response), dead (rejected).',
      labelNames: ['outcome'],
      collect: () => [
        { labels: { outcome: 'created' }, value: s.created },
        { labels: { outcome: 'duplicate' }, value: s.duplicates },
        { labels: { outcome: 'retried' }, value: s.retried },
        { labels: { outcome: 'dead' }, value: s.dead },
      ],
    });
    registry.counter({
      name: 'flowship_elasticsearch_bulk_requests_total',
      help: 'Bulk requests sent.',
      collect: () => s.requests,
    });
    registry.counter({
      name: 'flowship_elasticsearch_bulk_request_failures_total',
      help: 'Bulk requests that failed as a whole (no response or a non-200 status); their events are retried.',
      collect: () => s.requestFailures,
    });
    registry.counter({
      name: 'flowship_elasticsearch_bytes_sent_total',
      help: 'Bulk request body bytes sent, after compression.',
      collect: () => s.bytesSent,
    });
    const dl = this.#deadLetter;
    if (dl !== undefined) {
      registry.counter({
        name: 'flowship_elasticsearch_dead_letter_total',
        help: 'Rejected documents by fate: written to the dead-letter file, or dropped because it was full.',
        labelNames: ['fate'],
        collect: () => [
          { labels: { fate: 'written' }, value: dl.stats.written },
          { labels: { fate: 'dropped' }, value: dl.stats.dropped },
        ],
      });
      registry.counter({
        name: 'flowship_elasticsearch_dead_letter_write_errors_total',
        help: 'Failed writes of the dead-letter file; their documents are sent again.',
        collect: () => dl.stats.writeErrors,
      });
    }
  }
}
