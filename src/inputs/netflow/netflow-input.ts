/**
 * The `netflow` input: UDP datagrams -> decoder -> ECS normalizer -> pipeline.
 *
 * The socket callback only queues the datagram (bounded by `queue_size`, drops counted); decoding
 * runs in batches from `setImmediate`, so a burst is drained from the kernel before it is decoded.
 * Decoded documents go to the pipeline with `tryPublish`: UDP cannot wait, so a full queue counts a
 * drop instead of blocking the socket.
 */
import { NETFLOW_DATASET, type NetflowNormalizer } from '../../ecs/netflow.ts';
import { datagramDigest, flowDocumentId } from '../../ecs/netflow-id.ts';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import { DecodeError } from '../../util/errors.ts';
import type { EventSink, Input } from '../input.ts';
import { type DecodeResult, NetflowDecoder, type Protocol, replayedRecords } from './decoder/decoder.ts';
import type { ExporterAddress } from './decoder/legacy.ts';
import type { PendingOptions } from './decoder/pending.ts';
import type { DecodedRecord, ExporterMeta } from './decoder/types.ts';
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
  readonly dictionary: Dictionary;
  readonly normalizer: NetflowNormalizer;
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** Milliseconds clock, for template expiry. */
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
}

/** The most templates loaded from the cache (the most recently used first). */
const MAX_CACHED_TEMPLATES = 100_000;

/** Datagrams decoded per event-loop turn before yielding back to the socket. */
const BATCH = 256;

/** How often the pending-data age sweep runs (NETFLOW.md R1: every second). */
const PENDING_SWEEP_MS = 1000;

/**
 * Document ids of records replayed from a datagram's pending sets take indices from here on:
 * beyond any datagram's own records (fewer than 65,536: each takes at least one byte).
 */
const REPLAYED_INDEX_BASE = 0x1_0000;

/** A datagram with data sets kept pending: the id material of the records they decode into later. */
interface PendingOrigin {
  readonly digest: string;
  /** Records of this datagram replayed so far. */
  next: number;
}

export class NetflowInput implements Input {
  readonly id: string;
  readonly stats: NetflowInputStats = {
    received_events_total: 0,
    received_bytes_total: 0,
    discarded_events_total: 0,
    decode_errors_total: 0,
    flows_total: 0,
    published_events_total: 0,
    dropped_events_total: 0,
    truncated_datagrams_total: 0,
  };
  readonly decoder: NetflowDecoder;
  private readonly options: NetflowInputOptions;
  private readonly receiver: UdpReceiver;
  private readonly logger: Logger;
  private readonly decodeErrors = new Map<string, number>();
  /**
   * Datagrams with sets pending, by their header metadata (which their replayed records carry):
   * held only as long as a pending set or one of its records is.
   */
  private readonly origins = new WeakMap<ExporterMeta, PendingOrigin>();
  // datagram ring: [head, tail) holds queued datagrams
  private readonly queue: Array<[Buffer, ExporterAddress] | undefined>;
  private head = 0;
  private tail = 0;
  private scheduled = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The decoder's template change count when the cache was last written (or loaded). */
  private savedChanges = -1;
  /** When the cache was last written or loaded (ms since the epoch). */
  private savedAt = 0;
  /** The cache write in progress, so that two never overlap. */
  private saving: Promise<void> | undefined;
  private templatesLoadedFromCache = 0;
  private stopping: Promise<void> | undefined;
  private bound: BoundAddress[] = [];

  constructor(options: NetflowInputOptions) {
    this.options = options;
    this.id = options.id;
    this.logger = options.logger;
    this.queue = new Array(options.queueSize + 1);
    this.decoder = new NetflowDecoder({
      dictionary: options.dictionary,
      compatibility: options.compatibility,
      protocols: options.protocols,
      shareTemplates: options.shareTemplates,
      detectSequenceReset: options.detectSequenceReset,
      expirationTimeoutMs: options.expirationTimeoutMs,
      pending: options.pending,
      now: options.now,
    });
    this.receiver = new UdpReceiver({
      host: options.host,
      port: options.port,
      network: options.network,
      readBuffer: options.readBuffer,
      maxMessageSize: options.maxMessageSize,
      onDatagram: (payload, from) => this.enqueue(payload, from),
      onTruncated: () => this.stats.truncated_datagrams_total++,
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
    return (this.tail - this.head + this.queue.length) % this.queue.length;
  }

  async start(): Promise<void> {
    await this.loadTemplates();
    this.bound = await this.receiver.start();
    for (const a of this.bound) {
      const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      this.logger.info('listening for NetFlow/IPFIX', {
        address,
        ...(a.dualStack ? { dual_stack: true } : {}),
        input: this.id,
      });
      if (a.readBuffer !== undefined && a.readBuffer.granted < a.readBuffer.requested) {
        this.logger.warning(
          'the kernel granted a smaller receive buffer than read_buffer asks for; raise net.core.rmem_max (sysctl) to get it',
          { address, read_buffer: a.readBuffer.requested, granted: a.readBuffer.granted, input: this.id },
        );
      }
    }
    const timeout = this.options.expirationTimeoutMs;
    // the decoder keeps each sweep to its own period; the timer only makes sure they run when
    // no datagram arrives
    const period = Math.min(
      timeout > 0 ? Math.min(timeout, 60_000) : Number.POSITIVE_INFINITY,
      this.decoder.keepsPendingData ? PENDING_SWEEP_MS : Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(period)) {
      this.sweepTimer = setInterval(() => this.decoder.maybeSweep(), period);
      this.sweepTimer.unref();
    }
    const cache = this.options.templateCache;
    if (cache !== undefined) {
      const expiration = this.options.expirationTimeoutMs;
      this.flushTimer = setInterval(() => {
        // also now and then when only uses changed, so that after a crash the last uses in the
        // file are not so old that the templates are taken as expired
        const stale =
          expiration > 0 &&
          this.decoder.templateCount > 0 &&
          (this.options.now ?? Date.now)() - this.savedAt >= expiration / 2;
        if (stale || this.decoder.templateChangeCount !== this.savedChanges) void this.saveTemplates();
      }, cache.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Loads the template cache into the decoder (R4); never throws. */
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
    const loaded = this.decoder.importTemplates(result.templates);
    this.templatesLoadedFromCache += loaded;
    // what was loaded is what the file holds: no write until something changes
    this.savedChanges = this.decoder.templateChangeCount;
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

  /** Writes the template cache (R4); errors are logged (rate-limited), never thrown. */
  private saveTemplates(): Promise<void> {
    const cache = this.options.templateCache;
    if (cache === undefined) return Promise.resolve();
    const previous = this.saving ?? Promise.resolve();
    const next = previous.then(async () => {
      const changes = this.decoder.templateChangeCount;
      const now = (this.options.now ?? Date.now)();
      try {
        await saveTemplateCache(cache.path, this.decoder.exportTemplates(), {
          shareTemplates: this.options.shareTemplates,
          now,
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
    this.stats.received_events_total++;
    this.stats.received_bytes_total += payload.length;
    const next = (this.tail + 1) % this.queue.length;
    if (next === this.head) {
      this.stats.discarded_events_total++;
      return;
    }
    this.queue[this.tail] = [payload, from];
    this.tail = next;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    for (let n = 0; n < BATCH && this.head !== this.tail; n++) {
      const item = this.queue[this.head]!;
      this.queue[this.head] = undefined;
      this.head = (this.head + 1) % this.queue.length;
      this.process(item[0], item[1]);
    }
    if (this.head !== this.tail && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Decodes one datagram and publishes its documents; never throws. */
  process(payload: Buffer, from: ExporterAddress): void {
    let result: DecodeResult | undefined;
    let records: readonly DecodedRecord[];
    try {
      result = this.decoder.decode(payload, from);
      records = result.records;
    } catch (err) {
      this.onDecodeError(err, from, payload);
      // records of earlier datagrams that its templates decoded before it failed (R1)
      records = replayedRecords(err);
      if (records.length === 0) return;
    }
    // Its sets decode later, maybe from another datagram: keep what their ids are made of.
    if (result?.exporter !== undefined && result.pended > 0) {
      this.origins.set(result.exporter, { digest: datagramDigest(payload), next: 0 });
    }
    const current = result?.exporter;
    // a v1-v8 packet has no templates: its records are all its own
    const mayReplay = result === undefined || current !== undefined;
    let own = 0;
    const { normalizer, sink } = this.options;
    const namespace = normalizer.dataStream.namespace;
    // one digest per datagram, and only if an output asks for ids (the payload is this
    // datagram's own buffer: the socket hands out a new one per message)
    let digest: string | undefined;
    const digestOnce = () => {
      digest ??= datagramDigest(payload);
      return digest;
    };
    for (const record of records) {
      if (record.type === 'netflow_flow') this.stats.flows_total++;
      // A record replayed from an earlier datagram's pending set takes its id from that datagram,
      // so that the same datagram received twice gives the same ids, whichever datagram brought
      // the template; this datagram's own records are numbered among themselves.
      const origin = mayReplay && record.exporter !== current ? this.origins.get(record.exporter) : undefined;
      const index = origin === undefined ? own++ : REPLAYED_INDEX_BASE + origin.next++;
      // This runs from setImmediate: an exception here would end the process.
      let published: boolean;
      try {
        const doc = normalizer.normalize(record);
        const id =
          origin === undefined
            ? () => flowDocumentId(this.id, from.address, digestOnce(), index)
            : () => flowDocumentId(this.id, record.exporter.address, origin.digest, index);
        published = sink.tryPublish({ doc, dataset: NETFLOW_DATASET, namespace, id });
      } catch (err) {
        this.onDecodeError(err, from, payload);
        continue;
      }
      if (published) this.stats.published_events_total++;
      else this.stats.dropped_events_total++;
    }
  }

  private onDecodeError(err: unknown, from: ExporterAddress, payload: Buffer): void {
    this.stats.decode_errors_total++;
    const reason = err instanceof DecodeError ? err.reason : 'internal';
    this.decodeErrors.set(reason, (this.decodeErrors.get(reason) ?? 0) + 1);
    const version = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
    // Keyed by exporter IP, never port: an exporter (or a spoofer) changing source port per
    // datagram would otherwise get a line per datagram.
    this.logger.rateLimited(`decode:${from.ip}:${reason}`, 60_000).warning('cannot decode datagram', {
      exporter: from.address,
      version,
      reason,
      error: err instanceof Error ? err.message : String(err),
      input: this.id,
    });
  }

  private registerMetrics(metrics: MetricsRegistry): void {
    const labels = { input: this.id };
    const counter = (name: keyof NetflowInputStats, help: string) =>
      metrics.counter({
        name: `flowship_netflow_${name}`,
        help,
        labelNames: ['input'],
        collect: () => [{ labels, value: this.stats[name] }],
      });
    counter('received_events_total', 'Datagrams received.');
    counter('received_bytes_total', 'Datagram bytes received.');
    counter('discarded_events_total', 'Datagrams dropped because the receive queue was full.');
    counter('decode_errors_total', 'Datagrams that could not be decoded (whole datagram discarded).');
    counter('flows_total', 'Flow records decoded.');
    counter('published_events_total', 'Documents handed to the pipeline.');
    counter('dropped_events_total', 'Documents dropped because the pipeline queue was full.');
    counter('truncated_datagrams_total', 'Datagrams longer than max_message_size, truncated.');
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
    metrics.counter({
      name: 'flowship_netflow_time_rejected_total',
      help: 'Absolute flow times (R2) rejected as implausible (before 1995, or after the export time + 10 min).',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.options.normalizer.stats?.timeRejected ?? 0 }],
    });
    metrics.counter({
      name: 'flowship_netflow_decode_errors_by_reason_total',
      help: 'Decode errors by reason.',
      labelNames: ['input', 'reason'],
      collect: () =>
        [...this.decodeErrors].map(([reason, value]) => ({ labels: { ...labels, reason }, value })),
    });
    const s = this.decoder.stats;
    const decoderCounter = (name: string, help: string, read: () => number) =>
      metrics.counter({ name, help, labelNames: ['input'], collect: () => [{ labels, value: read() }] });
    decoderCounter(
      'flowship_netflow_templates_learned_total',
      'Templates learned.',
      () => s.templatesLearned,
    );
    decoderCounter(
      'flowship_netflow_templates_replaced_total',
      'Templates re-announced or redefined.',
      () => s.templatesReplaced,
    );
    decoderCounter(
      'flowship_netflow_templates_expired_total',
      'Templates expired unused.',
      () => s.templatesExpired,
    );
    decoderCounter(
      'flowship_netflow_templates_withdrawn_total',
      'IPFIX templates withdrawn.',
      () => s.templatesWithdrawn,
    );
    metrics.counter({
      name: 'flowship_netflow_templates_loaded_from_cache_total',
      help: 'Templates loaded from the template cache at start (R4).',
      labelNames: ['input'],
      collect: () => [{ labels, value: this.templatesLoadedFromCache }],
    });
    decoderCounter(
      'flowship_netflow_sequence_resets_total',
      'Sessions reset on a sequence jump.',
      () => s.sequenceResets,
    );
    decoderCounter(
      'flowship_netflow_sequence_gaps_total',
      'Packets whose sequence number was ahead of the expected one (records or packets missing).',
      () => s.sequenceGaps,
    );
    decoderCounter(
      'flowship_netflow_lost_records_estimate_total',
      'Estimated loss from sequence gaps: v9 packets; IPFIX, v5, v7, v8 records.',
      () => s.lostRecordsEstimate,
    );
    decoderCounter(
      'flowship_netflow_sequence_out_of_order_total',
      'Packets whose sequence number was behind the expected one (reordered or duplicated).',
      () => s.sequenceOutOfOrder,
    );
    decoderCounter(
      'flowship_netflow_sequence_streams_evicted_total',
      'NetFlow v5/v7/v8 sequence streams forgotten because the table was full.',
      () => s.sequenceStreamsEvicted,
    );
    decoderCounter(
      'flowship_netflow_data_sets_without_template_total',
      'Data sets whose template was unknown when they arrived (kept pending in extended mode).',
      () => s.dataSetsWithoutTemplate,
    );
    decoderCounter(
      'flowship_netflow_pending_replayed_sets_total',
      'Pending data sets decoded once their template arrived.',
      () => s.pendingReplayedSets,
    );
    decoderCounter(
      'flowship_netflow_pending_failed_sets_total',
      'Pending data sets that did not decode with the template that arrived (skipped).',
      () => s.pendingFailedSets,
    );
    metrics.counter({
      name: 'flowship_netflow_pending_evicted_sets_total',
      help: 'Pending data sets dropped before their template arrived, by reason (age, size, reset, withdrawn).',
      labelNames: ['input', 'reason'],
      collect: () =>
        Object.entries(s.pendingEvicted).map(([reason, value]) => ({ labels: { ...labels, reason }, value })),
    });
    decoderCounter(
      'flowship_netflow_sessions_evicted_total',
      'Least recently used sessions evicted: session table full.',
      () => s.sessionsEvicted,
    );
    decoderCounter(
      'flowship_netflow_templates_rejected_total',
      'Templates refused: per-session cap reached.',
      () => s.templatesRejected,
    );
    const gauge = (name: string, help: string, read: () => number) =>
      metrics.gauge({ name, help, labelNames: ['input'], collect: () => [{ labels, value: read() }] });
    gauge(
      'flowship_netflow_receive_queue_length',
      'Datagrams waiting to be decoded.',
      () => this.queueLength,
    );
    gauge('flowship_netflow_templates_active', 'Templates held.', () => this.decoder.templateCount);
    gauge(
      'flowship_netflow_template_fields',
      'Fields of all templates held (bounded).',
      () => s.templateFields,
    );
    gauge('flowship_netflow_sessions_active', 'Template sessions held.', () => this.decoder.sessionCount);
    gauge('flowship_netflow_pending_sets', 'Data sets waiting for their template.', () => s.pendingSets);
    gauge(
      'flowship_netflow_pending_bytes',
      'Bytes held by data sets waiting for their template (estimated overhead included; bounded).',
      () => s.pendingBytes,
    );
    gauge('flowship_netflow_open_connections', 'Listening sockets.', () => this.receiver.socketCount);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
      if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
      await this.receiver.stop();
      // what the kernel gave us before the sockets closed is still decoded and published
      while (this.head !== this.tail) this.drain();
      // the templates as they are now, uses included, whether or not they changed (only once
      // the cache was loaded: an input never started must not overwrite it)
      if (this.savedChanges >= 0) await this.saveTemplates();
    })();
    return this.stopping;
  }
}
