/**
 * NetFlow v1, v5, v6, v7, v8 (NETFLOW.md 1.2, 1.3): fixed layouts built byte by byte, every
 * field at its offset, every pad byte non-zero so that reading it would show.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../../src/util/errors.ts';
import { decoder, FROM, flows, ip4, legacy, legacyHeader, packet, u8, u16, u32 } from './packets.ts';

const SECS = 1_469_109_117; // 2016-07-21T13:51:57Z
const NSECS = 514_932_000;
const EXPORT_TIME = new Date(SECS * 1000 + 514);

/** Bytes 0-35 of a v1/v5/v6/v7 record. */
function head(n: number): number[] {
  return [
    ...ip4(`10.0.0.${n}`), // srcaddr
    ...ip4('192.168.0.98'), // dstaddr
    ...ip4('192.168.0.1'), // nexthop
    ...u16(13), // input
    ...u16(50), // output
    ...u32(2), // dPkts
    ...u32(104), // dOctets
    ...u32(27_346_270), // first
    ...u32(27_346_280), // last
    ...u16(5228), // srcport
    ...u16(52734), // dstport
  ];
}

const HEAD_FIELDS = (n: number) => ({
  source_ipv4_address: `10.0.0.${n}`,
  destination_ipv4_address: '192.168.0.98',
  ip_next_hop_ipv4_address: '192.168.0.1',
  ingress_interface: 13,
  egress_interface: 50,
  packet_delta_count: 2,
  octet_delta_count: 104,
  flow_start_sys_up_time: 27_346_270,
  flow_end_sys_up_time: 27_346_280,
  source_transport_port: 5228,
  destination_transport_port: 52734,
});

/** v5 record (48 B); byte 36 and 46-47 are padding. */
function v5Record(n: number): number[] {
  return [
    ...head(n),
    0xee, // 36 pad
    0x12, // 37 tcp_flags
    6, // 38 prot
    0x28, // 39 tos
    ...u16(64_496), // 40 src_as
    ...u16(64_497), // 42 dst_as
    24, // 44 src_mask
    16, // 45 dst_mask
    0xee,
    0xee, // 46 pad
  ];
}

const V5_FIELDS = (n: number) => ({
  ...HEAD_FIELDS(n),
  tcp_control_bits: 0x12,
  protocol_identifier: 6,
  ip_class_of_service: 0x28,
  bgp_source_as_number: 64_496,
  bgp_destination_as_number: 64_497,
  source_ipv4_prefix_length: 24,
  destination_ipv4_prefix_length: 16,
});

describe('NetFlow v5', () => {
  it('decodes the 24-byte header and 48-byte records field by field', () => {
    const buf = legacy(
      5,
      {
        uptime: 27_361_640,
        secs: SECS,
        nsecs: NSECS,
        sequence: 8_140_050,
        engineType: 1,
        engineId: 2,
        sampling: 0x4064,
      },
      v5Record(1),
      v5Record(2),
    );
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.equal(consumed, 24 + 2 * 48);
    assert.deepEqual(flows(records), [V5_FIELDS(1), V5_FIELDS(2)]);
    for (const r of records) {
      assert.equal(r.type, 'netflow_flow');
      assert.deepEqual(r.exporter, {
        version: 5,
        timestamp: EXPORT_TIME, // unix_nsecs kept to the millisecond
        uptimeMillis: 27_361_640,
        address: '192.0.2.1:4444',
        ip: '192.0.2.1',
        sequence: 8_140_050,
        engineType: 1,
        engineId: 2,
        samplingInterval: 0x4064, // the raw 16 bits: mode 01 and interval 100 not split
      });
    }
  });

  it('trusts count: fewer records than announced is a decode error, extra bytes are ignored', () => {
    const short = packet(legacyHeader(5, { count: 3 }, 0), v5Record(1), v5Record(2));
    assert.throws(
      () => decoder().decode(short, FROM),
      (e: unknown) => e instanceof DecodeError && e.reason === 'short_packet',
    );
    const long = packet(legacyHeader(5, { count: 1 }, 0), v5Record(1), v5Record(2), [1, 2, 3]);
    const { records, consumed } = decoder().decode(long, FROM);
    assert.deepEqual(flows(records), [V5_FIELDS(1)]);
    assert.equal(consumed, 24 + 48);
  });

  it('count 0 gives no records; a header shorter than 24 bytes is a decode error', () => {
    assert.deepEqual(decoder().decode(legacy(5, {}), FROM).records, []);
    assert.throws(
      () => decoder().decode(Buffer.from(legacyHeader(5, {}, 0).slice(0, 23)), FROM),
      (e: unknown) => e instanceof DecodeError && e.reason === 'short_header',
    );
  });

  it('a record cut short by the datagram end fails the whole packet', () => {
    const buf = legacy(5, {}, v5Record(1), v5Record(2)).subarray(0, 24 + 48 + 47);
    assert.throws(() => decoder().decode(buf, FROM), DecodeError);
  });
});

describe('NetFlow v1', () => {
  it('16-byte header; record: 36 pad 2, 38 prot, 39 tos, 40 tcp_flags, 41-47 ignored', () => {
    const record = [...head(7), 0xee, 0xee, 17, 0x10, 0x1b, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee];
    assert.equal(record.length, 48);
    const buf = legacy(1, { uptime: 5000, secs: SECS, nsecs: NSECS }, record);
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.equal(consumed, 16 + 48);
    assert.deepEqual(flows(records), [
      { ...HEAD_FIELDS(7), protocol_identifier: 17, ip_class_of_service: 0x10, tcp_control_bits: 0x1b },
    ]);
    assert.deepEqual(records[0].exporter, {
      version: 1,
      timestamp: EXPORT_TIME,
      uptimeMillis: 5000,
      address: '192.0.2.1:4444',
      ip: '192.0.2.1',
    });
  });
});

describe('NetFlow v6', () => {
  it('as v5 to byte 45; bytes 46-51 ignored', () => {
    const record = [...v5Record(3).slice(0, 46), 0xee, 0xee, ...ip4('1.2.3.4')];
    const buf = legacy(6, { secs: SECS, engineType: 3, engineId: 4, sampling: 7 }, record, record);
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.equal(consumed, 24 + 2 * 52);
    assert.deepEqual(flows(records), [V5_FIELDS(3), V5_FIELDS(3)]);
    assert.equal(records[0].exporter.version, 6);
    assert.equal(records[0].exporter.engineType, 3);
    assert.equal(records[0].exporter.engineId, 4);
    assert.equal(records[0].exporter.samplingInterval, 7);
  });
});

describe('NetFlow v7', () => {
  it('as v5 to byte 45 (36 is a flags byte); 46 flags -> flags_and_sampler_id; 48 router_sc', () => {
    const record = [
      ...v5Record(4).slice(0, 36),
      0x55,
      ...v5Record(4).slice(37, 46),
      ...u16(0x0102),
      ...ip4('10.9.9.9'),
    ];
    assert.equal(record.length, 52);
    const buf = legacy(7, { secs: SECS, sequence: 77 }, record);
    const { records } = decoder().decode(buf, FROM);
    assert.deepEqual(flows(records), [
      { ...V5_FIELDS(4), flags_and_sampler_id: 0x0102, ipv4_router_sc: '10.9.9.9' },
    ]);
    // bytes 20-23 are reserved: no engine, no sampling
    assert.deepEqual(records[0].exporter, {
      version: 7,
      timestamp: new Date(SECS * 1000),
      uptimeMillis: 0,
      address: '192.0.2.1:4444',
      ip: '192.0.2.1',
      sequence: 77,
    });
  });
});

describe('NetFlow v8 router-based aggregation', () => {
  /** The 20-byte prefix of aggregated records: flows, dPkts, dOctets, first, last. */
  const C = [...u32(5), ...u32(60), ...u32(7000), ...u32(1000), ...u32(2000)];
  const C_FIELDS = {
    delta_flow_count: 5,
    packet_delta_count: 60,
    octet_delta_count: 7000,
    flow_start_sys_up_time: 1000,
    flow_end_sys_up_time: 2000,
  };
  const schemes: [scheme: number, name: string, record: number[], fields: Record<string, unknown>][] = [
    [
      1,
      'RouterAS',
      [...C, ...u16(100), ...u16(200), ...u16(3), ...u16(4)],
      {
        ...C_FIELDS,
        bgp_source_as_number: 100,
        bgp_destination_as_number: 200,
        ingress_interface: 3,
        egress_interface: 4,
      },
    ],
    [
      2,
      'RouterProtoPort',
      [...C, 17, 0xee, 0xee, 0xee, ...u16(53), ...u16(5353)],
      { ...C_FIELDS, protocol_identifier: 17, source_transport_port: 53, destination_transport_port: 5353 },
    ],
    [
      6,
      'DestOnly (no 20-byte prefix)',
      [
        ...ip4('10.1.1.1'),
        ...u32(60),
        ...u32(7000),
        ...u32(1000),
        ...u32(2000),
        ...u16(4),
        0x20,
        0x30,
        ...u32(9),
        ...ip4('10.2.2.2'),
      ],
      {
        destination_ipv4_address: '10.1.1.1',
        packet_delta_count: 60,
        octet_delta_count: 7000,
        flow_start_sys_up_time: 1000,
        flow_end_sys_up_time: 2000,
        egress_interface: 4,
        ip_class_of_service: 0x20,
        post_ip_class_of_service: 0x30,
        dropped_packet_delta_count: 9,
        ipv4_router_sc: '10.2.2.2',
      },
    ],
    [
      8,
      'FullFlow (destination first)',
      [
        ...ip4('10.1.1.1'),
        ...ip4('10.3.3.3'),
        ...u16(443),
        ...u16(40000),
        ...u32(60),
        ...u32(7000),
        ...u32(1000),
        ...u32(2000),
        ...u16(4),
        ...u16(3),
        0x20,
        6,
        0x30,
        0xee,
        ...u32(9),
        ...ip4('10.2.2.2'),
      ],
      {
        destination_ipv4_address: '10.1.1.1',
        source_ipv4_address: '10.3.3.3',
        destination_transport_port: 443,
        source_transport_port: 40000,
        packet_delta_count: 60,
        octet_delta_count: 7000,
        flow_start_sys_up_time: 1000,
        flow_end_sys_up_time: 2000,
        egress_interface: 4,
        ingress_interface: 3,
        ip_class_of_service: 0x20,
        protocol_identifier: 6,
        post_ip_class_of_service: 0x30,
        dropped_packet_delta_count: 9,
        ipv4_router_sc: '10.2.2.2',
      },
    ],
    [
      11,
      'TosSrcPrefix',
      [...C, ...ip4('10.30.0.0'), 16, 0x48, ...u16(100), ...u16(3), 0xee, 0xee],
      {
        ...C_FIELDS,
        source_ipv4_prefix: '10.30.0.0',
        source_ipv4_prefix_length: 16,
        ip_class_of_service: 0x48,
        bgp_source_as_number: 100,
        ingress_interface: 3,
      },
    ],
    [
      13,
      'TosPrefix (dst_mask before src_mask)',
      [
        ...C,
        ...ip4('10.30.0.0'),
        ...ip4('10.40.0.0'),
        24, // dst_mask
        16, // src_mask
        0x48,
        0xee,
        ...u16(100),
        ...u16(200),
        ...u16(3),
        ...u16(4),
      ],
      {
        ...C_FIELDS,
        source_ipv4_prefix: '10.30.0.0',
        destination_ipv4_prefix: '10.40.0.0',
        destination_ipv4_prefix_length: 24,
        source_ipv4_prefix_length: 16,
        ip_class_of_service: 0x48,
        bgp_source_as_number: 100,
        bgp_destination_as_number: 200,
        ingress_interface: 3,
        egress_interface: 4,
      },
    ],
    [
      14,
      'PrePortProtocol (dst_mask before src_mask)',
      [
        ...C,
        ...ip4('10.30.0.0'),
        ...ip4('10.40.0.0'),
        24, // dst_mask
        16, // src_mask
        0x48,
        17,
        ...u16(53),
        ...u16(5353),
        ...u16(3),
        ...u16(4),
      ],
      {
        ...C_FIELDS,
        source_ipv4_prefix: '10.30.0.0',
        destination_ipv4_prefix: '10.40.0.0',
        destination_ipv4_prefix_length: 24,
        source_ipv4_prefix_length: 16,
        ip_class_of_service: 0x48,
        protocol_identifier: 17,
        source_transport_port: 53,
        destination_transport_port: 5353,
        ingress_interface: 3,
        egress_interface: 4,
      },
    ],
  ];
  const sizes: Record<number, number> = { 1: 28, 2: 28, 6: 32, 8: 44, 11: 32, 13: 40, 14: 40 };

  for (const [scheme, name, record, fields] of schemes) {
    it(`scheme ${scheme} ${name}: ${sizes[scheme]}-byte records`, () => {
      assert.equal(record.length, sizes[scheme]);
      const header = {
        secs: SECS,
        uptime: 3000,
        sequence: 9,
        engineType: 1,
        engineId: 2,
        aggregation: scheme,
        aggregationVersion: 2,
      };
      const buf = legacy(8, header, record, record);
      const { records, consumed } = decoder().decode(buf, FROM);
      assert.equal(consumed, 28 + 2 * sizes[scheme]);
      assert.deepEqual(flows(records), [fields, fields]);
      assert.deepEqual(records[0].exporter, {
        version: 8,
        timestamp: new Date(SECS * 1000),
        uptimeMillis: 3000,
        address: '192.0.2.1:4444',
        ip: '192.0.2.1',
        sequence: 9,
        engineType: 1,
        engineId: 2,
        aggregation: scheme,
        aggregationVersion: 2,
      });
    });
  }

  it('schemes 3 and 4 do not export their masks', () => {
    const r3 = [...C, ...ip4('10.30.0.0'), 16, 0xee, ...u16(100), ...u16(3), 0xee, 0xee];
    const { records } = decoder().decode(legacy(8, { aggregation: 3 }, r3), FROM);
    assert.deepEqual(flows(records), [
      { ...C_FIELDS, source_ipv4_prefix: '10.30.0.0', bgp_source_as_number: 100, ingress_interface: 3 },
    ]);
  });

  it('an unknown aggregation scheme is a decode error', () => {
    for (const scheme of [0, 15, 255]) {
      assert.throws(
        () => decoder().decode(packet(legacyHeader(8, { aggregation: scheme, count: 1 }, 1), u8(0)), FROM),
        (e: unknown) => e instanceof DecodeError && e.reason === 'unknown_aggregation',
      );
    }
  });
});
