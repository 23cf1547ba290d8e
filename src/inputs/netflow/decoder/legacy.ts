/**
 * NetFlow v1, v5, v6, v7 and v8: fixed record layouts, decoded through pseudo-templates whose
 * fields carry IANA element ids, so their documents look like v9 ones (NETFLOW.md 1.2, 1.3).
 * Layouts: Cisco's "NetFlow Export Datagram Format" (v1-v8); v8 aggregation schemes from Cisco's
 * "NetFlow Services Solutions Guide". Id 0 is padding: consumed, never emitted.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { Dictionary } from '../fields/types.ts';
import { applyTemplate, compileTemplate, type FieldSpec, type Template } from './template.ts';
import type { DecodedRecord, ExporterMeta } from './types.ts';

// IANA ids used by the layouts below.
const OCTETS = 1;
const PACKETS = 2;
const FLOWS = 3;
const PROTO = 4;
const TOS = 5;
const TCP_FLAGS = 6;
const SRC_PORT = 7;
const SRC_ADDR = 8;
const SRC_MASK = 9;
const INPUT = 10;
const DST_PORT = 11;
const DST_ADDR = 12;
const DST_MASK = 13;
const OUTPUT = 14;
const NEXT_HOP = 15;
const SRC_AS = 16;
const DST_AS = 17;
const LAST = 21;
const FIRST = 22;
const ROUTER_SC = 43;
const SRC_PREFIX = 44;
const DST_PREFIX = 45;
const MARKED_TOS = 55;
const FLAGS_SAMPLER = 87;
const EXTRA_PKTS = 133;
const PAD = 0;

type Layout = ReadonlyArray<readonly [id: number, length: number]>;

/*
 * v5 record (48 bytes); v1, v6 and v7 differ as noted below.
 *  0 srcaddr 4 | 4 dstaddr 4 | 8 nexthop 4 | 12 input 2 | 14 output 2 | 16 dPkts 4 | 20 dOctets 4
 * 24 first 4   | 28 last 4   | 32 srcport 2 | 34 dstport 2 | 36 pad 1 | 37 tcp_flags 1 | 38 prot 1
 * 39 tos 1     | 40 src_as 2 | 42 dst_as 2 | 44 src_mask 1 | 45 dst_mask 1 | 46 pad 2
 */
const COMMON_HEAD: Layout = [
  [SRC_ADDR, 4],
  [DST_ADDR, 4],
  [NEXT_HOP, 4],
  [INPUT, 2],
  [OUTPUT, 2],
  [PACKETS, 4],
  [OCTETS, 4],
  [FIRST, 4],
  [LAST, 4],
  [SRC_PORT, 2],
  [DST_PORT, 2],
];
const V5_TAIL: Layout = [
  [TCP_FLAGS, 1],
  [PROTO, 1],
  [TOS, 1],
  [SRC_AS, 2],
  [DST_AS, 2],
  [SRC_MASK, 1],
  [DST_MASK, 1],
];
const V5: Layout = [...COMMON_HEAD, [PAD, 1], ...V5_TAIL, [PAD, 2]];
// v1 (48): 36 pad 2 | 38 prot | 39 tos | 40 tcp_flags | 41-47 reserved
const V1: Layout = [...COMMON_HEAD, [PAD, 2], [PROTO, 1], [TOS, 1], [TCP_FLAGS, 1], [PAD, 7]];
// v6 (52): as v5 to byte 45; 46-51 encapsulation sizes and peer next hop, not exported
const V6: Layout = [...COMMON_HEAD, [PAD, 1], ...V5_TAIL, [PAD, 6]];
// v7 (52): byte 36 is a flags byte (ignored); 46 flags u16; 48 router_sc u32
const V7: Layout = [...COMMON_HEAD, [PAD, 1], ...V5_TAIL, [FLAGS_SAMPLER, 2], [ROUTER_SC, 4]];

// v8 aggregated records share this 20-byte prefix: flows, dPkts, dOctets, first, last (u32 each)
const C: Layout = [
  [FLOWS, 4],
  [PACKETS, 4],
  [OCTETS, 4],
  [FIRST, 4],
  [LAST, 4],
];
const V8_SCHEMES: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  [1, [...C, [SRC_AS, 2], [DST_AS, 2], [INPUT, 2], [OUTPUT, 2]]], // RouterAS 28
  [2, [...C, [PROTO, 1], [PAD, 3], [SRC_PORT, 2], [DST_PORT, 2]]], // RouterProtoPort 28
  [3, [...C, [SRC_PREFIX, 4], [PAD, 2], [SRC_AS, 2], [INPUT, 2], [PAD, 2]]], // RouterSrcPrefix 32
  [4, [...C, [DST_PREFIX, 4], [PAD, 2], [DST_AS, 2], [OUTPUT, 2], [PAD, 2]]], // RouterDstPrefix 32
  // RouterPrefix 40 (masks and pad not exported)
  [5, [...C, [SRC_PREFIX, 4], [DST_PREFIX, 4], [PAD, 4], [SRC_AS, 2], [DST_AS, 2], [INPUT, 2], [OUTPUT, 2]]],
  // DestOnly 32
  [
    6,
    [
      [DST_ADDR, 4],
      [PACKETS, 4],
      [OCTETS, 4],
      [FIRST, 4],
      [LAST, 4],
      [OUTPUT, 2],
      [TOS, 1],
      [MARKED_TOS, 1],
      [EXTRA_PKTS, 4],
      [ROUTER_SC, 4],
    ],
  ],
  // SrcDst 40
  [
    7,
    [
      [DST_ADDR, 4],
      [SRC_ADDR, 4],
      [PACKETS, 4],
      [OCTETS, 4],
      [FIRST, 4],
      [LAST, 4],
      [OUTPUT, 2],
      [INPUT, 2],
      [TOS, 1],
      [MARKED_TOS, 1],
      [PAD, 2],
      [EXTRA_PKTS, 4],
      [ROUTER_SC, 4],
    ],
  ],
  // FullFlow 44
  [
    8,
    [
      [DST_ADDR, 4],
      [SRC_ADDR, 4],
      [DST_PORT, 2],
      [SRC_PORT, 2],
      [PACKETS, 4],
      [OCTETS, 4],
      [FIRST, 4],
      [LAST, 4],
      [OUTPUT, 2],
      [INPUT, 2],
      [TOS, 1],
      [PROTO, 1],
      [MARKED_TOS, 1],
      [PAD, 1],
      [EXTRA_PKTS, 4],
      [ROUTER_SC, 4],
    ],
  ],
  [9, [...C, [SRC_AS, 2], [DST_AS, 2], [INPUT, 2], [OUTPUT, 2], [TOS, 1], [PAD, 3]]], // TosAS 32
  // TosProtoPort 32
  [10, [...C, [PROTO, 1], [TOS, 1], [PAD, 2], [SRC_PORT, 2], [DST_PORT, 2], [INPUT, 2], [OUTPUT, 2]]],
  [11, [...C, [SRC_PREFIX, 4], [SRC_MASK, 1], [TOS, 1], [SRC_AS, 2], [INPUT, 2], [PAD, 2]]], // TosSrcPrefix 32
  [12, [...C, [DST_PREFIX, 4], [DST_MASK, 1], [TOS, 1], [DST_AS, 2], [OUTPUT, 2], [PAD, 2]]], // TosDstPrefix 32
  // TosPrefix 40: dst_mask before src_mask
  [
    13,
    [
      ...C,
      [SRC_PREFIX, 4],
      [DST_PREFIX, 4],
      [DST_MASK, 1],
      [SRC_MASK, 1],
      [TOS, 1],
      [PAD, 1],
      [SRC_AS, 2],
      [DST_AS, 2],
      [INPUT, 2],
      [OUTPUT, 2],
    ],
  ],
  // PrePortProtocol 40
  [
    14,
    [
      ...C,
      [SRC_PREFIX, 4],
      [DST_PREFIX, 4],
      [DST_MASK, 1],
      [SRC_MASK, 1],
      [TOS, 1],
      [PROTO, 1],
      [SRC_PORT, 2],
      [DST_PORT, 2],
      [INPUT, 2],
      [OUTPUT, 2],
    ],
  ],
]);

function toTemplate(dictionary: Dictionary, layout: Layout): Template {
  const specs: FieldSpec[] = layout.map(([id, length]) => ({ pen: 0, id, length }));
  return compileTemplate(dictionary, 0, specs, 0, false);
}

const layoutSize = (layout: Layout) => layout.reduce((n, [, len]) => n + len, 0);
const FIXED_LAYOUTS: ReadonlyMap<number, Layout> = new Map([
  [1, V1],
  [5, V5],
  [6, V6],
  [7, V7],
]);

/**
 * Record size of a v1-v8 packet, from the layouts the decoder reads: by version, and for v8 by
 * aggregation scheme. Undefined for another version or an unknown scheme.
 */
export function legacyRecordSize(version: number, aggregation: number): number | undefined {
  const layout = version === 8 ? V8_SCHEMES.get(aggregation) : FIXED_LAYOUTS.get(version);
  return layout === undefined ? undefined : layoutSize(layout);
}

/** The pseudo-templates of one dictionary, compiled once. */
export class LegacyLayouts {
  readonly v1: Template;
  readonly v5: Template;
  readonly v6: Template;
  readonly v7: Template;
  readonly v8: ReadonlyMap<number, Template>;

  constructor(dictionary: Dictionary) {
    this.v1 = toTemplate(dictionary, V1);
    this.v5 = toTemplate(dictionary, V5);
    this.v6 = toTemplate(dictionary, V6);
    this.v7 = toTemplate(dictionary, V7);
    this.v8 = new Map([...V8_SCHEMES].map(([scheme, layout]) => [scheme, toTemplate(dictionary, layout)]));
  }
}

export interface ExporterAddress {
  /** Exporter IP as text (IPv4-mapped IPv6 already normalised to dotted IPv4). */
  readonly ip: string;
  /** `ip:port`, `[v6]:port`. */
  readonly address: string;
}

function exportTime(buf: Buffer, off: number): Date {
  // unix_secs + unix_nsecs; documents carry milliseconds
  return new Date(buf.readUInt32BE(off) * 1000 + Math.floor(buf.readUInt32BE(off + 4) / 1e6));
}

/*
 * Headers (NETFLOW.md 1.2, 1.3):
 *   v1 (16):      version u16 | count u16 | sys_uptime u32 | unix_secs u32 | unix_nsecs u32
 *   v5, v6 (24):  ... v1 ... | flow_sequence u32 | engine_type u8 | engine_id u8 | sampling u16
 *   v7 (24):      ... v1 ... | flow_sequence u32 | reserved u32
 *   v8 (28):      ... v1 ... | flow_sequence u32 | engine_type u8 | engine_id u8 | aggregation u8
 *                 | agg_version u8 | reserved u32
 */
export function decodeLegacy(
  layouts: LegacyLayouts,
  buf: Buffer,
  from: ExporterAddress,
  out: DecodedRecord[],
): number {
  const version = buf.readUInt16BE(0);
  const headerLength = version === 1 ? 16 : version === 8 ? 28 : 24;
  if (buf.length < headerLength) {
    throw new DecodeError(
      'short_header',
      `NetFlow v${version} header needs ${headerLength} bytes, got ${buf.length}`,
    );
  }
  const count = buf.readUInt16BE(2);
  const exporter: ExporterMeta = {
    version,
    timestamp: exportTime(buf, 8),
    uptimeMillis: buf.readUInt32BE(4),
    address: from.address,
    ip: from.ip,
  };
  let template: Template;
  switch (version) {
    case 1:
      template = layouts.v1;
      break;
    case 5:
    case 6:
      exporter.sequence = buf.readUInt32BE(16);
      exporter.engineType = buf[20];
      exporter.engineId = buf[21];
      exporter.samplingInterval = buf.readUInt16BE(22);
      template = version === 5 ? layouts.v5 : layouts.v6;
      break;
    case 7:
      exporter.sequence = buf.readUInt32BE(16);
      template = layouts.v7;
      break;
    case 8: {
      exporter.sequence = buf.readUInt32BE(16);
      exporter.engineType = buf[20];
      exporter.engineId = buf[21];
      exporter.aggregation = buf[22];
      exporter.aggregationVersion = buf[23];
      const scheme = layouts.v8.get(buf[22]);
      if (scheme === undefined) {
        throw new DecodeError(
          'unknown_aggregation',
          `NetFlow v8 aggregation scheme ${buf[22]} is not supported`,
        );
      }
      template = scheme;
      break;
    }
    default:
      throw new DecodeError('unsupported_version', `NetFlow version ${version} is not supported`);
  }
  if (count === 0) return headerLength;
  applyTemplate(template, buf, headerLength, buf.length, exporter, out, count);
  return headerLength + count * template.length;
}
