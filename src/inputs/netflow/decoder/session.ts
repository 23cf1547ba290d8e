/**
 * Template sessions (NETFLOW.md 2): the scope in which an exporter's template ids are valid.
 *
 *   SessionTable (one per protocol: v9, IPFIX)
 *     key "ip:port/source_id"  (or "source_id" with share_templates)
 *       └─ Session: templates by id, last sequence number, used mark
 *
 * Expiry is mark-and-sweep, like Filebeat: every sweep deletes what was not used since the
 * previous sweep (a template: data decoded or re-announced; a session: a packet received), then
 * clears the marks. A sweep runs once per `expiration_timeout`, so an idle template lives 1-2x it.
 * Both maps are bounded: an attacker spraying source ids or template ids cannot grow them forever.
 */
import type { Template } from './template.ts';

export interface SessionLimits {
  /** Sessions per table; new sessions beyond it are refused (their packets decode nothing). */
  readonly maxSessions: number;
  /** Templates per session; new ids beyond it are refused, replacements still apply. */
  readonly maxTemplatesPerSession: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 65_536, maxTemplatesPerSession: 4_096 };

/** Counters the decoder keeps; the input publishes them as metrics. */
export interface DecoderStats {
  templatesLearned: number;
  templatesReplaced: number;
  templatesExpired: number;
  templatesWithdrawn: number;
  templatesRejected: number;
  sessionsCreated: number;
  sessionsExpired: number;
  sessionsRejected: number;
  sequenceResets: number;
  dataSetsWithoutTemplate: number;
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
    sessionsRejected: 0,
    sequenceResets: 0,
    dataSetsWithoutTemplate: 0,
  };
}

interface Entry {
  template: Template;
  used: boolean;
}

/** Largest sequence jump still taken as the same stream (Filebeat's MaxSequenceDifference). */
const MAX_SEQUENCE_DIFFERENCE = 1000;

export class Session {
  readonly key: string;
  used = true;
  lastSequence = 0;
  private readonly templates = new Map<number, Entry>();
  private readonly limits: SessionLimits;
  private readonly stats: DecoderStats;

  constructor(key: string, limits: SessionLimits, stats: DecoderStats) {
    this.key = key;
    this.limits = limits;
    this.stats = stats;
  }

  get templateCount(): number {
    return this.templates.size;
  }

  getTemplate(id: number): Template | undefined {
    const entry = this.templates.get(id);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.template;
  }

  /** Learns or replaces a template; data and options templates share the id space. */
  addTemplate(template: Template): void {
    const existing = this.templates.get(template.id);
    if (existing !== undefined) {
      existing.template = template;
      existing.used = true;
      this.stats.templatesReplaced++;
      return;
    }
    if (this.templates.size >= this.limits.maxTemplatesPerSession) {
      this.stats.templatesRejected++;
      return;
    }
    this.templates.set(template.id, { template, used: true });
    this.stats.templatesLearned++;
  }

  /** RFC 7011 §8.1 withdrawal of one template id. */
  withdraw(id: number): void {
    if (this.templates.delete(id)) this.stats.templatesWithdrawn++;
  }

  /** RFC 7011 §8.1 withdrawal of all data (or all options) templates. */
  withdrawAll(options: boolean): void {
    for (const [id, entry] of this.templates) {
      if (entry.template.isOptions === options) {
        this.templates.delete(id);
        this.stats.templatesWithdrawn++;
      }
    }
  }

  /**
   * Filebeat's reset heuristic: a jump of 1000 or more (either way, modulo 2^32) from the last
   * sequence number means the exporter restarted, so its old templates are dropped. The new
   * number is remembered in every case. Returns true when the session was reset.
   */
  checkSequence(sequence: number): boolean {
    const forward = (sequence - this.lastSequence) >>> 0;
    const backward = (this.lastSequence - sequence) >>> 0;
    this.lastSequence = sequence;
    if (forward < MAX_SEQUENCE_DIFFERENCE || backward < MAX_SEQUENCE_DIFFERENCE) return false;
    this.templates.clear();
    this.stats.sequenceResets++;
    return true;
  }

  /** Deletes templates unused since the last sweep; returns how many were deleted. */
  sweep(): number {
    let removed = 0;
    for (const [id, entry] of this.templates) {
      if (entry.used) {
        entry.used = false;
      } else {
        this.templates.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Snapshot of the templates (for persistence and inspection). */
  listTemplates(): Template[] {
    return [...this.templates.values()].map((e) => e.template);
  }
}

export class SessionTable {
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

  /** The session for `key`, created on first sight; undefined when the table is full. */
  getOrCreate(key: string): Session | undefined {
    let session = this.sessions.get(key);
    if (session !== undefined) {
      session.used = true;
      return session;
    }
    if (this.sessions.size >= this.limits.maxSessions) {
      this.stats.sessionsRejected++;
      return undefined;
    }
    session = new Session(key, this.limits, this.stats);
    this.sessions.set(key, session);
    this.stats.sessionsCreated++;
    return session;
  }

  get(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  sweep(): void {
    for (const [key, session] of this.sessions) {
      this.stats.templatesExpired += session.sweep();
      if (session.used) {
        session.used = false;
      } else {
        this.stats.templatesExpired += session.templateCount;
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
