/**
 * The template cache on disk (NETFLOW.md R4): the v9 and IPFIX templates an input has learned,
 * so that after a restart the data sets that arrive before the exporter announces its templates
 * again (up to 30 minutes for some exporters) are decoded instead of lost.
 *
 *   <path.data>/netflow/<input id>/templates.json
 *   {"version":1,"share_templates":false,"saved_at":1763800000000,
 *    "templates":[{"session":"192.0.2.1:2055/0","protocol":"ipfix","id":256,
 *                  "fields":[[0,8,4],[0,12,4],...],      <- [PEN, element id, length] as announced
 *                  "scope_count":0,"options":false,"last_used":1763799990000}, ...]}
 *
 * The file keeps what was on the wire, never compiled state: templates are compiled again at
 * load against the dictionary of this start (custom definitions may have changed). It is
 * written atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves
 * the old file or the new one. Loading never throws: a missing file is an empty cache, a file
 * that cannot be read or parsed, or written with another `share_templates` (its session keys mean
 * something else), is ignored and said so; entries idle longer than the expiration timeout, and
 * entries that are not well-formed, are dropped and counted.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { FieldSpec } from './decoder/template.ts';

/** One template as it is kept on disk. */
export interface CachedTemplate {
  /** The session key ("ip:port/domain", or "domain" with share_templates). */
  readonly session: string;
  readonly protocol: 'v9' | 'ipfix';
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  readonly scopeCount: number;
  readonly isOptions: boolean;
  /** When a data set last used it (or when it was learned), ms since the epoch. */
  readonly lastUsedMs: number;
}

export interface LoadOptions {
  /** The input's `share_templates`: a file written with the other value is ignored. */
  readonly shareTemplates: boolean;
  /** Entries idle longer are dropped; 0 keeps every entry (templates never expire). */
  readonly expirationMs: number;
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** At most this many entries are loaded (the most recently used first). */
  readonly maxTemplates: number;
}

export interface LoadResult {
  readonly templates: CachedTemplate[];
  /** Entries dropped because they were idle too long. */
  readonly expired: number;
  /** Entries dropped because they were not well-formed, or beyond `maxTemplates`. */
  readonly invalid: number;
  /** Why the whole file was ignored, when it was (undefined: loaded, or there was none). */
  readonly ignored?: string;
}

const VERSION = 1;
/** The most fields a template can announce (a 16-bit count). */
const MAX_FIELDS = 65_535;

/** Where an input's cache lives. */
export function templateCachePath(dataPath: string, inputId: string): string {
  return join(dataPath, 'netflow', inputId, 'templates.json');
}

const isUint = (value: unknown, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;

/** One entry from the file, or undefined when it is not well-formed. */
function parseEntry(raw: unknown): CachedTemplate | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.session !== 'string' || e.session.length === 0 || e.session.length > 512) return undefined;
  if (e.protocol !== 'v9' && e.protocol !== 'ipfix') return undefined;
  if (!isUint(e.id, 0xffff) || e.id < 256) return undefined;
  if (!Array.isArray(e.fields) || e.fields.length === 0 || e.fields.length > MAX_FIELDS) return undefined;
  const fields: FieldSpec[] = [];
  for (const f of e.fields) {
    if (!Array.isArray(f) || f.length !== 3) return undefined;
    const [pen, id, length] = f as unknown[];
    if (!isUint(pen, 0xffffffff) || !isUint(id, 0xffff) || !isUint(length, 0xffff)) return undefined;
    fields.push({ pen, id, length });
  }
  if (!isUint(e.scope_count, fields.length) || typeof e.options !== 'boolean') return undefined;
  if (!isUint(e.last_used, Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    session: e.session,
    protocol: e.protocol,
    id: e.id,
    fields,
    scopeCount: e.scope_count,
    isOptions: e.options,
    lastUsedMs: e.last_used,
  };
}

/** Reads the cache; never throws (see the file comment). */
export async function loadTemplateCache(path: string, options: LoadOptions): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { templates: [], expired: 0, invalid: 0 };
    return { templates: [], expired: 0, invalid: 0, ignored: `cannot be read: ${(err as Error).message}` };
  }
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return { templates: [], expired: 0, invalid: 0, ignored: `is not JSON: ${(err as Error).message}` };
  }
  if (
    file === null ||
    typeof file !== 'object' ||
    file.version !== VERSION ||
    !Array.isArray(file.templates)
  ) {
    return { templates: [], expired: 0, invalid: 0, ignored: `is not a version ${VERSION} template cache` };
  }
  if (file.share_templates !== options.shareTemplates) {
    return {
      templates: [],
      expired: 0,
      invalid: 0,
      ignored: `was written with share_templates: ${String(file.share_templates)}, which keys sessions differently`,
    };
  }
  let expired = 0;
  let invalid = 0;
  const kept: CachedTemplate[] = [];
  for (const raw of file.templates) {
    const entry = parseEntry(raw);
    if (entry === undefined) invalid++;
    else if (options.expirationMs > 0 && options.now - entry.lastUsedMs > options.expirationMs) expired++;
    else kept.push(entry);
  }
  kept.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
  if (kept.length > options.maxTemplates) {
    invalid += kept.length - options.maxTemplates;
    kept.length = options.maxTemplates;
  }
  return { templates: kept, expired, invalid };
}

/** The file's text for `templates` (stable key order, one template per line for a reader). */
export function serializeTemplateCache(
  templates: readonly CachedTemplate[],
  options: { shareTemplates: boolean; now: number },
): string {
  const lines = templates.map((t) =>
    JSON.stringify({
      session: t.session,
      protocol: t.protocol,
      id: t.id,
      fields: t.fields.map((f) => [f.pen, f.id, f.length]),
      scope_count: t.scopeCount,
      options: t.isOptions,
      last_used: t.lastUsedMs,
    }),
  );
  return `{"version":${VERSION},"share_templates":${options.shareTemplates},"saved_at":${options.now},"templates":[\n${lines.join(',\n')}\n]}\n`;
}

/** Writes the cache atomically. */
export async function saveTemplateCache(
  path: string,
  templates: readonly CachedTemplate[],
  options: { shareTemplates: boolean; now: number },
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, serializeTemplateCache(templates, options));
}
