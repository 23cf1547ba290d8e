/**
 * What NetFlow v9 and IPFIX share: the state a packet is decoded against, and data sets.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { Compatibility, Dictionary } from '../fields/types.ts';
import {
  type OptionsContext,
  type OptionsPlan,
  OptionsState,
  readOptionsRecord,
  statesSomething,
} from './options-state.ts';
import type { PendingSet, PendingStore } from './pending.ts';
import type { DecoderStats, Session, SessionTable } from './session.ts';
import { applyTemplate, type OptionsSink, type Template } from './template.ts';
import type { DecodedRecord, ExporterMeta } from './types.ts';

export interface TemplateProtocolContext {
  readonly dictionary: Dictionary;
  readonly sessions: SessionTable;
  readonly stats: DecoderStats;
  readonly compatibility: Compatibility;
  /** Key sessions by source id alone (Filebeat `share_templates`). */
  readonly shareTemplates: boolean;
  /** Drop a session's templates on a sequence jump >= 1000 (Filebeat `detect_sequence_reset`). */
  readonly detectSequenceReset: boolean;
  /** `v9` or `ipfix`: names this table's sessions in the pending store both tables share. */
  readonly protocol: string;
  /** Data sets waiting for their template (R1); undefined when they are dropped (filebeat mode). */
  readonly pending: PendingStore | undefined;
  /** The decoder's clock (ms), for the arrival time of pending sets. */
  readonly now: () => number;
  /** Bounds and counters of the options state (R6); undefined when none is kept (filebeat mode). */
  readonly options: OptionsContext | undefined;
}

export function sessionKey(ctx: TemplateProtocolContext, address: string, sourceId: number): string {
  return ctx.shareTemplates ? String(sourceId) : `${address}/${sourceId}`;
}

/**
 * A change a template set makes to its session. Sets are parsed whole before their changes apply:
 * a decode error in a set loses the changes before it in that set too (Filebeat learns a set's
 * templates only once the set parsed), while those of earlier sets stay.
 */
export type TemplateChange =
  | { readonly kind: 'learn'; readonly template: Template }
  /** RFC 7011 §8.1 withdrawal of one template id (R5). */
  | { readonly kind: 'withdraw'; readonly id: number }
  /** RFC 7011 §8.1 withdrawal of all data (or all options) templates (R5). */
  | { readonly kind: 'withdrawAll'; readonly options: boolean };

/** What decoding a v9 or IPFIX packet gives besides its records. */
export interface PacketOutcome {
  /** Bytes of the datagram the packet occupied. */
  readonly consumed: number;
  /** The packet's header metadata, shared by its records. */
  readonly exporter: ExporterMeta;
  /** Data sets of the packet kept pending for their template (R1). */
  readonly pended: number;
}

/**
 * A packet failed to decode after a template it brought had decoded data sets of earlier packets
 * kept pending (R1). Those records belong to the earlier packets, which decoded fine, so they are
 * not lost with this one: `replayed` holds them. Same reason and message as the original error.
 */
export class ReplayedDecodeError extends DecodeError {
  readonly replayed: DecodedRecord[];
  constructor(cause: DecodeError, replayed: DecodedRecord[]) {
    super(cause.reason, cause.message, { cause, templateId: cause.templateId });
    this.replayed = replayed;
  }
}

/**
 * One packet's view of its session: what it pends, learns, withdraws, and the records it
 * produces. An existing session is touched (and its sequence checked) at once; a new one is
 * created only when the packet teaches it a template, so a stream of data-only packets from
 * ever-changing ports (or spoofed sources) cannot fill the session table (their pending sets are
 * bounded by the pending store's byte budget instead).
 *
 * It also feeds the session's options state (R6) from options records, and once the packet is
 * decoded hands that state to its records' ExporterMeta (and to those of the pending sets it
 * replayed): the normalizer reads it from there, after decode() returns.
 */
export class PacketSession implements OptionsSink {
  session: Session | undefined;
  /** Sets of this packet kept pending (R1). */
  pended = 0;
  private readonly ctx: TemplateProtocolContext;
  private readonly key: string;
  private readonly sequence: number;
  private readonly exporter: ExporterMeta;
  private readonly out: DecodedRecord[];
  /** This packet's sets kept pending: taken back if the packet fails. */
  private kept: PendingSet[] | undefined;
  /** Records replayed from earlier packets' pending sets: kept if the packet fails. */
  private replayed: DecodedRecord[] | undefined;
  /** Whether the packet's sequence number moves its session's expectation (not a reordered one). */
  private readonly inOrder: boolean;
  /** Data records of this packet's own sets (IPFIX sequence numbers count them). */
  private records = 0;
  /** A data set's records could not be counted (no template yet). */
  private uncounted = false;
  /** The clock read once per packet, when first needed (-1: not yet). */
  private nowMs = -1;

  constructor(
    ctx: TemplateProtocolContext,
    key: string,
    sequence: number,
    exporter: ExporterMeta,
    out: DecodedRecord[],
  ) {
    this.ctx = ctx;
    this.key = key;
    this.sequence = sequence;
    this.exporter = exporter;
    this.out = out;
    this.session = ctx.sessions.get(key);
    this.inOrder = this.session?.trackSequence(sequence) ?? true;
    if (this.session !== undefined && ctx.detectSequenceReset) this.session.checkSequence(sequence);
    // before the sets are read, as for templates: a jump drops what was pending
    if (ctx.pending !== undefined && ctx.pending.size > 0) {
      ctx.pending.observeSequence(this.pendingName, sequence);
    }
  }

  /** The template the session holds under `id`, if any, without counting it as used. */
  known(id: number): Template | undefined {
    return this.session?.peekTemplate(id);
  }

  /** The decoder's clock, read at most once per packet. */
  private time(): number {
    if (this.nowMs < 0) this.nowMs = this.ctx.now();
    return this.nowMs;
  }

  /** The session's name in the pending store, which v9 and IPFIX share. */
  private get pendingName(): string {
    return `${this.ctx.protocol} ${this.key}`;
  }

  /**
   * Decodes a data set (id >= 256) with the session's template. A set whose template is unknown
   * is counted, and kept pending in extended mode (R1); in filebeat mode it is skipped: no error
   * (NETFLOW.md 1.6).
   */
  data(setId: number, buf: Buffer, start: number, end: number): void {
    const template = this.session?.getTemplate(setId, this.time());
    if (template !== undefined) {
      this.records += applyTemplate(template, buf, start, end, this.exporter, this.out, 0, this.optionsSink);
      return;
    }
    this.uncounted = true;
    const { stats, pending } = this.ctx;
    stats.dataSetsWithoutTemplate++;
    if (pending === undefined) return;
    const now = this.time();
    const set = pending.add(this.pendingName, setId, buf, start, end, this.exporter, this.sequence, now);
    if (set === undefined) return;
    this.pended++;
    (this.kept ??= []).push(set);
  }

  /** Applies a parsed set's changes; the session is created only if there is something to apply. */
  apply(changes: readonly TemplateChange[]): void {
    if (changes.length === 0) return;
    this.session ??= this.ctx.sessions.create(this.key, this.sequence);
    const { pending } = this.ctx;
    for (const change of changes) {
      switch (change.kind) {
        case 'learn':
          if (
            this.session.addTemplate(change.template, this.time()) &&
            pending !== undefined &&
            pending.size > 0
          ) {
            this.replay(pending, change.template);
          }
          break;
        case 'withdraw':
          this.session.withdraw(change.id);
          pending?.drop(this.pendingName, change.id, 'withdrawn');
          break;
        case 'withdrawAll':
          this.session.withdrawAll(change.options);
          // a pending set's id may be either kind: all of the session's go
          pending?.drop(this.pendingName, undefined, 'withdrawn');
          break;
      }
    }
  }

  /**
   * Decodes the sets pending for a template just learned, oldest first, each with its own
   * packet's header, into the packet's records at this point: after the records of the sets
   * before the template set, before those of the sets after it.
   */
  private replay(pending: PendingStore, template: Template): void {
    for (const set of pending.take(this.pendingName, template.id)) {
      const before = this.out.length;
      try {
        applyTemplate(template, set.body, 0, set.body.length, set.exporter, this.out, 0, this.optionsSink);
      } catch (err) {
        // the set's own packet is long gone: this one goes on
        if (!(err instanceof DecodeError)) throw err;
        this.out.length = before;
        this.ctx.stats.pendingFailedSets++;
        continue;
      }
      if (set.exporter !== this.exporter) {
        this.replayed ??= [];
        for (let i = before; i < this.out.length; i++) this.replayed.push(this.out[i]);
      }
    }
  }

  /**
   * Sets the session's next expected sequence number once the packet decoded: its own plus
   * `perPacket` (v9: 1) or, without it, plus its data records (IPFIX, RFC 7011 §3.1); unknown
   * when a data set's records could not be counted. A reordered packet leaves it as it was.
   */
  finish(perPacket?: number): void {
    this.attachOptions();
    if (this.session === undefined || !this.inOrder) return;
    const increment = perPacket ?? (this.uncounted ? undefined : this.records);
    this.session.expectSequence(increment === undefined ? undefined : this.sequence + increment);
  }

  /**
   * The error to throw when the packet fails at `err`: its own sets are no longer pending (its
   * records are lost, as for any failed packet), and records of earlier packets replayed before
   * the failure ride along (ReplayedDecodeError).
   */
  failed(err: unknown): unknown {
    // what the packet held is unknown: its successor's number is taken as is
    this.session?.expectSequence(undefined);
    // the replayed records ride along in the error
    this.attachOptions();
    if (this.kept !== undefined) {
      for (const set of this.kept) this.ctx.pending?.remove(set);
      this.kept = undefined;
    }
    this.pended = 0;
    if (this.replayed === undefined || !(err instanceof DecodeError)) return err;
    return new ReplayedDecodeError(err, this.replayed);
  }

  /** This packet as the options sink of applyTemplate, when options state is kept. */
  private get optionsSink(): OptionsSink | undefined {
    return this.ctx.options === undefined ? undefined : this;
  }

  /** Learns what an options record states into the session's options state (R6). */
  optionsRecord(plan: OptionsPlan, buf: Buffer, start: number, end: number): void {
    const values = readOptionsRecord(plan, buf, start, end);
    // a template was found, so the session exists
    const session = this.session;
    if (values === undefined || session === undefined || !statesSomething(values)) return;
    const ctx = this.ctx.options!;
    if (session.options === undefined) {
      const state = OptionsState.create(ctx, this.time());
      if (state === undefined) return;
      session.options = state;
    }
    if (session.options.learn(values, this.time())) ctx.stats.optionsChanges++;
  }

  /**
   * Hands the session's options state to the records of this packet and of the pending sets it
   * replayed (their ExporterMeta), so that the normalizer finds it: a reference, never a copy.
   */
  private attachOptions(): void {
    const state = this.session?.options;
    if (state === undefined) return;
    setSessionOptions(this.exporter, state);
    if (this.replayed !== undefined) for (const r of this.replayed) setSessionOptions(r.exporter, state);
  }
}

/**
 * Sets `exporter.sessionOptions`, non-enumerable: it is a reference to the session's live state,
 * not data of the packet, so JSON, structured clones and deep equality leave it out (they would
 * otherwise copy or compare whole tables, and the decoded records would depend on what options
 * data happened to arrive before them).
 */
function setSessionOptions(exporter: ExporterMeta, state: OptionsState): void {
  if (exporter.sessionOptions === state) return;
  Object.defineProperty(exporter, 'sessionOptions', {
    value: state,
    enumerable: false,
    writable: true,
    configurable: true,
  });
}
