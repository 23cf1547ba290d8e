/**
 * The filesystem as the tailer sees it (TAILER.md §10): directory listing, `stat` with exact
 * 64-bit device and inode numbers, and open files read at explicit positions. The real
 * implementation wraps `node:fs/promises`; `MemoryFs` (memory-fs.ts) models inodes, rename,
 * unlink-while-open, truncation and inode reuse for the property-based tests.
 */
import { watch as fsWatch } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';

/** What `stat`/`lstat`/`FileHandle.stat` report, reduced to what identity and scanning need. */
export interface FileStat {
  /** Device id, exact (`stat(…, {bigint: true})`). */
  readonly dev: bigint;
  /** Inode number, exact: 64-bit inode numbers exceed 2^53. */
  readonly ino: bigint;
  readonly size: number;
  readonly mtimeMs: number;
  /** Creation time where the filesystem reports one (statx on Linux), else undefined. */
  readonly birthtimeMs: number | undefined;
  /** Hard links; 0 once the file was deleted while open. */
  readonly nlink: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymbolicLink: boolean;
}

export type DirEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface DirEntry {
  readonly name: string;
  readonly type: DirEntryType;
}

/** An open file, read only at explicit positions (never with a file position of its own). */
export interface FileHandlePort {
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; 0 at end of file. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

/** A directory watch; events are hints only (TAILER.md §8). */
export interface WatchHandle {
  close(): void;
}

export type WatchListener = (event: 'rename' | 'change', filename: string | undefined) => void;

export interface FsPort {
  readdir(dir: string): Promise<DirEntry[]>;
  /** Follows symbolic links. */
  stat(path: string): Promise<FileStat>;
  lstat(path: string): Promise<FileStat>;
  realpath(path: string): Promise<string>;
  /** Opens read-only. */
  open(path: string): Promise<FileHandlePort>;
  /**
   * Watches a directory (with `recursive`, its subtree) and calls `listener` on changes; `onError`
   * after which the watch is dead. Absent where the filesystem raises no events (polling only).
   */
  watch?(
    dir: string,
    recursive: boolean,
    listener: WatchListener,
    onError: (err: Error) => void,
  ): WatchHandle;
}

/** An error's `code` (`ENOENT`, `EMFILE`, …), if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

interface BigStats {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeMs: bigint;
  birthtimeMs: bigint;
  nlink: bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

function fromBigStats(s: BigStats): FileStat {
  return {
    dev: s.dev,
    ino: s.ino,
    size: Number(s.size),
    mtimeMs: Number(s.mtimeMs),
    // 0 means "not reported" (filesystems without a creation time)
    birthtimeMs: s.birthtimeMs > 0n ? Number(s.birthtimeMs) : undefined,
    nlink: Number(s.nlink),
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymbolicLink: s.isSymbolicLink(),
  };
}

/** The real filesystem, through `node:fs/promises`. */
export const nodeFs: FsPort = {
  async readdir(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((d) => ({
      name: d.name,
      type: d.isFile() ? 'file' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'other',
    }));
  },
  async stat(path) {
    return fromBigStats(await stat(path, { bigint: true }));
  },
  async lstat(path) {
    return fromBigStats(await lstat(path, { bigint: true }));
  },
  realpath(path) {
    return realpath(path);
  },
  async open(path) {
    const fh = await open(path, 'r');
    let closed: Promise<void> | undefined;
    return {
      async read(buffer, offset, length, position) {
        const { bytesRead } = await fh.read(buffer, offset, length, position);
        return bytesRead;
      },
      async stat() {
        return fromBigStats(await fh.stat({ bigint: true }));
      },
      close() {
        closed ??= fh.close();
        return closed;
      },
    };
  },
  watch(dir, recursive, listener, onError) {
    const w = fsWatch(dir, { recursive, persistent: false }, (event, filename) => {
      listener(event === 'change' ? 'change' : 'rename', filename ?? undefined);
    });
    w.on('error', (err) => {
      w.close();
      onError(err);
    });
    return w;
  },
};
