/**
 * GoFlow2 JSON line -> the ECS document the Elastic `goflow2` integration indexes (GOFLOW2.md 2):
 * the fields Elastic Agent adds (2.1, 2.7), then the integration's ingest pipeline replayed step
 * by step with the same tags (2.2), including its failure documents (2.5). flowship bulks the
 * result with `pipeline=_none`.
 *
 *   line ──scanJson──► parts ({A}{B} split, 2.6.3) ──► agent fields ──► steps 1..50 ──► document
 *                                                                        └─ failure: error.message,
 *                                                                           state as at that step
 *
 * Emulated Elasticsearch/Java semantics, where GoFlow2 output could meet them: Jackson parses
 * strictly and rejects duplicate keys; Painless divides and multiplies `Integer`/`Long` as
 * integers and `Double` as doubles and refuses anything else (`BigInteger` included); `convert`
 * maps over lists and prints with Java's `toString`; `lowercase` accepts strings and lists of
 * strings only. Deliberate departures (2.6): exact `bytes * sampling_rate` (dropped and counted
 * beyond 64 bits), concatenated objects split, and our own wording after `failed with message`.
 *
 * Pure apart from the injected clock: read time for `@timestamp` of failure documents, and the
 * processing time that `event.timezone` describes.
 *
 * The steps and their tags follow the ingest pipeline of elastic/integrations
 * `packages/goflow2/data_stream/sflow/elasticsearch/ingest_pipeline/default.yml` (Elastic License
 * 2.0), as GOFLOW2.md specifies it; reimplemented, no code copied.
 */

import { hostname as osHostname } from 'node:os';
import type { Clock } from '../pipeline/clock.ts';
import type { DataStream, EcsDocument } from '../pipeline/event.ts';
import { ConfigError } from '../util/errors.ts';
import { applyCommonFields, type CommonFields, commonFields } from './common-fields.ts';
import { type DirectLayout, DirectMapper } from './goflow2-direct.ts';
import {
  exactInteger,
  isFloatLiteral,
  isRawJson,
  type JsonSpan,
  MAX_NESTING_DEPTH,
  parseJson,
  scanJson,
} from './goflow2-json.ts';
import { isInetAddress } from './ip.ts';

export const GOFLOW2_DATASET = 'goflow2.sflow';
/** ECS version stamped at step 4 (the 0.2.0 fixtures have 8.16.0; 0.6.0 and later 8.17.0). */
export const GOFLOW2_ECS_VERSION = '8.17.0';
/** Package version named in `error.message` (`logs-goflow2.sflow-<version>`). */
export const GOFLOW2_PACKAGE_VERSION = '0.7.0';
export const PRESERVE_ORIGINAL_EVENT = 'preserve_original_event';

/** Where a line came from: the agent-side `input.type` and `log.*` fields. */
export interface LineMeta {
  readonly input: 'filestream' | 'stdin';
  /** `log.file.path` (filestream only). */
  readonly path?: string;
  /** Byte offset of the line start in the file; `log.offset` adds the part's position. */
  readonly offset?: number;
  /** `log.file.device_id` and `log.file.inode`: decimal strings from `stat(…, {bigint: true})`. */
  readonly device_id?: string;
  readonly inode?: string;
  /** `log.file.fingerprint`: flowship's identity fingerprint (TAILER.md 3). */
  readonly fingerprint?: string;
}

/** One document made from a line. */
export class Goflow2Document {
  /** The document as JSON text, what outputs write; integers beyond 2^53 are exact. */
  readonly json: string;
  /** Index of the object within its line (0-based); 0 for a line that was not split. */
  readonly part: number;
  /** UTF-8 byte position of the part within the line; `log.offset` = line offset + this. */
  readonly offsetDelta: number;
  /** Tag of the pipeline step that failed; the document then carries `error.message`. */
  readonly failedTag: string | undefined;
  #doc: EcsDocument | undefined;

  constructor(json: string, part = 0, offsetDelta = 0, failedTag?: string, doc?: EcsDocument) {
    this.json = json;
    this.part = part;
    this.offsetDelta = offsetDelta;
    this.failedTag = failedTag;
    this.#doc = doc;
  }

  /**
   * The document as data (parsed from {@link json} on first use when the fast path made it):
   * integers beyond 2^53 are `JSON.rawJSON` values.
   */
  get doc(): EcsDocument {
    this.#doc ??= parseJson(this.json) as EcsDocument;
    return this.#doc;
  }
}

/** Counters, read by the input for its metrics. */
export interface Goflow2Stats {
  /** Failure documents by the tag of the failing step (`goflow2_pipeline_failures_total{tag}`). */
  readonly failures: Record<string, number>;
  /** `bytes * sampling_rate` beyond the signed 64-bit range: `network.bytes` dropped (2.6.1). */
  overflow: number;
  /** Lines of several concatenated objects that were split (2.6.3). */
  splitLines: number;
  /** Lines written by the direct path (goflow2-direct.ts) rather than step by step. */
  directLines: number;
}

/** The agent-side `agent.*` fields; `agent.type` is always `flowship`. */
export interface Goflow2Agent {
  /** Default: the host name. */
  readonly name?: string;
  readonly version?: string;
  /** UUID kept in `path.data`. */
  readonly id?: string;
  /** UUID per start. */
  readonly ephemeral_id?: string;
}

export interface Goflow2NormalizerOptions {
  /** Default `['sflow', 'forwarded']`; written in this order, neither sorted nor de-duplicated. */
  readonly tags?: readonly string[];
  /** Appends the `preserve_original_event` tag (once) so that `event.original` is kept. */
  readonly preserveOriginalEvent?: boolean;
  /** Data stream namespace; default `default`. */
  readonly namespace?: string;
  /** Zone of `event.timezone`: `local` (default) or an IANA name. */
  readonly timezone?: string;
  /** `offset` (default, `+05:30`), `abbreviation` (ICU's, e.g. `GMT+5:30`; Go says `IST`), `none`. */
  readonly timezoneFormat?: 'offset' | 'abbreviation' | 'none';
  /** Split `{A}{B}` lines into one document per object; default true (false: one error document). */
  readonly splitConcatenatedJson?: boolean;
  /** Emulated package version for `error.message`; default {@link GOFLOW2_PACKAGE_VERSION}. */
  readonly packageVersion?: string;
  /** Read time (`@timestamp` until step 10) and processing time for `event.timezone`. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Adds `agent.*`; without it the documents have no `agent` object. */
  readonly agent?: Goflow2Agent;
  /** `host.name` (only when the tags lack `forwarded`); default `os.hostname()`. */
  readonly hostname?: string;
  /** Filebeat's common `fields` option: added under `fields`, or at the root with `fieldsUnderRoot`. */
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly fieldsUnderRoot?: boolean;
  /**
   * Write lines in GoFlow2's usual shape straight to JSON (goflow2-direct.ts); default true. The
   * documents are the same either way: false runs every line through the steps (tests compare).
   */
  readonly directPath?: boolean;
}

type Rec = Record<string, unknown>;

/** One object of a line (or the whole line), with what the scan found for step 5. */
interface MessagePart {
  readonly text: string;
  readonly span: JsonSpan;
  readonly part: number;
  readonly offsetDelta: number;
  /** Only JSON whitespace: Jackson reads null. */
  readonly blank: boolean;
  /** Nesting beyond Jackson's limit. */
  readonly tooDeep?: boolean;
}

/** Tags of the pipeline steps that can fail (GOFLOW2.md 2.2, 2.5), as `error.message` names them. */
export const STEP_TAGS = {
  json: 'json_message_to_goflow2',
  timeFlowStart: 'script_calculate_time_flow_start_ns',
  flowSize: 'script_calculate_flow_size',
  date: 'date_parse_time_flow_start_ns',
  ingressInterface: 'convert_observer_ingress_interface_id_to_string',
  egressInterface: 'convert_observer_egress_interface_id_to_string',
  srcAddr: 'convert_src_addr_to_ip',
  dstAddr: 'convert_dst_addr_to_ip',
  ingressVlan: 'convert_observer_ingress_vlan_id_to_string',
  egressVlan: 'convert_observer_egress_vlan_id_to_string',
  transport: 'lowercase_network_transport',
  type: 'lowercase_network_type',
} as const;

/** A pipeline step failed: Elasticsearch's `on_failure` context. */
class StepFailure extends Error {
  readonly processor: string;
  readonly tag: string;
  constructor(processor: string, tag: string, message: string) {
    super(message);
    this.processor = processor;
    this.tag = tag;
  }
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const MINUTE_MS = 60_000;

/** GoFlow2 keys removed at step 41 (`remove_unused_fields`). */
const UNUSED_KEYS = [
  'time_flow_start_ns',
  'proto',
  'etype',
  'dst_addr',
  'src_addr',
  'sampler_address',
  'bytes',
];

/** `log.file.*` of a filestream line, or undefined when the line comes with none. */
function logFile(meta: LineMeta): Rec | undefined {
  const file: Rec = {};
  if (meta.path !== undefined) file.path = meta.path;
  if (meta.device_id !== undefined) file.device_id = meta.device_id;
  if (meta.inode !== undefined) file.inode = meta.inode;
  if (meta.fingerprint !== undefined) file.fingerprint = meta.fingerprint;
  return Object.keys(file).length > 0 ? file : undefined;
}

/** The pipeline's `x != null && x != ''` (Painless: `0` and `[]` are present). */
function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function isMap(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawJson(value);
}

function own(node: Rec, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/** The child object `node[key]`, created when absent (intermediate maps of a field path). */
function child(node: Rec, key: string): Rec {
  const existing = node[key];
  if (isMap(existing)) return existing;
  const created: Rec = {};
  node[key] = created;
  return created;
}

function put(doc: Rec, path: readonly string[], value: unknown): void {
  let node = doc;
  for (let i = 0; i < path.length - 1; i++) node = child(node, path[i]);
  node[path[path.length - 1]] = value;
}

function get(doc: Rec, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    node = own(node, key);
  }
  return node;
}

/** `rename`: the pipeline's targets never exist beforehand, so it cannot fail here. */
function move(goflow2: Rec, key: string, doc: Rec, path: readonly string[]): void {
  const value = goflow2[key];
  delete goflow2[key];
  put(doc, path, value);
}

/** `append`: a new field becomes a one-element list; an existing scalar becomes a list. */
function append(node: Rec, key: string, value: unknown): void {
  const existing = node[key];
  if (existing === undefined) node[key] = [value];
  else if (Array.isArray(existing)) existing.push(value);
  else node[key] = [existing, value];
}

/** Java's `Double.toString`: shortest digits, plain in [1e-3, 1e7), else `d.dddE±n`. */
function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const plain = String(x);
    return plain.includes('.') ? plain : `${plain}.0`;
  }
  const [mantissa, exponent] = x.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** Java's `toString` of the value Jackson would have built (`Map` in insertion order). */
function javaString(value: unknown, holder?: object, key?: string | number): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return holder !== undefined && key !== undefined && isFloatLiteral(holder, key)
        ? javaDouble(value)
        : String(value);
    case 'boolean':
      return String(value);
    default:
      if (value === null || value === undefined) return 'null';
      if (isRawJson(value)) return value.rawJSON;
      if (Array.isArray(value)) return `[${value.map((v, i) => javaString(v, value, i)).join(', ')}]`;
      return `{${Object.entries(value as Rec)
        .map(([k, v]) => `${k}=${javaString(v, value as Rec, k)}`)
        .join(', ')}}`;
  }
}

/** The Java class Jackson gives a value, for failure messages. */
function javaType(value: unknown, holder?: object, key?: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'java.lang.String';
  if (typeof value === 'boolean') return 'java.lang.Boolean';
  if (typeof value === 'number') {
    if (holder !== undefined && key !== undefined && isFloatLiteral(holder, key)) return 'java.lang.Double';
    return value >= -(2 ** 31) && value < 2 ** 31 ? 'java.lang.Integer' : 'java.lang.Long';
  }
  if (isRawJson(value)) return isLong(BigInt(value.rawJSON)) ? 'java.lang.Long' : 'java.math.BigInteger';
  return Array.isArray(value) ? 'java.util.ArrayList' : 'java.util.HashMap';
}

function isLong(value: bigint): boolean {
  return value >= LONG_MIN && value <= LONG_MAX;
}

/** A Painless arithmetic operand: an integer (as bigint), a double, or unusable. */
type Operand = { readonly integer: bigint } | { readonly double: number } | undefined;

function operand(holder: Rec, key: string): Operand {
  const value = holder[key];
  if (typeof value === 'number') {
    return Number.isInteger(value) && !isFloatLiteral(holder, key)
      ? { integer: BigInt(value) }
      : { double: value };
  }
  if (isRawJson(value)) {
    const big = BigInt(value.rawJSON);
    return isLong(big) ? { integer: big } : undefined; // BigInteger: Painless refuses it
  }
  return undefined;
}

function cannotApply(op: string, holder: Rec, left: string, right: string | undefined): string {
  const rightType = right === undefined ? 'java.lang.Integer' : javaType(holder[right], holder, right);
  return `Cannot apply [${op}] operation to types [${javaType(holder[left], holder, left)}] and [${rightType}].`;
}

/** Step 8: `time_flow_start_ns / 1000000`, as Painless computes it; `double` tells step 10. */
function nanosToMillis(goflow2: Rec): { readonly millis: number; readonly double: boolean } {
  const ns = operand(goflow2, 'time_flow_start_ns');
  if (ns === undefined) {
    const value = own(goflow2, 'time_flow_start_ns');
    throw new StepFailure(
      'script',
      STEP_TAGS.timeFlowStart,
      value === undefined || value === null
        ? 'Cannot divide a null time_flow_start_ns by 1000000 (NullPointerException).'
        : cannotApply('/', goflow2, 'time_flow_start_ns', undefined),
    );
  }
  if ('double' in ns) return { millis: ns.double / 1e6, double: true };
  return { millis: Number(ns.integer / 1_000_000n), double: false }; // truncates toward zero, as Java
}

/** Step 10: `UNIX_MS` in UTC, printed as `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`. */
function timestampFromMillis(millis: number, double: boolean): string {
  if (double) {
    // the date processor parses the value's toString(); epoch_millis takes no exponent and at
    // most 6 fraction digits
    const text = javaDouble(millis);
    const dot = text.indexOf('.');
    if (!/^-?\d+(\.\d+)?$/.test(text) || (dot >= 0 && text.length - dot - 1 > 6)) {
      throw new StepFailure('date', STEP_TAGS.date, `unable to parse date [${text}]`);
    }
    return new Date(Math.floor(millis)).toISOString();
  }
  return new Date(millis).toISOString();
}

/** Steps 15, 17, 27, 29: `convert` to string; lists element by element (a null element fails). */
function convertToString(value: unknown, holder: Rec, key: string, tag: string, field: string): unknown {
  if (!Array.isArray(value)) return javaString(value, holder, key);
  return value.map((element, i) => {
    if (element === null) {
      throw new StepFailure('convert', tag, `null value in list field [${field}] cannot be converted`);
    }
    return javaString(element, value, i);
  });
}

/** Steps 18, 20: `convert` to ip validates only (a list element by element); the text is kept. */
function validateIp(value: unknown, holder: Rec, key: string, tag: string): void {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (typeof v !== 'string') {
      throw new StepFailure(
        'convert',
        tag,
        `class ${javaType(v, holder, key)} cannot be cast to class java.lang.String`,
      );
    }
    if (!isInetAddress(v)) throw new StepFailure('convert', tag, `[${v}] is not a valid ipv4/ipv6 address`);
  }
}

/** Steps 43, 44: `lowercase` with `ignore_missing`: strings, or lists of strings. */
function lowercase(doc: Rec, path: readonly string[], tag: string): void {
  const value = get(doc, path);
  if (value === undefined || value === null) return;
  const field = path.join('.');
  if (typeof value === 'string') {
    put(doc, path, value.toLowerCase());
  } else if (Array.isArray(value)) {
    put(
      doc,
      path,
      value.map((v) => {
        if (typeof v === 'string') return v.toLowerCase();
        throw new StepFailure(
          'lowercase',
          tag,
          `value [${javaString(v)}] of type [${javaType(v)}] in list field [${field}] cannot be cast to [java.lang.String]`,
        );
      }),
    );
  } else {
    throw new StepFailure(
      'lowercase',
      tag,
      `field [${field}] of type [${javaType(value)}] cannot be cast to [java.lang.String]`,
    );
  }
}

/** `copy_from` deep-copies; raw integers are immutable and can be shared. */
function deepCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepCopy);
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepCopy(v)]));
  return value;
}

const EVENT_ACTION = ['event', 'action'];
const OBSERVER_INGRESS_INTERFACE = ['observer', 'ingress', 'interface', 'id'];
const OBSERVER_EGRESS_INTERFACE = ['observer', 'egress', 'interface', 'id'];
const OBSERVER_INGRESS_VLAN = ['observer', 'ingress', 'vlan', 'id'];
const OBSERVER_EGRESS_VLAN = ['observer', 'egress', 'vlan', 'id'];
const SOURCE_IP = ['source', 'ip'];
const DESTINATION_IP = ['destination', 'ip'];
const NETWORK_TYPE = ['network', 'type'];
const NETWORK_TRANSPORT = ['network', 'transport'];
const NETWORK_PACKETS = ['network', 'packets'];
const NETWORK_BYTES = ['network', 'bytes'];
const SFLOW_SEQUENCE_NUM = ['sflow', 'sequence_num'];
const SFLOW_BYTES = ['sflow', 'bytes'];
const SFLOW_SAMPLE_RATE = ['sflow', 'sample_rate'];

/**
 * `event.timezone` as Filebeat's `add_locale` writes it, for the zone's offset at processing time
 * (not event time). Recomputed at most once a minute of the injected clock, so DST changes show.
 */
class EventTimezone {
  readonly #format: Intl.DateTimeFormat;
  readonly #offset: boolean;
  #value = '';
  #computedAt = Number.NEGATIVE_INFINITY;

  constructor(zone: string, format: 'offset' | 'abbreviation') {
    this.#offset = format === 'offset';
    try {
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone === 'local' ? undefined : zone,
        timeZoneName: this.#offset ? 'longOffset' : 'short',
      });
    } catch {
      throw new ConfigError([`timezone: "${zone}" is not "local" or a known IANA time zone`]);
    }
  }

  at(now: number): string {
    if (now - this.#computedAt >= MINUTE_MS || now < this.#computedAt) {
      const name = this.#format.formatToParts(now).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
      // longOffset: "GMT+05:30", "GMT-08:00", and "GMT" or "GMT+00:00" for zero
      this.#value = this.#offset ? (/^GMT([+-]\d\d:\d\d)/.exec(name)?.[1] ?? '+00:00') : name;
      this.#computedAt = now;
    }
    return this.#value;
  }
}

export class Goflow2Normalizer {
  /** Counters since construction. */
  readonly stats: Goflow2Stats = { failures: {}, overflow: 0, splitLines: 0, directLines: 0 };

  private readonly tags: readonly string[];
  private readonly split: boolean;
  private readonly pipelineName: string;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly timezone: EventTimezone | undefined;
  /** `data_stream` of every document: `{dataset, namespace, type}`. */
  readonly dataStream: Readonly<DataStream>;
  private readonly agent: Readonly<Rec> | undefined;
  private readonly host: Readonly<Rec> | undefined;
  private readonly commonFields: CommonFields | undefined;
  /** The fast path, unless common fields merge into the root (then every line takes the steps). */
  private readonly direct: DirectMapper | undefined;
  private readonly layout: DirectLayout;
  private headMemo: (LineMeta & { readonly text: string; readonly hasLog: boolean }) | undefined;
  private eventMemo: { readonly timezone: string | undefined; readonly text: string } | undefined;

  constructor(options: Goflow2NormalizerOptions = {}) {
    const {
      tags = ['sflow', 'forwarded'],
      preserveOriginalEvent = false,
      namespace = 'default',
      timezone = 'local',
      timezoneFormat = 'offset',
      splitConcatenatedJson = true,
      packageVersion = GOFLOW2_PACKAGE_VERSION,
      clock = { now: () => Date.now() },
      agent,
      hostname = osHostname(),
      fields,
      fieldsUnderRoot = false,
      directPath = true,
    } = options;
    this.commonFields = commonFields(fields, fieldsUnderRoot);
    const allTags =
      preserveOriginalEvent && !tags.includes(PRESERVE_ORIGINAL_EVENT)
        ? [...tags, PRESERVE_ORIGINAL_EVENT]
        : tags;
    this.tags = Object.freeze([...allTags]);
    this.split = splitConcatenatedJson;
    this.pipelineName = `logs-${GOFLOW2_DATASET}-${packageVersion}`;
    this.clock = clock;
    this.timezone = timezoneFormat === 'none' ? undefined : new EventTimezone(timezone, timezoneFormat);
    this.dataStream = Object.freeze({ dataset: GOFLOW2_DATASET, namespace, type: 'logs' });
    if (agent !== undefined) {
      const a: Rec = {};
      if (agent.ephemeral_id !== undefined) a.ephemeral_id = agent.ephemeral_id;
      if (agent.id !== undefined) a.id = agent.id;
      a.name = agent.name ?? hostname;
      a.type = 'flowship';
      if (agent.version !== undefined) a.version = agent.version;
      this.agent = Object.freeze(a);
    }
    // the `forwarded` tag says the events describe other hosts: no host.* (Filebeat convention)
    this.host = allTags.includes('forwarded') ? undefined : Object.freeze({ name: hostname });
    this.direct = directPath && !this.commonFields?.underRoot ? new DirectMapper() : undefined;
    let ecsAgentHost = `,"ecs":${JSON.stringify({ version: GOFLOW2_ECS_VERSION })}`;
    if (this.agent !== undefined) ecsAgentHost += `,"agent":${JSON.stringify(this.agent)}`;
    if (this.host !== undefined) ecsAgentHost += `,"host":${JSON.stringify(this.host)}`;
    this.layout = {
      preserveOriginal: this.tags.includes(PRESERVE_ORIGINAL_EVENT),
      ecsAgentHost,
      fields: this.commonFields === undefined ? '' : `,"fields":${JSON.stringify(this.commonFields.fields)}`,
    };
  }

  /**
   * Maps one line (without its terminator) to its documents: none for an empty line (filestream
   * skips those), one per object for a split line, otherwise one. Never throws for bad input:
   * pipeline failures become failure documents, counted in {@link stats}.
   */
  map(line: string, meta: LineMeta): Goflow2Document[] {
    if (line.length === 0) return [];
    const now = this.clock.now();
    const timezone = this.timezone?.at(now);
    if (this.direct !== undefined) {
      const json = this.direct.map(line, this.layout, this.head(meta), this.eventHead(timezone));
      if (json !== undefined) {
        this.stats.directLines++;
        return [new Goflow2Document(json)];
      }
    }
    return this.mapLine(line, meta, now, timezone);
  }

  /**
   * The agent fields between `@timestamp` and `data_stream` (tags, input, log) as JSON text, for
   * the direct path; the file part is kept while the file stays the same.
   */
  private head(meta: LineMeta): string {
    const memo = this.headMemo;
    if (
      memo === undefined ||
      memo.input !== meta.input ||
      memo.path !== meta.path ||
      memo.device_id !== meta.device_id ||
      memo.inode !== meta.inode ||
      memo.fingerprint !== meta.fingerprint
    ) {
      let text = `"tags":${JSON.stringify(this.tags)},"input":{"type":"${meta.input}"}`;
      let hasLog = false;
      if (meta.input === 'filestream') {
        const file = logFile(meta);
        if (file !== undefined) {
          text += `,"log":{"file":${JSON.stringify(file)}`;
          hasLog = true;
        }
      }
      this.headMemo = { ...meta, text, hasLog };
    }
    const { text, hasLog } = this.headMemo!;
    if (meta.input !== 'filestream' || meta.offset === undefined) return hasLog ? `${text}}` : text;
    return hasLog ? `${text},"offset":${meta.offset}}` : `${text},"log":{"offset":${meta.offset}}`;
  }

  /**
   * For the direct path: from `data_stream` to the event fields of steps 1 to 3, which change
   * only with the time zone's offset.
   */
  private eventHead(timezone: string | undefined): string {
    if (this.eventMemo === undefined || this.eventMemo.timezone !== timezone) {
      const zone = timezone === undefined ? '' : `,"timezone":${JSON.stringify(timezone)}`;
      const text = `,"data_stream":${JSON.stringify(this.dataStream)},"event":{"dataset":"${GOFLOW2_DATASET}"${zone},"kind":"event","category":["network"],"type":["connection"]`;
      // one flat string, so that each document's text is a short rope
      this.eventMemo = { timezone, text: Buffer.from(text).toString() };
    }
    return this.eventMemo.text;
  }

  /** The step-by-step pipeline, for every line the direct path does not take. */
  private mapLine(
    line: string,
    meta: LineMeta,
    now: number,
    timezone: string | undefined,
  ): Goflow2Document[] {
    const readTime = new Date(now).toISOString();
    const scan = scanJson(line);
    const spans = scan.spans;
    const out: Goflow2Document[] = [];
    if (this.split && scan.clean && spans.length > 1 && spans.every((s) => s.object)) {
      this.stats.splitLines++;
      let offsetDelta = 0;
      let previous = 0;
      for (let part = 0; part < spans.length; part++) {
        const span = spans[part];
        offsetDelta += Buffer.byteLength(line.slice(previous, span.start));
        previous = span.start;
        const text = line.slice(span.start, span.end);
        out.push(this.document({ text, span, part, offsetDelta, blank: false }, readTime, timezone, meta));
      }
      return out;
    }
    // one document for the whole line, leading/trailing whitespace and all (event.original is
    // the line byte for byte)
    const span: JsonSpan =
      spans.length === 1 && scan.clean
        ? { ...spans[0], start: 0, end: line.length }
        : {
            start: 0,
            end: line.length,
            object: false,
            duplicate: spans.find((s) => s.duplicate !== undefined)?.duplicate,
            numbers: undefined,
          };
    const blank = scan.clean && spans.length === 0;
    out.push(
      this.document(
        { text: line, span, part: 0, offsetDelta: 0, blank, tooDeep: scan.tooDeep },
        readTime,
        timezone,
        meta,
      ),
    );
    return out;
  }

  private document(
    message: MessagePart,
    readTime: string,
    timezone: string | undefined,
    meta: LineMeta,
  ): Goflow2Document {
    const doc = this.agentFields(message.text, readTime, timezone, meta, message.offsetDelta);
    let failedTag: string | undefined;
    try {
      this.pipeline(doc, message);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      failedTag = err.tag;
      this.stats.failures[err.tag] = (this.stats.failures[err.tag] ?? 0) + 1;
      // on_failure: the document as it stood, plus error.message; flowship adds error.type (the
      // failing processor) so failures can be counted by kind without parsing the message
      const source = JSON.stringify(doc);
      doc.error = {
        message: `Processor ${err.processor} with tag ${err.tag} in pipeline ${this.pipelineName} failed with message ${err.message} - Source ${source}`,
        type: err.processor,
      };
    }
    applyCommonFields(doc, this.commonFields);
    return new Goflow2Document(JSON.stringify(doc), message.part, message.offsetDelta, failedTag, doc);
  }

  /** What Elastic Agent sends: the raw text in `message` and its own fields (2.1, 2.7). */
  private agentFields(
    text: string,
    readTime: string,
    timezone: string | undefined,
    meta: LineMeta,
    offsetDelta: number,
  ): Rec {
    const doc: Rec = { '@timestamp': readTime, message: text, tags: this.tags, input: { type: meta.input } };
    if (meta.input === 'filestream') {
      const log: Rec = {};
      const file = logFile(meta);
      if (file !== undefined) log.file = file;
      if (meta.offset !== undefined) log.offset = meta.offset + offsetDelta;
      if (Object.keys(log).length > 0) doc.log = log;
    }
    doc.data_stream = this.dataStream;
    const event: Rec = { dataset: GOFLOW2_DATASET };
    if (timezone !== undefined) event.timezone = timezone;
    doc.event = event;
    doc.ecs = { version: GOFLOW2_ECS_VERSION };
    if (this.agent !== undefined) doc.agent = this.agent;
    if (this.host !== undefined) doc.host = this.host;
    return doc;
  }

  /** The ingest pipeline of GOFLOW2.md 2.2, step by step; a failing step throws StepFailure. */
  private pipeline(doc: Rec, part: MessagePart): void {
    const event = doc.event as Rec;
    event.kind = 'event'; // 1
    append(event, 'category', 'network'); // 2
    append(event, 'type', 'connection'); // 3
    (doc.ecs as Rec).version = GOFLOW2_ECS_VERSION; // 4

    // 5: json, strict (trailing data fails), rejecting duplicate keys and deep nesting; blank
    // text is null to Jackson
    const message = doc.message as string;
    const { span } = part;
    if (span.duplicate !== undefined) {
      throw new StepFailure('json', STEP_TAGS.json, `Duplicate field '${span.duplicate}'`);
    }
    if (part.tooDeep) {
      throw new StepFailure(
        'json',
        STEP_TAGS.json,
        `Nesting depth exceeds the maximum (${MAX_NESTING_DEPTH}).`,
      );
    }
    let parsed: unknown = null;
    if (!part.blank) {
      try {
        parsed = parseJson(message, span);
      } catch (err) {
        throw new StepFailure('json', STEP_TAGS.json, (err as Error).message);
      }
    }
    doc.goflow2 = parsed;
    event.original = message; // 6
    delete doc.message; // 7

    // 8: ctx.goflow2.time_flow_start_ns = ctx.goflow2?.time_flow_start_ns / 1000000
    if (!isMap(parsed)) {
      throw new StepFailure(
        'script',
        STEP_TAGS.timeFlowStart,
        `Cannot read [time_flow_start_ns] from goflow2 of type [${javaType(parsed)}].`,
      );
    }
    const g = parsed;
    const time = nanosToMillis(g);
    g.time_flow_start_ns = time.millis;

    // 9: flow_size = bytes * sampling_rate, exact (2.6.1)
    if (present(own(g, 'bytes')) && present(own(g, 'sampling_rate'))) {
      const flowSize = this.flowSize(g);
      if (flowSize === undefined) {
        delete g.flow_size;
        this.stats.overflow++;
      } else {
        g.flow_size = flowSize;
      }
    }

    doc['@timestamp'] = timestampFromMillis(time.millis, time.double); // 10

    if (present(own(g, 'type'))) move(g, 'type', doc, EVENT_ACTION); // 11
    const sampler = own(g, 'sampler_address');
    if (present(sampler)) append(child(doc, 'observer'), 'ip', javaString(sampler, g, 'sampler_address')); // 12
    if (present(own(g, 'sequence_num'))) move(g, 'sequence_num', doc, SFLOW_SEQUENCE_NUM); // 13
    this.moveToString(g, 'in_if', doc, OBSERVER_INGRESS_INTERFACE, STEP_TAGS.ingressInterface); // 14, 15
    this.moveToString(g, 'out_if', doc, OBSERVER_EGRESS_INTERFACE, STEP_TAGS.egressInterface); // 16, 17

    const src = own(g, 'src_addr');
    if (present(src)) {
      validateIp(src, g, 'src_addr', STEP_TAGS.srcAddr); // 18
      move(g, 'src_addr', doc, SOURCE_IP); // 19
    }
    const dst = own(g, 'dst_addr');
    if (present(dst)) {
      validateIp(dst, g, 'dst_addr', STEP_TAGS.dstAddr); // 20
      move(g, 'dst_addr', doc, DESTINATION_IP); // 21
    }

    if (present(own(g, 'etype'))) move(g, 'etype', doc, NETWORK_TYPE); // 22
    if (present(own(g, 'proto'))) move(g, 'proto', doc, NETWORK_TRANSPORT); // 23
    if (present(own(g, 'src_port'))) move(g, 'src_port', doc, ['source', 'port']); // 24
    if (present(own(g, 'dst_port'))) move(g, 'dst_port', doc, ['destination', 'port']); // 25
    this.moveToString(g, 'src_vlan', doc, OBSERVER_INGRESS_VLAN, STEP_TAGS.ingressVlan); // 26, 27
    this.moveToString(g, 'dst_vlan', doc, OBSERVER_EGRESS_VLAN, STEP_TAGS.egressVlan); // 28, 29
    if (present(own(g, 'sampling_rate'))) move(g, 'sampling_rate', doc, NETWORK_PACKETS); // 30
    if (present(own(g, 'bytes'))) move(g, 'bytes', doc, SFLOW_BYTES); // 31
    if (Object.hasOwn(g, 'flow_size')) move(g, 'flow_size', doc, NETWORK_BYTES); // 32

    // 33-40: GeoIP/ASN enrichment is geoip.mode's business (2.8), not this mapper's

    for (const key of UNUSED_KEYS) delete g[key]; // 41
    if (Object.keys(g).length === 0) delete doc.goflow2; // 42

    lowercase(doc, NETWORK_TRANSPORT, STEP_TAGS.transport); // 43
    lowercase(doc, NETWORK_TYPE, STEP_TAGS.type); // 44

    const packets = get(doc, NETWORK_PACKETS);
    if (present(packets)) put(doc, SFLOW_SAMPLE_RATE, deepCopy(packets)); // 45

    const destinationIp = get(doc, DESTINATION_IP);
    const sourceIp = get(doc, SOURCE_IP);
    if (present(destinationIp)) append(child(doc, 'destination'), 'address', javaString(destinationIp)); // 46
    if (present(sourceIp)) append(child(doc, 'source'), 'address', javaString(sourceIp)); // 47
    if (present(sourceIp)) append(child(doc, 'related'), 'ip', javaString(sourceIp)); // 48
    if (present(destinationIp)) append(child(doc, 'related'), 'ip', javaString(destinationIp)); // 49

    if (!(doc.tags as readonly string[]).includes(PRESERVE_ORIGINAL_EVENT)) delete event.original; // 50
  }

  /** A rename guarded by `present`, then `convert` to string of the new field. */
  private moveToString(g: Rec, key: string, doc: Rec, path: readonly string[], tag: string): void {
    const value = own(g, key);
    if (!present(value)) return;
    move(g, key, doc, path);
    put(doc, path, convertToString(value, g, key, tag, path.join('.')));
  }

  /**
   * Step 9's product. Integers multiply exactly (Painless wraps at 32 or 64 bits); a result
   * outside the signed 64-bit range gives undefined (dropped, counted). A double operand
   * multiplies as doubles. Strings, booleans, lists, maps and BigIntegers fail, as in Painless.
   */
  private flowSize(g: Rec): number | object | undefined {
    const a = g.bytes;
    const b = g.sampling_rate;
    if (
      typeof a === 'number' &&
      typeof b === 'number' &&
      !isFloatLiteral(g, 'bytes') &&
      !isFloatLiteral(g, 'sampling_rate')
    ) {
      // the usual case; a product beyond 2^53 is not safe, and is redone exactly below
      const product = a * b;
      if (Number.isSafeInteger(product)) return product === 0 ? 0 : product;
    }
    const bytes = operand(g, 'bytes');
    const rate = operand(g, 'sampling_rate');
    if (bytes === undefined || rate === undefined) {
      throw new StepFailure('script', STEP_TAGS.flowSize, cannotApply('*', g, 'bytes', 'sampling_rate'));
    }
    if ('double' in bytes || 'double' in rate) {
      const a = 'double' in bytes ? bytes.double : Number(bytes.integer);
      const b = 'double' in rate ? rate.double : Number(rate.integer);
      const product = a * b;
      return Number.isFinite(product) && Math.abs(product) < 2 ** 63 ? product : undefined;
    }
    const product = bytes.integer * rate.integer;
    return isLong(product) ? exactInteger(product) : undefined;
  }
}
