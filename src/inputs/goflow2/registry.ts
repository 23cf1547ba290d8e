/**
 * The registry (TAILER.md §6): acknowledged offsets and identities, one JSON file per input at
 * `${path.data}/registry/goflow2/<input id>.json`, mode 0600, rewritten whole:
 *
 *     {"version": 1, "input": "goflow2-sflow", "written": "2026-01-01T00:00:00.000Z", "entries": [
 *       {"fp": "9f…", "fp_len": 512, "path": "/var/log/sflow/goflow2/goflow2.log", "dev": "2049",
 *        "ino": "1310721", "offset": 104857, "marker": "3fa2…", "size": 104990,
 *        "mtime_ms": 1767225600000, "updated_ms": 1767225600000}]}
 *
 * Writes are atomic and durable: `<file>.tmp`, `fsync`, close, `rename`, then `fsync` of the
 * directory (the step write-file-atomic skips). At start-up a leftover `.tmp` is deleted; an
 * unparsable file is renamed `<file>.corrupt-<ms>` with an ERROR and the input starts empty
 * (re-reads deduplicate by document id); a newer `version` is refused.
 */
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../monitoring/logger.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { FlowshipError } from '../../util/errors.ts';
import { errorCode } from './fs-port.ts';

export const REGISTRY_VERSION = 1;

export interface RegistryEntry {
  /** Fingerprint (64 hex digits), or `native-<dev>-<ino>` under `file_identity: native`. */
  readonly fp: string;
  readonly fp_len: number;
  /** Last path the file was seen at. */
  readonly path: string;
  readonly dev: string;
  readonly ino: string;
  /** Acknowledged offset, always a line start. */
  readonly offset: number;
  /** 16 hex digits: SHA-256 (first 8 bytes) of the up to 32 bytes before `offset`. */
  readonly marker: string;
  readonly size: number;
  readonly mtime_ms: number;
  readonly updated_ms: number;
}

export interface RegistryDocument {
  readonly version: number;
  readonly input: string;
  /** RFC 3339. */
  readonly written: string;
  readonly entries: readonly RegistryEntry[];
}

/** The registry refused to load (a newer version). */
export class RegistryError extends FlowshipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOWSHIP_REGISTRY', message, options);
    this.name = 'RegistryError';
  }
}

/** Where the registry of input `id` lives under `path.data`. */
export function registryPath(dataDir: string, id: string): string {
  // an id is free text in the configuration; keep it one safe file name
  const name = /^[A-Za-z0-9._-]+$/.test(id) && id !== '.' && id !== '..' ? id : encodeURIComponent(id);
  return join(dataDir, 'registry', 'goflow2', `${name}.json`);
}

function isEntry(e: unknown): e is RegistryEntry {
  if (e === null || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  return (
    typeof o.fp === 'string' &&
    o.fp !== '' &&
    int(o.fp_len) &&
    typeof o.path === 'string' &&
    typeof o.dev === 'string' &&
    /^\d+$/.test(o.dev) &&
    typeof o.ino === 'string' &&
    /^\d+$/.test(o.ino) &&
    int(o.offset) &&
    typeof o.marker === 'string' &&
    /^[0-9a-f]{16}$/.test(o.marker) &&
    int(o.size) &&
    typeof o.mtime_ms === 'number' &&
    typeof o.updated_ms === 'number'
  );
}

/**
 * Parses a registry file's text. Returns the document, or the reason it is unusable (corrupt).
 * Throws `RegistryError` for a newer version: starting empty would re-ship everything.
 */
export function parseRegistry(text: string, location: string): RegistryDocument | { corrupt: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { corrupt: (err as Error).message };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { corrupt: 'not an object' };
  const doc = raw as Record<string, unknown>;
  if (typeof doc.version !== 'number' || !Number.isInteger(doc.version)) return { corrupt: 'no version' };
  if (doc.version > REGISTRY_VERSION) {
    throw new RegistryError(
      `registry ${location} has version ${doc.version}, written by a newer flowship; this one reads version ${REGISTRY_VERSION}: run the newer flowship, or move the file away to start over (files are then read again)`,
    );
  }
  if (doc.version < 1) return { corrupt: `unknown version ${doc.version}` };
  if (!Array.isArray(doc.entries)) return { corrupt: 'no entries' };
  const bad = doc.entries.findIndex((e) => !isEntry(e));
  if (bad >= 0) return { corrupt: `entry ${bad} is malformed` };
  return {
    version: doc.version,
    input: typeof doc.input === 'string' ? doc.input : '',
    written: typeof doc.written === 'string' ? doc.written : '',
    entries: doc.entries as RegistryEntry[],
  };
}

/** Where a registry is kept: the file (`FileRegistryStore`) or memory (tests). */
export interface RegistryStore {
  /** For log messages. */
  readonly location: string;
  /**
   * Start-up: removes leftovers and reads the registry. Resolves undefined when there is none (or
   * it was corrupt and set aside); rejects with `RegistryError` for a newer version.
   */
  load(): Promise<RegistryDocument | undefined>;
  /** Replaces the registry atomically and durably. */
  save(doc: RegistryDocument): Promise<void>;
}

export interface FileRegistryStoreOptions {
  readonly path: string;
  readonly logger: Logger;
  /** For the `.corrupt-<ms>` suffix. */
  readonly now: () => number;
}

export class FileRegistryStore implements RegistryStore {
  readonly location: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  #dirReady = false;

  constructor(options: FileRegistryStoreOptions) {
    this.location = options.path;
    this.#logger = options.logger;
    this.#now = options.now;
  }

  async load(): Promise<RegistryDocument | undefined> {
    // Only this input's own leftover: the directory is shared with the other goflow2 inputs, whose
    // writes may be under way.
    await unlink(`${this.location}.tmp`).catch((err: unknown) => {
      if (errorCode(err) !== 'ENOENT') throw err;
    });
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = parseRegistry(text, this.location);
    if ('corrupt' in parsed) {
      const aside = `${this.location}.corrupt-${this.#now()}`;
      await rename(this.location, aside);
      this.#logger.error(
        'registry is unreadable; set aside, starting empty (files are read again, duplicates are dropped by document id)',
        {
          registry: this.location,
          moved_to: aside,
          reason: parsed.corrupt,
        },
      );
      return undefined;
    }
    return parsed;
  }

  async save(doc: RegistryDocument): Promise<void> {
    const dir = dirname(this.location);
    if (!this.#dirReady) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.#dirReady = true;
    }
    await writeFileAtomic(this.location, `${JSON.stringify(doc)}\n`);
  }
}

/**
 * A registry in memory, for tests: keeps the text of the last save, so a "crash" is a new tailer
 * on `fork()` (what was flushed survives, the old tailer's later saves go to the old store).
 */
export class MemoryRegistryStore implements RegistryStore {
  readonly location = 'memory';
  text: string | undefined;
  saves = 0;
  /** Called with each document saved (property checks). */
  onSave: ((doc: RegistryDocument) => void) | undefined;

  constructor(text?: string) {
    this.text = text;
  }

  async load(): Promise<RegistryDocument | undefined> {
    if (this.text === undefined) return undefined;
    const parsed = parseRegistry(this.text, this.location);
    if ('corrupt' in parsed) {
      this.text = undefined;
      return undefined;
    }
    return parsed;
  }

  async save(doc: RegistryDocument): Promise<void> {
    this.text = JSON.stringify(doc);
    this.saves++;
    this.onSave?.(doc);
  }

  /** A store holding what this one holds now. */
  fork(): MemoryRegistryStore {
    const s = new MemoryRegistryStore(this.text);
    s.onSave = this.onSave;
    return s;
  }
}
