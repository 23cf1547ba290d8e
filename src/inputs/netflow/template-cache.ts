/**
 * The template cache on disk (NETFLOW.md R4): the v9 and IPFIX templates an input has learned,
 * so that after a restart the data sets that arrive before the exporter announces its templates
 * again (up to 30 minutes for some exporters) are decoded instead of lost.
 *
 *   <path.data>/netflow/<input id>/templates.json
 *   {"version":1,"share_templates":false,"saved_at":1763800000000,
 *    "templates":[{"session":"192.0.2.1:2055/0","protocol":"ipfix","id":256,
 *                  "fields":[[0,8,4],[0,12,4],...],      <- [PEN, element id, length] as announced
 *                  "scope_count":0,"options":false,"last_used":1763799990000}, ...],
 *    "options":[{"session":"192.0.2.1:2055/0","protocol":"ipfix","last_used":1763799990000,
 *                "system_init_time":1763000000000,"sampling_rate":100,   <- each member optional
 *                "interfaces":[[ifIndex,"name"|null,"description"|null],...],
 *                "applications":[["01000050","http"|null,"description"|null],...],  <- id as hex
 *                "vrfs":[[id,"name"],...],"samplers":[[samplerId,rate],...],
 *                "selectors":[[selectorId,rate],...]}, ...]}
 *
 * `options` (R6 state, what options data said per session) is optional: files written before it,
 * or with no options state, have none and load as before, and a reader that does not know it
 * ignores it.
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

/** A session's options state (R6) as it is kept on disk; absent members are not known. */
export interface CachedOptionsState {
  /** The session key ("ip:port/domain", or "domain" with share_templates). */
  readonly session: string;
  readonly protocol: 'v9' | 'ipfix';
  /** When options data last stated something, ms since the epoch. */
  readonly lastUsedMs: number;
  /** `systemInitTimeMilliseconds` (160), ms since the epoch. */
  readonly systemInitTimeMs?: number;
  /** The session-wide sampling rate. */
  readonly samplingRate?: number;
  /** By ifIndex: `interfaceName` (82), `interfaceDescription` (83). */
  readonly interfaces?: readonly CachedNames<number>[];
  /** By `applicationId` (95) bytes as lower-case hex: `applicationName` (96), `...Description` (94). */
  readonly applications?: readonly CachedNames<string>[];
  /** `VRFname` (236) by VRF id. */
  readonly vrfs?: readonly { readonly id: number; readonly name: string }[];
  /** Sampling rate by `samplerId` (48). */
  readonly samplers?: readonly CachedRate[];
  /** Sampling rate by `selectorId` (302). */
  readonly selectors?: readonly CachedRate[];
}

export interface CachedNames<Id> {
  readonly id: Id;
  readonly name?: string;
  readonly description?: string;
}

export interface CachedRate {
  readonly id: number;
  readonly rate: number;
}

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
  /** At most this many options states are loaded (the most recently used first); default 131072. */
  readonly maxOptionsStates?: number;
}

export interface LoadResult {
  readonly templates: CachedTemplate[];
  /** Entries dropped because they were idle too long. */
  readonly expired: number;
  /** Entries dropped because they were not well-formed, or beyond `maxTemplates`. */
  readonly invalid: number;
  /** Why the whole file was ignored, when it was (undefined: loaded, or there was none). */
  readonly ignored?: string;
  /**
   * The sessions' options state (R6), when the file has any (absent in files written before
   * it). Its dropped entries count in `expired` and `invalid` too.
   */
  readonly optionsState?: CachedOptionsState[];
}

const VERSION = 1;
/** The most fields a template can announce (a 16-bit count). */
const MAX_FIELDS = 65_535;
/** Two tables (v9, IPFIX) of the default 65,536 sessions. */
const DEFAULT_MAX_OPTIONS_STATES = 131_072;
/** Keys read per options table; the decoder's own bound (4,096 by default) applies on import. */
const MAX_OPTIONS_ENTRIES = 65_536;
/** Longest text read; the decoder cuts names at 255 characters on import anyway. */
const MAX_TEXT = 4_096;

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

const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT;

/** `[id, name|null, description|null]` rows, or undefined when one is not well-formed. */
function parseNames<Id>(raw: unknown, isId: (id: unknown) => id is Id): CachedNames<Id>[] | undefined {
  if (!Array.isArray(raw) || raw.length > MAX_OPTIONS_ENTRIES) return undefined;
  const out: CachedNames<Id>[] = [];
  for (const row of raw) {
    if (!Array.isArray(row) || row.length !== 3 || !isId(row[0])) return undefined;
    const [id, name, description] = row as [Id, unknown, unknown];
    if ((name !== null && !isText(name)) || (description !== null && !isText(description))) return undefined;
    if (name === null && description === null) return undefined;
    const entry: { id: Id; name?: string; description?: string } = { id };
    if (name !== null) entry.name = name;
    if (description !== null) entry.description = description;
    out.push(entry);
  }
  return out;
}

/** `[id, rate]` rows, or undefined when one is not well-formed. */
function parseRates(raw: unknown): CachedRate[] | undefined {
  if (!Array.isArray(raw) || raw.length > MAX_OPTIONS_ENTRIES) return undefined;
  const out: CachedRate[] = [];
  for (const row of raw) {
    if (!Array.isArray(row) || row.length !== 2) return undefined;
    const [id, rate] = row as unknown[];
    if (!isUint(id, Number.MAX_SAFE_INTEGER) || !isUint(rate, Number.MAX_SAFE_INTEGER) || rate === 0) {
      return undefined;
    }
    out.push({ id, rate });
  }
  return out;
}

const isIndex = (value: unknown): value is number => isUint(value, Number.MAX_SAFE_INTEGER);
const isHex = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 64 && /^(?:[0-9a-f]{2})+$/.test(value);

/** One options state from the file, or undefined when it is not well-formed. */
function parseOptionsEntry(raw: unknown): CachedOptionsState | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.session !== 'string' || e.session.length === 0 || e.session.length > 512) return undefined;
  if (e.protocol !== 'v9' && e.protocol !== 'ipfix') return undefined;
  if (!isUint(e.last_used, Number.MAX_SAFE_INTEGER)) return undefined;
  const out: { -readonly [K in keyof CachedOptionsState]: CachedOptionsState[K] } = {
    session: e.session,
    protocol: e.protocol,
    lastUsedMs: e.last_used,
  };
  if (e.system_init_time !== undefined) {
    if (!isUint(e.system_init_time, Number.MAX_SAFE_INTEGER)) return undefined;
    out.systemInitTimeMs = e.system_init_time;
  }
  if (e.sampling_rate !== undefined) {
    if (!isUint(e.sampling_rate, Number.MAX_SAFE_INTEGER) || e.sampling_rate === 0) return undefined;
    out.samplingRate = e.sampling_rate;
  }
  if (e.interfaces !== undefined) {
    const interfaces = parseNames(e.interfaces, isIndex);
    if (interfaces === undefined) return undefined;
    out.interfaces = interfaces;
  }
  if (e.applications !== undefined) {
    const applications = parseNames(e.applications, isHex);
    if (applications === undefined) return undefined;
    out.applications = applications;
  }
  if (e.vrfs !== undefined) {
    if (!Array.isArray(e.vrfs) || e.vrfs.length > MAX_OPTIONS_ENTRIES) return undefined;
    const vrfs: { id: number; name: string }[] = [];
    for (const row of e.vrfs) {
      if (!Array.isArray(row) || row.length !== 2 || !isIndex(row[0]) || !isText(row[1])) return undefined;
      vrfs.push({ id: row[0], name: row[1] });
    }
    out.vrfs = vrfs;
  }
  for (const table of ['samplers', 'selectors'] as const) {
    if (e[table] === undefined) continue;
    const rates = parseRates(e[table]);
    if (rates === undefined) return undefined;
    out[table] = rates;
  }
  return out;
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
  if (!Array.isArray(file.options)) return { templates: kept, expired, invalid };
  const states: CachedOptionsState[] = [];
  for (const raw of file.options) {
    const entry = parseOptionsEntry(raw);
    if (entry === undefined) invalid++;
    else if (options.expirationMs > 0 && options.now - entry.lastUsedMs > options.expirationMs) expired++;
    else states.push(entry);
  }
  states.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
  const maxStates = options.maxOptionsStates ?? DEFAULT_MAX_OPTIONS_STATES;
  if (states.length > maxStates) {
    invalid += states.length - maxStates;
    states.length = maxStates;
  }
  return { templates: kept, expired, invalid, optionsState: states };
}

/** One options state as a line of the file (snake_case members, rows as arrays). */
function serializeOptionsState(e: CachedOptionsState): string {
  const out: Record<string, unknown> = { session: e.session, protocol: e.protocol, last_used: e.lastUsedMs };
  if (e.systemInitTimeMs !== undefined) out.system_init_time = e.systemInitTimeMs;
  if (e.samplingRate !== undefined) out.sampling_rate = e.samplingRate;
  if (e.interfaces !== undefined) {
    out.interfaces = e.interfaces.map((n) => [n.id, n.name ?? null, n.description ?? null]);
  }
  if (e.applications !== undefined) {
    out.applications = e.applications.map((n) => [n.id, n.name ?? null, n.description ?? null]);
  }
  if (e.vrfs !== undefined) out.vrfs = e.vrfs.map((v) => [v.id, v.name]);
  if (e.samplers !== undefined) out.samplers = e.samplers.map((r) => [r.id, r.rate]);
  if (e.selectors !== undefined) out.selectors = e.selectors.map((r) => [r.id, r.rate]);
  return JSON.stringify(out);
}

/** What a cache file is written with besides its templates. */
export interface SaveOptions {
  /** The input's `share_templates`, recorded so that a load with the other value ignores the file. */
  readonly shareTemplates: boolean;
  /** Now, in ms since the epoch (`saved_at`). */
  readonly now: number;
  /** The sessions' options state (R6, NetflowDecoder.exportOptionsState); none when omitted. */
  readonly optionsState?: readonly CachedOptionsState[];
}

/**
 * The file's text for `templates` (stable key order, one template or options state per line for
 * a reader). The `options` member is written only when there is options state.
 */
export function serializeTemplateCache(templates: readonly CachedTemplate[], options: SaveOptions): string {
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
  const head = `{"version":${VERSION},"share_templates":${options.shareTemplates},"saved_at":${options.now}`;
  const states = options.optionsState ?? [];
  const tail = states.length === 0 ? '' : `,"options":[\n${states.map(serializeOptionsState).join(',\n')}\n]`;
  return `${head},"templates":[\n${lines.join(',\n')}\n]${tail}}\n`;
}

/** Writes the cache atomically. */
export async function saveTemplateCache(
  path: string,
  templates: readonly CachedTemplate[],
  options: SaveOptions,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, serializeTemplateCache(templates, options));
}
