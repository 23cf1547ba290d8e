/**
 * Template sessions (NETFLOW.md 2): the scope in which an exporter's template ids are valid.
 *
 *   SessionTable (one per protocol: v9, IPFIX), least recently used first
 *     key "ip:port/source_id"  (or "source_id" with share_templates)
 *       └─ Session: templates by id, last sequence number, used mark,
 *                   options state (R6, options-state.ts; dropped with the templates)
 *
 * Expiry is mark-and-sweep, like Filebeat: every sweep deletes what was not used since the
 * previous sweep (a template: data decoded or re-announced; a session: a packet received), then
 * clears the marks. A sweep runs once per `expiration_timeout`, so an idle template lives 1-2x it.
 *
 * Everything an exporter (or a spoofer) can grow by sending packets is bounded: sessions per
 * table (the least recently used one is evicted for a new one), templates per session, and the
 * fields of all templates together (a shared budget: one 10 KiB datagram can announce a
 * 2,500-field template, so a count of templates alone bounds nothing).
 */
import type { OptionsState } from './options-state.ts';
import type { PendingEvictionReason } from './pending.ts';
import type { Template } from './template.ts';

export interface SessionLimits {
  /** Sessions per table; a new session beyond it evicts the least recently used one. */
  readonly maxSessions: number;
  /** Templates per session; new ids beyond it are refused, replacements still apply. */
  readonly maxTemplatesPerSession: number;
  /** Fields of all templates of a decoder together; a template that would exceed it is refused. */
  readonly maxTemplateFields: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxSessions: 65_536,
  maxTemplatesPerSession: 4_096,
  maxTemplateFields: 1_000_000,
};

/** Counters the decoder keeps; the input publishes them as metrics. */
export interface DecoderStats {
  templatesLearned: number;
  templatesReplaced: number;
  templatesExpired: number;
  templatesWithdrawn: number;
  templatesRejected: number;
  sessionsCreated: number;
  sessionsExpired: number;
  sessionsEvicted: number;
  sequenceResets: number;
  /** Packets whose sequence number was ahead of the expected one (by less than the reset jump). */
  sequenceGaps: number;
  /** Lost by those gaps: v9 packets; IPFIX, v5, v7, v8 records. */
  lostRecordsEstimate: number;
  /** Packets whose sequence number was behind the expected one (reordered or duplicated). */
  sequenceOutOfOrder: number;
  /** v5/v7/v8 sequence streams forgotten because the table was full (least recently used first). */
  sequenceStreamsEvicted: number;
  /** Data sets whose template was unknown when they arrived: every miss, kept pending or not. */
  dataSetsWithoutTemplate: number;
  /** Fields held by all templates now (gauge). */
  templateFields: number;
  /** Data sets waiting for their template now (gauge, R1). */
  pendingSets: number;
  /** Bytes those sets hold, estimated overhead included (gauge, R1). */
  pendingBytes: number;
  /** Pending sets decoded once their template arrived. */
  pendingReplayedSets: number;
  /** Pending sets that failed to decode with their template (skipped; the packet that taught it goes on). */
  pendingFailedSets: number;
  /** Pending sets dropped, by reason. */
  pendingEvicted: Record<PendingEvictionReason, number>;
  /** Keys held by the options tables of all sessions now (gauge, R6). */
  optionsEntries: number;
  /** Estimated bytes of the options state of all sessions now, overhead included (gauge, R6). */
  optionsBytes: number;
  /**
   * Options table keys (or whole session states) refused because a table was full or the byte
   * budget spent (R6; an exporter or a spoofer controls what options data say).
   */
  optionsEntriesRejected: number;
  /**
   * Changes to options state: keys added or changed, session-wide values set or changed, states
   * dropped with their session. Options data repeating what is known change nothing.
   */
  optionsChanges: number;
}

export function newDecoderStats(): DecoderStats {
  return {
    templatesLearned: 0,
    templatesReplaced: 0,
    templatesExpired: 0,
    templatesWithdrawn: 0,
    templatesRejected: 0,
    sessionsCreated: 0,
    sessionsExpired: 0,
    sessionsEvicted: 0,
    sequenceResets: 0,
    sequenceGaps: 0,
    lostRecordsEstimate: 0,
    sequenceOutOfOrder: 0,
    sequenceStreamsEvicted: 0,
    dataSetsWithoutTemplate: 0,
    templateFields: 0,
    pendingSets: 0,
    pendingBytes: 0,
    pendingReplayedSets: 0,
    pendingFailedSets: 0,
    pendingEvicted: { age: 0, size: 0, reset: 0, withdrawn: 0 },
    optionsEntries: 0,
    optionsBytes: 0,
    optionsEntriesRejected: 0,
    optionsChanges: 0,
  };
}

interface Entry {
  template: Template;
  used: boolean;
  /** When it was learned or a data set last used it, ms since the epoch (R4: persisted). */
  lastUsedMs: number;
}

/** Largest sequence jump still taken as the same stream (Filebeat's MaxSequenceDifference). */
const MAX_SEQUENCE_DIFFERENCE = 1000;

/** Filebeat's reset rule: a jump of 1000 or more, either way, modulo 2^32. */
export function sequenceJumped(last: number, sequence: number): boolean {
  const forward = (sequence - last) >>> 0;
  const backward = (last - sequence) >>> 0;
  return forward >= MAX_SEQUENCE_DIFFERENCE && backward >= MAX_SEQUENCE_DIFFERENCE;
}

/**
 * Compares a packet's sequence number with the one expected from its stream (all modulo 2^32):
 * equal is fine; ahead by less than the reset jump is a gap (`lost` += the difference: packets
 * for v9, records otherwise); behind by less than it is a reordered or duplicated packet; a
 * larger jump either way is the reset rule's business and counted by neither. Returns false only
 * for a packet behind the expectation, which must then not move it back.
 */
export function trackSequence(stats: DecoderStats, expected: number, sequence: number): boolean {
  const delta = (sequence - expected) | 0;
  if (delta === 0 || delta >= MAX_SEQUENCE_DIFFERENCE || delta <= -MAX_SEQUENCE_DIFFERENCE) return true;
  if (delta > 0) {
    stats.sequenceGaps++;
    stats.lostRecordsEstimate += delta;
    return true;
  }
  stats.sequenceOutOfOrder++;
  return false;
}

/**
 * The next expected flow_sequence of each v5/v7/v8 stream (exporter address, version, engine
 * type/id, v8 aggregation), at most `max` streams: a new one beyond it evicts the least recently
 * seen one.
 */
export class LegacySequences {
  // insertion order is recency order: an updated stream is moved to the end
  private readonly expected = new Map<string, number>();
  private readonly max: number;
  private readonly stats: DecoderStats;

  constructor(max: number, stats: DecoderStats) {
    this.max = max;
    this.stats = stats;
  }

  get size(): number {
    return this.expected.size;
  }

  /** Checks a packet of `count` records against its stream's expectation, then moves it on. */
  observe(key: string, sequence: number, count: number): void {
    const expected = this.expected.get(key);
    if (expected !== undefined) {
      if (!trackSequence(this.stats, expected, sequence)) return;
      this.expected.delete(key);
    } else if (this.expected.size >= this.max) {
      this.expected.delete(this.expected.keys().next().value as string);
      this.stats.sequenceStreamsEvicted++;
    }
    this.expected.set(key, (sequence + count) >>> 0);
  }
}

export class Session {
  readonly key: string;
  used = true;
  lastSequence: number;
  /** What the session's options data stated (R6); created by the first fact, dropped by clear(). */
  options: OptionsState | undefined = undefined;
  /**
   * False for a session restored from the template cache (R4) until its first packet: that
   * packet's sequence number is then taken as is, not compared with a number never seen.
   */
  private sequenceKnown: boolean;
  /** The next sequence number expected (v9: last + 1; IPFIX: last + its data records), or -1. */
  private expectedSequence = -1;
  private readonly templates = new Map<number, Entry>();
  private readonly limits: SessionLimits;
  private readonly stats: DecoderStats;

  constructor(key: string, limits: SessionLimits, stats: DecoderStats, sequence?: number) {
    this.key = key;
    this.limits = limits;
    this.stats = stats;
    this.lastSequence = sequence ?? 0;
    this.sequenceKnown = sequence !== undefined;
  }

  get templateCount(): number {
    return this.templates.size;
  }

  /** The template under `id`, without counting it as used. */
  peekTemplate(id: number): Template | undefined {
    return this.templates.get(id)?.template;
  }

  /** The template for a data set, marked used at `nowMs`. */
  getTemplate(id: number, nowMs: number): Template | undefined {
    const entry = this.templates.get(id);
    if (entry === undefined) return undefined;
    entry.used = true;
    entry.lastUsedMs = nowMs;
    return entry.template;
  }

  /**
   * Learns or replaces a template; data and options templates share the id space. Returns false
   * when a cap refused it. `restored` (a template from the cache, R4) is not counted as learned
   * or replaced.
   */
  addTemplate(template: Template, nowMs: number, restored = false): boolean {
    const existing = this.templates.get(template.id);
    const grow = template.fields.length - (existing?.template.fields.length ?? 0);
    if (this.stats.templateFields + grow > this.limits.maxTemplateFields) {
      this.stats.templatesRejected++;
      return false;
    }
    if (existing !== undefined) {
      existing.template = template;
      existing.used = true;
      existing.lastUsedMs = nowMs;
      this.stats.templateFields += grow;
      if (!restored) this.stats.templatesReplaced++;
      return true;
    }
    if (this.templates.size >= this.limits.maxTemplatesPerSession) {
      this.stats.templatesRejected++;
      return false;
    }
    this.templates.set(template.id, { template, used: true, lastUsedMs: nowMs });
    this.stats.templateFields += grow;
    if (!restored) this.stats.templatesLearned++;
    return true;
  }

  /** Every template with its last use (R4). */
  *templatesWithUse(): IterableIterator<[Template, number]> {
    for (const entry of this.templates.values()) yield [entry.template, entry.lastUsedMs];
  }

  private remove(id: number, entry: Entry): void {
    this.templates.delete(id);
    this.stats.templateFields -= entry.template.fields.length;
  }

  /** RFC 7011 §8.1 withdrawal of one template id. */
  withdraw(id: number): void {
    const entry = this.templates.get(id);
    if (entry === undefined) return;
    this.remove(id, entry);
    this.stats.templatesWithdrawn++;
  }

  /** RFC 7011 §8.1 withdrawal of all data (or all options) templates. */
  withdrawAll(options: boolean): void {
    for (const [id, entry] of this.templates) {
      if (entry.template.isOptions === options) {
        this.remove(id, entry);
        this.stats.templatesWithdrawn++;
      }
    }
  }

  /**
   * Drops every template and the options state (session evicted, expired, or reset by its
   * sequence number); returns how many templates there were.
   */
  clear(): number {
    const n = this.templates.size;
    for (const [id, entry] of this.templates) this.remove(id, entry);
    if (this.options !== undefined) {
      this.options.release();
      this.options = undefined;
      this.stats.optionsChanges++;
    }
    return n;
  }

  /**
   * Filebeat's reset heuristic: a jump of 1000 or more (either way, modulo 2^32) from the last
   * sequence number means the exporter restarted, so its old templates are dropped. The new
   * number is remembered in every case. Returns true when templates were dropped.
   */
  checkSequence(sequence: number): boolean {
    if (!this.sequenceKnown) {
      this.sequenceKnown = true;
      this.lastSequence = sequence;
      return false;
    }
    const jumped = sequenceJumped(this.lastSequence, sequence);
    this.lastSequence = sequence;
    if (!jumped) return false;
    // a reset of an empty table changes nothing and is not counted
    if (this.clear() === 0) return false;
    this.stats.sequenceResets++;
    return true;
  }

  /**
   * Counts a gap or a reordered packet against the expected sequence number (trackSequence).
   * Returns false for a reordered packet: the expectation stays where it is.
   */
  trackSequence(sequence: number): boolean {
    return this.expectedSequence < 0 || trackSequence(this.stats, this.expectedSequence, sequence);
  }

  /** Sets the next expected sequence number; undefined when not known (next packet taken as is). */
  expectSequence(next: number | undefined): void {
    this.expectedSequence = next === undefined ? -1 : next >>> 0;
  }

  /** Deletes templates unused since the last sweep; returns how many were deleted. */
  sweep(): number {
    let removed = 0;
    for (const [id, entry] of this.templates) {
      if (entry.used) {
        entry.used = false;
      } else {
        this.remove(id, entry);
        removed++;
      }
    }
    return removed;
  }
}

export class SessionTable {
  // insertion order is recency order: a touched session is moved to the end
  private readonly sessions = new Map<string, Session>();
  private readonly limits: SessionLimits;
  private readonly stats: DecoderStats;

  constructor(limits: SessionLimits, stats: DecoderStats) {
    this.limits = limits;
    this.stats = stats;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session for `key` if it exists; marks it used and most recently used. */
  get(key: string): Session | undefined {
    const session = this.sessions.get(key);
    if (session !== undefined) {
      session.used = true;
      this.sessions.delete(key);
      this.sessions.set(key, session);
    }
    return session;
  }

  /**
   * A new session for `key`, evicting the least recently used one when the table is full.
   * Without `sequence` (a session restored from the template cache) its first packet's sequence
   * number is taken as is.
   */
  create(key: string, sequence?: number): Session {
    if (this.sessions.size >= this.limits.maxSessions) {
      const [oldestKey, oldest] = this.sessions.entries().next().value as [string, Session];
      oldest.clear();
      this.sessions.delete(oldestKey);
      this.stats.sessionsEvicted++;
    }
    const session = new Session(key, this.limits, this.stats, sequence);
    this.sessions.set(key, session);
    this.stats.sessionsCreated++;
    return session;
  }

  sweep(): void {
    for (const [key, session] of this.sessions) {
      this.stats.templatesExpired += session.sweep();
      if (session.used) {
        session.used = false;
      } else {
        this.stats.templatesExpired += session.clear();
        this.sessions.delete(key);
        this.stats.sessionsExpired++;
      }
    }
  }

  templateCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.templateCount;
    return n;
  }

  entries(): IterableIterator<Session> {
    return this.sessions.values();
  }
}
