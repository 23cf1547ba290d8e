/**
 * NetFlow/IPFIX record -> the ECS document the Elastic `netflow` integration indexes
 * (NETFLOW.md 4): what Filebeat's netflow input emits (4.1), then what the integration's ingest
 * pipeline changes (4.3), since flowship bulks final documents with `pipeline=_none`.
 *
 * A flow's document is written straight to JSON text ({@link NetflowNormalizer.normalizeJson}),
 * with no document object and no `JSON.stringify` of one: building some twenty objects per flow and
 * serialising them cost more than decoding the flow. The text is what `JSON.stringify` writes (each
 * value's text is written the way it writes it), members in the order the document's objects
 * would hold them: Filebeat's, then the pipeline's additions. The parts that never change (data
 * stream, ECS version, tags, host) and those a packet's records share (export time, exporter) are
 * written once. {@link NetflowNormalizer.normalize} parses the text, for callers that want data.
 *
 * Pure but for {@link NetflowNormalizer.stats}: the only inputs are the record, the options
 * resolved once, and the injected clock.
 */
import { hostname } from 'node:os';
import type {
  DecodedRecord,
  ExporterMeta,
  FieldMap,
  FieldValue,
  FlowRecord,
  OptionsRecord,
  RawJson,
} from '../inputs/netflow/decoder/types.ts';
import { type DataStream, type EcsDocument, parseDocument } from '../pipeline/event.ts';
import { isoMillisJson } from '../util/iso-time.ts';
import { applyCommonFields, type CommonFields, commonFields } from './common-fields.ts';
import { communityIdFilebeat } from './community-id.ts';
import { flowId } from './flow-id.ts';
import { parseIp } from './ip.ts';
import { isInternal, type Networks } from './locality.ts';
import { applicationName, observerInterfacesJson } from './netflow-options.ts';
import { samplingRate } from './netflow-sampling.ts';
import { absoluteTimes, type FlowTimes, filebeatTimes, type TimeStats } from './netflow-times.ts';

export const NETFLOW_DATASET = 'netflow.log';
/** ECS version the integration's pipeline stamps on every document. */
export const ECS_VERSION = '8.17.0';

export interface NetflowNormalizerOptions {
  readonly internalNetworks: Networks;
  readonly tags?: readonly string[];
  readonly namespace?: string;
  /** Filebeat's common `fields` option: added under `fields`, or at the root with `fieldsUnderRoot`. */
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly fieldsUnderRoot?: boolean;
  /** Time of conversion, for `event.created`; injected by tests. */
  readonly now?: () => Date;
  /**
   * R2: fill the `event.start/end/duration` that Filebeat's sysUpTime logic leaves unset from the
   * absolute-time elements (netflow-times.ts). Off by default, which is Filebeat's output; the
   * CLI turns it on for `compatibility: extended` with `enrich.absolute_times` (both defaults).
   */
  readonly absoluteTimes?: boolean;
  /** R3: `netflow.sampling_rate` where the record or its v5/v6 header states it (netflow-sampling.ts). Off by default. */
  readonly samplingRate?: boolean;
  /** R3: multiply `source/destination/network.bytes|packets` by the sampling rate. Off by default. */
  readonly scaleCounters?: boolean;
  /**
   * R6: use what the flow's session learned from options data (ExporterMeta.sessionOptions):
   * `observer.ingress/egress.interface` and `network.application` (netflow-options.ts), the
   * sampler and session sampling rates (with `samplingRate` or `scaleCounters`), the session's
   * system init time (with `absoluteTimes`). Off by default; the CLI turns it on for
   * `compatibility: extended` with `enrich.options` (both defaults).
   */
  readonly options?: boolean;
}

/** Counters of one normalizer, read by the input's metrics. Only ever incremented. */
export interface NetflowNormalizerStats extends TimeStats {
  /**
   * Absolute flow times (R2) refused as implausible: before 1995-01-01 or later than export time
   * + 10 min, one per refused value (`flowship_netflow_time_rejected_total`).
   */
  timeRejected: number;
}

const UNSPECIFIED_V4 = new Uint8Array(4);

/** The 16-byte form of an address (IPv4 becomes ::ffff:a.b.c.d), as Go's net.IP holds IPv6 fields. */
function asIPv6(ip: Uint8Array): Uint8Array {
  if (ip.length === 16) return ip;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(ip, 12);
  return mapped;
}

const TRANSPORTS: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp' };

// netflow.tcp_flags from tcp_control_bits, bit 7 down to bit 0 (pipeline step 7, [unverified])
const TCP_FLAG_NAMES = ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN'];

type Counter = number | bigint;

/** Filebeat reads counters as uint64: a non-negative integer, exact (bigint) beyond 2^53. */
function asCounter(value: FieldValue | undefined): Counter | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (isRawJson(value)) {
    const big = BigInt(value.rawJSON);
    return big >= 0n ? big : undefined;
  }
  return undefined;
}

function isRawJson(value: unknown): value is RawJson {
  return typeof value === 'object' && value !== null && JSON.isRawJSON(value);
}

/** A counter as an endpoint's value: a number, or its exact text beyond 2^53. */
function counterValue(c: Counter): number | RawJson {
  return typeof c === 'number' ? c : (JSON.rawJSON(c.toString()) as RawJson);
}

/** A counter's JSON text: its digits (a bigint's too, exact). */
function counterJson(c: Counter): string {
  return `${c}`;
}

/** uint64 addition, wrapping like Go's. */
function addCounters(a: Counter, b: Counter): Counter {
  if (typeof a === 'number' && typeof b === 'number' && a + b <= Number.MAX_SAFE_INTEGER) return a + b;
  const sum = (BigInt(a) + BigInt(b)) & 0xffff_ffff_ffff_ffffn;
  return sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum;
}

/** uint64 multiplication, wrapping like Go's. */
function mulCounter(a: Counter, b: number): Counter {
  if (typeof a === 'number' && a * b <= Number.MAX_SAFE_INTEGER) return a * b;
  const product = (BigInt(a) * BigInt(b)) & 0xffff_ffff_ffff_ffffn;
  return product <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(product) : product;
}

function scaled(c: Counter | undefined, scale: number): Counter | undefined {
  return c === undefined || scale === 1 ? c : mulCounter(c, scale);
}

/** The first of `keys` (in priority order) whose value is a counter. */
function firstCounter(fields: FieldMap, keys: readonly string[]): Counter | undefined {
  for (const key of keys) {
    const c = asCounter(fields[key]);
    if (c !== undefined) return c;
  }
  return undefined;
}

/** Where Filebeat takes bytes and packets from, in priority order. */
const COUNTER_KEYS = {
  bytes: ['octet_delta_count', 'octet_total_count', 'initiator_octets'],
  packets: ['packet_delta_count', 'packet_total_count', 'initiator_packets'],
  reverseBytes: ['reverse_octet_delta_count', 'reverse_octet_total_count', 'responder_octets'],
  reversePackets: ['reverse_packet_delta_count', 'reverse_packet_total_count', 'responder_packets'],
} as const;

/**
 * The keys the normalizer looks for that a template's records can have, worked out once per
 * template (FlowRecord.keys) so that a record is not searched for the many it cannot have.
 */
interface KeyPlan {
  /** `*_ipv4_address` / `*_ipv6_address` elements: their values go to related.ip (pipeline step 6). */
  readonly addresses: readonly string[];
  readonly bytes: readonly string[];
  readonly packets: readonly string[];
  readonly reverseBytes: readonly string[];
  readonly reversePackets: readonly string[];
}

function keyPlan(keys: readonly string[]): KeyPlan {
  const has = new Set(keys);
  const present = (list: readonly string[]) => list.filter((k) => has.has(k));
  return {
    addresses: keys.filter(isAddressKey),
    bytes: present(COUNTER_KEYS.bytes),
    packets: present(COUNTER_KEYS.packets),
    reverseBytes: present(COUNTER_KEYS.reverseBytes),
    reversePackets: present(COUNTER_KEYS.reversePackets),
  };
}

function uint(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function text(value: FieldValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function directionName(value: number): string {
  const d = value & 0xff; // Filebeat casts to uint8
  return d === 0 ? 'inbound' : d === 1 ? 'outbound' : `unknown (${d})`;
}

/**
 * `text` as one flat string. V8 keeps a concatenation as a tree of its parts, and walks the tree
 * again each time a document holding it is written out; text every document repeats is flattened
 * once.
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text));
}

/** A number's JSON text, as `JSON.stringify` writes it (no JSON form for NaN and infinities). */
function numberJson(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** A decoded value's JSON text, as `JSON.stringify` writes it (types.ts: FieldValue). */
function valueJson(value: FieldValue): string {
  switch (typeof value) {
    case 'number':
      return numberJson(value);
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  // RawJson (integers beyond 2^53) and octet arrays
  return JSON.stringify(value);
}

function isAddressKey(key: string): boolean {
  return key.endsWith('_ipv4_address') || key.endsWith('_ipv6_address');
}

/**
 * `netflow.*` members the document sets after the record's own: a record member of the same name
 * keeps its place and takes the document's value, as it would in an object.
 */
const NETFLOW_TAIL = ['exporter', 'type', 'sampling_rate', 'tcp_flags'] as const;

/** `source`, `destination`: members in the order they are set, as in an object. */
interface Endpoint {
  [key: string]: FieldValue | undefined;
  ip?: string;
  locality?: string;
}

/** A packet's shared parts as document text, written once per packet. */
interface ExporterText {
  readonly meta: ExporterMeta;
  /** The export time, ms since the epoch. */
  readonly ms: number;
  /** `{"@timestamp":…` up to `event.category`'s value. */
  readonly head: string;
  /** `netflow.exporter`'s object. */
  readonly exporter: string;
  /** `"exporter":{…},"type":"netflow_flow"`: the members `netflow` ends with. */
  readonly exporterType: string;
  /** `},"observer":{"ip":[…]`: the end of `netflow`, then `observer` up to its interfaces. */
  readonly observerIp: string;
}

export class NetflowNormalizer {
  private readonly networks: Networks;
  /** `data_stream` of every document: `{dataset, namespace, type}`. */
  readonly dataStream: Readonly<DataStream>;
  /** The clock, ms since the epoch. */
  private readonly nowMs: () => number;
  private readonly commonFields: CommonFields | undefined;
  private readonly absoluteTimes: boolean;
  private readonly samplingRate: boolean;
  private readonly scaleCounters: boolean;
  private readonly useOptions: boolean;
  /** Counters since construction; the object is live (read it, never replace it). */
  readonly stats: NetflowNormalizerStats = { timeRejected: 0 };
  /** `,"data_stream":…,"ecs":…,"event":{"action":"netflow_flow","category":` */
  private readonly flowHead: string;
  /** The end of `observer`, `,"tags":[…]`, `,"host":{…}` when the documents have one, `,"flow":`. */
  private readonly tagsFlow: string;
  /** `,"fields":{…}` (common fields not under the root), or empty. */
  private readonly fieldsText: string;
  /** Tags and host again, for options records' documents (built as data, then serialised whole). */
  private readonly tags: readonly string[];
  private readonly host: Readonly<Record<string, string>> | undefined;
  /** The plan of each template's keys (FlowRecord.keys). */
  private readonly plans = new WeakMap<readonly string[], KeyPlan>();
  private lastExporter: ExporterText | undefined;
  private createdMs = Number.NaN;
  /** {@link eventRest}'s text for {@link createdMs}. */
  private createdText = '';

  constructor(options: NetflowNormalizerOptions) {
    const {
      internalNetworks,
      tags = ['netflow', 'forwarded'],
      namespace = 'default',
      fields,
      fieldsUnderRoot = false,
      now,
      absoluteTimes = false,
      samplingRate = false,
      scaleCounters = false,
      options: useOptions = false,
    } = options;
    this.commonFields = commonFields(fields, fieldsUnderRoot);
    this.networks = internalNetworks;
    this.tags = tags;
    this.dataStream = { dataset: NETFLOW_DATASET, namespace, type: 'logs' };
    this.nowMs = now === undefined ? Date.now : () => now().getTime();
    this.absoluteTimes = absoluteTimes;
    this.samplingRate = samplingRate;
    this.scaleCounters = scaleCounters;
    this.useOptions = useOptions;
    // the `forwarded` tag means the events describe other hosts: no host.* (Filebeat convention)
    this.host = tags.includes('forwarded') ? undefined : { hostname: hostname(), name: hostname() };
    this.flowHead = `,"data_stream":${JSON.stringify(this.dataStream)},"ecs":{"version":"${ECS_VERSION}"},"event":{"action":"netflow_flow","category":`;
    this.tagsFlow = flat(
      `},"tags":${JSON.stringify(tags)}${this.host === undefined ? '' : `,"host":${JSON.stringify(this.host)}`},"flow":`,
    );
    this.fieldsText =
      this.commonFields === undefined || this.commonFields.underRoot
        ? ''
        : flat(`,"fields":${JSON.stringify(this.commonFields.fields)}`);
  }

  /** The record's document as data (its JSON text parsed, integers beyond 2^53 exact). */
  normalize(record: DecodedRecord): EcsDocument {
    return parseDocument(this.normalizeJson(record));
  }

  /** The record's document as JSON text. */
  normalizeJson(record: DecodedRecord): string {
    if (record.type !== 'netflow_flow') {
      const doc = this.options(record);
      applyCommonFields(doc, this.commonFields);
      return JSON.stringify(doc);
    }
    const json = this.flow(record);
    if (this.commonFields?.underRoot !== true) return json;
    // libbeat's deep merge into the root: on data, a rare configuration
    const doc = parseDocument(json);
    applyCommonFields(doc, this.commonFields);
    return JSON.stringify(doc);
  }

  /** What to look for in the record: its template's plan, or its own keys' (a record built by hand). */
  private planOf(record: FlowRecord): KeyPlan {
    const keys = record.keys;
    if (keys === undefined) return keyPlan(Object.keys(record.fields));
    let plan = this.plans.get(keys);
    if (plan === undefined) {
      plan = keyPlan(keys);
      this.plans.set(keys, plan);
    }
    return plan;
  }

  private locality(ip: Uint8Array): string {
    return isInternal(this.networks, ip) ? 'internal' : 'external';
  }

  /**
   * `,"created":…` to the end of `event`'s constant members: the conversion time, the text reused
   * within a millisecond.
   */
  private eventRest(): string {
    const ms = this.nowMs();
    if (ms !== this.createdMs) {
      this.createdMs = ms;
      this.createdText = flat(
        `,"created":${isoMillisJson(ms)},"dataset":"${NETFLOW_DATASET}","kind":"event","type":["connection"]`,
      );
    }
    return this.createdText;
  }

  /** `netflow.exporter` as data. */
  private exporterFields(e: ExporterMeta): Record<string, unknown> {
    const out: Record<string, unknown> = {
      address: e.address,
      // the Date's JSON text, without JSON.stringify's slow path for objects with toJSON
      timestamp: JSON.rawJSON(isoMillisJson(e.timestamp.getTime())),
      uptime_millis: e.uptimeMillis,
      version: e.version,
    };
    if (e.sourceId !== undefined) out.source_id = e.sourceId;
    if (e.engineType !== undefined) out.engine_type = e.engineType;
    if (e.engineId !== undefined) out.engine_id = e.engineId;
    if (e.samplingInterval !== undefined) out.sampling_interval = e.samplingInterval;
    if (e.aggregation !== undefined) out.aggregation = e.aggregation;
    if (e.aggregationVersion !== undefined) out.aggregation_version = e.aggregationVersion;
    return out;
  }

  /** The packet's shared parts as text: the records of one packet share their ExporterMeta. */
  private exporterText(meta: ExporterMeta): ExporterText {
    const last = this.lastExporter;
    if (last?.meta === meta) return last;
    // consecutive packets mostly come from one exporter within one second
    const ms = meta.timestamp.getTime();
    const exporter = JSON.stringify(this.exporterFields(meta));
    this.lastExporter = {
      meta,
      ms,
      head: last?.ms === ms ? last.head : flat(`{"@timestamp":${isoMillisJson(ms)}${this.flowHead}`),
      exporter,
      exporterType: flat(`"exporter":${exporter},"type":"netflow_flow"`),
      observerIp:
        last?.meta.ip === meta.ip ? last.observerIp : flat(`},"observer":{"ip":[${JSON.stringify(meta.ip)}]`),
    };
    return this.lastExporter;
  }

  private options(record: OptionsRecord): EcsDocument {
    const e = record.exporter;
    const doc: EcsDocument = {
      '@timestamp': e.timestamp,
      data_stream: this.dataStream,
      ecs: { version: ECS_VERSION },
      event: {
        action: 'netflow_options',
        category: ['network'],
        created: new Date(this.nowMs()),
        dataset: NETFLOW_DATASET,
        kind: 'event',
      },
      input: { type: 'netflow' },
      netflow: {
        exporter: this.exporterFields(e),
        options: record.options,
        scope: record.scope,
        type: 'netflow_options',
      },
      observer: { ip: [e.ip] },
      tags: this.tags,
    };
    if (this.host !== undefined) doc.host = this.host;
    doc.network = { direction: 'unknown' };
    doc.related = { ip: [e.ip] };
    return doc;
  }

  private flow(record: FlowRecord): string {
    const f = record.fields;
    const plan = this.planOf(record);
    const shared = this.exporterText(record.exporter);
    // R6: what the session's options data said, when the enrichment is on
    const learned = this.useOptions ? record.exporter.sessionOptions : undefined;
    const fb = filebeatTimes(record);
    const times = this.absoluteTimes ? absoluteTimes(record, fb, this.stats, learned) : fb;

    const flowDirection = uint(f.flow_direction);
    const source: Endpoint = {};
    const destination: Endpoint = {};
    let srcBytes: Uint8Array | undefined;
    let dstBytes: Uint8Array | undefined;

    // Cisco WLC: station and access point MACs stand in for the endpoints
    if (flowDirection !== undefined) {
      const staMac = text(f.sta_mac_address);
      const wtpMac = text(f.wtp_mac_address);
      if (staMac !== undefined && wtpMac !== undefined) {
        const staIp = text(f.sta_ipv4_address);
        const staBytes = staIp === undefined ? undefined : parseIp(staIp);
        const outbound = (flowDirection & 0xff) === 1;
        const [sMac, dMac] = outbound ? [wtpMac, staMac] : [staMac, wtpMac];
        if (staBytes !== undefined) {
          const target = outbound ? destination : source;
          target.ip = staIp;
          target.locality = this.locality(staBytes);
          if (outbound) dstBytes = staBytes;
          else srcBytes = staBytes;
        }
        source.mac = sMac;
        destination.mac = dMac;
      }
    }

    const related: string[] = [];
    const srcIp = text(f.source_ipv4_address) ?? text(f.source_ipv6_address);
    // Filebeat hashes an IPv6 field's 16 bytes even when it holds an IPv4-mapped address
    let srcHashBytes: Uint8Array | undefined;
    if (srcIp !== undefined) {
      const bytes = parseIp(srcIp);
      if (bytes !== undefined) {
        source.ip = srcIp;
        source.locality = this.locality(bytes);
        srcBytes = bytes;
        if (f.source_ipv4_address === undefined) srcHashBytes = asIPv6(bytes);
        related.push(srcIp);
      }
    }
    const srcPort = uint(f.source_transport_port);
    if (srcPort !== undefined) source.port = srcPort;
    const srcMac = text(f.source_mac_address);
    if (srcMac !== undefined) source.mac = srcMac;

    const dstIp = text(f.destination_ipv4_address) ?? text(f.destination_ipv6_address);
    let dstHashBytes: Uint8Array | undefined;
    if (dstIp !== undefined) {
      const bytes = parseIp(dstIp);
      if (bytes !== undefined) {
        destination.ip = dstIp;
        destination.locality = this.locality(bytes);
        dstBytes = bytes;
        if (f.destination_ipv4_address === undefined) dstHashBytes = asIPv6(bytes);
        if (!related.includes(dstIp)) related.push(dstIp);
      }
    }
    const dstPort = uint(f.destination_transport_port);
    if (dstPort !== undefined) destination.port = dstPort;
    const dstMac = text(f.destination_mac_address);
    if (dstMac !== undefined) destination.mac = dstMac;

    const proto = uint(f.protocol_identifier);
    const a = srcBytes ?? UNSPECIFIED_V4;
    const b = dstBytes ?? UNSPECIFIED_V4;
    const sp = (srcPort ?? 0) & 0xffff;
    const dp = (dstPort ?? 0) & 0xffff;
    const p = (proto ?? 0) & 0xff;
    const flowText = `{"id":"${flowId(srcHashBytes ?? a, sp, dstHashBytes ?? b, dp, p)}","locality":"${
      isInternal(this.networks, a) && isInternal(this.networks, b) ? 'internal' : 'external'
    }"}`;

    // network.*, in the order the pipeline sets them; `direction` is decided below
    let network = '';
    if (proto !== undefined) {
      network = `"transport":"${TRANSPORTS[proto & 0xff] ?? `unknown (${proto & 0xff})`}","iana_number":"${proto}",`;
    }
    const rate = this.samplingRate || this.scaleCounters ? samplingRate(record, learned) : undefined;
    // scale_counters: what the sampled packets stand for, not what was sampled
    const scale = this.scaleCounters && rate !== undefined && rate > 1 ? rate : 1;
    const bytes = scaled(firstCounter(f, plan.bytes), scale);
    const packets = scaled(firstCounter(f, plan.packets), scale);
    const revBytes = scaled(firstCounter(f, plan.reverseBytes), scale);
    const revPackets = scaled(firstCounter(f, plan.reversePackets), scale);
    if (revBytes !== undefined) destination.bytes = counterValue(revBytes);
    if (revPackets !== undefined) destination.packets = counterValue(revPackets);
    if (bytes !== undefined) {
      source.bytes = counterValue(bytes);
      network += `"bytes":${counterJson(revBytes === undefined ? bytes : addCounters(bytes, revBytes))},`;
    }
    if (packets !== undefined) {
      source.packets = counterValue(packets);
      network += `"packets":${counterJson(revPackets === undefined ? packets : addCounters(packets, revPackets))},`;
    }

    let src = source;
    let dst = destination;
    let session = false;
    const biflow = uint(f.biflow_direction);
    const srcKnown = hasMembers(src);
    const dstKnown = hasMembers(dst);
    if (biflow !== undefined && srcKnown && dstKnown) {
      if (biflow === 2) [src, dst] = [dst, src]; // reverseInitiator
      session = true; // pipeline step 4: event.category gains `session`, client/server are set
    }

    // pipeline step 9: localities decide when both are known
    let direction = flowDirection === undefined ? 'unknown' : directionName(flowDirection);
    if (src.locality !== undefined && dst.locality !== undefined) {
      direction =
        src.locality === 'internal'
          ? dst.locality === 'internal'
            ? 'internal'
            : 'outbound'
          : dst.locality === 'internal'
            ? 'inbound'
            : 'external';
    }
    network += `"direction":"${direction}"`;
    const ssid = text(f.wlan_ssid);
    if (ssid !== undefined) network += `,"name":${JSON.stringify(ssid)}`;
    const application = learned === undefined ? undefined : applicationName(f, learned);
    if (application !== undefined) network += `,"application":${JSON.stringify(application)}`;
    network += `,"community_id":"${communityIdFilebeat(a, sp, b, dp, p)}"`;
    // pipeline step 8
    const hasV4 = f.source_ipv4_address !== undefined || f.destination_ipv4_address !== undefined;
    const hasV6 = f.source_ipv6_address !== undefined || f.destination_ipv6_address !== undefined;
    if (hasV4) network += hasV6 ? ',"type":["ipv4","ipv6"]' : ',"type":"ipv4"';
    else if (hasV6) network += ',"type":"ipv6"';

    // netflow.*: the record's elements (dates as text), then the document's own members
    const samplingRateJson = this.samplingRate && rate !== undefined ? numberJson(rate) : undefined;
    // pipeline step 7
    let tcpFlagsJson: string | undefined;
    const tcpBits = uint(f.tcp_control_bits);
    if (tcpBits !== undefined && (tcpBits & 0xff) !== 0) {
      let flags = '';
      for (let bit = 7; bit >= 0; bit--) {
        if (tcpBits & (1 << bit)) flags += `${flags === '' ? '"' : ',"'}${TCP_FLAG_NAMES[7 - bit]}"`;
      }
      tcpFlagsJson = `[${flags}]`;
    }
    // related.ip: the endpoints (Filebeat), the observer (pipeline step 5) and every address element (step 6)
    if (!related.includes(record.exporter.ip)) related.push(record.exporter.ip);
    for (const key of plan.addresses) {
      const value = f[key];
      if (typeof value === 'string' && !related.includes(value)) related.push(value);
    }
    const netflow = netflowMembers(f, shared, samplingRateJson, tcpFlagsJson);

    const interfaces = learned === undefined ? '' : observerInterfacesJson(f, learned);
    let out = `${shared.head}${session ? '["network","session"]' : '["network"]'}${this.eventRest()}${timesJson(times)}},"input":{"type":"netflow"},"netflow":{${netflow}${shared.observerIp}${interfaces}${this.tagsFlow}${flowText},"network":{${network}}`;
    // a swap only happens when both are known; client and server are copies of them
    const srcText = srcKnown ? JSON.stringify(src) : undefined;
    const dstText = dstKnown ? JSON.stringify(dst) : undefined;
    if (srcText !== undefined) out += `,"source":${srcText}`;
    if (dstText !== undefined) out += `,"destination":${dstText}`;
    if (session) out += `,"client":${srcText},"server":${dstText}`;
    return `${out},"related":{"ip":${JSON.stringify(sortStrings(related))}}${this.fieldsText}}`;
  }
}

/**
 * `netflow`'s members: the record's elements, then {@link NETFLOW_TAIL}'s that are set. A record
 * element of a tail member's name (a custom definition can name one so) keeps its place and takes
 * the tail's value, as in an object.
 */
function netflowMembers(
  f: FieldMap,
  shared: ExporterText,
  samplingRate: string | undefined,
  tcpFlags: string | undefined,
): string {
  if (
    f.exporter === undefined &&
    f.type === undefined &&
    f.sampling_rate === undefined &&
    f.tcp_flags === undefined
  ) {
    // the common case by far: one native call for the record's elements
    const own = JSON.stringify(f);
    let out = own.length === 2 ? shared.exporterType : `${own.slice(1, -1)},${shared.exporterType}`;
    if (samplingRate !== undefined) out += `,"sampling_rate":${samplingRate}`;
    if (tcpFlags !== undefined) out += `,"tcp_flags":${tcpFlags}`;
    return out;
  }
  const tail = [shared.exporter, '"netflow_flow"', samplingRate, tcpFlags];
  let out = '';
  let placed = 0; // tail members written in an element's place, one bit each
  for (const key in f) {
    const i = (NETFLOW_TAIL as readonly string[]).indexOf(key);
    let json: string;
    if (i >= 0 && tail[i] !== undefined) {
      json = tail[i]!;
      placed |= 1 << i;
    } else {
      json = valueJson(f[key]);
    }
    out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${json}`;
  }
  for (let i = 0; i < NETFLOW_TAIL.length; i++) {
    if (tail[i] !== undefined && (placed & (1 << i)) === 0)
      out += `${out === '' ? '"' : ',"'}${NETFLOW_TAIL[i]}":${tail[i]}`;
  }
  return out;
}

/**
 * Sorts in place by UTF-16 code units, as `Array#sort()` without a comparator does strings; an
 * insertion sort, several times faster than the built-in sort on the few addresses of a flow.
 */
function sortStrings(list: string[]): string[] {
  for (let i = 1; i < list.length; i++) {
    const value = list[i];
    let j = i - 1;
    for (; j >= 0 && list[j] > value; j--) list[j + 1] = list[j];
    list[j + 1] = value;
  }
  return list;
}

function hasMembers(e: Endpoint): boolean {
  for (const _ in e) return true;
  return false;
}

/** `event.start`, `event.end` (dates at millisecond precision, truncated), `event.duration` (ns). */
function timesJson(times: FlowTimes): string {
  let out = '';
  if (times.start !== undefined) out += `,"start":${isoMillisJson(Math.floor(times.start / 1000))}`;
  if (times.end !== undefined) out += `,"end":${isoMillisJson(Math.floor(times.end / 1000))}`;
  if (times.duration !== undefined) out += `,"duration":${numberJson(times.duration)}`;
  return out;
}
