/**
 * One registry entry's state: a file identity, where it is, how far it was read and acknowledged.
 * Owned by the tailer (the scanner half); a reader only advances `readOffset`/`readTail`.
 */
import { AckTracker } from './ack-tracker.ts';
import { markerOf } from './identity.ts';
import type { Reader } from './reader.ts';
import type { RegistryEntry } from './registry.ts';

export interface Entry {
  /** `<input id>::<fp>`. */
  readonly key: string;
  readonly fp: string;
  readonly fpLen: number;
  path: string;
  dev: bigint;
  ino: bigint;
  /** `dev` and `ino` in decimal (`log.file.device_id`, `log.file.inode`), kept with them. */
  devText: string;
  inoText: string;
  /** `<dev>:<ino>` of the file the entry follows. */
  inode: string;
  birthtimeMs: number | undefined;
  /** At the last scan. */
  size: number;
  mtimeMs: number;
  /** Last change of offset, path or identity (clean_inactive). */
  updatedMs: number;
  /** Identity confirmed on `inode` in this process (§3 fast path); false after any doubt. */
  verified: boolean;
  /** Line start where the next reader begins (in memory only; ≥ the acked offset). */
  readOffset: number;
  /** The up to 32 bytes before `readOffset`, when known; else `readMarker` is. */
  readTail: Buffer | undefined;
  readMarker: string;
  /** Position the last reader reached; a new one starts only once the file is larger. */
  readEnd: number;
  /** Bytes of an unterminated last line held by the last reader when it closed at EOF. */
  partialBytes: number;
  readonly tracker: AckTracker;
  reader: Reader | undefined;
  /** A reader is being opened. */
  opening: boolean;
  /** Found by the last scan. */
  seen: boolean;
  /** Its file now holds other content and no other file holds its fingerprint. */
  retired: boolean;
  /**
   * Moved to a copy shorter than its offset (copytruncate after the reader passed the copy's
   * end): everything there was read; an offset past the end is not a truncation here.
   */
  consumed: boolean;
}

export function newEntry(
  inputId: string,
  fp: string,
  fpLen: number,
  init: {
    path: string;
    dev: bigint;
    ino: bigint;
    birthtimeMs: number | undefined;
    size: number;
    mtimeMs: number;
    now: number;
    offset: number;
    tail: Buffer | string;
  },
): Entry {
  const marker = typeof init.tail === 'string' ? init.tail : markerOf(init.tail);
  return {
    key: `${inputId}::${fp}`,
    fp,
    fpLen,
    path: init.path,
    dev: init.dev,
    ino: init.ino,
    devText: init.dev.toString(),
    inoText: init.ino.toString(),
    inode: `${init.dev}:${init.ino}`,
    birthtimeMs: init.birthtimeMs,
    size: init.size,
    mtimeMs: init.mtimeMs,
    updatedMs: init.now,
    verified: false,
    readOffset: init.offset,
    readTail: typeof init.tail === 'string' ? undefined : init.tail,
    readMarker: marker,
    readEnd: init.offset,
    partialBytes: 0,
    tracker: new AckTracker(init.offset, init.tail),
    reader: undefined,
    opening: false,
    seen: false,
    retired: false,
    consumed: false,
  };
}

/** An entry as loaded from the registry: to be verified by the first scan that finds it. */
export function entryFromRegistry(inputId: string, r: RegistryEntry): Entry {
  return newEntry(inputId, r.fp, r.fp_len, {
    path: r.path,
    dev: BigInt(r.dev),
    ino: BigInt(r.ino),
    birthtimeMs: undefined,
    size: r.size,
    mtimeMs: r.mtime_ms,
    now: r.updated_ms,
    offset: r.offset,
    tail: r.marker,
  });
}

export function toRegistryEntry(e: Entry): RegistryEntry {
  return {
    fp: e.fp,
    fp_len: e.fpLen,
    path: e.path,
    dev: e.dev.toString(),
    ino: e.ino.toString(),
    offset: e.tracker.acked,
    marker: e.tracker.ackedMarker,
    size: e.size,
    mtime_ms: e.mtimeMs,
    updated_ms: e.updatedMs,
  };
}

/** Whether the bytes before an entry's read offset in a file are the ones it remembers. */
export function sameReadTail(e: Entry, tail: Buffer): boolean {
  return e.readTail !== undefined ? e.readTail.equals(tail) : markerOf(tail) === e.readMarker;
}

/** Moves the read (not the acked) offset. */
export function setReadOffset(e: Entry, offset: number, tail: Buffer): void {
  e.readOffset = offset;
  e.readTail = tail;
}
