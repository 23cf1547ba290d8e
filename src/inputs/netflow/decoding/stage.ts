/**
 * Where the netflow input's datagrams are decoded: on its own thread (`workers: 1`, inline.ts) or
 * spread over worker threads (`workers > 1`, pool.ts). Both take datagrams from the socket without
 * ever blocking it, keep each exporter's datagrams in order on one decoder, hand documents back to
 * the input on its thread, and report the same counters.
 */
import type { EcsDocument } from '../../../pipeline/event.ts';
import type { DecodeFailure, ProcessorCounters } from '../datagram-processor.ts';
import type { NetflowDecoder } from '../decoder/decoder.ts';
import type { ExporterAddress } from '../decoder/legacy.ts';
import type { DecoderStats } from '../decoder/session.ts';
import type { DelayHistogram, ExporterSample } from '../exporter-stats.ts';
import type { CachedOptionsState, CachedTemplate } from '../template-cache.ts';

/** A decoded document for the pipeline: data (inline) or JSON text (from a worker), with its id. */
export interface DecodedDocument {
  readonly doc?: EcsDocument;
  readonly json?: string;
  readonly id?: string | (() => string);
}

/** What the input needs from its decoding stage, on its own thread. */
export interface StageCallbacks {
  /** A document; the input publishes it (never blocking) and counts drops. */
  readonly publish: (document: DecodedDocument) => void;
  /** A datagram or record that failed, to be logged (rate-limited) by the input. */
  readonly onFailure: (failure: DecodeFailure) => void;
}

/** The decoding counters and gauges, summed over the stage's decoders. */
export interface DecodingSnapshot {
  readonly counters: ProcessorCounters;
  readonly decoder: DecoderStats;
  /** Absolute times rejected by the normalizer (R2). */
  readonly timeRejected: number;
  readonly exporters: readonly ExporterSample[];
  readonly delay: DelayHistogram;
  readonly sessions: number;
  readonly templates: number;
  /** Grows whenever a decoder's set of templates changes (see NetflowDecoder.templateChangeCount). */
  readonly templateChanges: number;
}

export interface DecodingStage {
  /** Starts the decoders (threads included); resolves when they take datagrams. */
  start(): Promise<void>;
  /**
   * Takes a datagram for decoding, never blocking; false when its decoder's queue is full (the
   * input counts the drop).
   */
  accept(payload: Buffer, from: ExporterAddress): boolean;
  /** Datagrams accepted and not decoded yet. */
  readonly queueLength: number;
  /** Datagrams accepted and lost with a decoding worker that died (0 on the input's thread). */
  readonly lostDatagrams: number;
  /** Decoding workers replaced after dying. */
  readonly workerRestarts: number;
  snapshot(): DecodingSnapshot;
  /** Every learned template and options state (R4), from every decoder. */
  exportState(): Promise<DecoderState>;
  /**
   * Gives each decoder the cached templates and options state of the exporters it owns; resolves
   * with how many templates were loaded.
   */
  importState(state: DecoderState): Promise<number>;
  /**
   * Decodes what was accepted, then stops the decoders; the documents are published before it
   * resolves, with the decoders' state as it is then (for the template cache).
   */
  stop(): Promise<DecoderState>;
}

/** What the template cache keeps of a decoder (R4): templates, and options state (R3, R6). */
export interface DecoderState {
  readonly templates: readonly CachedTemplate[];
  readonly options: readonly CachedOptionsState[];
}

export function exportDecoderState(decoder: NetflowDecoder): DecoderState {
  return { templates: decoder.exportTemplates(), options: decoder.exportOptionsState() };
}

/** Loads `state` into `decoder`; returns how many templates it took. */
export function importDecoderState(decoder: NetflowDecoder, state: DecoderState): number {
  const loaded = decoder.importTemplates(state.templates);
  decoder.importOptionsState(state.options);
  return loaded;
}

/** Sums decoder stats (numbers, and records of numbers such as pendingEvicted). */
export function sumDecoderStats(all: readonly DecoderStats[], into: DecoderStats): DecoderStats {
  const target = into as unknown as Record<string, number | Record<string, number>>;
  for (const stats of all) {
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === 'number') (target[key] as number) += value;
      else {
        const sub = target[key] as Record<string, number>;
        for (const [k, v] of Object.entries(value as Record<string, number>)) sub[k] = (sub[k] ?? 0) + v;
      }
    }
  }
  return into;
}

export function sumCounters(all: readonly ProcessorCounters[]): ProcessorCounters {
  const out: ProcessorCounters = { flows: 0, decodeErrors: 0, decodeErrorsByReason: {} };
  for (const c of all) {
    out.flows += c.flows;
    out.decodeErrors += c.decodeErrors;
    for (const [reason, n] of Object.entries(c.decodeErrorsByReason)) {
      out.decodeErrorsByReason[reason] = (out.decodeErrorsByReason[reason] ?? 0) + n;
    }
  }
  return out;
}
