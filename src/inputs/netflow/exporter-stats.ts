/**
 * Per-exporter counters of the netflow input (NETFLOW.md R8), labelled {exporter, source_id,
 * version}, and the export-delay histogram. The table is bounded: anyone can send datagrams from
 * any address, so past `maxExporters` label sets new ones are counted under `other`.
 *
 * Plain data, so that decoding workers can send a snapshot to the input's thread, which sums them.
 */

import { VERSION_PROTOCOL } from './decoder/decoder.ts';

/** The counters of one {exporter, source_id, version}. */
export interface ExporterCounters {
  packets: number;
  bytes: number;
  flows: number;
  decodeErrors: number;
  /** Data sets whose template was unknown when they arrived. */
  templateMisses: number;
  /** Data sets kept pending for their template (R1). */
  pendingSets: number;
  sequenceGaps: number;
  lostRecords: number;
}

export interface ExporterSample extends ExporterCounters {
  readonly exporter: string;
  /** Decimal source id / observation domain; empty for v1-v8 and for datagrams too short to say. */
  readonly sourceId: string;
  /** `v5`, `v9`, `ipfix`…; `other` for an unknown version, empty for a datagram without one. */
  readonly version: string;
}

/** Upper bounds (seconds) of the export-delay buckets: receive time minus the header's export time. */
export const EXPORT_DELAY_BUCKETS: readonly number[] = [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600];

/** Cumulative-free bucket counts (one per bound, then +Inf), with the count and sum. */
export interface DelayHistogram {
  counts: number[];
  count: number;
  sum: number;
}

export const OTHER = 'other';

/** The default exporter label sets per input (each worker keeps as many). */
export const DEFAULT_MAX_EXPORTERS = 100;

function zero(exporter: string, sourceId: string, version: string): ExporterSample {
  return {
    exporter,
    sourceId,
    version,
    packets: 0,
    bytes: 0,
    flows: 0,
    decodeErrors: 0,
    templateMisses: 0,
    pendingSets: 0,
    sequenceGaps: 0,
    lostRecords: 0,
  };
}

export function newDelayHistogram(): DelayHistogram {
  return { counts: new Array(EXPORT_DELAY_BUCKETS.length + 1).fill(0), count: 0, sum: 0 };
}

export class ExporterTable {
  readonly delay: DelayHistogram = newDelayHistogram();
  private readonly entries = new Map<string, ExporterSample>();
  private readonly max: number;
  private overflow: ExporterSample | undefined;

  constructor(maxExporters = DEFAULT_MAX_EXPORTERS) {
    this.max = maxExporters;
  }

  /** The counters of this exporter, source id and version; `other` once the table is full. */
  entry(ip: string, sourceId: number | undefined, version: number | undefined): ExporterCounters {
    // one string per datagram; cheaper than a nested map and bounded anyway
    const key = `${ip}|${sourceId ?? ''}|${version ?? ''}`;
    let e = this.entries.get(key);
    if (e !== undefined) return e;
    if (this.entries.size >= this.max) {
      this.overflow ??= zero(OTHER, OTHER, OTHER);
      return this.overflow;
    }
    const v = version === undefined ? '' : (VERSION_PROTOCOL[version] ?? OTHER);
    e = zero(ip, sourceId === undefined ? '' : String(sourceId), v);
    this.entries.set(key, e);
    return e;
  }

  observeDelay(seconds: number): void {
    const h = this.delay;
    let i = 0;
    while (i < EXPORT_DELAY_BUCKETS.length && seconds > EXPORT_DELAY_BUCKETS[i]) i++;
    h.counts[i]++;
    h.count++;
    h.sum += seconds;
  }

  /** Every label set's counters (`other` last), as plain data. */
  snapshot(): ExporterSample[] {
    const out = [...this.entries.values()].map((e) => ({ ...e }));
    if (this.overflow !== undefined) out.push({ ...this.overflow });
    return out;
  }
}

const COUNTERS: readonly (keyof ExporterCounters)[] = [
  'packets',
  'bytes',
  'flows',
  'decodeErrors',
  'templateMisses',
  'pendingSets',
  'sequenceGaps',
  'lostRecords',
];

/**
 * The tables of several workers as one: an exporter's label set lives on one worker, but `other`
 * and (with share_templates) an address may appear on several, so equal label sets are summed.
 */
export function mergeExporterSamples(tables: readonly (readonly ExporterSample[])[]): ExporterSample[] {
  const merged = new Map<string, ExporterSample>();
  for (const table of tables) {
    for (const e of table) {
      const key = `${e.exporter}|${e.sourceId}|${e.version}`;
      const into = merged.get(key);
      if (into === undefined) merged.set(key, { ...e });
      else for (const c of COUNTERS) into[c] += e[c];
    }
  }
  return [...merged.values()];
}

export function mergeDelayHistograms(histograms: readonly DelayHistogram[]): DelayHistogram {
  const out = newDelayHistogram();
  for (const h of histograms) {
    h.counts.forEach((n, i) => {
      out.counts[i] += n;
    });
    out.count += h.count;
    out.sum += h.sum;
  }
  return out;
}
