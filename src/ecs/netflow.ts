/**
 * NetFlow/IPFIX record -> the ECS document the Elastic `netflow` integration indexes
 * (NETFLOW.md 4): what Filebeat's netflow input emits (4.1), then what the integration's ingest
 * pipeline changes (4.3), since flowship bulks final documents with `pipeline=_none`.
 *
 * Pure but for {@link NetflowNormalizer.stats}: the only inputs are the record, the options
 * resolved once, and the injected clock.
 */
import { hostname } from 'node:os';
import type {
  DecodedRecord,
  FieldMap,
  FieldValue,
  FlowRecord,
  OptionsRecord,
  RawJson,
  SessionOptionsView,
} from '../inputs/netflow/decoder/types.ts';
import type { DataStream, EcsDocument } from '../pipeline/event.ts';
import { applyCommonFields, type CommonFields, commonFields } from './common-fields.ts';
import { communityIdFilebeat } from './community-id.ts';
import { flowId } from './flow-id.ts';
import { parseIp } from './ip.ts';
import { isInternal, type Networks } from './locality.ts';
import { addObserverInterfaces, applicationName } from './netflow-options.ts';
import { samplingRate } from './netflow-sampling.ts';
import { absoluteTimes, filebeatTimes, setEventTimes, type TimeStats } from './netflow-times.ts';

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

function counterValue(c: Counter): number | RawJson {
  return typeof c === 'number' ? c : (JSON.rawJSON(c.toString()) as RawJson);
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

function firstCounter(fields: FieldMap, a: string, b: string, c: string): Counter | undefined {
  return asCounter(fields[a]) ?? asCounter(fields[b]) ?? asCounter(fields[c]);
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

interface Endpoint {
  [key: string]: unknown;
  ip?: string;
  locality?: string;
}

export class NetflowNormalizer {
  private readonly networks: Networks;
  private readonly tags: readonly string[];
  /** `data_stream` of every document: `{dataset, namespace, type}`. */
  readonly dataStream: Readonly<DataStream>;
  private readonly now: () => Date;
  private readonly host: Readonly<Record<string, string>> | undefined;
  private readonly commonFields: CommonFields | undefined;
  private readonly absoluteTimes: boolean;
  private readonly samplingRate: boolean;
  private readonly scaleCounters: boolean;
  private readonly useOptions: boolean;
  /** Counters since construction; the object is live (read it, never replace it). */
  readonly stats: NetflowNormalizerStats = { timeRejected: 0 };

  constructor(options: NetflowNormalizerOptions) {
    const {
      internalNetworks,
      tags = ['netflow', 'forwarded'],
      namespace = 'default',
      fields,
      fieldsUnderRoot = false,
      now = () => new Date(),
      absoluteTimes = false,
      samplingRate = false,
      scaleCounters = false,
      options: useOptions = false,
    } = options;
    this.commonFields = commonFields(fields, fieldsUnderRoot);
    this.networks = internalNetworks;
    this.tags = tags;
    this.dataStream = { dataset: NETFLOW_DATASET, namespace, type: 'logs' };
    this.now = now;
    this.absoluteTimes = absoluteTimes;
    this.samplingRate = samplingRate;
    this.scaleCounters = scaleCounters;
    this.useOptions = useOptions;
    // the `forwarded` tag means the events describe other hosts: no host.* (Filebeat convention)
    this.host = tags.includes('forwarded') ? undefined : { hostname: hostname(), name: hostname() };
  }

  normalize(record: DecodedRecord): EcsDocument {
    const doc = record.type === 'netflow_flow' ? this.flow(record) : this.options(record);
    applyCommonFields(doc, this.commonFields);
    return doc;
  }

  private locality(ip: Uint8Array): string {
    return isInternal(this.networks, ip) ? 'internal' : 'external';
  }

  private exporter(record: DecodedRecord): Record<string, unknown> {
    const e = record.exporter;
    const out: Record<string, unknown> = {
      address: e.address,
      timestamp: e.timestamp,
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

  private common(record: DecodedRecord, netflow: Record<string, unknown>, event: Record<string, unknown>) {
    const doc: EcsDocument = {
      '@timestamp': record.exporter.timestamp,
      data_stream: this.dataStream,
      ecs: { version: ECS_VERSION },
      event,
      input: { type: 'netflow' },
      netflow,
      observer: { ip: [record.exporter.ip] },
      tags: this.tags,
    };
    if (this.host !== undefined) doc.host = this.host;
    return doc;
  }

  private options(record: OptionsRecord): EcsDocument {
    const netflow = {
      exporter: this.exporter(record),
      options: record.options,
      scope: record.scope,
      type: 'netflow_options',
    };
    const event = {
      action: 'netflow_options',
      category: ['network'],
      created: this.now(),
      dataset: NETFLOW_DATASET,
      kind: 'event',
    };
    const doc = this.common(record, netflow, event);
    doc.network = { direction: 'unknown' };
    doc.related = { ip: [record.exporter.ip] };
    return doc;
  }

  private flow(record: FlowRecord): EcsDocument {
    const f = record.fields;
    // R6: what the session's options data said, when the enrichment is on
    const learned = this.useOptions ? record.exporter.sessionOptions : undefined;
    const event: Record<string, unknown> = {
      action: 'netflow_flow',
      category: ['network'],
      created: this.now(),
      dataset: NETFLOW_DATASET,
      kind: 'event',
      type: ['connection'],
    };
    this.times(record, event, learned);

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
        related.push(dstIp);
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
    const flow = {
      id: flowId(srcHashBytes ?? a, sp, dstHashBytes ?? b, dp, p),
      locality: isInternal(this.networks, a) && isInternal(this.networks, b) ? 'internal' : 'external',
    };

    const network: Record<string, unknown> = {};
    if (proto !== undefined) {
      network.transport = TRANSPORTS[proto & 0xff] ?? `unknown (${proto & 0xff})`;
      network.iana_number = String(proto); // pipeline step 2
    }
    const rate = this.samplingRate || this.scaleCounters ? samplingRate(record, learned) : undefined;
    // scale_counters: what the sampled packets stand for, not what was sampled
    const scale = this.scaleCounters && rate !== undefined && rate > 1 ? rate : 1;
    const scaled = (c: Counter | undefined) => (c === undefined || scale === 1 ? c : mulCounter(c, scale));
    const bytes = scaled(firstCounter(f, 'octet_delta_count', 'octet_total_count', 'initiator_octets'));
    const packets = scaled(firstCounter(f, 'packet_delta_count', 'packet_total_count', 'initiator_packets'));
    const revBytes = scaled(
      firstCounter(f, 'reverse_octet_delta_count', 'reverse_octet_total_count', 'responder_octets'),
    );
    const revPackets = scaled(
      firstCounter(f, 'reverse_packet_delta_count', 'reverse_packet_total_count', 'responder_packets'),
    );
    if (revBytes !== undefined) destination.bytes = counterValue(revBytes);
    if (revPackets !== undefined) destination.packets = counterValue(revPackets);
    if (bytes !== undefined) {
      source.bytes = counterValue(bytes);
      network.bytes = counterValue(revBytes === undefined ? bytes : addCounters(bytes, revBytes));
    }
    if (packets !== undefined) {
      source.packets = counterValue(packets);
      network.packets = counterValue(revPackets === undefined ? packets : addCounters(packets, revPackets));
    }

    let src = source;
    let dst = destination;
    let client: Endpoint | undefined;
    let server: Endpoint | undefined;
    const biflow = uint(f.biflow_direction);
    if (biflow !== undefined && Object.keys(src).length > 0 && Object.keys(dst).length > 0) {
      if (biflow === 2) [src, dst] = [dst, src]; // reverseInitiator
      event.category = ['network', 'session']; // pipeline step 4
      client = { ...src };
      server = { ...dst };
    }

    network.direction = flowDirection === undefined ? 'unknown' : directionName(flowDirection);
    const ssid = text(f.wlan_ssid);
    if (ssid !== undefined) network.name = ssid;
    const application = learned === undefined ? undefined : applicationName(f, learned);
    if (application !== undefined) network.application = application;
    network.community_id = communityIdFilebeat(a, sp, b, dp, p);

    // pipeline step 8
    const hasV4 = f.source_ipv4_address !== undefined || f.destination_ipv4_address !== undefined;
    const hasV6 = f.source_ipv6_address !== undefined || f.destination_ipv6_address !== undefined;
    if (hasV4) network.type = hasV6 ? ['ipv4', 'ipv6'] : 'ipv4';
    else if (hasV6) network.type = 'ipv6';
    // pipeline step 9: localities decide when both are known
    if (src.locality !== undefined && dst.locality !== undefined) {
      network.direction =
        src.locality === 'internal'
          ? dst.locality === 'internal'
            ? 'internal'
            : 'outbound'
          : dst.locality === 'internal'
            ? 'inbound'
            : 'external';
    }

    const netflow: Record<string, unknown> = { ...f, exporter: this.exporter(record), type: 'netflow_flow' };
    if (this.samplingRate && rate !== undefined) netflow.sampling_rate = rate;
    // pipeline step 7
    const tcpBits = uint(f.tcp_control_bits);
    if (tcpBits !== undefined && (tcpBits & 0xff) !== 0) {
      const flags: string[] = [];
      for (let bit = 7; bit >= 0; bit--) if (tcpBits & (1 << bit)) flags.push(TCP_FLAG_NAMES[7 - bit]);
      netflow.tcp_flags = flags;
    }

    const doc = this.common(record, netflow, event);
    if (learned !== undefined) addObserverInterfaces(doc.observer as Record<string, unknown>, f, learned);
    doc.flow = flow;
    doc.network = network;
    if (Object.keys(src).length > 0) doc.source = src;
    if (Object.keys(dst).length > 0) doc.destination = dst;
    if (client !== undefined) {
      doc.client = client;
      doc.server = server;
    }
    doc.related = { ip: relatedIps(related, f, record.exporter.ip) };
    return doc;
  }

  /**
   * event.start/end/duration: Filebeat's sysUpTime logic (4.1), then R2 when enabled, with the
   * session's system init time (R6) when `learned`.
   */
  private times(
    record: FlowRecord,
    event: Record<string, unknown>,
    learned: SessionOptionsView | undefined,
  ): void {
    const fb = filebeatTimes(record);
    setEventTimes(event, this.absoluteTimes ? absoluteTimes(record, fb, this.stats, learned) : fb);
  }
}

/**
 * related.ip: the endpoints (Filebeat), plus the observer (pipeline step 5) and every top-level
 * `netflow.*_ipv4_address` / `*_ipv6_address` value (step 6), unique, sorted as strings.
 */
function relatedIps(endpoints: string[], fields: FieldMap, observer: string): string[] {
  const set = new Set(endpoints);
  set.add(observer);
  for (const key in fields) {
    if (key.endsWith('_ipv4_address') || key.endsWith('_ipv6_address')) {
      const v = fields[key];
      if (typeof v === 'string') set.add(v);
    }
  }
  return [...set].sort();
}
