/**
 * An sFlow version 5 encoder for tests: datagrams, flow samples (compact and expanded), raw packet
 * header records carrying Ethernet/IPv4-or-IPv6/TCP-or-UDP frames built here, and extended switch
 * records. Also a generator of N samples with known values, together with the JSON line GoFlow2
 * v2.2.6 prints for each (see {@link buildFlowSamples}).
 *
 * Reference: "sFlow Version 5" (sflow.org/sflow_version_5.txt), section 5 "sFlow Datagram Format",
 * whose XDR (RFC 4506) structures are named in the comments. XDR in short: every integer is a
 * 32-bit big-endian word; `opaque x<>` is a 32-bit byte count, the bytes, then zero padding to a
 * multiple of 4; `x<>` (an array) is a 32-bit element count, then the elements.
 */
import { parseIp } from '../../src/ecs/ip.ts';

// ---------------------------------------------------------------------------------------------
// Encoding

/** Header protocol of a raw packet header record (spec: `header_protocol`). */
export const HEADER_PROTOCOL_ETHERNET = 1;

/** Interface formats of `interface` (compact, top 2 bits) and `interface_expanded` (spec §5). */
export const IF_FORMAT_SINGLE = 0; // value = ifIndex (0x3FFFFFFF compact = unknown)
export const IF_FORMAT_DISCARDED = 1; // value = discard reason
export const IF_FORMAT_MULTIPLE = 2; // value = number of output interfaces

export interface RawHeaderRecord {
  kind: 'raw-header';
  /** `header_protocol`; default 1 (ETHERNET-ISO88023). */
  protocol?: number;
  /** Length of the packet on the wire, before sampling (includes the 4-byte FCS when counted). */
  frameLength: number;
  /** Octets removed before extracting `header` (typically the 4-byte FCS). */
  stripped: number;
  /** The first bytes of the frame. */
  header: Uint8Array;
}

export interface ExtendedSwitchRecord {
  kind: 'extended-switch';
  srcVlan: number;
  srcPriority: number;
  dstVlan: number;
  dstPriority: number;
}

export type FlowRecord = RawHeaderRecord | ExtendedSwitchRecord;

export interface FlowSample {
  /** `flow_sample_expanded` (enterprise 0, format 3) instead of `flow_sample` (format 1). */
  expanded?: boolean;
  /** Incremented by the data source for each sample it generates. */
  sequence: number;
  /** `sflow_data_source` type: 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry. Default 0. */
  sourceType?: number;
  /** `sflow_data_source` index (ifIndex for type 0). */
  sourceIndex: number;
  samplingRate: number;
  /** Total packets that could have been sampled. */
  samplePool: number;
  drops?: number;
  /** Input interface value; with `inputFormat` (default 0 = ifIndex). Compact: 30 bits. */
  input: number;
  inputFormat?: number;
  output: number;
  outputFormat?: number;
  records: FlowRecord[];
}

export interface Datagram {
  /** Agent address, IPv4 or IPv6 text. */
  agent: string;
  subAgentId?: number;
  /** Incremented with each datagram of this agent and sub-agent. */
  sequence: number;
  /** Milliseconds since the agent booted. */
  uptimeMs: number;
  samples: FlowSample[];
}

/** Appends XDR words and opaques to a growing buffer. */
class XdrWriter {
  private chunks: Buffer[] = [];

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
      throw new RangeError(`not an unsigned 32-bit value: ${value}`);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.chunks.push(b);
    return this;
  }

  bytes(data: Uint8Array): this {
    this.chunks.push(Buffer.from(data));
    return this;
  }

  /** `opaque<>`: length, bytes, zero padding to a 4-byte boundary. */
  opaque(data: Uint8Array): this {
    this.u32(data.length).bytes(data);
    const pad = (4 - (data.length % 4)) % 4;
    if (pad > 0) this.chunks.push(Buffer.alloc(pad));
    return this;
  }

  /** `data_format`: enterprise (20 bits) << 12 | format (12 bits). */
  dataFormat(enterprise: number, format: number): this {
    return this.u32(((enterprise << 12) | format) >>> 0);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function ipBytes(text: string): Uint8Array {
  const ip = parseIp(text);
  if (ip === undefined) throw new Error(`not an IP address: ${text}`);
  return ip;
}

/*
 * flow_record (§5, "Flow Data"):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       enterprise (0)                  |   format (1 or 1001)  |  data_format flow_format
 *  +---------------------------------------+-----------------------+
 *  |                     flow_data length                          |  opaque flow_data<>
 *  +---------------------------------------------------------------+
 *  |                     flow_data ...                             |
 *
 * sampled_header (enterprise 0, format 1, "Raw Packet Header"):
 *  +---------------------------------------------------------------+
 *  |                 header_protocol (1 = Ethernet)                |
 *  +---------------------------------------------------------------+
 *  |                 frame_length (before sampling)                |
 *  +---------------------------------------------------------------+
 *  |                 stripped (e.g. 4 for the FCS)                 |
 *  +---------------------------------------------------------------+
 *  |                 header length                                 |  opaque header<>
 *  +---------------------------------------------------------------+
 *  |                 header bytes ... (zero-padded to 4)           |
 *
 * extended_switch (enterprise 0, format 1001, "Extended Switch Data"):
 *  +---------------------------------------------------------------+
 *  | src_vlan | src_priority | dst_vlan | dst_priority  (4 words)   |
 *  +---------------------------------------------------------------+
 */
function encodeRecord(record: FlowRecord): Buffer {
  const body = new XdrWriter();
  let format: number;
  if (record.kind === 'raw-header') {
    format = 1;
    body
      .u32(record.protocol ?? HEADER_PROTOCOL_ETHERNET)
      .u32(record.frameLength)
      .u32(record.stripped)
      .opaque(record.header);
  } else {
    format = 1001;
    body.u32(record.srcVlan).u32(record.srcPriority).u32(record.dstVlan).u32(record.dstPriority);
  }
  return new XdrWriter().dataFormat(0, format).opaque(body.toBuffer()).toBuffer();
}

/*
 * flow_sample (enterprise 0, format 1, §5 "Flow Samples"), compact:
 *  +---------------------------------------------------------------+
 *  |                 sequence_number                               |
 *  +---------------+-----------------------------------------------+
 *  | source type   |  source index (24 bits)                       |  sflow_data_source source_id
 *  +---------------+-----------------------------------------------+
 *  |                 sampling_rate                                 |
 *  +---------------------------------------------------------------+
 *  |                 sample_pool                                   |
 *  +---------------------------------------------------------------+
 *  |                 drops                                         |
 *  +---+-----------------------------------------------------------+
 *  |fmt|  input (30 bits; fmt 0 ifIndex, 1 discard, 2 multiple)    |  interface input
 *  +---+-----------------------------------------------------------+
 *  |fmt|  output (30 bits)                                         |  interface output
 *  +---+-----------------------------------------------------------+
 *  |                 number of flow records                        |  flow_record flow_records<>
 *  +---------------------------------------------------------------+
 *  |                 flow records ...                              |
 *
 * flow_sample_expanded (enterprise 0, format 3): the same, but source_id is two words (type,
 * index) and input and output are two words each (format, value):
 *  | sequence_number | source type | source index | sampling_rate | sample_pool | drops |
 *  | input format | input value | output format | output value | records<> |
 *
 * sample_record (the envelope of either, in the datagram):
 *  | data_format sample_type (enterprise 0 << 12 | 1 or 3) | opaque sample_data<> |
 */
function encodeSample(sample: FlowSample): Buffer {
  const w = new XdrWriter().u32(sample.sequence);
  const sourceType = sample.sourceType ?? 0;
  const inputFormat = sample.inputFormat ?? IF_FORMAT_SINGLE;
  const outputFormat = sample.outputFormat ?? IF_FORMAT_SINGLE;
  if (sample.expanded) {
    w.u32(sourceType).u32(sample.sourceIndex);
  } else {
    if (sample.sourceIndex > 0xffffff) throw new RangeError('compact source index exceeds 24 bits');
    w.u32(((sourceType << 24) | sample.sourceIndex) >>> 0);
  }
  w.u32(sample.samplingRate)
    .u32(sample.samplePool)
    .u32(sample.drops ?? 0);
  if (sample.expanded) {
    w.u32(inputFormat).u32(sample.input).u32(outputFormat).u32(sample.output);
  } else {
    w.u32(compactInterface(inputFormat, sample.input)).u32(compactInterface(outputFormat, sample.output));
  }
  w.u32(sample.records.length);
  for (const record of sample.records) w.bytes(encodeRecord(record));
  return new XdrWriter()
    .dataFormat(0, sample.expanded ? 3 : 1)
    .opaque(w.toBuffer())
    .toBuffer();
}

/** The 32-bit `interface` word of a compact flow sample. */
export function compactInterface(format: number, value: number): number {
  if (value > 0x3fffffff) throw new RangeError(`compact interface value exceeds 30 bits: ${value}`);
  return ((format << 30) | value) >>> 0;
}

/*
 * sample_datagram_v5 (§5 "sFlow Datagram"):
 *  +---------------------------------------------------------------+
 *  |                 version (5)                                   |
 *  +---------------------------------------------------------------+
 *  |                 agent address type (1 = IPv4, 2 = IPv6)       |  address agent_address
 *  +---------------------------------------------------------------+
 *  |                 agent address (4 or 16 bytes)                 |
 *  +---------------------------------------------------------------+
 *  |                 sub_agent_id                                  |
 *  +---------------------------------------------------------------+
 *  |                 sequence_number                               |
 *  +---------------------------------------------------------------+
 *  |                 uptime (ms)                                   |
 *  +---------------------------------------------------------------+
 *  |                 number of samples                             |  sample_record samples<>
 *  +---------------------------------------------------------------+
 *  |                 sample records ...                            |
 */
export function encodeDatagram(datagram: Datagram): Buffer {
  const agent = ipBytes(datagram.agent);
  const w = new XdrWriter()
    .u32(5)
    .u32(agent.length === 4 ? 1 : 2)
    .bytes(agent)
    .u32(datagram.subAgentId ?? 0)
    .u32(datagram.sequence)
    .u32(datagram.uptimeMs)
    .u32(datagram.samples.length);
  for (const sample of datagram.samples) w.bytes(encodeSample(sample));
  return w.toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Frames

export interface FrameSpec {
  srcMac: string;
  dstMac: string;
  /** 802.1Q tag in the frame itself (VLAN id, and priority code point). */
  vlan?: { id: number; priority?: number };
  src: string;
  dst: string;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class. */
  tos: number;
  /** IPv4 identification. */
  ipId?: number;
  /** IPv4 DF flag. */
  dontFragment?: boolean;
  /** IPv6 flow label (20 bits). */
  flowLabel?: number;
  tcpFlags?: number;
  /** L4 payload bytes. */
  payload: number;
}

function macBytes(text: string): Buffer {
  const b = Buffer.from(text.split(':').map((h) => Number.parseInt(h, 16)));
  if (b.length !== 6) throw new Error(`not a MAC address: ${text}`);
  return b;
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A complete Ethernet frame (without FCS): Ethernet [802.1Q] IPv4|IPv6 TCP|UDP payload. */
export function buildFrame(spec: FrameSpec): Buffer {
  const src = ipBytes(spec.src);
  const dst = ipBytes(spec.dst);
  if (src.length !== dst.length) throw new Error('source and destination of different families');
  const v6 = src.length === 16;

  let l4: Buffer;
  if (spec.proto === 'tcp') {
    // TCP header (RFC 9293): ports, seq, ack, data offset 5 words, flags, window
    l4 = Buffer.alloc(20 + spec.payload);
    l4.writeUInt16BE(spec.sport, 0);
    l4.writeUInt16BE(spec.dport, 2);
    l4.writeUInt32BE(1000, 4);
    l4[12] = 5 << 4;
    l4[13] = spec.tcpFlags ?? 0x10;
    l4.writeUInt16BE(65535, 14);
  } else {
    // UDP header (RFC 768): ports, length, checksum 0 (not computed)
    l4 = Buffer.alloc(8 + spec.payload);
    l4.writeUInt16BE(spec.sport, 0);
    l4.writeUInt16BE(spec.dport, 2);
    l4.writeUInt16BE(8 + spec.payload, 4);
  }
  const protoNumber = spec.proto === 'tcp' ? 6 : 17;

  let ip: Buffer;
  if (v6) {
    // IPv6 header (RFC 8200): version 6, traffic class, flow label, payload length, next header, hop limit
    ip = Buffer.alloc(40);
    ip.writeUInt32BE(((6 << 28) | (spec.tos << 20) | ((spec.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
    ip.writeUInt16BE(l4.length, 4);
    ip[6] = protoNumber;
    ip[7] = spec.ttl;
    ip.set(src, 8);
    ip.set(dst, 24);
  } else {
    // IPv4 header (RFC 791), no options
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip[1] = spec.tos;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip.writeUInt16BE(spec.ipId ?? 0, 4);
    ip.writeUInt16BE(spec.dontFragment ? 0x4000 : 0, 6);
    ip[8] = spec.ttl;
    ip[9] = protoNumber;
    ip.set(src, 12);
    ip.set(dst, 16);
    ip.writeUInt16BE(ipv4Checksum(ip), 10);
  }

  const etherType = v6 ? 0x86dd : 0x0800;
  const eth = Buffer.alloc(spec.vlan === undefined ? 14 : 18);
  macBytes(spec.dstMac).copy(eth, 0);
  macBytes(spec.srcMac).copy(eth, 6);
  if (spec.vlan === undefined) {
    eth.writeUInt16BE(etherType, 12);
  } else {
    eth.writeUInt16BE(0x8100, 12);
    eth.writeUInt16BE(((spec.vlan.priority ?? 0) << 13) | spec.vlan.id, 14);
    eth.writeUInt16BE(etherType, 16);
  }
  return Buffer.concat([eth, ip, l4]);
}

// ---------------------------------------------------------------------------------------------
// Known samples and what GoFlow2 v2.2.6 prints for them

/** The 50 keys GoFlow2 v2.2.x prints without `-mapping`, in its order (GOFLOW2.md §1.2). */
export const GOFLOW2_KEYS = [
  'type',
  'time_received_ns',
  'sequence_num',
  'sampling_rate',
  'sampler_address',
  'time_flow_start_ns',
  'time_flow_end_ns',
  'bytes',
  'packets',
  'src_addr',
  'dst_addr',
  'etype',
  'proto',
  'src_port',
  'dst_port',
  'in_if',
  'out_if',
  'src_mac',
  'dst_mac',
  'src_vlan',
  'dst_vlan',
  'vlan_id',
  'ip_tos',
  'forwarding_status',
  'ip_ttl',
  'ip_flags',
  'tcp_flags',
  'icmp_type',
  'icmp_code',
  'ipv6_flow_label',
  'fragment_id',
  'fragment_offset',
  'src_as',
  'dst_as',
  'next_hop',
  'next_hop_as',
  'src_net',
  'dst_net',
  'bgp_next_hop',
  'bgp_communities',
  'as_path',
  'mpls_ttl',
  'mpls_label',
  'mpls_ip',
  'observation_domain_id',
  'observation_point_id',
  'layer_stack',
  'layer_size',
  'ipv6_routing_header_addresses',
  'ipv6_routing_header_seg_left',
] as const;

/** The receive-time keys, which the sender cannot predict. */
export const GOFLOW2_TIME_KEYS = ['time_received_ns', 'time_flow_start_ns', 'time_flow_end_ns'] as const;

export type Goflow2Line = Record<string, unknown>;

export interface ExpectedSample {
  /** {@link sampleKey} of the line GoFlow2 prints for this sample. */
  key: string;
  /** Index in `datagrams` of the datagram carrying the sample. */
  datagram: number;
  /** Every key GoFlow2 prints except the three receive times, in GoFlow2's order. */
  line: Goflow2Line;
}

export interface FlowSampleSet {
  datagrams: Buffer[];
  /** One per sample, in sending order. */
  samples: ExpectedSample[];
}

export interface FlowSampleOptions {
  /** Samples per datagram (default 8; GoFlow2 accepts up to 1000). */
  samplesPerDatagram?: number;
  /** Agents, used in turn for successive datagrams (default one IPv4 and one IPv6 agent). */
  agents?: readonly string[];
  /** First datagram sequence number of each agent (default 1). */
  firstSequence?: number;
  /**
   * Index of the first sample: samples are a pure function of their index, so a second batch
   * with `firstIndex` = the first batch's count has distinct 5-tuples (default 0).
   */
  firstIndex?: number;
  /** Bytes of each frame copied into the raw header record (default 128, as hsflowd). */
  headerBytes?: number;
}

/** Identifies a GoFlow2 line (or an expected one) among those of one run. */
export function sampleKey(line: Goflow2Line): string {
  return [
    line.sampler_address,
    line.sequence_num,
    line.src_addr,
    line.src_port,
    line.dst_addr,
    line.dst_port,
    line.proto,
  ].join('|');
}

const SAMPLING_RATES = [1, 100, 512, 4096, 1_000_000];
const DST_PORTS = [80, 443, 53, 123, 8080];
const TCP_FLAGS = [0x02, 0x12, 0x10, 0x18, 0x11];

const hex = (n: number) => n.toString(16);
const mac = (prefix: number, n: number) =>
  [2, 0, prefix, (n >> 16) & 255, (n >> 8) & 255, n & 255]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');

interface SampleSpec {
  frame: FrameSpec;
  sample: Omit<FlowSample, 'records' | 'sequence'>;
  switchRecord?: ExtendedSwitchRecord;
}

/** Sample number `g`: every field is a function of `g`, mixing the variants GoFlow2 decodes. */
function sampleSpec(g: number): SampleSpec {
  const v6 = g % 3 === 2;
  const tcp = g % 2 === 0;
  const expanded = g % 4 === 3;
  const frame: FrameSpec = {
    srcMac: mac(0x0a, g),
    dstMac: mac(0x0b, g + 1),
    vlan: g % 6 === 1 ? { id: 300 + (g % 100), priority: g % 12 === 1 ? 5 : 0 } : undefined,
    src: v6 ? `2001:db8:a::${hex(g + 1)}` : `10.1.${(g >> 8) & 255}.${g & 255}`,
    dst: v6 ? `2001:db8:b::${hex(1 + (g % 500))}` : `198.51.100.${1 + (g % 254)}`,
    proto: tcp ? 'tcp' : 'udp',
    sport: 20000 + (g % 40000),
    dport: DST_PORTS[g % 5],
    ttl: 64 - (g % 8),
    tos: (g % 4) * 8,
    ipId: (g * 7) & 0xffff,
    dontFragment: tcp,
    flowLabel: v6 ? (g * 13) & 0xfffff : undefined,
    tcpFlags: tcp ? TCP_FLAGS[(g >> 1) % 5] : undefined,
    payload: (g * 37) % 1400,
  };
  const sample: SampleSpec['sample'] = {
    expanded,
    sourceIndex: 1 + (g % 48),
    samplingRate: SAMPLING_RATES[g % 5],
    samplePool: 1000 * (g + 1),
    input: expanded && g % 8 === 7 ? 1_500_000_000 : 1 + (g % 48),
    output: 49 + (g % 7),
  };
  // a compact sample sent to several interfaces: GoFlow2 prints the raw word
  if (!expanded && g % 25 === 10) {
    sample.outputFormat = IF_FORMAT_MULTIPLE;
    sample.output = 3;
  }
  const switchRecord: ExtendedSwitchRecord | undefined =
    g % 5 === 4
      ? undefined
      : {
          kind: 'extended-switch',
          srcVlan: 100 + (g % 50),
          srcPriority: 0,
          dstVlan: 200 + (g % 50),
          dstPriority: 0,
        };
  return { frame, sample, switchRecord };
}

/** The line GoFlow2 v2.2.6 prints for one sample, without the receive times. */
function expectedLine(
  spec: SampleSpec,
  frameLength: number,
  header: Uint8Array,
  agent: string,
  sequence: number,
): Goflow2Line {
  const { frame, sample } = spec;
  const v6 = frame.src.includes(':');
  const tcp = frame.proto === 'tcp';
  const ifValue = (format: number | undefined, value: number) =>
    sample.expanded ? value : compactInterface(format ?? 0, value);
  const stack = ['Ethernet'];
  const sizes = [14];
  if (frame.vlan !== undefined) {
    stack.push('Dot1Q');
    sizes.push(4);
  }
  stack.push(v6 ? 'IPv6' : 'IPv4', tcp ? 'TCP' : 'UDP');
  // GoFlow2 v2.2.6 sizes the TCP layer from the flags byte (data[13] >> 4), not the data offset
  sizes.push(v6 ? 40 : 20, tcp ? 20 + ((frame.tcpFlags ?? 0) >> 4) * 4 : 8);
  if (header.length < sizes.reduce((a, b) => a + b, 0))
    throw new Error('header too short for the expectation');
  const line: Goflow2Line = {
    type: 'SFLOW_5',
    sequence_num: sequence,
    sampling_rate: sample.samplingRate,
    sampler_address: agent,
    bytes: frameLength,
    packets: 1,
    src_addr: frame.src,
    dst_addr: frame.dst,
    etype: v6 ? 'IPv6' : 'IPv4',
    proto: tcp ? 'TCP' : 'UDP',
    src_port: frame.sport,
    dst_port: frame.dport,
    in_if: ifValue(sample.inputFormat, sample.input),
    out_if: ifValue(sample.outputFormat, sample.output),
    src_mac: frame.srcMac,
    dst_mac: frame.dstMac,
    src_vlan: spec.switchRecord?.srcVlan ?? 0,
    dst_vlan: spec.switchRecord?.dstVlan ?? 0,
    // the whole 802.1Q TCI: priority bits included
    vlan_id: frame.vlan === undefined ? 0 : ((frame.vlan.priority ?? 0) << 13) | frame.vlan.id,
    ip_tos: frame.tos,
    forwarding_status: 0,
    ip_ttl: frame.ttl,
    ip_flags: !v6 && frame.dontFragment ? 2 : 0,
    tcp_flags: tcp ? (frame.tcpFlags ?? 0) : 0,
    icmp_type: 0,
    icmp_code: 0,
    ipv6_flow_label: v6 ? (frame.flowLabel ?? 0) : 0,
    fragment_id: v6 ? 0 : (frame.ipId ?? 0),
    fragment_offset: 0,
    src_as: 0,
    dst_as: 0,
    next_hop: '',
    next_hop_as: 0,
    src_net: v6 ? '::/0' : '0.0.0.0/0',
    dst_net: v6 ? '::/0' : '0.0.0.0/0',
    bgp_next_hop: '',
    bgp_communities: [],
    as_path: [],
    mpls_ttl: [],
    mpls_label: [],
    mpls_ip: [],
    observation_domain_id: 0,
    observation_point_id: 0,
    layer_stack: stack,
    layer_size: sizes,
    ipv6_routing_header_addresses: [],
    ipv6_routing_header_seg_left: 0,
  };
  // in GoFlow2's key order
  return Object.fromEntries(
    GOFLOW2_KEYS.filter((k) => !(GOFLOW2_TIME_KEYS as readonly string[]).includes(k)).map((k) => [
      k,
      line[k],
    ]),
  );
}

/**
 * `count` flow samples with known 5-tuples, sampling rates, frame lengths, interfaces and VLANs,
 * packed `samplesPerDatagram` to a datagram, with the line GoFlow2 prints for each. The mix:
 * IPv4 and IPv6 frames; TCP and UDP; compact and expanded samples; with and without an extended
 * switch record and an 802.1Q tag; sampling rates from 1 to 1,000,000; IPv4 and IPv6 agents.
 */
export function buildFlowSamples(count: number, options: FlowSampleOptions = {}): FlowSampleSet {
  const perDatagram = options.samplesPerDatagram ?? 8;
  const agents = options.agents ?? ['192.0.2.10', '2001:db8::10'];
  const firstIndex = options.firstIndex ?? 0;
  const headerBytes = options.headerBytes ?? 128;
  const nextSequence = new Map<string, number>();
  const datagrams: Buffer[] = [];
  const samples: ExpectedSample[] = [];

  for (let start = 0; start < count; start += perDatagram) {
    const agent = agents[datagrams.length % agents.length];
    const sequence = nextSequence.get(agent) ?? options.firstSequence ?? 1;
    nextSequence.set(agent, sequence + 1);
    const flowSamples: FlowSample[] = [];
    for (let i = start; i < Math.min(count, start + perDatagram); i++) {
      const g = firstIndex + i;
      const spec = sampleSpec(g);
      const frame = buildFrame(spec.frame);
      const header = frame.subarray(0, Math.min(headerBytes, frame.length));
      const frameLength = frame.length + 4; // on the wire, with the FCS that `stripped` removed
      const records: FlowRecord[] = [{ kind: 'raw-header', frameLength, stripped: 4, header }];
      if (spec.switchRecord !== undefined) records.push(spec.switchRecord);
      flowSamples.push({ ...spec.sample, sequence: g + 1, records });
      const line = expectedLine(spec, frameLength, header, agent, sequence);
      samples.push({ key: sampleKey(line), datagram: datagrams.length, line });
    }
    datagrams.push(
      encodeDatagram({ agent, sequence, uptimeMs: 60_000 + sequence * 1000, samples: flowSamples }),
    );
  }
  return { datagrams, samples };
}
