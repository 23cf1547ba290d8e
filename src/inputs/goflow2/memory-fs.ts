/**
 * An in-memory `FsPort` for tests (TAILER.md §10): inodes with device ids, appends through a
 * writer bound to an inode (as GoFlow2's `O_APPEND` descriptor is), rename, unlink while open,
 * truncate, copy, and inode reuse. Deterministic: time comes from `now`, inode numbers are
 * allocated in order, and a freed number is reused only when asked (`createReusingInode`).
 */
import { posix } from 'node:path';
import type { DirEntry, FileHandlePort, FileStat, FsPort } from './fs-port.ts';

interface Inode {
  readonly ino: bigint;
  dev: bigint;
  data: Buffer;
  mtimeMs: number;
  birthtimeMs: number;
  nlink: number;
  open: number;
}

export interface MemoryFsOptions {
  /** Milliseconds clock for mtimes. */
  readonly now?: () => number;
  /** Report creation times (false: like filesystems without them, so reuse is caught by markers). */
  readonly birthtime?: boolean;
  readonly dev?: bigint;
}

/** Appends to one inode, wherever its name went (a writer's descriptor). */
export interface MemoryWriter {
  readonly ino: bigint;
  append(data: string | Buffer): void;
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });
}

export class MemoryFs implements FsPort {
  readonly #files = new Map<string, Inode>();
  readonly #dirs = new Set<string>(['/']);
  readonly #inodes = new Map<bigint, Inode>();
  readonly #free: bigint[] = [];
  readonly #now: () => number;
  readonly #birthtime: boolean;
  #dev: bigint;
  #nextIno = 100n;
  /** Descriptors open now (tests check for leaks). */
  openHandles = 0;

  constructor(options: MemoryFsOptions = {}) {
    this.#now = options.now ?? (() => Date.now());
    this.#birthtime = options.birthtime ?? false;
    this.#dev = options.dev ?? 1n;
  }

  // ---- FsPort ---------------------------------------------------------------------------------

  async readdir(dir: string): Promise<DirEntry[]> {
    const d = posix.normalize(dir);
    if (!this.#dirs.has(d)) {
      if (this.#files.has(d)) throw Object.assign(new Error(`ENOTDIR: '${d}'`), { code: 'ENOTDIR' });
      throw enoent(d);
    }
    const out: DirEntry[] = [];
    for (const p of this.#dirs)
      if (p !== d && posix.dirname(p) === d) out.push({ name: posix.basename(p), type: 'directory' });
    for (const p of this.#files.keys())
      if (posix.dirname(p) === d) out.push({ name: posix.basename(p), type: 'file' });
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async stat(path: string): Promise<FileStat> {
    return this.#statOf(path);
  }

  async lstat(path: string): Promise<FileStat> {
    return this.#statOf(path);
  }

  async realpath(path: string): Promise<string> {
    this.#statOf(path);
    return posix.normalize(path);
  }

  async open(path: string): Promise<FileHandlePort> {
    const node = this.#files.get(posix.normalize(path));
    if (node === undefined) throw enoent(path);
    node.open++;
    this.openHandles++;
    let closed = false;
    return {
      read: async (buffer, offset, length, position) => {
        if (closed) throw Object.assign(new Error('EBADF: file closed'), { code: 'EBADF' });
        if (position >= node.data.length) return 0;
        return node.data.copy(buffer, offset, position, Math.min(node.data.length, position + length));
      },
      stat: async () => this.#statOfNode(node),
      close: async () => {
        if (closed) return;
        closed = true;
        node.open--;
        this.openHandles--;
        this.#maybeFree(node);
      },
    };
  }

  #statOf(path: string): FileStat {
    const p = posix.normalize(path);
    const node = this.#files.get(p);
    if (node !== undefined) return this.#statOfNode(node);
    if (this.#dirs.has(p)) {
      return {
        dev: this.#dev,
        ino: 1n,
        size: 0,
        mtimeMs: 0,
        birthtimeMs: undefined,
        nlink: 1,
        isFile: false,
        isDirectory: true,
        isSymbolicLink: false,
      };
    }
    throw enoent(p);
  }

  #statOfNode(node: Inode): FileStat {
    return {
      dev: node.dev,
      ino: node.ino,
      size: node.data.length,
      mtimeMs: node.mtimeMs,
      birthtimeMs: this.#birthtime ? node.birthtimeMs : undefined,
      nlink: node.nlink,
      isFile: true,
      isDirectory: false,
      isSymbolicLink: false,
    };
  }

  // ---- what tests do to files -------------------------------------------------------------------

  mkdir(dir: string): void {
    let d = posix.normalize(dir);
    while (!this.#dirs.has(d)) {
      this.#dirs.add(d);
      d = posix.dirname(d);
    }
  }

  /** Creates the file (or empties it, same inode) and writes `data`. */
  writeFile(path: string, data: string | Buffer = ''): MemoryWriter {
    const p = posix.normalize(path);
    const existing = this.#files.get(p);
    if (existing !== undefined) {
      existing.data = Buffer.from(data);
      existing.mtimeMs = this.#now();
      return this.writer(p);
    }
    this.#create(p, this.#allocate(undefined), data);
    return this.writer(p);
  }

  /**
   * Creates a file reusing the most recently freed inode number, if any (ext4 and tmpfs do):
   * returns false when none is free (still held open, for example).
   */
  createReusingInode(path: string, data: string | Buffer = ''): boolean {
    const ino = this.#free.pop();
    if (ino === undefined) return false;
    const p = posix.normalize(path);
    if (this.#files.has(p)) this.unlink(p);
    this.#create(p, ino, data);
    return true;
  }

  /** A writer bound to the inode now at `path` (O_APPEND: every write lands at the end). */
  writer(path: string): MemoryWriter {
    const node = this.#files.get(posix.normalize(path));
    if (node === undefined) throw enoent(path);
    return {
      ino: node.ino,
      append: (data) => {
        node.data = Buffer.concat([node.data, Buffer.from(data)]);
        node.mtimeMs = this.#now();
      },
    };
  }

  append(path: string, data: string | Buffer): void {
    this.writer(path).append(data);
  }

  /** Like rename(2): replaces `to`. */
  rename(from: string, to: string): void {
    const f = posix.normalize(from);
    const t = posix.normalize(to);
    const node = this.#files.get(f);
    if (node === undefined) throw enoent(f);
    if (f === t) return;
    if (this.#files.has(t)) this.unlink(t);
    this.#files.delete(f);
    this.mkdir(posix.dirname(t));
    this.#files.set(t, node);
  }

  unlink(path: string): void {
    const p = posix.normalize(path);
    const node = this.#files.get(p);
    if (node === undefined) throw enoent(p);
    this.#files.delete(p);
    node.nlink--;
    this.#maybeFree(node);
  }

  truncate(path: string, length = 0): void {
    const node = this.#files.get(posix.normalize(path));
    if (node === undefined) throw enoent(path);
    node.data =
      length <= node.data.length
        ? Buffer.from(node.data.subarray(0, length))
        : Buffer.concat([node.data, Buffer.alloc(length - node.data.length)]);
    node.mtimeMs = this.#now();
  }

  /** `cp from to`: a new inode with the same bytes (replaces `to`). */
  copy(from: string, to: string): void {
    const node = this.#files.get(posix.normalize(from));
    if (node === undefined) throw enoent(from);
    const t = posix.normalize(to);
    if (this.#files.has(t)) this.unlink(t);
    this.#create(t, this.#allocate(undefined), node.data);
  }

  /** Moves every inode to another device id (a remount). */
  remount(dev: bigint): void {
    this.#dev = dev;
    for (const node of this.#inodes.values()) node.dev = dev;
  }

  exists(path: string): boolean {
    return this.#files.has(posix.normalize(path));
  }

  /** The bytes at `path` now. */
  read(path: string): Buffer {
    const node = this.#files.get(posix.normalize(path));
    if (node === undefined) throw enoent(path);
    return node.data;
  }

  /** Numbers of the live inodes (linked, or unlinked but open). */
  liveInodes(): bigint[] {
    return [...this.#inodes.keys()];
  }

  /** The bytes of a live inode (linked, or unlinked but open), by number. */
  dataByInode(ino: bigint): Buffer | undefined {
    return this.#inodes.get(ino)?.data;
  }

  inodeOf(path: string): bigint {
    const node = this.#files.get(posix.normalize(path));
    if (node === undefined) throw enoent(path);
    return node.ino;
  }

  /** Paths of all files, sorted. */
  paths(): string[] {
    return [...this.#files.keys()].sort();
  }

  #allocate(ino: bigint | undefined): bigint {
    if (ino !== undefined) return ino;
    const n = this.#nextIno;
    this.#nextIno++;
    return n;
  }

  #create(path: string, ino: bigint, data: string | Buffer): void {
    this.mkdir(posix.dirname(path));
    const now = this.#now();
    const node: Inode = {
      ino,
      dev: this.#dev,
      data: Buffer.from(data),
      mtimeMs: now,
      birthtimeMs: now,
      nlink: 1,
      open: 0,
    };
    this.#inodes.set(ino, node);
    this.#files.set(path, node);
  }

  #maybeFree(node: Inode): void {
    if (node.nlink > 0 || node.open > 0) return;
    if (this.#inodes.get(node.ino) !== node) return;
    this.#inodes.delete(node.ino);
    this.#free.push(node.ino);
  }
}
