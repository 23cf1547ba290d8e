/**
 * Data before its template (NETFLOW.md 6, R1): v9/IPFIX data sets whose template the session does
 * not know yet, kept until the template arrives, then decoded with it, each with its own packet's
 * header.
 *
 *   PendingStore (one per decoder: v9 and IPFIX share the byte budget)
 *     sessions: "v9 ip:port/source_id" -> PendingSession { lastSequence, keys }
 *       keys: template id -> PendingKey { sets: oldest ... newest }   (<= maxSetsPerTemplate)
 *     arrival list, across all keys:
 *       oldest <-> ... <-> newest        (doubly linked: evicting a whole key is O(its sets))
 *
 * Sets are queued in arrival order, so the oldest set of the whole store is also the oldest of its
 * key: every eviction by age or size takes the head of the arrival list and the head of a key.
 *
 * Bounded by `maxSetsPerTemplate` per key (the key's oldest set goes), `maxSetsPerExporter` and
 * `maxBytesPerExporter` per exporter IP (that exporter's oldest sets go: a second, doubly linked
 * list per exporter), `maxBytes` over the store (the oldest sets go first) and `maxAgeMs` (swept at
 * most once a second). One exporter sending data for templates it never announces therefore
 * cannot push the others' pending data out. The byte count includes
 * an estimated overhead per set, per key and per session, so that a flood of empty or one-byte sets
 * for 65,536 template ids from many sources is bounded by the same budget as large sets are.
 *
 * Pure data structure: the caller gives the time and decides when a key is replayed or dropped.
 */
import { type DecoderStats, sequenceJumped } from './session.ts';
import type { ExporterMeta } from './types.ts';

export interface PendingOptions {
  /** Oldest a pending set may get, in ms; older sets are evicted (checked at most once a second). */
  readonly maxAgeMs: number;
  /** Sets kept per (session, template id); a new one beyond it evicts the oldest of that key. */
  readonly maxSetsPerTemplate: number;
  /** Bytes of all pending sets of a decoder, overhead included; the oldest sets are evicted first. */
  readonly maxBytes: number;
  /** Sets kept per exporter IP; a new one beyond it evicts that exporter's oldest. */
  readonly maxSetsPerExporter: number;
  /** Bytes kept per exporter IP (overhead included); beyond it that exporter's oldest sets go. */
  readonly maxBytesPerExporter: number;
}

export const DEFAULT_PENDING: PendingOptions = {
  maxAgeMs: 60_000,
  maxSetsPerTemplate: 64,
  maxBytes: 16 * 1024 * 1024,
  maxSetsPerExporter: 4096,
  maxBytesPerExporter: 4 * 1024 * 1024,
};

export type PendingEvictionReason = 'age' | 'size' | 'reset' | 'withdrawn';

/**
 * Estimated heap bytes of a pending set beyond its body: the entry object with its links, the
 * Buffer object and its backing store header, and a share of the packet's header metadata.
 */
export const PENDING_SET_OVERHEAD = 256;
/** Estimated heap bytes of one (session, template id) key: map entry, key object, its set array. */
export const PENDING_KEY_OVERHEAD = 192;
/** Estimated heap bytes of one session with pending sets: name string, map entry, object, key map. */
export const PENDING_SESSION_OVERHEAD = 320;

/** Estimated heap bytes of one exporter with pending sets: IP string, map entry, object. */
export const PENDING_EXPORTER_OVERHEAD = 160;
/** How often the age sweep runs at most (NETFLOW.md R1: "swept every second"). */
const SWEEP_INTERVAL_MS = 1000;

export interface PendingSet {
  /** The set body (records and padding), copied out of the datagram. */
  readonly body: Buffer;
  /** The header metadata of the packet the set came in. */
  readonly exporter: ExporterMeta;
  /** Clock time the set was kept. */
  readonly arrival: number;
  readonly templateId: number;
  /** False once replayed, evicted or removed. */
  live: boolean;
}

interface Entry extends PendingSet {
  readonly key: PendingKey;
  readonly owner: PendingExporter;
  readonly bytes: number;
  older: Entry | undefined;
  newer: Entry | undefined;
  /** Links of the exporter's own arrival list. */
  olderOfExporter: Entry | undefined;
  newerOfExporter: Entry | undefined;
}

/** The pending sets of one exporter IP, over all its sessions, in arrival order. */
interface PendingExporter {
  readonly ip: string;
  sets: number;
  /** Bytes of its sets (overhead included; its own overhead counts in the store's total only). */
  bytes: number;
  oldest: Entry | undefined;
  newest: Entry | undefined;
}

interface PendingKey {
  readonly session: PendingSession;
  readonly templateId: number;
  readonly sets: Entry[];
}

interface PendingSession {
  readonly name: string;
  lastSequence: number;
  readonly keys: Map<number, PendingKey>;
}

export class PendingStore {
  private readonly sessions = new Map<string, PendingSession>();
  private readonly exporters = new Map<string, PendingExporter>();
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private readonly options: PendingOptions;
  private readonly stats: DecoderStats;
  private readonly detectSequenceReset: boolean;
  private lastSweep: number | undefined;

  constructor(options: PendingOptions, stats: DecoderStats, detectSequenceReset: boolean) {
    this.options = options;
    this.stats = stats;
    this.detectSequenceReset = detectSequenceReset;
  }

  /** Pending sets held now. */
  get size(): number {
    return this.stats.pendingSets;
  }

  /**
   * Called for every packet of session `name` before its sets are read: the sequence-reset rule of
   * the template table (NETFLOW.md 2) applied to pending sets, which exist without a session too.
   */
  observeSequence(name: string, sequence: number): void {
    if (!this.detectSequenceReset) return;
    const session = this.sessions.get(name);
    if (session === undefined) return;
    const jumped = sequenceJumped(session.lastSequence, sequence);
    session.lastSequence = sequence;
    if (jumped) this.drop(name, undefined, 'reset');
  }

  /**
   * Keeps a copy of `buf[start, end)`, the body of a data set for `templateId` in session `name`.
   * Returns the kept set, or undefined when it was not kept (empty, or larger than the budget).
   */
  add(
    name: string,
    templateId: number,
    buf: Buffer,
    start: number,
    end: number,
    exporter: ExporterMeta,
    sequence: number,
    now: number,
  ): PendingSet | undefined {
    const length = end - start;
    if (length <= 0) return undefined; // holds no record whatever its template
    let session = this.sessions.get(name);
    let key = session?.keys.get(templateId);
    const bytes = length + PENDING_SET_OVERHEAD;
    const cost =
      bytes +
      (key === undefined ? PENDING_KEY_OVERHEAD : 0) +
      (session === undefined ? PENDING_SESSION_OVERHEAD : 0);
    if (cost > this.options.maxBytes || bytes > this.options.maxBytesPerExporter) {
      this.stats.pendingEvicted.size++;
      return undefined;
    }
    if (session === undefined) {
      session = { name, lastSequence: sequence, keys: new Map() };
      this.sessions.set(name, session);
      this.stats.pendingBytes += PENDING_SESSION_OVERHEAD;
    }
    if (key === undefined) {
      key = { session, templateId, sets: [] };
      session.keys.set(templateId, key);
      this.stats.pendingBytes += PENDING_KEY_OVERHEAD;
    }
    // An unpooled copy: a slice of Node's shared 8 KiB pool would keep the whole slab alive.
    const body = Buffer.allocUnsafeSlow(length);
    buf.copy(body, 0, start, end);
    let owner = this.exporters.get(exporter.ip);
    if (owner === undefined) {
      owner = { ip: exporter.ip, sets: 0, bytes: 0, oldest: undefined, newest: undefined };
      this.exporters.set(exporter.ip, owner);
      this.stats.pendingBytes += PENDING_EXPORTER_OVERHEAD;
    }
    const entry: Entry = {
      body,
      exporter,
      arrival: now,
      templateId,
      live: true,
      key,
      owner,
      bytes,
      older: this.newest,
      newer: undefined,
      olderOfExporter: owner.newest,
      newerOfExporter: undefined,
    };
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
    if (owner.newest === undefined) owner.oldest = entry;
    else owner.newest.newerOfExporter = entry;
    owner.newest = entry;
    owner.sets++;
    owner.bytes += bytes;
    key.sets.push(entry);
    this.stats.pendingSets++;
    this.stats.pendingBytes += bytes;
    // after the push, so that the key (and its session) outlive the eviction of its oldest set
    if (key.sets.length > this.options.maxSetsPerTemplate) this.evict(key.sets[0], 'size');
    // the exporter's own bounds: its oldest sets go (never the new one: alone it fits)
    while (
      (owner.sets > this.options.maxSetsPerExporter || owner.bytes > this.options.maxBytesPerExporter) &&
      owner.oldest !== entry
    ) {
      this.evict(owner.oldest!, 'size');
    }
    // never reaches the new set: alone it fits the budget
    while (this.stats.pendingBytes > this.options.maxBytes && this.oldest !== entry) {
      this.evict(this.oldest!, 'size');
    }
    return entry;
  }

  /**
   * Takes the sets pending for `templateId` in session `name`, oldest first, out of the store:
   * the template is known now, and the caller decodes them.
   */
  take(name: string, templateId: number): readonly PendingSet[] {
    const key = this.sessions.get(name)?.keys.get(templateId);
    if (key === undefined) return [];
    const sets = [...key.sets];
    for (const entry of sets) this.unlink(entry);
    this.stats.pendingReplayedSets += sets.length;
    return sets;
  }

  /** Drops the sets of one template id of a session, or of all its ids, counted under `reason`. */
  drop(name: string, templateId: number | undefined, reason: PendingEvictionReason): void {
    const session = this.sessions.get(name);
    if (session === undefined) return;
    const keys = templateId === undefined ? [...session.keys.values()] : [session.keys.get(templateId)];
    for (const key of keys) {
      if (key === undefined) continue;
      for (const entry of [...key.sets]) this.evict(entry, reason);
    }
  }

  /** Takes back a set without counting an eviction (its packet failed to decode). */
  remove(set: PendingSet): void {
    if (set.live) this.unlink(set as Entry);
  }

  /** Evicts sets older than `maxAgeMs`; does the work at most once a second. */
  maybeSweep(now: number): void {
    // a clock set back restarts the period instead of stopping sweeps until it catches up
    if (this.lastSweep !== undefined && now >= this.lastSweep && now - this.lastSweep < SWEEP_INTERVAL_MS) {
      return;
    }
    this.lastSweep = now;
    const limit = now - this.options.maxAgeMs;
    while (this.oldest !== undefined && this.oldest.arrival < limit) this.evict(this.oldest, 'age');
  }

  private evict(entry: Entry, reason: PendingEvictionReason): void {
    this.unlink(entry);
    this.stats.pendingEvicted[reason]++;
  }

  /** Removes a set from its key and the arrival list; drops the key and session once empty. */
  private unlink(entry: Entry): void {
    entry.live = false;
    const { key } = entry;
    const sets = key.sets;
    if (sets[0] === entry) sets.shift();
    else if (sets[sets.length - 1] === entry) sets.pop();
    else sets.splice(sets.indexOf(entry), 1);
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
    const owner = entry.owner;
    if (entry.olderOfExporter === undefined) owner.oldest = entry.newerOfExporter;
    else entry.olderOfExporter.newerOfExporter = entry.newerOfExporter;
    if (entry.newerOfExporter === undefined) owner.newest = entry.olderOfExporter;
    else entry.newerOfExporter.olderOfExporter = entry.olderOfExporter;
    entry.olderOfExporter = undefined;
    entry.newerOfExporter = undefined;
    owner.sets--;
    owner.bytes -= entry.bytes;
    if (owner.sets === 0) {
      this.exporters.delete(owner.ip);
      this.stats.pendingBytes -= PENDING_EXPORTER_OVERHEAD;
    }
    this.stats.pendingSets--;
    this.stats.pendingBytes -= entry.bytes;
    if (sets.length > 0) return;
    const session = key.session;
    session.keys.delete(key.templateId);
    this.stats.pendingBytes -= PENDING_KEY_OVERHEAD;
    if (session.keys.size > 0) return;
    this.sessions.delete(session.name);
    this.stats.pendingBytes -= PENDING_SESSION_OVERHEAD;
  }
}
