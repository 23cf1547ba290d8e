/**
 * The scanner's first half (TAILER.md §1, §5.6): expands `paths`, applies the excludes and the
 * symlink policy, and `stat`s what is left. Identity and classification happen in the tailer,
 * which alone owns file state.
 */
import type { FileStat, FsPort } from './fs-port.ts';
import { errorCode } from './fs-port.ts';
import { expandBraces, globMatcher, type ParsedGlob, parseGlob, walkGlob } from './glob.ts';

export interface Candidate {
  /** The matched path (`log.file.path`), a symlink's own path when one is followed. */
  readonly path: string;
  /** Of the file itself (a symlink followed). */
  readonly stat: FileStat;
  /** `<dev>:<ino>`. */
  readonly inode: string;
  /** Whether `path` is a symbolic link. */
  readonly symlink: boolean;
}

export interface ScannerOptions {
  readonly paths: readonly string[];
  readonly excludeFiles: readonly RegExp[];
  readonly includeFiles: readonly RegExp[];
  readonly exclude: readonly string[];
  readonly symlinks: boolean;
  /** A directory or file that could not be read (not a missing one). */
  readonly onError: (path: string, err: unknown) => void;
}

/** Directories a wake-up watch covers. */
export interface WatchTarget {
  readonly dir: string;
  readonly recursive: boolean;
}

export function inodeKey(stat: Pick<FileStat, 'dev' | 'ino'>): string {
  return `${stat.dev}:${stat.ino}`;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class Scanner {
  readonly globs: readonly ParsedGlob[];
  readonly #fs: FsPort;
  readonly #options: ScannerOptions;
  readonly #excludeGlob: (path: string) => boolean;

  constructor(fs: FsPort, options: ScannerOptions) {
    this.#fs = fs;
    this.#options = options;
    this.globs = options.paths.flatMap((p) => expandBraces(p)).map(parseGlob);
    this.#excludeGlob = globMatcher(options.exclude);
  }

  /** Base directories to watch, without duplicates (a recursive watch covers its subtree). */
  watchTargets(): WatchTarget[] {
    const byDir = new Map<string, boolean>();
    for (const g of this.globs) byDir.set(g.base, (byDir.get(g.base) ?? false) || g.deep);
    return [...byDir].map(([dir, recursive]) => ({ dir, recursive }));
  }

  /** Whether a path (or a symlink's target) is excluded: exclude wins over include. */
  excluded(path: string, target?: string): boolean {
    const { excludeFiles, includeFiles } = this.#options;
    const paths = target === undefined || target === path ? [path] : [path, target];
    for (const p of paths) {
      if (excludeFiles.some((re) => re.test(p)) || this.#excludeGlob(p)) return true;
    }
    if (includeFiles.length === 0) return false;
    return !paths.some((p) => includeFiles.some((re) => re.test(p)));
  }

  /** The regular files matched now, one per inode, sorted by path. */
  async expand(): Promise<Candidate[]> {
    const { symlinks, onError } = this.#options;
    const matched = new Map<string, boolean>();
    for (const glob of this.globs) {
      const found = await walkGlob(this.#fs, glob, { followSymlinkDirs: symlinks, onError });
      for (const m of found) matched.set(m.path, m.type === 'symlink');
    }
    const paths = [...matched.keys()].sort();
    const looked = await mapLimit(paths, 32, async (path): Promise<Candidate | undefined> => {
      const symlink = matched.get(path)!;
      if (symlink && !symlinks) return undefined;
      if (!symlink && this.excluded(path)) return undefined;
      try {
        const stat = await this.#fs.stat(path);
        if (!stat.isFile) return undefined;
        if (symlink && this.excluded(path, await this.#fs.realpath(path))) return undefined;
        return { path, stat, inode: inodeKey(stat), symlink };
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') onError(path, err);
        return undefined;
      }
    });
    // A link and its target are one file: the target's own path wins, else the first path.
    const byInode = new Map<string, Candidate>();
    for (const c of looked) {
      if (c === undefined) continue;
      const seen = byInode.get(c.inode);
      if (seen === undefined || (seen.symlink && !c.symlink)) byInode.set(c.inode, c);
    }
    return [...byInode.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
