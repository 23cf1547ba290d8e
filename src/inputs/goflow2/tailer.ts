/**
 * The tailer: Filebeat's `filestream` for GoFlow2 files (TAILER.md). It scans `paths`, follows
 * each file by identity through renames, copytruncate and truncation, reads lines from the
 * acknowledged offset, and records offsets only once the consumer has acknowledged every line
 * before them.
 *
 *     scan (every check_interval, or on a hint)
 *       expand globs ─► stat ─► identity (fast path or hash) ─► resolve (§3 table) ─► verify markers
 *       ─► apply: new / same / renamed / moved / truncated ─► clean ─► start readers (oldest first)
 *     reader (one per open file)
 *       read at position ─► split ─► deliver: ack tracker + await onLine ─► … EOF: fstat, close?, backoff
 *     acks ─► contiguous acked offset ─► registry (flushed at most every `registryFlushMs`)
 *
 * The scanner alone decides identity: a reader that sees its file shrink or change stops and asks
 * for a scan, which finds where the content went (the copy of a copytruncate keeps the entry and
 * its offset) before anything restarts from 0.
 */
import { join } from 'node:path';
import { type Logger, silentLogger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import { type Clock, sleep, systemClock, type TimerHandle } from '../../pipeline/clock.ts';
import type { AckHandle } from '../../pipeline/event.ts';
import type { TrackedRange } from './ack-tracker.ts';
import {
  type Entry,
  entryFromRegistry,
  newEntry,
  sameReadTail,
  setReadOffset,
  toRegistryEntry,
} from './entry.ts';
import { errorCode, type FsPort, nodeFs, type WatchHandle } from './fs-port.ts';
import { globMatcher } from './glob.ts';
import {
  type Fingerprint,
  fingerprintFile,
  lastLineEnd,
  nativeIdentity,
  readMarkerBytes,
} from './identity.ts';
import type { LineRange, SplitRange } from './lines.ts';
import {
  type ResolvedTailerOptions,
  resolveTailerOptions,
  type TailedLine,
  type TailerOptions,
} from './options.ts';
import { type CloseReason, Reader, type ReaderHost } from './reader.ts';
import {
  FileRegistryStore,
  REGISTRY_VERSION,
  type RegistryDocument,
  type RegistryStore,
  registryPath,
} from './registry.ts';
import { type Candidate, inodeKey, mapLimit, Scanner } from './scanner.ts';

/** Counters (monotonic) kept by a tailer; exported as `flowship_goflow2_<name>{input}`. */
export interface TailerStats {
  /** Lines handed to `onLine`. */
  lines_total: number;
  /** Bytes consumed: lines, empty lines, skipped lines, with terminators. */
  bytes_total: number;
  empty_lines_total: number;
  lines_too_long_total: number;
  invalid_utf8_lines_total: number;
  leading_nul_bytes_total: number;
  partial_tail_dropped_bytes_total: number;
  /** New generations: truncation or in-place rewrite, live or while stopped. */
  truncations_total: number;
  /** A followed file seen under a new path (rename rotation). */
  renames_total: number;
  /** An entry moved to another inode holding its fingerprint (copytruncate copy, remount). */
  moves_total: number;
  /** An inode now holding other content (inode reuse, rewrite). */
  identity_changes_total: number;
  files_new_total: number;
  files_ignored_older_total: number;
  bytes_skipped_older_total: number;
  entries_cleaned_total: number;
  duplicate_fingerprints_total: number;
  scans_total: number;
  scan_errors_total: number;
  open_errors_total: number;
  read_errors_total: number;
  /** `onLine` rejected: the line stays unacknowledged (read again at the next start). */
  consumer_errors_total: number;
  registry_writes_total: number;
  registry_write_errors_total: number;
}

/** A registry entry's state, for `/stats` and tests. */
export interface EntrySnapshot {
  readonly key: string;
  readonly fp: string;
  readonly path: string;
  readonly dev: string;
  readonly ino: string;
  readonly generation: number;
  readonly ackedOffset: number;
  readonly readOffset: number;
  readonly size: number;
  readonly reading: boolean;
  readonly seen: boolean;
  readonly retired: boolean;
  readonly inFlight: number;
}

interface Look {
  readonly c: Candidate;
  /** The entry that followed this inode before the scan. */
  readonly owner: Entry | undefined;
  readonly fp: Fingerprint | undefined;
  /** Identity taken from the owner without hashing. */
  readonly fast: boolean;
  /** The file could not be read: decide nothing about it this scan. */
  readonly failed: boolean;
}

type Action =
  | { readonly kind: 'new'; readonly look: Look }
  | { readonly kind: 'same' | 'verify' | 'move'; readonly look: Look; readonly entry: Entry };

interface Checked {
  readonly status: 'ok' | 'truncated' | 'changed' | 'consumed' | 'failed';
  /** `ignore_older`: where to continue instead (a line end near the file's size). */
  readonly skip?: { readonly offset: number; readonly tail: Buffer };
}

const HINT_DEBOUNCE_MS = 100;

/** The tailers exporting into each metrics registry. */
const TAILERS = new WeakMap<MetricsRegistry, Set<Tailer>>();
const IDENTITY_CONCURRENCY = 8;

export interface StopOptions {
  /** How long to wait for in-flight lines to be acknowledged; default 30 s (`shutdown_timeout`). */
  readonly timeoutMs?: number;
}

export class Tailer implements ReaderHost {
  readonly id: string;
  readonly options: ResolvedTailerOptions;
  readonly clock: Clock;
  readonly stats: TailerStats = {
    lines_total: 0,
    bytes_total: 0,
    empty_lines_total: 0,
    lines_too_long_total: 0,
    invalid_utf8_lines_total: 0,
    leading_nul_bytes_total: 0,
    partial_tail_dropped_bytes_total: 0,
    truncations_total: 0,
    renames_total: 0,
    moves_total: 0,
    identity_changes_total: 0,
    files_new_total: 0,
    files_ignored_older_total: 0,
    bytes_skipped_older_total: 0,
    entries_cleaned_total: 0,
    duplicate_fingerprints_total: 0,
    scans_total: 0,
    scan_errors_total: 0,
    open_errors_total: 0,
    read_errors_total: 0,
    consumer_errors_total: 0,
    registry_writes_total: 0,
    registry_write_errors_total: 0,
  };
  readonly #fs: FsPort;
  readonly #logger: Logger;
  readonly #onLine: (line: TailedLine) => Promise<void>;
  readonly #store: RegistryStore;
  readonly #scanner: Scanner;
  readonly #hintMatcher: (path: string) => boolean;
  /** By fingerprint. */
  readonly #entries = new Map<string, Entry>();
  /** Readers whose descriptor is open (closed ones included until it is). */
  readonly #readers = new Set<Reader>();
  #opening = 0;
  #waiting: Entry[] = [];
  #inFlight = 0;
  #capacityWaiters: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];
  #scanTimer: TimerHandle | undefined;
  #scanDue = Number.POSITIVE_INFINITY;
  #scanning: Promise<void> | undefined;
  #rescan = false;
  #scanIncomplete = false;
  #flushTimer: TimerHandle | undefined;
  #dirty = false;
  #writes: Promise<void> = Promise.resolve();
  readonly #watchers = new Map<string, WatchHandle>();
  #started: Promise<void> | undefined;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(options: TailerOptions) {
    this.options = resolveTailerOptions(options);
    this.id = options.id;
    this.clock = options.clock ?? systemClock;
    this.#fs = options.fs ?? nodeFs;
    this.#logger = options.logger ?? silentLogger;
    this.#onLine = options.onLine;
    this.#store =
      options.registryStore ??
      new FileRegistryStore({
        path: registryPath(options.dataDir!, options.id),
        logger: this.#logger,
        now: () => this.clock.now(),
      });
    this.#scanner = new Scanner(this.#fs, {
      paths: this.options.paths,
      excludeFiles: this.options.excludeFiles,
      includeFiles: this.options.includeFiles,
      exclude: this.options.exclude,
      symlinks: this.options.symlinks,
      onError: (path, err) => {
        this.#scanIncomplete = true;
        this.#logger
          .rateLimited(`scan:${this.id}:${path}`, 60_000)
          .warning('cannot read a path while scanning', { input: this.id, path, error: err });
      },
    });
    this.#hintMatcher = globMatcher(this.options.paths);
    if (options.metrics !== undefined) this.#registerMetrics(options.metrics);
  }

  /** Readers with an open descriptor. */
  get openReaders(): number {
    return this.#readers.size;
  }

  /** Bytes read but not yet acknowledged (all entries). */
  get inFlightBytes(): number {
    return this.#inFlight;
  }

  /** Registry entries held. */
  get entryCount(): number {
    return this.#entries.size;
  }

  /** Files waiting for a reader slot (`harvester_limit`). */
  get waitingFiles(): number {
    return this.#waiting.length;
  }

  entries(): EntrySnapshot[] {
    return [...this.#entries.values()].map((e) => ({
      key: e.key,
      fp: e.fp,
      path: e.path,
      dev: e.devText,
      ino: e.inoText,
      generation: e.tracker.generation,
      ackedOffset: e.tracker.acked,
      readOffset: e.readOffset,
      size: e.size,
      reading: e.reader !== undefined,
      seen: e.seen,
      retired: e.retired,
      inFlight: e.tracker.inFlightBytes,
    }));
  }

  /**
   * Loads the registry, runs the first scan (readers start), then scans every `checkIntervalMs`.
   * Rejects with `RegistryError` when the registry was written by a newer flowship.
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const doc = await this.#store.load();
      if (doc !== undefined) {
        if (doc.input !== '' && doc.input !== this.id) {
          this.#logger.warning('registry was written for another input id; using it anyway', {
            input: this.id,
            registry: this.#store.location,
            registry_input: doc.input,
          });
        }
        for (const r of doc.entries) this.#entries.set(r.fp, entryFromRegistry(this.id, r));
      }
      await this.scanNow();
    })();
    return this.#started;
  }

  /** Runs a scan now (or waits for the one running, then runs another); for tests and hints. */
  scanNow(): Promise<void> {
    if (this.#scanning !== undefined) {
      this.#rescan = true;
      return this.#scanning;
    }
    if (this.#scanTimer !== undefined) {
      this.clock.clearTimeout(this.#scanTimer);
      this.#scanTimer = undefined;
      this.#scanDue = Number.POSITIVE_INFINITY;
    }
    this.#scanning = (async () => {
      try {
        do {
          this.#rescan = false;
          await this.#scan();
        } while (this.#rescan && !this.#stopped);
      } catch (err) {
        this.stats.scan_errors_total++;
        this.#logger
          .rateLimited(`scan-failed:${this.id}`, 60_000)
          .error('scan failed', { input: this.id, error: err });
      } finally {
        this.#scanning = undefined;
        this.#requestScan(this.options.checkIntervalMs);
      }
    })();
    return this.#scanning;
  }

  /**
   * Stops scanning and reading, waits up to `timeoutMs` for in-flight lines to be acknowledged,
   * writes the registry. Idempotent: the same promise every time.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.timeoutMs ?? 30_000);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#scanTimer !== undefined) this.clock.clearTimeout(this.#scanTimer);
    this.#scanTimer = undefined;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    for (const e of this.#entries.values()) this.#closeReader(e, 'stopped');
    this.#waiting = [];
    this.#releaseCapacity(true);
    const deadline = this.clock.now() + Math.max(0, timeoutMs);
    const within = async (p: Promise<unknown>): Promise<void> => {
      const left = deadline - this.clock.now();
      if (left <= 0) return;
      const abort = new AbortController();
      await Promise.race([p, sleep(this.clock, left, abort.signal)]);
      abort.abort();
    };
    await within(this.#drained());
    await within(this.#scanning ?? Promise.resolve());
    if (this.#flushTimer !== undefined) this.clock.clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#dirty = true;
    await this.#flush();
    await within(Promise.all([...this.#readers].map((r) => r.done)));
    // readers still blocked in the consumer: free their descriptors now
    for (const r of this.#readers) r.forceClose();
  }

  // ---- scanning ---------------------------------------------------------------------------

  #requestScan(delayMs: number): void {
    if (this.#stopped || this.#started === undefined) return;
    if (this.#scanning !== undefined && delayMs === 0) {
      this.#rescan = true;
      return;
    }
    const due = this.clock.now() + delayMs;
    if (this.#scanTimer !== undefined) {
      if (this.#scanDue <= due) return;
      this.clock.clearTimeout(this.#scanTimer);
    }
    this.#scanDue = due;
    this.#scanTimer = this.clock.setTimeout(() => {
      this.#scanTimer = undefined;
      this.#scanDue = Number.POSITIVE_INFINITY;
      void this.scanNow();
    }, delayMs);
  }

  async #scan(): Promise<void> {
    if (this.#stopped) return;
    this.stats.scans_total++;
    this.#scanIncomplete = false;
    const candidates = await this.#scanner.expand();
    if (this.#stopped) return;
    const byInode = new Map<string, Entry>();
    for (const e of this.#entries.values()) {
      const held = byInode.get(e.inode);
      if (held === undefined || (held.retired && !e.retired)) byInode.set(e.inode, e);
    }
    const looks = await mapLimit(candidates, IDENTITY_CONCURRENCY, (c) =>
      this.#look(c, byInode.get(c.inode)),
    );
    if (this.#stopped) return;

    // Resolution (§3): group by fingerprint; an inode now holding other content loses its entry.
    const groups = new Map<string, Look[]>();
    const kept = new Set<Entry>();
    const lost = new Set<Entry>();
    for (const look of looks) {
      if (look.failed) {
        if (look.owner !== undefined) kept.add(look.owner);
        this.#scanIncomplete = true;
        continue;
      }
      if (look.owner !== undefined && look.fp?.fp !== look.owner.fp) lost.add(look.owner);
      if (look.fp === undefined) continue;
      const group = groups.get(look.fp.fp);
      if (group === undefined) groups.set(look.fp.fp, [look]);
      else group.push(look);
    }
    for (const e of lost) {
      this.#closeReader(e, 'replaced');
      e.verified = false;
    }
    const actions: Action[] = [];
    for (const [fp, members] of groups) {
      const e = this.#entries.get(fp);
      let chosen = members[0];
      if (members.length > 1) {
        const holder = e === undefined ? undefined : members.find((m) => m.c.inode === e.inode);
        chosen = holder ?? members.reduce((a, b) => (b.c.stat.mtimeMs > a.c.stat.mtimeMs ? b : a));
        this.stats.duplicate_fingerprints_total++;
        this.#logger
          .rateLimited(`dup:${this.id}:${fp}`, 300_000)
          .warning('files with identical identity bytes: only one is read', {
            input: this.id,
            followed: chosen.c.path,
            ignored: members.filter((m) => m !== chosen).map((m) => m.c.path),
          });
      }
      if (e === undefined) actions.push({ kind: 'new', look: chosen });
      else if (e.inode !== chosen.c.inode) actions.push({ kind: 'move', look: chosen, entry: e });
      else actions.push({ kind: chosen.fast ? 'same' : 'verify', look: chosen, entry: e });
    }
    // Nothing may read an entry while its offset is being checked against another file.
    for (const a of actions) {
      if (a.kind === 'move') this.#closeReader(a.entry, 'moved');
      else if (a.kind === 'verify') this.#closeReader(a.entry, 'changed');
    }
    const now = this.clock.now();
    const checked = await mapLimit(actions, IDENTITY_CONCURRENCY, (a) => this.#check(a, now));
    if (this.#stopped) return;

    const seen = new Set<Entry>(kept);
    actions.forEach((a, i) => {
      const entry = this.#apply(a, checked[i], now);
      if (entry !== undefined) seen.add(entry);
    });
    let cleaned = false;
    for (const e of this.#entries.values()) {
      e.seen = seen.has(e);
      if (!e.seen && lost.has(e)) e.retired = true;
      if (!e.seen && e.reader !== undefined && this.options.closeRemoved) e.reader.wake();
      if (!this.#scanIncomplete && this.#clean(e, now)) cleaned = true;
    }
    if (cleaned) void this.#flush();
    this.#waiting = [...this.#entries.values()]
      .filter((e) => this.#wantsReader(e))
      .sort((a, b) => a.mtimeMs - b.mtimeMs);
    this.#startWaiting();
    this.#watch();
  }

  /** Stat-level identity of one candidate: the fast path, a hash, or native identity. */
  async #look(c: Candidate, owner: Entry | undefined): Promise<Look> {
    const { stat } = c;
    // Same file if it grew (a reused inode that grew is caught by the reader's checks) or did not
    // change at all. Hashed again: same size with a new mtime (rewritten), or, with no reader open
    // to notice it, smaller than what was read (truncated, perhaps regrown a little).
    const floor = owner === undefined || owner.reader !== undefined || owner.consumed ? 0 : owner.readEnd;
    const fast =
      owner?.verified === true &&
      stat.size >= floor &&
      (stat.size > owner.size || (stat.size === owner.size && stat.mtimeMs === owner.mtimeMs)) &&
      (owner.birthtimeMs === undefined || stat.birthtimeMs === owner.birthtimeMs);
    if (this.options.fileIdentity === 'native') {
      // identity is the inode; the marker check (verify) catches its reuse
      return { c, owner, fp: { fp: nativeIdentity(stat.dev, stat.ino), length: 0 }, fast, failed: false };
    }
    if (fast) return { c, owner, fp: { fp: owner.fp, length: owner.fpLen }, fast, failed: false };
    if (stat.size === 0) return { c, owner, fp: undefined, fast: false, failed: false };
    try {
      const handle = await this.#fs.open(c.path);
      try {
        if (inodeKey(await handle.stat()) !== c.inode) {
          // replaced between stat and open: the next scan sees it as it is
          return { c, owner, fp: undefined, fast: false, failed: true };
        }
        const fp = await fingerprintFile(handle, this.options.fingerprint);
        return { c, owner, fp, fast: false, failed: false };
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') this.#openFailed(c.path, err);
      return { c, owner, fp: undefined, fast: false, failed: true };
    }
  }

  /** The I/O an action needs: the marker at the entry's read offset, the `ignore_older` skip. */
  async #check(a: Action, now: number): Promise<Checked> {
    const { c } = a.look;
    const e = a.kind === 'new' ? undefined : a.entry;
    const old =
      this.options.ignoreOlderMs > 0 &&
      now - c.stat.mtimeMs > this.options.ignoreOlderMs &&
      e?.reader === undefined;
    const offset = e?.readOffset ?? 0;
    if (a.kind === 'same' && (!old || c.stat.size <= offset || e!.tracker.size > 0)) return { status: 'ok' };
    if (a.kind === 'new' && !old) return { status: 'ok' };
    try {
      const handle = await this.#fs.open(c.path);
      try {
        // a fresh size: a reader closed since the scan's stat may have read past that one
        const fresh = await handle.stat();
        if (inodeKey(fresh) !== c.inode) return { status: 'failed' };
        let status: Checked['status'] = 'ok';
        if (e !== undefined && a.kind !== 'same') {
          // on another inode (the copy of a copytruncate) an offset past its end means consumed
          if (offset > fresh.size) status = a.kind === 'move' || e.consumed ? 'consumed' : 'truncated';
          else if (offset > 0 && !sameReadTail(e, await readMarkerBytes(handle, offset))) status = 'changed';
        }
        if (!old || status === 'consumed') return { status };
        const skip = await lastLineEnd(
          handle,
          fresh.size,
          this.options.messageMaxBytes + this.options.bufferSize,
        );
        return { status, skip };
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') this.#openFailed(c.path, err);
      return { status: 'failed' };
    }
  }

  /** Applies one resolved action; returns the entry now following the candidate. */
  #apply(a: Action, checked: Checked, now: number): Entry | undefined {
    const { c } = a.look;
    if (checked.status === 'failed') {
      this.#scanIncomplete = true;
      return a.kind === 'new' ? undefined : a.entry;
    }
    if (a.kind === 'new') {
      const fp = a.look.fp!;
      const skip = checked.skip;
      const e = newEntry(this.id, fp.fp, fp.length, {
        path: c.path,
        dev: c.stat.dev,
        ino: c.stat.ino,
        birthtimeMs: c.stat.birthtimeMs,
        size: c.stat.size,
        mtimeMs: c.stat.mtimeMs,
        now,
        offset: skip?.offset ?? 0,
        tail: skip?.tail ?? Buffer.alloc(0),
      });
      e.verified = true;
      this.#entries.set(fp.fp, e);
      this.stats.files_new_total++;
      if (skip !== undefined) {
        this.stats.files_ignored_older_total++;
        this.stats.bytes_skipped_older_total += skip.offset;
      }
      this.#logger.debug(skip === undefined ? 'new file' : 'new file older than ignore_older: not read', {
        input: this.id,
        path: c.path,
        ...(skip === undefined ? {} : { offset: skip.offset }),
      });
      this.#markDirty();
      return e;
    }
    const e = a.entry;
    if (a.kind === 'move') {
      this.stats.moves_total++;
      this.#logger.info('file content found at another inode; the entry follows it', {
        input: this.id,
        from: e.path,
        path: c.path,
        offset: e.readOffset,
        ...(checked.status === 'changed' ? { restart: 'marker mismatch, from 0' } : {}),
      });
    }
    this.#attach(e, c, now);
    // Consumed: everything this copy holds was read from the original; nothing to read here.
    e.consumed = checked.status === 'consumed' || (e.consumed && e.readOffset > c.stat.size);
    if (checked.status === 'truncated' || checked.status === 'changed') {
      this.#newGeneration(e, checked.status, checked.skip);
    } else if (checked.skip !== undefined && checked.skip.offset > e.readOffset && e.reader === undefined) {
      const skipped = checked.skip.offset - e.readOffset;
      if (e.tracker.skipTo(checked.skip.offset, checked.skip.tail)) {
        setReadOffset(e, checked.skip.offset, checked.skip.tail);
        e.readEnd = checked.skip.offset;
        e.partialBytes = 0;
        e.updatedMs = now;
        this.stats.bytes_skipped_older_total += skipped;
        this.#logger.warning('file older than ignore_older: unread bytes skipped', {
          input: this.id,
          path: c.path,
          bytes: skipped,
          offset: checked.skip.offset,
        });
        this.#markDirty();
      }
    }
    return e;
  }

  /** Points an entry at a candidate (same or other inode), noting a rename. */
  #attach(e: Entry, c: Candidate, now: number): void {
    const { stat } = c;
    let changed = false;
    if (e.inode !== c.inode) {
      e.dev = stat.dev;
      e.ino = stat.ino;
      e.devText = stat.dev.toString();
      e.inoText = stat.ino.toString();
      e.inode = c.inode;
      changed = true;
    }
    if (e.path !== c.path) {
      if (e.verified) {
        this.stats.renames_total++;
        this.#logger.debug('file renamed', { input: this.id, from: e.path, path: c.path });
        if (this.options.closeRenamed) this.#closeReader(e, 'renamed');
      }
      e.path = c.path;
      changed = true;
    }
    if (e.size !== stat.size || e.mtimeMs !== stat.mtimeMs) {
      if (e.reader !== undefined && stat.size > e.size) e.reader.wake();
      e.size = stat.size;
      e.mtimeMs = stat.mtimeMs;
      changed = true;
    }
    e.birthtimeMs = stat.birthtimeMs;
    e.verified = true;
    e.retired = false;
    if (changed) {
      e.updatedMs = now;
      this.#markDirty();
    }
  }

  /** Truncation or replacement (§5.3): from 0 (or the `ignore_older` skip) in a new generation. */
  #newGeneration(e: Entry, why: 'truncated' | 'changed', skip?: { offset: number; tail: Buffer }): void {
    this.#closeReader(e, why);
    const offset = skip?.offset ?? 0;
    const tail = skip?.tail ?? Buffer.alloc(0);
    this.#inFlight -= e.tracker.reset(offset, tail);
    e.consumed = false;
    this.#releaseCapacity(false);
    this.#checkDrained();
    setReadOffset(e, offset, tail);
    e.readEnd = offset;
    e.partialBytes = 0;
    e.updatedMs = this.clock.now();
    this.stats.truncations_total++;
    this.#logger.info(why === 'truncated' ? 'file was truncated' : 'file content changed in place', {
      input: this.id,
      path: e.path,
      generation: e.tracker.generation,
      offset,
    });
    this.#markDirty();
  }

  /** Cleaning (§6); true when the entry was dropped. */
  #clean(e: Entry, now: number): boolean {
    if (e.reader !== undefined || e.opening || e.tracker.size > 0) return false;
    let why: string | undefined;
    if (!e.seen && (this.options.cleanRemoved || e.retired)) why = e.retired ? 'replaced' : 'removed';
    else if (this.options.cleanInactiveMs > 0 && now - e.updatedMs > this.options.cleanInactiveMs)
      why = 'inactive';
    if (why === undefined) return false;
    this.#entries.delete(e.fp);
    this.stats.entries_cleaned_total++;
    if (e.retired) this.stats.identity_changes_total++;
    if (e.partialBytes > 0) {
      this.stats.partial_tail_dropped_bytes_total += e.partialBytes;
      this.#logger.warning('file ended in an unterminated line; not shipped', {
        input: this.id,
        path: e.path,
        offset: e.readOffset,
        bytes: e.partialBytes,
      });
    }
    this.#logger.debug('registry entry cleaned', { input: this.id, path: e.path, reason: why });
    return true;
  }

  #wantsReader(e: Entry): boolean {
    return (
      e.seen &&
      e.verified &&
      !e.retired &&
      e.reader === undefined &&
      !e.opening &&
      e.size > e.readEnd &&
      e.readOffset <= e.size &&
      this.#entries.get(e.fp) === e
    );
  }

  // ---- readers ----------------------------------------------------------------------------

  #startWaiting(): void {
    const limit = this.options.harvesterLimit;
    while (
      !this.#stopped &&
      this.#waiting.length > 0 &&
      (limit === 0 || this.#readers.size + this.#opening < limit)
    ) {
      const e = this.#waiting.shift()!;
      if (this.#wantsReader(e)) void this.#openReader(e);
    }
  }

  async #openReader(e: Entry): Promise<void> {
    e.opening = true;
    this.#opening++;
    try {
      const handle = await this.#fs.open(e.path);
      const stat = await handle.stat().catch(() => undefined);
      if (
        stat === undefined ||
        inodeKey(stat) !== e.inode ||
        this.#stopped ||
        e.reader !== undefined ||
        !e.verified ||
        this.#entries.get(e.fp) !== e
      ) {
        await handle.close();
        if (stat !== undefined && inodeKey(stat) !== e.inode) this.#requestScan(0);
        return;
      }
      const reader = new Reader(this, e, handle);
      e.reader = reader;
      this.#readers.add(reader);
      void reader.done.then(() => {
        this.#readers.delete(reader);
        this.#startWaiting();
      });
    } catch (err) {
      if (errorCode(err) === 'ENOENT') this.#requestScan(HINT_DEBOUNCE_MS);
      else this.#openFailed(e.path, err);
    } finally {
      e.opening = false;
      this.#opening--;
    }
  }

  #openFailed(path: string, err: unknown): void {
    this.stats.open_errors_total++;
    const code = errorCode(err);
    // EMFILE/ENFILE: too many open files; the file waits for a later scan
    this.#logger
      .rateLimited(`open:${this.id}:${code ?? 'other'}`, 60_000)
      .warning('cannot open file; retried at the next scan', { input: this.id, path, error: err });
  }

  #closeReader(e: Entry, reason: CloseReason): void {
    const reader = e.reader;
    if (reader === undefined) return;
    this.#detach(reader);
    reader.close(reason);
  }

  /** Takes a closing reader's state into its entry. */
  #detach(reader: Reader): void {
    const e = reader.entry;
    if (e.reader !== reader) return;
    e.reader = undefined;
    e.readEnd = Math.max(e.readOffset, reader.readEnd);
    e.partialBytes = reader.heldAtEof;
  }

  /** ReaderHost: the reader stopped on its own. */
  readerClosed(reader: Reader, reason: CloseReason): void {
    const e = reader.entry;
    const current = e.reader === reader;
    this.#detach(reader);
    if (!current) return;
    if (reason === 'truncated' || reason === 'changed') {
      // The scanner resolves it: the content may live on in a copy (copytruncate, §5.2).
      e.verified = false;
      this.#requestScan(0);
    }
    this.#logger.debug('reader closed', { input: this.id, path: e.path, reason });
  }

  /** ReaderHost. */
  readError(reader: Reader, err: unknown): void {
    this.stats.read_errors_total++;
    this.#logger
      .rateLimited(`read:${this.id}:${reader.entry.path}`, 60_000)
      .warning('read failed; retried at the next scan', {
        input: this.id,
        path: reader.entry.path,
        error: err,
      });
  }

  /** ReaderHost: resolves while the in-flight bytes are under the bound. */
  capacity(): Promise<void> {
    if (this.#inFlight < this.options.maxInFlightBytes || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push(resolve));
  }

  #releaseCapacity(all: boolean): void {
    if (!all && this.#inFlight >= this.options.maxInFlightBytes) return;
    const waiters = this.#capacityWaiters;
    this.#capacityWaiters = [];
    for (const w of waiters) w();
  }

  /** ReaderHost: queues a range for acknowledgement; a line goes to the consumer (awaited). */
  async deliver(reader: Reader, range: SplitRange): Promise<void> {
    const e = reader.entry;
    const stats = this.stats;
    stats.bytes_total += range.end - range.start;
    stats.leading_nul_bytes_total += range.nulBytes;
    setReadOffset(e, range.end, range.tail);
    this.#inFlight += range.end - range.start;
    if (range.kind !== 'line') {
      if (range.kind === 'empty') stats.empty_lines_total++;
      else {
        stats.lines_too_long_total++;
        this.#logger
          .rateLimited(`too-long:${this.id}:${e.key}`, 60_000)
          .warning('line longer than message_max_bytes skipped', {
            input: this.id,
            path: e.path,
            offset: range.start,
            length: range.length,
            message_max_bytes: this.options.messageMaxBytes,
          });
      }
      e.tracker.push(range.start, range.end, range.tail, 0);
      this.#advance(e);
      return;
    }
    stats.lines_total++;
    if (range.invalidUtf8) stats.invalid_utf8_lines_total++;
    const tracked = e.tracker.push(range.start, range.end, range.tail, 1);
    const line = new DeliveredLine(range, e, tracked, () => this.#advance(e));
    try {
      await this.#onLine(line);
    } catch (err) {
      line.settled = true;
      stats.consumer_errors_total++;
      this.#logger
        .rateLimited(`consumer:${this.id}`, 60_000)
        .error('line consumer failed; the line stays unacknowledged', {
          input: this.id,
          path: e.path,
          offset: range.start,
          error: err,
        });
      return;
    }
    line.settled = true;
    if (!line.decided && e.tracker.ack(tracked)) this.#advance(e);
  }

  #advance(e: Entry): void {
    const released = e.tracker.advance();
    if (released === 0) return;
    this.#inFlight -= released;
    e.updatedMs = this.clock.now();
    this.#markDirty();
    this.#releaseCapacity(false);
    this.#checkDrained();
  }

  #drained(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #checkDrained(): void {
    if (this.#inFlight !== 0 || this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  // ---- wake-up hints (§8) -------------------------------------------------------------------

  #watch(): void {
    const watch = this.#fs.watch;
    if (!this.options.wakeup || watch === undefined || this.#stopped) return;
    for (const { dir, recursive } of this.#scanner.watchTargets()) {
      if (this.#watchers.has(dir)) continue;
      try {
        const handle = watch.call(
          this.#fs,
          dir,
          recursive,
          (event, name) => this.#hint(dir, event, name),
          (err) => {
            this.#watchers.delete(dir);
            this.#logger.debug('directory watch ended; polling only', { input: this.id, dir, error: err });
          },
        );
        this.#watchers.set(dir, handle);
      } catch (err) {
        // A missing base directory is tried again at the next scan.
        if (errorCode(err) !== 'ENOENT') {
          this.#logger
            .rateLimited(`watch:${this.id}:${dir}`, 600_000)
            .debug('cannot watch directory; polling only', { input: this.id, dir, error: err });
        }
      }
    }
  }

  #hint(dir: string, event: 'rename' | 'change', name: string | undefined): void {
    if (this.#stopped) return;
    if (name === undefined) {
      this.#requestScan(HINT_DEBOUNCE_MS);
      return;
    }
    const path = join(dir, name);
    if (event === 'change') {
      for (const r of this.#readers) {
        if (r.entry.path === path && !r.closed) {
          r.wake();
          return;
        }
      }
    }
    if (this.#hintMatcher(path) && !this.#scanner.excluded(path)) this.#requestScan(HINT_DEBOUNCE_MS);
  }

  // ---- registry -----------------------------------------------------------------------------

  #markDirty(): void {
    this.#dirty = true;
    if (this.#stopped || this.#flushTimer !== undefined) return;
    this.#flushTimer = this.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, this.options.registryFlushMs);
  }

  /** Writes the registry if anything changed; writes are serialized. */
  #flush(): Promise<void> {
    this.#writes = this.#writes.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const doc: RegistryDocument = {
        version: REGISTRY_VERSION,
        input: this.id,
        written: new Date(this.clock.now()).toISOString(),
        entries: [...this.#entries.values()].map(toRegistryEntry),
      };
      try {
        await this.#store.save(doc);
        this.stats.registry_writes_total++;
      } catch (err) {
        this.stats.registry_write_errors_total++;
        this.#logger.rateLimited(`registry:${this.id}`, 60_000).error('cannot write the registry; retrying', {
          input: this.id,
          registry: this.#store.location,
          error: err,
        });
        this.#markDirty();
      }
    });
    return this.#writes;
  }

  // ---- metrics ------------------------------------------------------------------------------

  #registerMetrics(metrics: MetricsRegistry): void {
    // One metric per name in a registry, whose callback reads every tailer registered with it
    // (a registry keeps the first callback of a name: several goflow2 inputs share it).
    let tailers = TAILERS.get(metrics);
    if (tailers !== undefined) {
      tailers.add(this);
      return;
    }
    tailers = new Set([this]);
    TAILERS.set(metrics, tailers);
    const all = tailers;
    const counter = (name: keyof TailerStats, help: string) =>
      metrics.counter({
        name: `flowship_goflow2_${name}`,
        help,
        labelNames: ['input'],
        collect: () => [...all].map((t) => ({ labels: { input: t.id }, value: t.stats[name] })),
      });
    counter('lines_total', 'Lines handed to the pipeline.');
    counter('bytes_total', 'Bytes consumed from files (lines, empty and skipped lines, terminators).');
    counter('empty_lines_total', 'Empty lines skipped.');
    counter('lines_too_long_total', 'Lines longer than message_max_bytes, skipped whole.');
    counter('invalid_utf8_lines_total', 'Lines with invalid UTF-8 (replaced by U+FFFD).');
    counter('leading_nul_bytes_total', 'NUL bytes dropped from line starts (copytruncate holes).');
    counter(
      'partial_tail_dropped_bytes_total',
      'Unterminated last-line bytes of cleaned files, not shipped.',
    );
    counter('truncations_total', 'Files truncated or rewritten: read again from 0 in a new generation.');
    counter('renames_total', 'Followed files seen under a new path.');
    counter('moves_total', 'Entries moved to another inode with their fingerprint (copytruncate copies).');
    counter('identity_changes_total', 'Entries retired because their inode now holds other content.');
    counter('files_new_total', 'Files found for the first time.');
    counter('files_ignored_older_total', 'New files older than ignore_older, not read.');
    counter('bytes_skipped_older_total', 'Bytes skipped because of ignore_older.');
    counter('entries_cleaned_total', 'Registry entries dropped (clean_removed, clean_inactive, retired).');
    counter('duplicate_fingerprints_total', 'Scans that found files with one fingerprint.');
    counter('scans_total', 'Scans of paths.');
    counter('scan_errors_total', 'Scans that failed.');
    counter('open_errors_total', 'Files that could not be opened (EMFILE, EACCES, …).');
    counter('read_errors_total', 'Reads that failed.');
    counter('consumer_errors_total', 'Lines whose consumer rejected (left unacknowledged).');
    counter('registry_writes_total', 'Registry writes.');
    counter('registry_write_errors_total', 'Registry writes that failed.');
    const gauge = (name: string, help: string, read: (t: Tailer) => number) =>
      metrics.gauge({
        name,
        help,
        labelNames: ['input'],
        collect: () => [...all].map((t) => ({ labels: { input: t.id }, value: read(t) })),
      });
    gauge('flowship_goflow2_open_files', 'Readers with an open file descriptor.', (t) => t.openReaders);
    gauge('flowship_goflow2_registry_entries', 'Registry entries held.', (t) => t.entryCount);
    gauge(
      'flowship_goflow2_waiting_files',
      'Files waiting for a reader (harvester_limit).',
      (t) => t.waitingFiles,
    );
    gauge('flowship_goflow2_in_flight_bytes', 'Bytes read and not yet acknowledged.', (t) => t.inFlightBytes);
  }
}

/**
 * A line handed to the consumer (TailedLine), with its acknowledgement handles: a class rather
 * than closures, as one is made per line.
 */
class DeliveredLine implements TailedLine {
  readonly text: string;
  readonly bytes: number;
  readonly path: string;
  readonly offset: number;
  readonly textOffset: number;
  readonly end: number;
  readonly entryKey: string;
  readonly fingerprint: string;
  readonly dev: string;
  readonly ino: string;
  readonly generation: number;
  readonly invalidUtf8: boolean;
  /** `acks()` was called. */
  decided = false;
  /** The consumer's promise settled: `acks()` may no longer be called. */
  settled = false;
  readonly #entry: Entry;
  readonly #tracked: TrackedRange;
  readonly #advance: () => void;

  constructor(range: LineRange, e: Entry, tracked: TrackedRange, advance: () => void) {
    this.text = range.text;
    this.bytes = range.bytes;
    this.path = e.path;
    this.offset = range.start;
    this.textOffset = range.textOffset;
    this.end = range.end;
    this.entryKey = e.key;
    this.fingerprint = e.fp;
    this.dev = e.devText;
    this.ino = e.inoText;
    this.generation = tracked.generation;
    this.invalidUtf8 = range.invalidUtf8;
    this.#entry = e;
    this.#tracked = tracked;
    this.#advance = advance;
  }

  acks(parts: number): AckHandle[] {
    if (this.decided || this.settled) {
      throw new TypeError('TailedLine.acks() must be called once, before onLine settles');
    }
    if (!Number.isInteger(parts) || parts < 0)
      throw new RangeError(`parts must be an integer >= 0, got ${parts}`);
    this.decided = true;
    const tracker = this.#entry.tracker;
    if (parts === 0) {
      if (tracker.ack(this.#tracked)) this.#advance();
      return [];
    }
    // a range of an older generation is already gone from the tracker: its acks change nothing
    this.#tracked.pending = this.#tracked.generation === tracker.generation ? parts : 0;
    const handles: AckHandle[] = [];
    for (let i = 0; i < parts; i++) handles.push(new PartAck(this));
    return handles;
  }

  /** One part acknowledged (PartAck calls it once). */
  partDone(): void {
    if (this.#entry.tracker.ack(this.#tracked)) this.#advance();
  }
}

/** The acknowledgement of one document of a line; acking twice counts once. */
class PartAck implements AckHandle {
  #line: DeliveredLine | undefined;

  constructor(line: DeliveredLine) {
    this.#line = line;
  }

  ack(): void {
    const line = this.#line;
    if (line === undefined) return;
    this.#line = undefined;
    line.partDone();
  }
}
