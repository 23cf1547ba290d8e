/**
 * The NetFlow/IPFIX decoder: one export packet in, records out (NETFLOW.md 1-2, R1).
 *
 * Pure state machine: no sockets, no timers. Time comes from an injected clock and is only used
 * to run the template expiry sweep once per `expirationTimeoutMs`, to stamp data sets kept
 * pending for their template, and to age those out (swept at most once a second). One instance
 * owns the template state, pending data and options state (R6) of the exporters it is given;
 * callers keep an exporter's packets on one instance, in order.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { Compatibility, Dictionary } from '../fields/types.ts';
import type { CachedOptionsState, CachedTemplate } from '../template-cache.ts';
import { decodeIpfix } from './ipfix.ts';
import { decodeLegacy, type ExporterAddress, LegacyLayouts } from './legacy.ts';
import {
  DEFAULT_OPTIONS_LIMITS,
  type OptionsContext,
  type OptionsLimits,
  OptionsState,
} from './options-state.ts';
import { DEFAULT_PENDING, type PendingOptions, PendingStore } from './pending.ts';
import {
  DEFAULT_SESSION_LIMITS,
  type DecoderStats,
  LegacySequences,
  newDecoderStats,
  type SessionLimits,
  SessionTable,
} from './session.ts';
import { ReplayedDecodeError, type TemplateProtocolContext } from './sets.ts';
import { compileTemplate } from './template.ts';
import type { DecodedRecord, ExporterMeta } from './types.ts';
import { decodeV9 } from './v9.ts';

export type Protocol = 'v1' | 'v5' | 'v6' | 'v7' | 'v8' | 'v9' | 'ipfix';
export const ALL_PROTOCOLS: readonly Protocol[] = ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix'];

/** The protocol of each NetFlow version number in a header (10 is IPFIX). */
export const VERSION_PROTOCOL: Readonly<Record<number, Protocol>> = {
  1: 'v1',
  5: 'v5',
  6: 'v6',
  7: 'v7',
  8: 'v8',
  9: 'v9',
  10: 'ipfix',
};

export interface DecoderOptions {
  readonly dictionary: Dictionary;
  readonly compatibility?: Compatibility;
  /** Versions accepted; others are decode errors. Default: all seven. */
  readonly protocols?: readonly Protocol[];
  readonly shareTemplates?: boolean;
  readonly detectSequenceReset?: boolean;
  /** Idle template/session lifetime (ms); 0 = never expire. Default 30 min. */
  readonly expirationTimeoutMs?: number;
  readonly limits?: SessionLimits;
  /**
   * Bounds of the data sets kept until their template arrives (R1; extended mode only; each
   * omitted field takes its default: 60 s, 64 sets per template, 16 MiB).
   */
  readonly pending?: Partial<PendingOptions>;
  /**
   * Options state learned per session from options data (R6: interface, application, VRF and
   * sampler tables, session sampling rate, system init time), extended mode only. `false` keeps
   * none; each omitted bound takes its default (4096 keys per table per session, 16 MiB).
   */
  readonly optionsState?: false | Partial<OptionsLimits>;
  /** Milliseconds clock; injected by tests. */
  readonly now?: () => number;
}

export interface DecodeResult {
  /**
   * The packet's records in set order. Where the packet taught a template that data sets of
   * earlier packets were waiting for (R1), their records come at that point, each with its own
   * packet's `exporter`: records whose `exporter` is not this result's are those.
   */
  readonly records: DecodedRecord[];
  /** Bytes of the datagram the packet occupied (v9: where flowset parsing stopped). */
  readonly consumed: number;
  /** The packet's header metadata, shared by its own records (v9, IPFIX). */
  readonly exporter?: ExporterMeta;
  /** Data sets of this packet kept pending for their template (R1). */
  readonly pended: number;
}

/**
 * The records of earlier packets a failed packet still produced: its templates decoded their
 * pending data before the failure (R1). Empty for any other error.
 */
export function replayedRecords(err: unknown): readonly DecodedRecord[] {
  return err instanceof ReplayedDecodeError ? err.replayed : [];
}

function resolveOptionsLimits(options: Partial<OptionsLimits>): OptionsLimits {
  const {
    maxEntriesPerTable = DEFAULT_OPTIONS_LIMITS.maxEntriesPerTable,
    maxBytes = DEFAULT_OPTIONS_LIMITS.maxBytes,
  } = options;
  if (!(Number.isInteger(maxEntriesPerTable) && maxEntriesPerTable >= 0)) {
    throw new RangeError(
      `optionsState maxEntriesPerTable must be an integer >= 0, got ${maxEntriesPerTable}`,
    );
  }
  if (!(maxBytes >= 0)) throw new RangeError(`optionsState maxBytes must be >= 0, got ${maxBytes}`);
  return { maxEntriesPerTable, maxBytes };
}

function resolvePending(options: Partial<PendingOptions>): PendingOptions {
  const {
    maxAgeMs = DEFAULT_PENDING.maxAgeMs,
    maxSetsPerTemplate = DEFAULT_PENDING.maxSetsPerTemplate,
    maxBytes = DEFAULT_PENDING.maxBytes,
    maxSetsPerExporter = DEFAULT_PENDING.maxSetsPerExporter,
    maxBytesPerExporter = DEFAULT_PENDING.maxBytesPerExporter,
  } = options;
  if (!(maxAgeMs > 0)) throw new RangeError(`pending maxAgeMs must be positive, got ${maxAgeMs}`);
  if (!(Number.isInteger(maxSetsPerTemplate) && maxSetsPerTemplate >= 1)) {
    throw new RangeError(`pending maxSetsPerTemplate must be an integer >= 1, got ${maxSetsPerTemplate}`);
  }
  if (!(maxBytes >= 1)) throw new RangeError(`pending maxBytes must be >= 1, got ${maxBytes}`);
  if (!(Number.isInteger(maxSetsPerExporter) && maxSetsPerExporter >= 1)) {
    throw new RangeError(`pending maxSetsPerExporter must be an integer >= 1, got ${maxSetsPerExporter}`);
  }
  if (!(maxBytesPerExporter >= 1)) {
    throw new RangeError(`pending maxBytesPerExporter must be >= 1, got ${maxBytesPerExporter}`);
  }
  return { maxAgeMs, maxSetsPerTemplate, maxBytes, maxSetsPerExporter, maxBytesPerExporter };
}

export class NetflowDecoder {
  readonly stats: DecoderStats = newDecoderStats();
  private readonly layouts: LegacyLayouts;
  private readonly accepted: ReadonlySet<number>;
  private readonly v9: TemplateProtocolContext;
  private readonly ipfix: TemplateProtocolContext;
  private readonly expirationTimeoutMs: number;
  private readonly pending: PendingStore | undefined;
  private readonly options: OptionsContext | undefined;
  private readonly now: () => number;
  private readonly dictionary: Dictionary;
  /** Next expected flow_sequence per v5/v7/v8 stream (gap and loss counters only). */
  private readonly legacySequences: LegacySequences;
  private lastSweep: number;

  constructor(options: DecoderOptions) {
    const {
      dictionary,
      compatibility = 'extended',
      protocols = ALL_PROTOCOLS,
      shareTemplates = false,
      detectSequenceReset = true,
      expirationTimeoutMs = 30 * 60_000,
      limits = DEFAULT_SESSION_LIMITS,
      pending = {},
      optionsState = {},
      now = Date.now,
    } = options;
    this.layouts = new LegacyLayouts(dictionary);
    const wanted = new Set(protocols);
    this.accepted = new Set(
      Object.entries(VERSION_PROTOCOL)
        .filter(([, p]) => wanted.has(p))
        .map(([v]) => Number(v)),
    );
    // filebeat mode drops data sets without a template, as Filebeat does
    this.pending =
      compatibility === 'extended'
        ? new PendingStore(resolvePending(pending), this.stats, detectSequenceReset)
        : undefined;
    // filebeat mode learns nothing from options data: its documents must not change
    this.options =
      compatibility === 'extended' && optionsState !== false
        ? { limits: resolveOptionsLimits(optionsState), stats: this.stats }
        : undefined;
    const base = {
      dictionary,
      stats: this.stats,
      compatibility,
      shareTemplates,
      detectSequenceReset,
      pending: this.pending,
      options: this.options,
      now,
    };
    this.v9 = { ...base, protocol: 'v9', sessions: new SessionTable(limits, this.stats) };
    this.ipfix = { ...base, protocol: 'ipfix', sessions: new SessionTable(limits, this.stats) };
    this.expirationTimeoutMs = expirationTimeoutMs;
    this.now = now;
    this.dictionary = dictionary;
    this.legacySequences = new LegacySequences(limits.maxSessions, this.stats);
    this.lastSweep = now();
  }

  /**
   * Decodes one export packet. Throws DecodeError when the packet is malformed; then none of its
   * records are returned (templates it taught before the failing set are kept, as in Filebeat).
   */
  decode(packet: Buffer, from: ExporterAddress): DecodeResult {
    this.maybeSweep();
    if (packet.length < 2) {
      throw new DecodeError('short_header', `datagram of ${packet.length} bytes has no version`);
    }
    const version = packet.readUInt16BE(0);
    if (!this.accepted.has(version)) {
      throw VERSION_PROTOCOL[version] === undefined
        ? new DecodeError('unsupported_version', `NetFlow version ${version} is not supported`)
        : new DecodeError('disabled_version', `NetFlow version ${version} is not in protocols`);
    }
    const records: DecodedRecord[] = [];
    if (version === 9) return { records, ...decodeV9(this.v9, packet, from, records) };
    if (version === 10) return { records, ...decodeIpfix(this.ipfix, packet, from, records) };
    const consumed = decodeLegacy(this.layouts, packet, from, records);
    if (version === 5 || version === 7 || version === 8) this.observeLegacySequence(version, packet, from);
    return { records, consumed, pended: 0 };
  }

  /**
   * Checks a decoded v5/v7/v8 packet's flow_sequence (flows exported before it) against its
   * stream's: exporter address, version, engine type/id (v5, v8), aggregation (v8).
   */
  private observeLegacySequence(version: number, packet: Buffer, from: ExporterAddress): void {
    // v7 bytes 20-23 are reserved; v5 byte 22-23 is sampling, not part of the stream
    const stream = version === 7 ? 0 : version === 8 ? packet.readUInt32BE(20) : packet.readUInt16BE(20);
    const key = `${from.address}/${version}/${stream}`;
    this.legacySequences.observe(key, packet.readUInt32BE(16), packet.readUInt16BE(2));
  }

  /**
   * Runs the template expiry sweep if a period has passed, and the pending-data age sweep if a
   * second has (also callable from a timer).
   */
  maybeSweep(): void {
    if (this.expirationTimeoutMs <= 0 && this.pending === undefined) return;
    const now = this.now();
    this.pending?.maybeSweep(now);
    if (this.expirationTimeoutMs <= 0) return;
    if (now - this.lastSweep < this.expirationTimeoutMs) return;
    this.lastSweep = now;
    this.v9.sessions.sweep();
    this.ipfix.sessions.sweep();
  }

  /**
   * Grows whenever the set of templates changes (learned, replaced, withdrawn, expired, dropped
   * on a sequence reset or a session eviction), or the options state does (R6: learned, changed,
   * dropped), never on a mere use: the template cache (R4) is written only when it differs from
   * the last value written. Costs nothing on the hot path.
   */
  get templateChangeCount(): number {
    const s = this.stats;
    return (
      s.templatesLearned +
      s.templatesReplaced +
      s.templatesWithdrawn +
      s.templatesExpired +
      s.sequenceResets +
      s.sessionsEvicted +
      s.optionsChanges
    );
  }

  /** Every v9 and IPFIX template of every session, as announced, with its last use (R4). */
  exportTemplates(): CachedTemplate[] {
    const out: CachedTemplate[] = [];
    for (const ctx of [this.v9, this.ipfix]) {
      const protocol = ctx.protocol as CachedTemplate['protocol'];
      for (const session of ctx.sessions.entries()) {
        for (const [t, lastUsedMs] of session.templatesWithUse()) {
          out.push({
            session: session.key,
            protocol,
            id: t.id,
            fields: t.fields,
            scopeCount: t.scopeCount,
            isOptions: t.isOptions,
            lastUsedMs,
          });
        }
      }
    }
    return out;
  }

  /**
   * Learns templates from the cache (R4), compiled against this decoder's dictionary, within the
   * session limits (a refused one is counted as rejected). They are not counted as learned, and
   * an announcement or withdrawal on the wire replaces or removes them as usual. A restored
   * session takes its first packet's sequence number as is. Returns how many were loaded.
   */
  importTemplates(entries: readonly CachedTemplate[]): number {
    let loaded = 0;
    for (const e of entries) {
      const ctx = e.protocol === 'v9' ? this.v9 : e.protocol === 'ipfix' ? this.ipfix : undefined;
      if (ctx === undefined) continue;
      const template = compileTemplate(
        this.dictionary,
        e.id,
        e.fields,
        e.scopeCount,
        e.isOptions,
        e.protocol === 'v9',
      );
      const session = ctx.sessions.get(e.session) ?? ctx.sessions.create(e.session);
      if (session.addTemplate(template, e.lastUsedMs, true)) loaded++;
    }
    return loaded;
  }

  /**
   * The options state of every v9 and IPFIX session that has one (R6), as plain data with its
   * last use, for the template cache (R4). Empty when none is kept (filebeat mode).
   */
  exportOptionsState(): CachedOptionsState[] {
    const out: CachedOptionsState[] = [];
    for (const ctx of [this.v9, this.ipfix]) {
      const protocol = ctx.protocol as CachedOptionsState['protocol'];
      for (const session of ctx.sessions.entries()) {
        if (session.options !== undefined) out.push(session.options.toCached(session.key, protocol));
      }
    }
    return out;
  }

  /**
   * Restores options state from the template cache (R4), within the same bounds as on the wire
   * (keys beyond them are refused and counted). A session that already has options state keeps
   * it: what its exporter said since the start is newer. Restored state is not counted as a
   * change. Returns how many sessions got a state; none in filebeat mode.
   */
  importOptionsState(entries: readonly CachedOptionsState[]): number {
    if (this.options === undefined) return 0;
    let loaded = 0;
    for (const e of entries) {
      const ctx = e.protocol === 'v9' ? this.v9 : e.protocol === 'ipfix' ? this.ipfix : undefined;
      if (ctx === undefined) continue;
      const existing = ctx.sessions.get(e.session);
      if (existing?.options !== undefined) continue;
      const state = OptionsState.fromCached(this.options, e);
      if (state === undefined) continue;
      const session = existing ?? ctx.sessions.create(e.session);
      session.options = state;
      loaded++;
    }
    return loaded;
  }

  /** Whether data sets without a template are kept for it (R1: extended mode). */
  get keepsPendingData(): boolean {
    return this.pending !== undefined;
  }

  get sessionCount(): number {
    return this.v9.sessions.size + this.ipfix.sessions.size;
  }

  get templateCount(): number {
    return this.v9.sessions.templateCount() + this.ipfix.sessions.templateCount();
  }
}
