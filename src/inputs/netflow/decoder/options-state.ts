/**
 * Options state (NETFLOW.md 6, R6 with R2 and R3): what a v9/IPFIX session's options data say
 * about its exporter, kept so that the session's flows can name their interfaces and application,
 * carry their sampling rate, and place sysUpTime-relative times in absolute time.
 *
 *   Session (session.ts)
 *     └─ OptionsState     created with the first fact learned; dropped with its session
 *                         (expiry, eviction, sequence reset)
 *          interfaces     ifIndex (10, 14; v9 Interface scope)  -> {name 82, description 83}
 *          applications   applicationId bytes (95)              -> {name 96, description 94}
 *          vrfs           VRF id (234, 235)                     -> name (236)
 *          samplers       samplerId (48)                        -> rate
 *          selectors      selectorId (302)                      -> rate
 *          samplingRate       session-wide: a rate in a record with no sampler or selector id
 *          systemInitTimeMs   systemInitTimeMilliseconds (160)
 *
 * rate = (samplingPacketInterval 305 + samplingPacketSpace 306) / 305, else samplingInterval (34),
 * else samplerRandomInterval (50): the precedence the ECS side applies to a flow's own elements.
 *
 * What a record states is read from the IANA ids of its template's fields (pen 0), never from the
 * dictionary's names, which custom definitions may change, and the values from the record's bytes:
 * Cisco sends samplerId (an unsigned8 in the registry) in 2 or 4 bytes, which the document drops
 * (NETFLOW.md 3.4) but which must still key the sampler table. The key may be a scope field or an
 * option field: IOS-XR sends System scope with `ingressInterface` among the options, IPFIX
 * exporters scope by `ingressInterface`, NBAR by System with `applicationId` among the options.
 *
 * An exporter, or anyone spoofing one, fills these tables at will. Bounds: `maxEntriesPerTable`
 * keys per table per session; texts cut at MAX_TEXT_LENGTH characters; one byte budget for every
 * state of a decoder (estimated, overhead included). A new key beyond them, or a change that would
 * exceed the budget, is refused and counted (`optionsEntriesRejected`); changes to known keys
 * within the budget apply.
 */
import type { CachedOptionsState } from '../template-cache.ts';
import type { DecoderStats } from './session.ts';
import type { FieldSpec } from './template.ts';
import type { OptionsNames, SessionOptionsView } from './types.ts';
import { readerFor, VARIABLE_LENGTH } from './values.ts';

export interface OptionsLimits {
  /** Keys per table (interfaces, applications, VRFs, samplers, selectors) per session. */
  readonly maxEntriesPerTable: number;
  /** Estimated bytes of the options state of all sessions of a decoder together. */
  readonly maxBytes: number;
}

export const DEFAULT_OPTIONS_LIMITS: OptionsLimits = {
  maxEntriesPerTable: 4_096,
  maxBytes: 16 * 1024 * 1024,
};

/**
 * Longest name or description kept, in UTF-16 code units: SNMP's DisplayString (ifName, ifDescr)
 * is at most 255 octets, ifAlias 64; longer texts are cut there.
 */
export const MAX_TEXT_LENGTH = 255;
/** Longest `applicationId` kept as a key (NBAR: 4 bytes; RFC 6759 allows a few more). */
export const MAX_APPLICATION_ID_BYTES = 32;
/** Estimated heap bytes of a table entry beyond its texts: map slot, key, value object. */
export const OPTIONS_ENTRY_OVERHEAD = 96;
/** Estimated heap bytes of a session's state before any entry: the object and its maps. */
export const OPTIONS_STATE_OVERHEAD = 320;

/** The facts an options record's field can state; indexes into a record's values. */
const ROLE = {
  ifIndex: 0,
  ifName: 1,
  ifDescription: 2,
  appId: 3,
  appName: 4,
  appDescription: 5,
  vrfId: 6,
  vrfName: 7,
  samplerId: 8,
  selectorId: 9,
  samplingInterval: 10,
  randomInterval: 11,
  packetInterval: 12,
  packetSpace: 13,
  initTime: 14,
} as const;
const ROLE_COUNT = 15;
/** A field that states nothing the options state keeps. */
const NO_ROLE = -1;

/** IANA element id (pen 0) -> role, in a scope or an option field alike. */
const ELEMENT_ROLES: ReadonlyMap<number, number> = new Map([
  [10, ROLE.ifIndex], // ingressInterface
  [14, ROLE.ifIndex], // egressInterface
  [82, ROLE.ifName], // interfaceName
  [83, ROLE.ifDescription], // interfaceDescription
  [95, ROLE.appId], // applicationId
  [96, ROLE.appName], // applicationName
  [94, ROLE.appDescription], // applicationDescription
  [234, ROLE.vrfId], // ingressVRFID
  [235, ROLE.vrfId], // egressVRFID
  [236, ROLE.vrfName], // VRFname
  [48, ROLE.samplerId], // samplerId
  [302, ROLE.selectorId], // selectorId
  [34, ROLE.samplingInterval], // samplingInterval
  [50, ROLE.randomInterval], // samplerRandomInterval
  [305, ROLE.packetInterval], // samplingPacketInterval
  [306, ROLE.packetSpace], // samplingPacketSpace
  [160, ROLE.initTime], // systemInitTimeMilliseconds
]);

/** Roles that state something by themselves or with a key; a plan needs one of them. */
const VALUE_ROLES: ReadonlySet<number> = new Set([
  ROLE.ifName,
  ROLE.ifDescription,
  ROLE.appName,
  ROLE.appDescription,
  ROLE.vrfName,
  ROLE.samplingInterval,
  ROLE.randomInterval,
  ROLE.packetInterval,
  ROLE.initTime,
]);

/**
 * v9 scope field types (RFC 3954 §6.1): 1 System, 2 Interface, 3 Line Card, 4 Cache, 5 Template.
 * Interface's value is an ifIndex; the others scope to the whole exporter (or a part it does not
 * name in flows), so their records set session-wide values.
 */
const V9_SCOPE_INTERFACE = 2;
const V9_SCOPE_TYPES_END = 6;

interface PlanStep {
  /** Bytes the step takes (VARIABLE_LENGTH: an RFC 7011 §7 length prefix says). */
  readonly length: number;
  readonly role: number;
}

/**
 * How to read what an options template's records state: the fields in order, consecutive
 * fixed-length fields that state nothing merged into one skip, zero-length ones dropped. Walking it
 * costs a step per stating or variable-length field, whatever the template's field count.
 */
export interface OptionsPlan {
  readonly steps: readonly PlanStep[];
}

/**
 * The plan of an options template, or undefined when its records state nothing kept here.
 * `v9Scopes`: scope fields are v9 scope types (RFC 3954 §6.1), not information elements.
 */
export function compileOptionsPlan(
  fields: readonly FieldSpec[],
  scopeCount: number,
  v9Scopes: boolean,
): OptionsPlan | undefined {
  const steps: PlanStep[] = [];
  let skip = 0;
  let states = false;
  fields.forEach((spec, i) => {
    let role: number = NO_ROLE;
    if (spec.pen === 0) {
      if (v9Scopes && i < scopeCount && spec.id < V9_SCOPE_TYPES_END) {
        if (spec.id === V9_SCOPE_INTERFACE) role = ROLE.ifIndex;
      } else {
        role = ELEMENT_ROLES.get(spec.id) ?? NO_ROLE;
      }
    }
    if (role === NO_ROLE && spec.length !== VARIABLE_LENGTH) {
      skip += spec.length;
      return;
    }
    if (spec.length === 0) return;
    if (skip > 0) steps.push({ length: skip, role: NO_ROLE });
    skip = 0;
    steps.push({ length: spec.length, role });
    if (VALUE_ROLES.has(role)) states = true;
  });
  return states ? { steps } : undefined;
}

/**
 * Where `samplerId` (48) sits in the records of a data template: [offset, length], when every
 * field before it has a fixed length and it is 1-6 bytes, else undefined (the sampler table is
 * then not consulted for the template's flows, only the session-wide rate).
 */
export function samplerIdPosition(fields: readonly FieldSpec[]): readonly [number, number] | undefined {
  let offset = 0;
  for (const spec of fields) {
    if (spec.pen === 0 && spec.id === 48) {
      return spec.length >= 1 && spec.length <= 6 ? [offset, spec.length] : undefined;
    }
    if (spec.length === VARIABLE_LENGTH) return undefined;
    offset += spec.length;
  }
  return undefined;
}

const TWO_32 = 2 ** 32;
const TWO_48 = 2 ** 48;

/** An unsigned integer of 1-8 bytes, when below 2^53. */
function readUint(buf: Buffer, off: number, len: number): number | undefined {
  if (len < 1 || len > 8) return undefined;
  if (len <= 6) return buf.readUIntBE(off, len);
  const hi = buf.readUIntBE(off, len - 4);
  return hi < 0x20_0000 ? hi * TWO_32 + buf.readUInt32BE(off + len - 4) : undefined;
}

const readString = readerFor('string', VARIABLE_LENGTH)!;

/** A name or description: UTF-8 as documents render it, cut at MAX_TEXT_LENGTH; empty = none. */
function readText(buf: Buffer, off: number, len: number): string | undefined {
  const text = readString(buf, off, len) as string;
  if (text.length === 0) return undefined;
  return text.length > MAX_TEXT_LENGTH ? text.slice(0, MAX_TEXT_LENGTH) : text;
}

/**
 * A Map key for an `applicationId`'s bytes (from a record or the document's array): a number for
 * up to 6 bytes, tagged with the length so that `00 01` and `01` differ, else lower-case hex.
 */
export function applicationKey(
  bytes: ArrayLike<number>,
  start: number,
  length: number,
): number | string | undefined {
  if (length < 1 || length > MAX_APPLICATION_ID_BYTES) return undefined;
  if (length <= 6) {
    let value = 0;
    for (let i = 0; i < length; i++) value = value * 256 + bytes[start + i];
    return length * TWO_48 + value;
  }
  let hex = '';
  for (let i = 0; i < length; i++) hex += bytes[start + i].toString(16).padStart(2, '0');
  return hex;
}

/** The bytes of an application key as lower-case hex (the cache's form). */
function applicationHex(key: number | string): string {
  if (typeof key === 'string') return key;
  const length = Math.floor(key / TWO_48);
  return (key - length * TWO_48).toString(16).padStart(2 * length, '0');
}

/** The key of an application id given as hex, or undefined when it is not one. */
function applicationKeyFromHex(hex: string): number | string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/.test(hex)) return undefined;
  return applicationKey(Buffer.from(hex, 'hex'), 0, hex.length / 2);
}

/** A value an options record states: an integer, a text, or an application key. */
export type OptionsValue = number | string | undefined;

/** A role's value from a field's bytes, or undefined when it holds none usable. */
function readRole(role: number, buf: Buffer, off: number, len: number): OptionsValue {
  switch (role) {
    case ROLE.ifName:
    case ROLE.ifDescription:
    case ROLE.appName:
    case ROLE.appDescription:
    case ROLE.vrfName:
      return readText(buf, off, len);
    case ROLE.appId:
      return applicationKey(buf, off, len);
    case ROLE.initTime: {
      // dateTimeMilliseconds is 8 bytes (RFC 7011 §6.1.9)
      const ms = len === 8 ? readUint(buf, off, len) : undefined;
      return ms !== undefined && ms > 0 ? ms : undefined;
    }
    default:
      return readUint(buf, off, len);
  }
}

/**
 * The values an options record states, by role (first field of a role wins), read from its bytes
 * `[start, end)`; undefined when the record ends before its plan (never for a record the template
 * decoded).
 */
export function readOptionsRecord(
  plan: OptionsPlan,
  buf: Buffer,
  start: number,
  end: number,
): OptionsValue[] | undefined {
  const values: OptionsValue[] = new Array(ROLE_COUNT);
  let off = start;
  for (const step of plan.steps) {
    let len = step.length;
    if (len === VARIABLE_LENGTH) {
      if (off >= end) return undefined;
      len = buf[off++];
      if (len === 255) {
        if (off + 2 > end) return undefined;
        len = buf.readUInt16BE(off);
        off += 2;
      }
    }
    if (off + len > end) return undefined;
    if (step.role !== NO_ROLE && values[step.role] === undefined) {
      values[step.role] = readRole(step.role, buf, off, len);
    }
    off += len;
  }
  return values;
}

function positive(value: OptionsValue): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/**
 * A sampling rate (packets per sampled packet, 1 = unsampled) from the sampling elements, first
 * found wins: samplingPacketInterval (305) with samplingPacketSpace (306) as
 * (interval + space) / interval (RFC 5477), samplingInterval (34), samplerRandomInterval (50).
 */
export function rateOf(
  packetInterval: number | undefined,
  packetSpace: number | undefined,
  samplingInterval: number | undefined,
  randomInterval: number | undefined,
): number | undefined {
  if (packetInterval !== undefined && packetInterval > 0 && packetSpace !== undefined && packetSpace >= 0) {
    return Math.round((packetInterval + packetSpace) / packetInterval);
  }
  if (samplingInterval !== undefined && samplingInterval > 0) return samplingInterval;
  if (randomInterval !== undefined && randomInterval > 0) return randomInterval;
  return undefined;
}

function recordRate(values: OptionsValue[]): number | undefined {
  const space = values[ROLE.packetSpace];
  return rateOf(
    positive(values[ROLE.packetInterval]),
    typeof space === 'number' ? space : undefined,
    positive(values[ROLE.samplingInterval]),
    positive(values[ROLE.randomInterval]),
  );
}

/** Whether an options record's values state anything the options state keeps. */
export function statesSomething(values: OptionsValue[]): boolean {
  const names = (a: number, b: number) => values[a] !== undefined || values[b] !== undefined;
  return (
    (values[ROLE.ifIndex] !== undefined && names(ROLE.ifName, ROLE.ifDescription)) ||
    (values[ROLE.appId] !== undefined && names(ROLE.appName, ROLE.appDescription)) ||
    (values[ROLE.vrfId] !== undefined && values[ROLE.vrfName] !== undefined) ||
    values[ROLE.initTime] !== undefined ||
    recordRate(values) !== undefined
  );
}

const textBytes = (text: string | undefined): number => (text === undefined ? 0 : 2 * text.length);
const namesBytes = (n: OptionsNames): number =>
  OPTIONS_ENTRY_OVERHEAD + textBytes(n.name) + textBytes(n.description);
const nameBytes = (name: string): number => OPTIONS_ENTRY_OVERHEAD + textBytes(name);
const rateBytes = (): number => OPTIONS_ENTRY_OVERHEAD;
const sameNames = (a: OptionsNames, b: OptionsNames): boolean =>
  a.name === b.name && a.description === b.description;
const same = <V>(a: V, b: V): boolean => a === b;

/** Names merged: what the record states replaces, what it leaves out stays. */
function mergeNames(
  old: OptionsNames | undefined,
  name: OptionsValue,
  description: OptionsValue,
): OptionsNames {
  return {
    name: typeof name === 'string' ? name : old?.name,
    description: typeof description === 'string' ? description : old?.description,
  };
}

/** What the states of one decoder share: their bounds and the counters the budget lives in. */
export interface OptionsContext {
  readonly limits: OptionsLimits;
  readonly stats: DecoderStats;
}

/** One session's options state; see the file comment. */
export class OptionsState implements SessionOptionsView {
  systemInitTimeMs: number | undefined = undefined;
  samplingRate: number | undefined = undefined;
  /** When options data last stated something (changed or not), ms since the epoch (R4: persisted). */
  lastUsedMs: number;
  private interfaces: Map<number, OptionsNames> | undefined = undefined;
  private applications: Map<number | string, OptionsNames> | undefined = undefined;
  private vrfs: Map<number, string> | undefined = undefined;
  private samplers: Map<number, number> | undefined = undefined;
  private selectors: Map<number, number> | undefined = undefined;
  private readonly ctx: OptionsContext;
  /** Estimated bytes held, overhead included: given back to the budget on release. */
  private bytes = OPTIONS_STATE_OVERHEAD;
  private entries = 0;
  private released = false;

  private constructor(ctx: OptionsContext, nowMs: number) {
    this.ctx = ctx;
    this.lastUsedMs = nowMs;
    ctx.stats.optionsBytes += OPTIONS_STATE_OVERHEAD;
  }

  /** A new, empty state, or undefined (counted as a refusal) when the budget has no room for it. */
  static create(ctx: OptionsContext, nowMs: number): OptionsState | undefined {
    if (ctx.stats.optionsBytes + OPTIONS_STATE_OVERHEAD > ctx.limits.maxBytes) {
      ctx.stats.optionsEntriesRejected++;
      return undefined;
    }
    return new OptionsState(ctx, nowMs);
  }

  interfaceNames(ifIndex: number): OptionsNames | undefined {
    return this.interfaces?.get(ifIndex);
  }

  applicationNames(id: readonly number[]): OptionsNames | undefined {
    if (this.applications === undefined) return undefined;
    const key = applicationKey(id, 0, id.length);
    return key === undefined ? undefined : this.applications.get(key);
  }

  vrfName(id: number): string | undefined {
    return this.vrfs?.get(id);
  }

  samplerRate(samplerId: number): number | undefined {
    return this.samplers?.get(samplerId);
  }

  selectorRate(selectorId: number): number | undefined {
    return this.selectors?.get(selectorId);
  }

  /** Keys held in all tables. */
  get size(): number {
    return this.entries;
  }

  /**
   * Learns what an options record states (values from readOptionsRecord). A rate goes to the
   * record's sampler (samplerId, else selectorId), else to the session. Returns whether anything
   * changed.
   */
  learn(values: OptionsValue[], nowMs: number): boolean {
    this.lastUsedMs = nowMs;
    let changed = false;
    const ifIndex = values[ROLE.ifIndex];
    const ifName = values[ROLE.ifName];
    const ifDescription = values[ROLE.ifDescription];
    if (typeof ifIndex === 'number' && (ifName !== undefined || ifDescription !== undefined)) {
      this.interfaces ??= new Map();
      const names = mergeNames(this.interfaces.get(ifIndex), ifName, ifDescription);
      changed = this.put(this.interfaces, ifIndex, names, namesBytes, sameNames) || changed;
    }
    const appId = values[ROLE.appId];
    const appName = values[ROLE.appName];
    const appDescription = values[ROLE.appDescription];
    if (appId !== undefined && (appName !== undefined || appDescription !== undefined)) {
      this.applications ??= new Map();
      const names = mergeNames(this.applications.get(appId), appName, appDescription);
      changed = this.put(this.applications, appId, names, namesBytes, sameNames) || changed;
    }
    const vrfId = values[ROLE.vrfId];
    const vrfName = values[ROLE.vrfName];
    if (typeof vrfId === 'number' && typeof vrfName === 'string') {
      this.vrfs ??= new Map();
      changed = this.put(this.vrfs, vrfId, vrfName, nameBytes, same) || changed;
    }
    const rate = recordRate(values);
    if (rate !== undefined) {
      const samplerId = values[ROLE.samplerId];
      const selectorId = values[ROLE.selectorId];
      if (typeof samplerId === 'number') {
        this.samplers ??= new Map();
        changed = this.put(this.samplers, samplerId, rate, rateBytes, same) || changed;
      } else if (typeof selectorId === 'number') {
        this.selectors ??= new Map();
        changed = this.put(this.selectors, selectorId, rate, rateBytes, same) || changed;
      } else if (this.samplingRate !== rate) {
        this.samplingRate = rate;
        changed = true;
      }
    }
    const init = values[ROLE.initTime];
    if (typeof init === 'number' && this.systemInitTimeMs !== init) {
      this.systemInitTimeMs = init;
      changed = true;
    }
    return changed;
  }

  /**
   * Sets `key` in `table` unless it holds an equal value. A new key beyond the per-table cap, or
   * a value that would take the decoder's states beyond the byte budget, is refused and counted.
   */
  private put<K, V>(
    table: Map<K, V>,
    key: K,
    value: V,
    size: (v: V) => number,
    equal: (a: V, b: V) => boolean,
  ): boolean {
    const old = table.get(key);
    if (old !== undefined && equal(old, value)) return false;
    const { limits, stats } = this.ctx;
    const grow = size(value) - (old === undefined ? 0 : size(old));
    if (
      (old === undefined && table.size >= limits.maxEntriesPerTable) ||
      (grow > 0 && stats.optionsBytes + grow > limits.maxBytes)
    ) {
      stats.optionsEntriesRejected++;
      return false;
    }
    table.set(key, value);
    this.bytes += grow;
    stats.optionsBytes += grow;
    if (old === undefined) {
      this.entries++;
      stats.optionsEntries++;
    }
    return true;
  }

  /**
   * Gives the state's bytes and entries back to the budget: its session is gone. Records already
   * decoded keep reading it; nothing learns into it any more.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.ctx.stats.optionsBytes -= this.bytes;
    this.ctx.stats.optionsEntries -= this.entries;
  }

  /** The state as plain data, for the template cache (R4). */
  toCached(session: string, protocol: 'v9' | 'ipfix'): CachedOptionsState {
    const out: {
      -readonly [K in keyof CachedOptionsState]: CachedOptionsState[K];
    } = { session, protocol, lastUsedMs: this.lastUsedMs };
    if (this.systemInitTimeMs !== undefined) out.systemInitTimeMs = this.systemInitTimeMs;
    if (this.samplingRate !== undefined) out.samplingRate = this.samplingRate;
    if (this.interfaces !== undefined) {
      out.interfaces = [...this.interfaces].map(([id, n]) => ({ id, ...definedNames(n) }));
    }
    if (this.applications !== undefined) {
      out.applications = [...this.applications].map(([key, n]) => ({
        id: applicationHex(key),
        ...definedNames(n),
      }));
    }
    if (this.vrfs !== undefined) out.vrfs = [...this.vrfs].map(([id, name]) => ({ id, name }));
    if (this.samplers !== undefined) out.samplers = [...this.samplers].map(([id, rate]) => ({ id, rate }));
    if (this.selectors !== undefined) out.selectors = [...this.selectors].map(([id, rate]) => ({ id, rate }));
    return out;
  }

  /**
   * A state from the template cache (R4), within the bounds (entries beyond them are refused and
   * counted, as on the wire; texts are cut alike). Undefined when the budget has no room at all.
   */
  static fromCached(ctx: OptionsContext, entry: CachedOptionsState): OptionsState | undefined {
    const state = OptionsState.create(ctx, entry.lastUsedMs);
    if (state === undefined) return undefined;
    if (isPositiveInteger(entry.systemInitTimeMs)) state.systemInitTimeMs = entry.systemInitTimeMs;
    if (isPositiveInteger(entry.samplingRate)) state.samplingRate = entry.samplingRate;
    for (const { id, name, description } of entry.interfaces ?? []) {
      const names = cachedNames(name, description);
      if (names === undefined || !isUint(id)) continue;
      state.interfaces ??= new Map();
      state.put(state.interfaces, id, names, namesBytes, sameNames);
    }
    for (const { id, name, description } of entry.applications ?? []) {
      const names = cachedNames(name, description);
      const key = typeof id === 'string' ? applicationKeyFromHex(id) : undefined;
      if (names === undefined || key === undefined) continue;
      state.applications ??= new Map();
      state.put(state.applications, key, names, namesBytes, sameNames);
    }
    for (const { id, name } of entry.vrfs ?? []) {
      const text = cut(name);
      if (text === undefined || !isUint(id)) continue;
      state.vrfs ??= new Map();
      state.put(state.vrfs, id, text, nameBytes, same);
    }
    for (const { id, rate } of entry.samplers ?? []) {
      if (!isUint(id) || !isPositiveInteger(rate)) continue;
      state.samplers ??= new Map();
      state.put(state.samplers, id, rate, rateBytes, same);
    }
    for (const { id, rate } of entry.selectors ?? []) {
      if (!isUint(id) || !isPositiveInteger(rate)) continue;
      state.selectors ??= new Map();
      state.put(state.selectors, id, rate, rateBytes, same);
    }
    return state;
  }
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPositiveInteger(value: unknown): value is number {
  return isUint(value) && value > 0;
}

function cut(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  return text.length > MAX_TEXT_LENGTH ? text.slice(0, MAX_TEXT_LENGTH) : text;
}

function cachedNames(name: unknown, description: unknown): OptionsNames | undefined {
  const n = cut(name);
  const d = cut(description);
  return n === undefined && d === undefined ? undefined : { name: n, description: d };
}

/** Names without their absent members (the cache writes no nulls for them). */
function definedNames(n: OptionsNames): { name?: string; description?: string } {
  const out: { name?: string; description?: string } = {};
  if (n.name !== undefined) out.name = n.name;
  if (n.description !== undefined) out.description = n.description;
  return out;
}
