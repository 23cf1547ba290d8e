/**
 * The `netflow` input: UDP datagrams -> decoding stage (decoder -> ECS normalizer) -> pipeline.
 *
 * The socket callback only filters (`allowed_exporters`) and hands the datagram to the decoding
 * stage, which never blocks it: `workers: 1` decodes on this thread in batches from `setImmediate`
 * (decoding/inline.ts), `workers > 1` in worker threads that each own a share of the exporters
 * (decoding/pool.ts). A full queue drops the datagram and counts it. Documents go to the pipeline
 * with `tryPublish`: UDP cannot wait, so a full queue counts a drop instead of blocking the socket.
 */
import type { NetflowInputConfig } from '../../config/schema.ts';
import { parseIp } from '../../ecs/ip.ts';
import { inNetworks, type Networks } from '../../ecs/locality.ts';
import { NETFLOW_DATASET, type NetflowNormalizer } from '../../ecs/netflow.ts';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import type { EventSink, Input } from '../input.ts';
import { DatagramProcessor, type DecodeFailure } from './datagram-processor.ts';
import { NetflowDecoder, type Protocol } from './decoder/decoder.ts';
import type { ExporterAddress } from './decoder/legacy.ts';
import { DEFAULT_OPTIONS_LIMITS } from './decoder/options-state.ts';
import { DEFAULT_PENDING, type PendingOptions } from './decoder/pending.ts';
import type { SessionLimits } from './decoder/session.ts';
import { InlineDecoding } from './decoding/inline.ts';
import { WorkerPool } from './decoding/pool.ts';
import type { DecoderSettings } from './decoding/protocol.ts';
import type { DecodedDocument, DecoderState, DecodingSnapshot, DecodingStage } from './decoding/stage.ts';
import { DEFAULT_MAX_EXPORTERS, EXPORT_DELAY_BUCKETS } from './exporter-stats.ts';
import type { Compatibility, Dictionary } from './fields/types.ts';
import { udpSocketCounters } from './kernel-drops.ts';
import { type BoundAddress, type UdpNetwork, UdpReceiver } from './receiver.ts';
import { loadTemplateCache, saveTemplateCache } from './template-cache.ts';

export interface NetflowInputOptions {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly network: UdpNetwork;
  readonly protocols: readonly Protocol[];
  readonly maxMessageSize: number;
  readonly readBuffer?: number;
  readonly queueSize: number;
  readonly expirationTimeoutMs: number;
  readonly detectSequenceReset: boolean;
  readonly shareTemplates: boolean;
  readonly compatibility: Compatibility;
  /** `pending_data`: bounds of data sets kept until their template arrives (R1, extended mode). */
  readonly pending?: Partial<PendingOptions>;
  /** `limits`: sessions, templates and template fields per decoder. */
  readonly limits?: SessionLimits;
  /** `limits.max_exporters`: exporter label sets of the per-exporter metrics (per decoder). */
  readonly maxExporters?: number;
  /** `allowed_exporters`: datagrams from other addresses are dropped before decoding, and counted. */
  readonly allowedExporters?: Networks;
  readonly dictionary: Dictionary;
  readonly normalizer: NetflowNormalizer;
  /**
   * `workers > 1`: decoding runs in that many worker threads, each building its dictionary and
   * normalizer from `config` (then `dictionary` and `normalizer` above serve nothing but checks).
   * `documentIds`: whether the output needs the documents' ids (computed in the workers).
   */
  readonly workers?: {
    readonly count: number;
    readonly config: NetflowInputConfig;
    readonly documentIds: boolean;
  };
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** Milliseconds clock, for template expiry (decoding on this thread only). */
  readonly now?: () => number;
  /**
   * `template_cache` (R4): the file the learned templates are kept in across restarts, loaded at
   * start and written every `flushIntervalMs` when they changed, and at stop. Absent: disabled.
   */
  readonly templateCache?: { readonly path: string; readonly flushIntervalMs: number };
}

/** Filebeat's netflow input metric names (NETFLOW.md R8), plus flowship's. */
export interface NetflowInputStats {
  received_events_total: number;
  received_bytes_total: number;
  discarded_events_total: number;
  decode_errors_total: number;
  flows_total: number;
  published_events_total: number;
  dropped_events_total: number;
  truncated_datagrams_total: number;
  denied_events_total: number;
}

/** The most templates loaded from the cache (the most recently used first). */
const MAX_CACHED_TEMPLATES = 100_000;

/** How long one decoding snapshot serves the metrics of a collection. */
const SNAPSHOT_REUSE_MS = 50;

/** How often the pending-data age sweep runs (NETFLOW.md R1: every second). */
const PENDING_SWEEP_MS = 1000;

export class NetflowInput implements Input {
  readonly id: string;
  private readonly counts = {
    received_events_total: 0,
    received_bytes_total: 0,
    discarded_events_total: 0,
    published_events_total: 0,
    dropped_events_total: 0,
    truncated_datagrams_total: 0,
    denied_events_total: 0,
  };
  private readonly options: NetflowInputOptions;
  private readonly receiver: UdpReceiver;
  private readonly logger: Logger;
  private readonly stage: DecodingStage;
  /** The decoder of inline decoding (`workers: 1`); the workers have their own. */
  private readonly inlineDecoder: NetflowDecoder | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The templates' change count when the cache was last written (or loaded). */
  private savedChanges = -1;
  /** When the cache was last written or loaded (ms since the epoch). */
  private savedAt = 0;
  /** The cache write in progress, so that two never overlap. */
  private saving: Promise<void> | undefined;
  private templatesLoadedFromCache = 0;
  private stopping: Promise<void> | undefined;
  private bound: BoundAddress[] = [];
  private cachedSnapshot: { at: number; snapshot: DecodingSnapshot } | undefined;

  constructor(options: NetflowInputOptions) {
    this.options = options;
    this.id = options.id;
    this.logger = options.logger;
    const namespace = options.normalizer.dataStream.namespace;
    const callbacks = {
      publish: (document: DecodedDocument) => this.publish(document, namespace),
      onFailure: (failure: DecodeFailure) => this.logFailure(failure),
    };
    const decoderSettings: DecoderSettings = {
      compatibility: options.compatibility,
      protocols: options.protocols,
      shareTemplates: options.shareTemplates,
      detectSequenceReset: options.detectSequenceReset,
      expirationTimeoutMs: options.expirationTimeoutMs,
      pending: options.pending,
      limits: options.limits,
    };
    const maxExporters = options.maxExporters ?? DEFAULT_MAX_EXPORTERS;
    const workers = options.workers;
    if (workers !== undefined && workers.count > 1) {
      // the input's budgets are shared out: each worker holds a part of the exporters
      const share = (total: number) => Math.max(1, Math.ceil(total / workers.count));
      const pending = { ...DEFAULT_PENDING, ...options.pending };
      this.stage = new WorkerPool({
        workers: workers.count,
        queueSize: options.queueSize,
        setup: {
          inputId: options.id,
          config: workers.config,
          decoder: {
            ...decoderSettings,
            pending: { ...pending, maxBytes: share(pending.maxBytes) },
            optionsState: { maxBytes: share(DEFAULT_OPTIONS_LIMITS.maxBytes) },
          },
          documentIds: workers.documentIds,
          maxExporters: share(maxExporters),
        },
        logger: options.logger,
        callbacks,
      });
    } else {
      this.inlineDecoder = new NetflowDecoder({
        ...decoderSettings,
        dictionary: options.dictionary,
        now: options.now,
      });
      const processor = new DatagramProcessor({
        inputId: options.id,
        decoder: this.inlineDecoder,
        normalizer: options.normalizer,
        maxExporters,
        onFailure: callbacks.onFailure,
      });
      this.stage = new InlineDecoding(processor, options.queueSize, callbacks);
    }
    this.receiver = new UdpReceiver({
      host: options.host,
      port: options.port,
      network: options.network,
      readBuffer: options.readBuffer,
      maxMessageSize: options.maxMessageSize,
      onDatagram: (payload, from) => this.enqueue(payload, from),
      onTruncated: () => this.counts.truncated_datagrams_total++,
      onError: (err) =>
        this.logger.rateLimited('socket', 10_000).error('UDP socket error', { error: err.message }),
    });
    if (options.metrics !== undefined) this.registerMetrics(options.metrics);
  }

  /** Where the sockets listen (port 0 resolved), once started. */
  get addresses(): readonly BoundAddress[] {
    return this.bound;
  }

  get queueLength(): number {
    return this.stage.queueLength;
  }

  /** The input's counters, those of its decoders summed in. */
  get stats(): NetflowInputStats {
    const { counters } = this.stage.snapshot();
    return { ...this.counts, decode_errors_total: counters.decodeErrors, flows_total: counters.flows };
  }

  /** The decoding counters and gauges, summed over the decoders (workers report every 100 ms). */
  snapshot(): DecodingSnapshot {
    return this.stage.snapshot();
  }

  /**
   * The snapshot for metrics: one merge serves every metric of a collection (a scrape reads some
   * forty of them), however many workers and exporters.
   */
  private metricsSnapshot(): DecodingSnapshot {
    const now = Date.now();
    if (this.cachedSnapshot === undefined || now - this.cachedSnapshot.at > SNAPSHOT_REUSE_MS) {
      this.cachedSnapshot = { at: now, snapshot: this.stage.snapshot() };
    }
    return this.cachedSnapshot.snapshot;
  }

  async start(): Promise<void> {
    await this.stage.start();
    try {
      await this.loadTemplates();
      this.bound = await this.receiver.start();
    } catch (err) {
      // no decoding thread outlives an input that could not start, and its stop() must not
      // write the cache it loaded
      this.savedChanges = -1;
      await this.stage.stop();
      throw err;
    }
    for (const a of this.bound) {
      const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      this.logger.info('listening for NetFlow/IPFIX', {
        address,
        ...(a.dualStack ? { dual_stack: true } : {}),
        ...(this.options.workers !== undefined && this.options.workers.count > 1
          ? { workers: this.options.workers.count }
          : {}),
        input: this.id,
      });
      if (a.readBuffer !== undefined && a.readBuffer.granted < a.readBuffer.requested) {
        this.logger.warning(
          'the kernel granted a smaller receive buffer than read_buffer asks for; raise net.core.rmem_max (sysctl) to get it',
          { address, read_buffer: a.readBuffer.requested, granted: a.readBuffer.granted, input: this.id },
        );
      }
    }
    const decoder = this.inlineDecoder;
    if (decoder !== undefined) {
      const timeout = this.options.expirationTimeoutMs;
      // the decoder keeps each sweep to its own period; the timer only makes sure they run when
      // no datagram arrives (workers run their own)
      const period = Math.min(
        timeout > 0 ? Math.min(timeout, 60_000) : Number.POSITIVE_INFINITY,
        decoder.keepsPendingData ? PENDING_SWEEP_MS : Number.POSITIVE_INFINITY,
      );
      if (Number.isFinite(period)) {
        this.sweepTimer = setInterval(() => decoder.maybeSweep(), period);
        this.sweepTimer.unref();
      }
    }
    const cache = this.options.templateCache;
    if (cache !== undefined) {
      const expiration = this.options.expirationTimeoutMs;
      this.flushTimer = setInterval(() => {
        const { templates, templateChanges } = this.stage.snapshot();
        // also now and then when only uses changed, so that after a crash the last uses in the
        // file are not so old that the templates are taken as expired
        const stale =
          expiration > 0 &&
          templates > 0 &&
          (this.options.now ?? Date.now)() - this.savedAt >= expiration / 2;
        if (stale || templateChanges !== this.savedChanges) void this.saveTemplates();
      }, cache.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Loads the template cache into the decoders (R4); never throws. */
  private async loadTemplates(): Promise<void> {
    const cache = this.options.templateCache;
    if (cache === undefined) return;
    const now = (this.options.now ?? Date.now)();
    const result = await loadTemplateCache(cache.path, {
      shareTemplates: this.options.shareTemplates,
      expirationMs: this.options.expirationTimeoutMs,
      now,
      maxTemplates: MAX_CACHED_TEMPLATES,
    });
    if (result.ignored !== undefined) {
      this.logger.warning(`template cache ${result.ignored}; ignored`, { path: cache.path, input: this.id });
    }
    const loaded = await this.stage.importState({
      templates: result.templates,
      options: result.optionsState ?? [],
    });
    this.templatesLoadedFromCache += loaded;
    // what was loaded is what the file holds: no write until something changes (a worker's
    // count arrives with its next snapshot, so the first flush may rewrite the same content)
    this.savedChanges = this.stage.snapshot().templateChanges;
    this.savedAt = now;
    if (result.ignored === undefined && (loaded > 0 || result.expired > 0 || result.invalid > 0)) {
      this.logger.info('templates loaded from the template cache', {
        path: cache.path,
        loaded,
        expired: result.expired,
        invalid: result.invalid,
        refused: result.templates.length - loaded,
        input: this.id,
      });
    }
  }

  /**
   * Writes the template cache (R4), with the `final` state when the decoders have stopped;
   * errors are logged (rate-limited), never thrown.
   */
  private saveTemplates(final?: DecoderState): Promise<void> {
    const cache = this.options.templateCache;
    if (cache === undefined) return Promise.resolve();
    const previous = this.saving ?? Promise.resolve();
    const next = previous.then(async () => {
      const changes = this.stage.snapshot().templateChanges;
      const now = (this.options.now ?? Date.now)();
      try {
        const state = final ?? (await this.stage.exportState());
        await saveTemplateCache(cache.path, state.templates, {
          shareTemplates: this.options.shareTemplates,
          now,
          optionsState: state.options,
        });
        this.savedChanges = changes;
        this.savedAt = now;
      } catch (err) {
        this.logger.rateLimited('template-cache', 60_000).error('cannot write the template cache', {
          path: cache.path,
          error: (err as Error).message,
          input: this.id,
        });
      }
    });
    this.saving = next;
    void next.finally(() => {
      if (this.saving === next) this.saving = undefined;
    });
    return next;
  }

  private enqueue(payload: Buffer, from: ExporterAddress): void {
    const c = this.counts;
    c.received_events_total++;
    c.received_bytes_total += payload.length;
    const allowed = this.options.allowedExporters;
    if (allowed !== undefined && !this.isAllowed(allowed, from)) return;
    if (!this.stage.accept(payload, from)) c.discarded_events_total++;
  }

  /** Whether `allowed_exporters` lets this exporter in; a refusal is counted and logged (rate-limited). */
  private isAllowed(allowed: Networks, from: ExporterAddress): boolean {
    const ip = parseIp(from.ip);
    if (ip !== undefined && inNetworks(allowed, ip)) return true;
    this.counts.denied_events_total++;
    // one key per input: a spoofed flood from ever new addresses must not write a line per datagram
    this.logger
      .rateLimited('denied', 60_000)
      .warning('datagram from an exporter outside allowed_exporters; dropped', {
        exporter: from.address,
        input: this.id,
      });
    return false;
  }

  private publish(document: DecodedDocument, namespace: string): void {
    const published = this.options.sink.tryPublish({ ...document, dataset: NETFLOW_DATASET, namespace });
    if (published) this.counts.published_events_total++;
    else this.counts.dropped_events_total++;
  }

  /** Decodes one datagram now, as if received, on this thread (`workers: 1` only): for tests. */
  process(payload: Buffer, from: ExporterAddress): void {
    if (!(this.stage instanceof InlineDecoding)) throw new Error('process() needs workers: 1');
    const allowed = this.options.allowedExporters;
    if (allowed !== undefined && !this.isAllowed(allowed, from)) return;
    this.stage.process(payload, from);
  }

  private logFailure(f: DecodeFailure): void {
    // Keyed by exporter IP, never port: an exporter (or a spoofer) changing source port per
    // datagram would otherwise get a line per datagram.
    this.logger.rateLimited(`decode:${f.ip}:${f.reason}`, 60_000).warning('cannot decode datagram', {
      exporter: f.exporter,
      version: f.version,
      ...(f.sourceId === undefined ? {} : { source_id: f.sourceId }),
      ...(f.templateId === undefined ? {} : { template_id: f.templateId }),
      reason: f.reason,
      error: f.message,
      input: this.id,
    });
  }

  private registerMetrics(metrics: MetricsRegistry): void {
    const labels = { input: this.id };
    const own = (name: keyof NetflowInput['counts'], help: string) =>
      metrics.counter({
        name: `flowship_netflow_${name}`,
        help,
        labelNames: ['input'],
        collect: () => [{ labels, value: this.counts[name] }],
      });
    own('received_events_total', 'Datagrams received.');
    own('received_bytes_total', 'Datagram bytes received.');
    own('discarded_events_total', 'Datagrams dropped because the decoding queue was full.');
    own('denied_events_total', 'Datagrams dropped because their exporter is not in allowed_exporters.');
    own('published_events_total', 'Documents handed to the pipeline.');
    own('dropped_events_total', 'Documents dropped because the pipeline queue was full.');
    own('truncated_datagrams_total', 'Datagrams longer than max_message_size, truncated.');
    const snap = () => this.metricsSnapshot();
    const counter = (name: string, help: string, read: (s: DecodingSnapshot) => number) =>
      metrics.counter({
        name,
        help,
        labelNames: ['input'],
        collect: () => [{ labels, value: read(snap()) }],
      });
    const gauge = (name: string, help: string, read: (s: DecodingSnapshot) => number) =>
      metrics.gauge({ name, help, labelNames: ['input'], collect: () => [{ labels, value: read(snap()) }] });
    counter(
      'flowship_netflow_decode_errors_total',
      'Datagrams that could not be decoded (whole datagram discarded), and records that could not be normalised.',
      (s) => s.counters.decodeErrors,
    );
    counter('flowship_netflow_flows_total', 'Flow records decoded.', (s) => s.counters.flows);
    // what the kernel dropped before flowship could read it (the receive buffer was full)
    const kernel = () => {
      const port = this.bound[0]?.port;
      return port === undefined ? undefined : udpSocketCounters(port);
    };
    metrics.counter({
      name: 'flowship_netflow_kernel_drops_total',
      help: "Datagrams the kernel dropped on the input's sockets (receive buffer full; /proc/net/udp).",
      labelNames: ['input'],
      collect: () => {
        const counters = kernel();
        return counters === undefined ? [] : [{ labels, value: counters.drops }];
      },
    });
    metrics.gauge({
      name: 'flowship_netflow_socket_receive_queue_bytes',
      help: "Bytes waiting in the input's socket receive buffers (/proc/net/udp).",
      labelNames: ['input'],
      collect: () => {
        const counters = kernel();
        return counters === undefined ? [] : [{ labels, value: counters.rxQueueBytes }];
      },
    });
    counter(
      'flowship_netflow_time_rejected_total',
      'Absolute flow times (R2) rejected as implausible (before 1995, or after the export time + 10 min).',
      (s) => s.timeRejected,
    );
    metrics.counter({
      name: 'flowship_netflow_decode_errors_by_reason_total',
      help: 'Decode errors by reason.',
      labelNames: ['input', 'reason'],
      collect: () =>
        Object.entries(snap().counters.decodeErrorsByReason).map(([reason, value]) => ({
          labels: { ...labels, reason },
          value,
        })),
    });
    const decoderCounters: Array<[string, keyof DecodingSnapshot['decoder'], string]> = [
      ['templates_learned_total', 'templatesLearned', 'Templates learned.'],
      ['templates_replaced_total', 'templatesReplaced', 'Templates re-announced or redefined.'],
      ['templates_expired_total', 'templatesExpired', 'Templates expired unused.'],
      ['templates_withdrawn_total', 'templatesWithdrawn', 'IPFIX templates withdrawn.'],
      ['sequence_resets_total', 'sequenceResets', 'Sessions reset on a sequence jump.'],
      [
        'sequence_gaps_total',
        'sequenceGaps',
        'Packets whose sequence number was ahead of the expected one (records or packets missing).',
      ],
      [
        'lost_records_estimate_total',
        'lostRecordsEstimate',
        'Estimated loss from sequence gaps: v9 packets; IPFIX, v5, v7, v8 records.',
      ],
      [
        'sequence_out_of_order_total',
        'sequenceOutOfOrder',
        'Packets whose sequence number was behind the expected one (reordered or duplicated).',
      ],
      [
        'sequence_streams_evicted_total',
        'sequenceStreamsEvicted',
        'NetFlow v5/v7/v8 sequence streams forgotten because the table was full.',
      ],
      [
        'data_sets_without_template_total',
        'dataSetsWithoutTemplate',
        'Data sets whose template was unknown when they arrived (kept pending in extended mode).',
      ],
      [
        'pending_replayed_sets_total',
        'pendingReplayedSets',
        'Pending data sets decoded once their template arrived.',
      ],
      [
        'pending_failed_sets_total',
        'pendingFailedSets',
        'Pending data sets that did not decode with the template that arrived (skipped).',
      ],
      [
        'sessions_evicted_total',
        'sessionsEvicted',
        'Least recently used sessions evicted: session table full (limits.max_sessions).',
      ],
      [
        'templates_rejected_total',
        'templatesRejected',
        'Templates refused: limits.max_templates_per_session or limits.max_template_fields reached.',
      ],
    ];
    decoderCounters.push([
      'options_entries_rejected_total',
      'optionsEntriesRejected',
      'Options-data entries (interface, application, VRF, sampler names and rates) refused: a table or the byte budget was full.',
    ]);
    for (const [name, key, help] of decoderCounters) {
      counter(`flowship_netflow_${name}`, help, (s) => s.decoder[key] as number);
    }
    metrics.counter({
      name: 'flowship_netflow_templates_loaded_from_cache_total',
      help: 'Templates loaded from the template cache at start (R4).',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.templatesLoadedFromCache }],
    });
    metrics.counter({
      name: 'flowship_netflow_pending_evicted_sets_total',
      help: 'Pending data sets dropped before their template arrived, by reason (age, size, reset, withdrawn).',
      labelNames: ['input', 'reason'],
      collect: () =>
        Object.entries(snap().decoder.pendingEvicted).map(([reason, value]) => ({
          labels: { ...labels, reason },
          value,
        })),
    });
    gauge(
      'flowship_netflow_receive_queue_length',
      'Datagrams waiting to be decoded.',
      () => this.stage.queueLength,
    );
    gauge('flowship_netflow_templates_active', 'Templates held.', (s) => s.templates);
    gauge(
      'flowship_netflow_template_fields',
      'Fields of all templates held (bounded).',
      (s) => s.decoder.templateFields,
    );
    gauge('flowship_netflow_sessions_active', 'Template sessions held.', (s) => s.sessions);
    gauge(
      'flowship_netflow_options_entries',
      'Options-data entries held for enrichment (R6), all sessions.',
      (s) => s.decoder.optionsEntries,
    );
    gauge(
      'flowship_netflow_options_bytes',
      'Estimated bytes of options-data state held for enrichment (bounded).',
      (s) => s.decoder.optionsBytes,
    );
    gauge(
      'flowship_netflow_pending_sets',
      'Data sets waiting for their template.',
      (s) => s.decoder.pendingSets,
    );
    gauge(
      'flowship_netflow_pending_bytes',
      'Bytes held by data sets waiting for their template (estimated overhead included; bounded).',
      (s) => s.decoder.pendingBytes,
    );
    metrics.counter({
      name: 'flowship_netflow_worker_lost_datagrams_total',
      help: 'Datagrams accepted and lost with a decoding worker that died before decoding them.',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.stage.lostDatagrams }],
    });
    metrics.counter({
      name: 'flowship_netflow_worker_restarts_total',
      help: 'Decoding workers replaced after dying.',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.stage.workerRestarts }],
    });
    metrics.gauge({
      name: 'flowship_netflow_open_connections',
      help: 'Listening sockets.',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.receiver.socketCount }],
    });
    this.registerExporterMetrics(metrics);
  }

  /** Per-exporter series {input, exporter, source_id, version} (NETFLOW.md R8), bounded by `max_exporters`. */
  private registerExporterMetrics(metrics: MetricsRegistry): void {
    const labelNames = ['input', 'exporter', 'source_id', 'version'];
    const perExporter: ReadonlyArray<[string, keyof DecodingSnapshot['exporters'][number], string]> = [
      ['packets_total', 'packets', 'Datagrams received from the exporter.'],
      ['bytes_total', 'bytes', 'Datagram bytes received from the exporter.'],
      ['flows_total', 'flows', 'Flow records decoded from the exporter.'],
      [
        'decode_errors_total',
        'decodeErrors',
        "The exporter's datagrams or records that could not be decoded.",
      ],
      ['template_misses_total', 'templateMisses', 'Data sets whose template was unknown when they arrived.'],
      ['pending_sets_total', 'pendingSets', 'Data sets kept pending for their template (R1).'],
      ['sequence_gaps_total', 'sequenceGaps', 'Packets ahead of the expected sequence number.'],
      ['lost_records_estimate_total', 'lostRecords', 'Estimated loss from sequence gaps.'],
    ];
    for (const [suffix, key, help] of perExporter) {
      metrics.counter({
        name: `flowship_netflow_exporter_${suffix}`,
        help,
        labelNames,
        // the tables bound themselves (max_exporters per input, `other` beyond it); the
        // registry's cap would fold whole inputs into `other`
        maxLabelSets: 1_000_000,
        collect: () =>
          this.metricsSnapshot().exporters.map((e) => ({
            labels: { input: this.id, exporter: e.exporter, source_id: e.sourceId, version: e.version },
            value: e[key] as number,
          })),
      });
    }
    metrics.histogram({
      name: 'flowship_netflow_export_delay_seconds',
      help: "Receive time minus the packet header's export time (exporter clock skew included).",
      labelNames: ['input'],
      buckets: EXPORT_DELAY_BUCKETS,
      collect: () => {
        const { delay } = this.metricsSnapshot();
        return [{ labels: { input: this.id }, counts: delay.counts, sum: delay.sum, count: delay.count }];
      },
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
      if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
      await this.receiver.stop();
      // what the kernel gave us before the sockets closed is still decoded and published
      const templates = await this.stage.stop();
      // the templates as they are now, uses included, whether or not they changed (only once
      // the cache was loaded: an input never started must not overwrite it)
      if (this.savedChanges >= 0) await this.saveTemplates(templates);
    })();
    return this.stopping;
  }
}
