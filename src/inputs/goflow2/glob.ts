/**
 * Globs for `paths` and `exclude` (TAILER.md §2, §8), implemented here rather than with micromatch
 * (not a dependency) or `path.matchesGlob` (whose `*` skips dot files, unlike Go's).
 *
 * Syntax, as Go's `filepath.Match` plus what micromatch users expect:
 *   `*`      any run of characters except `/` (dot files included, as in Go)
 *   `?`      one character except `/`
 *   `[abc]`  `[a-z]`  `[^a]`  `[!a]`   a character class
 *   `\x`     the character x
 *   `{a,b}`  alternatives (expanded before matching; nesting allowed)
 *   `**`     as a whole segment: in `paths`, zero to 8 directory levels (Filebeat's
 *            `recursive_glob`); in `exclude`, any number of levels
 */
import { posix } from 'node:path';
import type { FsPort } from './fs-port.ts';

/** Directory levels a `**` segment of `paths` stands for at most (Filebeat). */
export const GLOBSTAR_MAX_DEPTH = 8;

type Segment =
  | { readonly kind: 'literal'; readonly name: string }
  | { readonly kind: 'pattern'; readonly re: RegExp }
  | { readonly kind: 'globstar' };

/** A `paths` glob split into the directory to walk from and the segments below it. */
export interface ParsedGlob {
  readonly pattern: string;
  /** The longest literal directory prefix: where the walk (and the watch) starts. */
  readonly base: string;
  readonly segments: readonly Segment[];
  /** Whether matches can lie below a direct child of `base` (the watch must be recursive). */
  readonly deep: boolean;
}

/** Expands `{a,b}` alternatives (nested too); an unbalanced brace is literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const alternatives = splitTopLevel(pattern.slice(open + 1, i));
        if (alternatives.length < 2) continue;
        const head = pattern.slice(0, open);
        const tails = expandBraces(pattern.slice(i + 1));
        const out: string[] = [];
        for (const alt of alternatives) {
          for (const a of expandBraces(alt)) for (const t of tails) out.push(head + a + t);
        }
        return [...new Set(out)];
      }
    }
  }
  return [pattern];
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function isMagic(segment: string): boolean {
  return /[*?[\\]/.test(segment);
}

/** The regular-expression source for one glob segment (no `/` inside). */
function segmentSource(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') {
      out += '[^/]*';
      while (segment[i + 1] === '*') i++;
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '\\' && i + 1 < segment.length) {
      out += escapeRegExp(segment[++i]);
    } else if (c === '[') {
      const end = classEnd(segment, i);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      out += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, (m) => (m === '\\' ? '\\\\' : `\\${m}`))}]`;
      i = end;
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

function classEnd(s: string, open: number): number {
  let i = open + 1;
  if (s[i] === '!' || s[i] === '^') i++;
  if (s[i] === ']') i++;
  for (; i < s.length; i++) if (s[i] === ']') return i;
  return -1;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Parses one absolute `paths` glob (after brace expansion). */
export function parseGlob(pattern: string): ParsedGlob {
  const normal = posix.normalize(pattern);
  const parts = normal.split('/').filter((p, i) => p !== '' || i === 0);
  let baseEnd = 1;
  while (baseEnd < parts.length - 1 && !isMagic(parts[baseEnd])) baseEnd++;
  const base = parts.slice(0, baseEnd).join('/') || '/';
  const segments: Segment[] = [];
  for (const p of parts.slice(baseEnd)) {
    if (p === '**') {
      if (segments.at(-1)?.kind !== 'globstar') segments.push({ kind: 'globstar' });
    } else if (isMagic(p)) {
      segments.push({ kind: 'pattern', re: new RegExp(`^${segmentSource(p)}$`, 's') });
    } else {
      segments.push({ kind: 'literal', name: p });
    }
  }
  // `dir/**` matches the files at any depth up to the cap: `**` then `*`
  if (segments.at(-1)?.kind === 'globstar') segments.push({ kind: 'pattern', re: /^.*$/s });
  const deep = segments.length > 1;
  return { pattern, base, segments, deep };
}

/** One file a `paths` glob matched. */
export interface GlobMatch {
  readonly path: string;
  /** `symlink` when the matched directory entry is a link (the caller decides whether to follow). */
  readonly type: 'file' | 'symlink';
}

export interface WalkOptions {
  /** Descend into symbolically linked directories below `base` (the `symlinks` option). */
  readonly followSymlinkDirs: boolean;
  /** Called for directories that cannot be read (other than missing ones). */
  readonly onError?: (dir: string, err: unknown) => void;
}

/**
 * Walks the filesystem for one parsed glob. Missing directories match nothing. `**` stands for up
 * to `GLOBSTAR_MAX_DEPTH` levels, which also bounds a walk through symlink loops.
 */
export async function walkGlob(fs: FsPort, glob: ParsedGlob, options: WalkOptions): Promise<GlobMatch[]> {
  const out = new Map<string, GlobMatch>();
  const listings = new Map<string, Promise<Array<{ name: string; type: string }>>>();
  const visited = new Set<string>();
  const list = (dir: string) => {
    let p = listings.get(dir);
    if (p === undefined) {
      p = fs.readdir(dir).catch((err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') options.onError?.(dir, err);
        return [];
      });
      listings.set(dir, p);
    }
    return p;
  };
  const isDir = async (path: string, type: string): Promise<boolean> => {
    if (type === 'directory') return true;
    if (type !== 'symlink' || !options.followSymlinkDirs) return false;
    try {
      return (await fs.stat(path)).isDirectory;
    } catch {
      return false;
    }
  };
  const visit = async (dir: string, i: number, starsLeft: number): Promise<void> => {
    const key = `${dir}\u0000${i}\u0000${starsLeft}`;
    if (visited.has(key)) return;
    visited.add(key);
    const seg = glob.segments[i];
    if (seg.kind === 'globstar') {
      await visit(dir, i + 1, GLOBSTAR_MAX_DEPTH);
      if (starsLeft > 0) {
        for (const e of await list(dir)) {
          const child = posix.join(dir, e.name);
          if (await isDir(child, e.type)) await visit(child, i, starsLeft - 1);
        }
      }
      return;
    }
    const last = i === glob.segments.length - 1;
    for (const e of await list(dir)) {
      if (seg.kind === 'literal' ? e.name !== seg.name : !seg.re.test(e.name)) continue;
      const child = posix.join(dir, e.name);
      if (last) {
        if (e.type === 'file' || e.type === 'symlink') out.set(child, { path: child, type: e.type });
      } else if (await isDir(child, e.type)) {
        await visit(child, i + 1, GLOBSTAR_MAX_DEPTH);
      }
    }
  };
  await visit(glob.base, 0, GLOBSTAR_MAX_DEPTH);
  return [...out.values()];
}

/**
 * The source of a regular expression matching a whole path for one glob, with `**` as any number
 * of segments (micromatch's meaning, used by `exclude`).
 */
function pathSource(pattern: string): string {
  const parts = pattern.split('/');
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const lastPart = i === parts.length - 1;
    if (p === '**') {
      // `a/**/b` matches `a/b` too; a trailing `/**` matches the directory's whole subtree
      out += lastPart ? (i === 0 ? '.*' : '(?:/.*)?') : i === 0 ? '(?:.*/)?' : '(?:/.*)?/';
      continue;
    }
    if (i > 0 && parts[i - 1] !== '**') out += '/';
    out += segmentSource(p);
  }
  return out;
}

/**
 * micromatch's `matcher(globs, {dot: true, basename: true})`: a glob without `/` matches a path's
 * base name (as in `.gitignore`), any other glob the whole path. `*` matches dot files.
 */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  const basename: RegExp[] = [];
  const full: RegExp[] = [];
  for (const g of globs) {
    for (const p of expandBraces(g)) {
      if (p.includes('/')) full.push(new RegExp(`^${pathSource(p)}$`, 's'));
      else basename.push(new RegExp(`^${segmentSource(p)}$`, 's'));
    }
  }
  if (basename.length === 0 && full.length === 0) return () => false;
  return (path) => {
    if (full.some((re) => re.test(path))) return true;
    if (basename.length === 0) return false;
    const name = posix.basename(path);
    return basename.some((re) => re.test(name));
  };
}
