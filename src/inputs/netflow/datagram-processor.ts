/**
 * One datagram in, its ECS documents out: decoder -> normalizer -> document ids, with the counters
 * and the per-exporter table the input reports. The same code runs on the input's own thread
 * (`workers: 1`) and in each decoding worker (`workers > 1`, decoding/worker.ts): it owns the
 * decoder state of the exporters it is given, so an exporter's datagrams must all come to one
 * processor, in order.
 */
import type { NetflowNormalizer } from '../../ecs/netflow.ts';
import { datagramDigest, flowDocumentId } from '../../ecs/netflow-id.ts';
import { DecodeError } from '../../util/errors.ts';
import { type DecodeResult, type NetflowDecoder, replayedRecords } from './decoder/decoder.ts';
import type { ExporterAddress } from './decoder/legacy.ts';
import type { DecodedRecord, ExporterMeta } from './decoder/types.ts';
import type { DecodingSnapshot } from './decoding/stage.ts';
import { ExporterTable } from './exporter-stats.ts';

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

/** A datagram or a record that could not be decoded or normalised, for the input's log. */
export interface DecodeFailure {
  /** Exporter `ip:port`. */
  readonly exporter: string;
  /** Exporter IP: the rate-limit key (never the port, which a spoofer can change per datagram). */
  readonly ip: string;
  readonly version: number | undefined;
  readonly reason: string;
  readonly message: string;
  /** The template the failing set named, when the error knows it. */
  readonly templateId?: number;
  /** The observation domain / source id from the packet header (v9, IPFIX). */
  readonly sourceId?: number;
}

/** Receives a document's JSON text and, on demand, its deterministic id. */
export type DocumentSink = (json: string, id: () => string) => void;

export interface DatagramProcessorOptions {
  /** The input id: part of every document id. */
  readonly inputId: string;
  readonly decoder: NetflowDecoder;
  readonly normalizer: NetflowNormalizer;
  readonly onFailure: (failure: DecodeFailure) => void;
  /** Distinct exporter label sets kept per processor before new ones count as `other`. */
  readonly maxExporters?: number;
}

/** The counters a processor keeps (summed over workers by the input). */
export interface ProcessorCounters {
  flows: number;
  decodeErrors: number;
  decodeErrorsByReason: Record<string, number>;
}

/** The source id / observation domain of a v9 or IPFIX header, read without decoding. */
export function peekSourceId(payload: Uint8Array, version: number | undefined): number | undefined {
  const at = version === 9 ? 16 : version === 10 ? 12 : -1;
  if (at < 0 || payload.length < at + 4) return undefined;
  return ((payload[at] << 24) | (payload[at + 1] << 16) | (payload[at + 2] << 8) | payload[at + 3]) >>> 0;
}

export class DatagramProcessor {
  readonly counters: ProcessorCounters = { flows: 0, decodeErrors: 0, decodeErrorsByReason: {} };
  readonly exporters: ExporterTable;
  readonly decoder: NetflowDecoder;
  readonly normalizer: NetflowNormalizer;
  private readonly inputId: string;
  private readonly onFailure: (failure: DecodeFailure) => void;
  /**
   * Datagrams with sets pending, by their header metadata (which their replayed records carry):
   * held only as long as a pending set or one of its records is.
   */
  private readonly origins = new WeakMap<ExporterMeta, PendingOrigin>();

  constructor(options: DatagramProcessorOptions) {
    this.inputId = options.inputId;
    this.decoder = options.decoder;
    this.normalizer = options.normalizer;
    this.onFailure = options.onFailure;
    this.exporters = new ExporterTable(options.maxExporters);
  }

  /**
   * Decodes one datagram and hands each document to `sink`; never throws. `receivedMs` is when it
   * arrived (for the export delay).
   */
  process(payload: Buffer, from: ExporterAddress, sink: DocumentSink, receivedMs = Date.now()): void {
    const version = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
    const sourceId = peekSourceId(payload, version);
    const exporter = this.exporters.entry(from.ip, sourceId, version);
    exporter.packets++;
    exporter.bytes += payload.length;
    const s = this.decoder.stats;
    const misses = s.dataSetsWithoutTemplate;
    const gaps = s.sequenceGaps;
    const lost = s.lostRecordsEstimate;
    let result: DecodeResult | undefined;
    let records: readonly DecodedRecord[];
    try {
      result = this.decoder.decode(payload, from);
      records = result.records;
    } catch (err) {
      exporter.decodeErrors++;
      this.fail(err, from, version, sourceId);
      // records of earlier datagrams that its templates decoded before it failed (R1)
      records = replayedRecords(err);
    }
    exporter.templateMisses += s.dataSetsWithoutTemplate - misses;
    exporter.sequenceGaps += s.sequenceGaps - gaps;
    exporter.lostRecords += s.lostRecordsEstimate - lost;
    if (result !== undefined) {
      exporter.pendingSets += result.pended;
      const exported = result.exporter?.timestamp ?? records[0]?.exporter.timestamp;
      if (exported !== undefined) this.exporters.observeDelay((receivedMs - exported.getTime()) / 1000);
    }
    // Its sets decode later, maybe from another datagram: keep what their ids are made of.
    if (result?.exporter !== undefined && result.pended > 0) {
      this.origins.set(result.exporter, { digest: datagramDigest(payload), next: 0 });
    }
    if (records.length === 0) return;
    const current = result?.exporter;
    // a v1-v8 packet has no templates: its records are all its own
    const mayReplay = result === undefined || current !== undefined;
    let own = 0;
    // one digest per datagram, and only if an output asks for ids (the payload is this
    // datagram's own buffer: the socket hands out a new one per message)
    let digest: string | undefined;
    const digestOnce = () => {
      digest ??= datagramDigest(payload);
      return digest;
    };
    for (const record of records) {
      if (record.type === 'netflow_flow') {
        this.counters.flows++;
        exporter.flows++;
      }
      // A record replayed from an earlier datagram's pending set takes its id from that datagram,
      // so that the same datagram received twice gives the same ids, whichever datagram brought
      // the template; this datagram's own records are numbered among themselves.
      const origin = mayReplay && record.exporter !== current ? this.origins.get(record.exporter) : undefined;
      const index = origin === undefined ? own++ : REPLAYED_INDEX_BASE + origin.next++;
      // This runs from setImmediate or a worker's message handler: an exception here would end
      // the process (or the worker).
      try {
        const json = this.normalizer.normalizeJson(record);
        const id =
          origin === undefined
            ? () => flowDocumentId(this.inputId, from.address, digestOnce(), index)
            : () => flowDocumentId(this.inputId, record.exporter.address, origin.digest, index);
        sink(json, id);
      } catch (err) {
        exporter.decodeErrors++;
        this.fail(err, from, version, sourceId, record.templateId);
      }
    }
  }

  /** Its counters and gauges now: read in place on the input's thread, posted by a worker. */
  snapshot(): DecodingSnapshot {
    return {
      counters: this.counters,
      decoder: this.decoder.stats,
      timeRejected: this.normalizer.stats?.timeRejected ?? 0,
      exporters: this.exporters.snapshot(),
      delay: this.exporters.delay,
      sessions: this.decoder.sessionCount,
      templates: this.decoder.templateCount,
      templateChanges: this.decoder.templateChangeCount,
    };
  }

  private fail(
    err: unknown,
    from: ExporterAddress,
    version: number | undefined,
    sourceId: number | undefined,
    recordTemplateId?: number,
  ): void {
    const c = this.counters;
    c.decodeErrors++;
    const reason = err instanceof DecodeError ? err.reason : 'internal';
    c.decodeErrorsByReason[reason] = (c.decodeErrorsByReason[reason] ?? 0) + 1;
    const templateId = (err instanceof DecodeError ? err.templateId : undefined) ?? recordTemplateId;
    this.onFailure({
      exporter: from.address,
      ip: from.ip,
      version,
      reason,
      message: err instanceof Error ? err.message : String(err),
      ...(templateId === undefined ? {} : { templateId }),
      ...(sourceId === undefined ? {} : { sourceId }),
    });
  }
}
