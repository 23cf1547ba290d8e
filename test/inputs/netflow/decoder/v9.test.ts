/**
 * NetFlow v9 (RFC 3954) with Filebeat's parsing rules (NETFLOW.md 1.4, 1.6): packets built byte
 * by byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../../src/util/errors.ts';
import {
  ascii,
  decoder,
  FROM,
  flows,
  ip4,
  options,
  paddedSet,
  set,
  u8,
  u16,
  u32,
  u64,
  uN,
  v9,
  v9OptionsTemplate,
  v9Template,
  zeros,
} from './packets.ts';

// IANA ids
const OCTETS = 1;
const PACKETS = 2;
const PROTO = 4;
const SRC_PORT = 7;
const SRC_ADDR = 8;
const DST_PORT = 11;
const DST_ADDR = 12;
const SAMPLER_ID = 48; // unsigned8
const INTERFACE_NAME = 82; // string
const APPLICATION_ID = 95; // octetArray
const SAMPLING_INTERVAL = 34;
const VRF_NAME = 236; // string

/** Template 256: src addr, dst addr, src port, dst port, proto, octets (8). 21 bytes. */
const T256 = v9Template(256, [
  [SRC_ADDR, 4],
  [DST_ADDR, 4],
  [SRC_PORT, 2],
  [DST_PORT, 2],
  [PROTO, 1],
  [OCTETS, 8],
]);
function r256(n: number): number[] {
  return [
    ...ip4(`10.0.0.${n}`),
    ...ip4('10.0.1.1'),
    ...u16(1000 + n),
    ...u16(443),
    6,
    ...u64(BigInt(n * 100)),
  ];
}
function f256(n: number) {
  return {
    source_ipv4_address: `10.0.0.${n}`,
    destination_ipv4_address: '10.0.1.1',
    source_transport_port: 1000 + n,
    destination_transport_port: 443,
    protocol_identifier: 6,
    octet_delta_count: n * 100,
  };
}

const isDecodeError = (reason: string) => (e: unknown) => e instanceof DecodeError && e.reason === reason;

describe('NetFlow v9 packet layout', () => {
  it('header -> exporter; a template and its data in one packet; padding after the records ignored', () => {
    const d = decoder();
    const buf = v9(
      { uptime: 20_412_178, secs: 1_500_356_519, sequence: 13_641, sourceId: 7 },
      set(0, T256),
      set(256, r256(1), r256(2), zeros(3)), // 42 + 3 bytes: floor(45 / 21) = 2 records
    );
    const { records, consumed } = d.decode(buf, FROM);
    assert.equal(consumed, buf.length);
    assert.deepEqual(flows(records), [f256(1), f256(2)]);
    for (const r of records) {
      assert.equal(r.type === 'netflow_flow' && r.templateId, 256);
      assert.deepEqual(r.exporter, {
        version: 9,
        timestamp: new Date(1_500_356_519_000),
        uptimeMillis: 20_412_178,
        address: '192.0.2.1:4444',
        ip: '192.0.2.1',
        sourceId: 7,
        sequence: 13_641,
      });
    }
    assert.equal(d.stats.templatesLearned, 1);
  });

  it('templates persist across packets of the session; records come in set order, then record order', () => {
    const d = decoder();
    assert.deepEqual(d.decode(v9({}, set(0, T256)), FROM).records, []);
    const t257 = v9Template(257, [[SRC_ADDR, 4]]);
    const { records } = d.decode(
      v9({}, set(0, t257), set(256, r256(3)), set(257, ip4('1.1.1.1'), ip4('2.2.2.2')), set(256, r256(4))),
      FROM,
    );
    assert.deepEqual(flows(records), [
      f256(3),
      { source_ipv4_address: '1.1.1.1' },
      { source_ipv4_address: '2.2.2.2' },
      f256(4),
    ]);
  });

  it('data for an unknown template is skipped without error and counted', () => {
    const d = decoder();
    const { records } = d.decode(v9({}, set(256, r256(1)), set(0, T256), set(256, r256(2))), FROM);
    assert.deepEqual(flows(records), [f256(2)]);
    assert.equal(d.stats.dataSetsWithoutTemplate, 1);
  });

  it('reads at most `count` flowsets; consumed ends after the last one read', () => {
    const first = set(0, T256);
    const buf = v9({ count: 1 }, first, set(256, r256(1)));
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.deepEqual(records, []);
    assert.equal(consumed, 20 + first.length);
    // count 0: nothing is read
    assert.equal(decoder().decode(v9({ count: 0 }, first), FROM).consumed, 20);
  });

  it('stops at a (0,0) set header', () => {
    const buf = v9({ count: 5 }, set(0, T256), set(256, r256(1)), zeros(4), set(256, r256(2)));
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.deepEqual(flows(records), [f256(1)]);
    assert.equal(consumed, buf.length - 4 - 4 - 21);
  });

  it('a set longer than the remaining bytes stops parsing and keeps the records before it', () => {
    const truncated = set(256, r256(2), r256(3)).slice(0, 4 + 21);
    const buf = v9({}, set(0, T256), set(256, r256(1)), truncated);
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.deepEqual(flows(records), [f256(1)]);
    assert.equal(consumed, buf.length - truncated.length);
  });

  it('a set length below 4 is an empty set', () => {
    const d = decoder();
    d.decode(v9({}, set(0, T256)), FROM);
    const buf = v9({}, [...u16(256), ...u16(2)], set(256, r256(1)));
    assert.deepEqual(flows(d.decode(buf, FROM).records), [f256(1)]);
  });

  it('flowset ids 2-255 are decode errors', () => {
    for (const id of [2, 3, 128, 255]) {
      assert.throws(() => decoder().decode(v9({}, set(id, zeros(4))), FROM), isDecodeError('bad_set_id'));
    }
  });

  it('a header shorter than 20 bytes is a decode error', () => {
    assert.throws(() => decoder().decode(v9({}).subarray(0, 19), FROM), isDecodeError('short_header'));
  });

  it('a decode error discards the whole datagram but keeps templates of the sets before it', () => {
    const d = decoder();
    assert.throws(
      () => d.decode(v9({}, set(0, T256), set(256, r256(1)), set(7, zeros(4))), FROM),
      isDecodeError('bad_set_id'),
    );
    assert.deepEqual(flows(d.decode(v9({}, set(256, r256(2))), FROM).records), [f256(2)]);
  });
});

describe('NetFlow v9 template sets', () => {
  it('a template id below 256 is a decode error', () => {
    assert.throws(
      () => decoder().decode(v9({}, set(0, v9Template(255, [[SRC_ADDR, 4]]))), FROM),
      isDecodeError('bad_template'),
    );
  });

  it('field_count 0 is skipped and the next template read', () => {
    const d = decoder();
    d.decode(v9({}, set(0, u16(300), u16(0), T256)), FROM);
    assert.equal(d.templateCount, 1);
    assert.deepEqual(flows(d.decode(v9({}, set(256, r256(1)), set(300, zeros(8))), FROM).records), [f256(1)]);
  });

  it('fewer than 2 x field_count bytes left is a decode error', () => {
    // 3 fields need 12 bytes; 5 are left (>= 8 bytes remained for the record header)
    const body = [...u16(256), ...u16(3), ...u16(SRC_ADDR), ...u16(4), 0];
    assert.throws(() => decoder().decode(v9({}, set(0, body)), FROM), isDecodeError('bad_template'));
  });

  it('a template otherwise running past the set end is dropped silently; templates before it stay', () => {
    const d = decoder();
    // template 257 announces 3 fields (12 bytes) and has 8: >= 2 x 3, < 4 x 3
    const cut = [...u16(257), ...u16(3), ...u16(SRC_ADDR), ...u16(4), ...u16(DST_ADDR), ...u16(4)];
    const { records } = d.decode(v9({}, set(0, T256, cut)), FROM);
    assert.deepEqual(records, []);
    assert.equal(d.templateCount, 1);
    assert.deepEqual(flows(d.decode(v9({}, set(256, r256(1))), FROM).records), [f256(1)]);
  });

  it('template records are read while 8 bytes remain: 4-7 trailing bytes are padding', () => {
    const d = decoder();
    d.decode(v9({}, set(0, T256, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), FROM);
    assert.equal(d.templateCount, 1);
  });

  it('a decode error in a template set loses the templates before it in that set (Filebeat)', () => {
    // Filebeat adds a set's templates only after the whole set parsed
    const d = decoder();
    assert.throws(() => d.decode(v9({}, set(0, T256, v9Template(5, [[SRC_ADDR, 4]]))), FROM), DecodeError);
    assert.equal(d.templateCount, 0);
    assert.deepEqual(d.decode(v9({}, set(256, r256(1))), FROM).records, []);
  });

  it('a new definition replaces the old one at once, within the same packet', () => {
    const d = decoder();
    const t256b = v9Template(256, [[DST_PORT, 2]]);
    const { records } = d.decode(
      v9({}, set(0, T256), set(256, r256(1)), set(0, t256b), set(256, u16(53))),
      FROM,
    );
    assert.deepEqual(flows(records), [f256(1), { destination_transport_port: 53 }]);
    assert.equal(d.stats.templatesLearned, 1);
    assert.equal(d.stats.templatesReplaced, 1);
    assert.equal(d.templateCount, 1);
  });

  it('a re-announcement is compiled again only when it differs: a field length, an id', () => {
    // exporters repeat their templates unchanged; the compiled one is kept for those
    const d = decoder();
    const ports = (dstLength: number, dstId = DST_PORT) =>
      v9Template(256, [
        [SRC_PORT, 2],
        [dstId, dstLength],
      ]);
    const decode = (template: number[], ...data: number[][]) =>
      flows(d.decode(v9({}, set(0, template), set(256, ...data)), FROM).records);
    assert.deepEqual(decode(ports(2), u16(1), u16(2)), [
      { source_transport_port: 1, destination_transport_port: 2 },
    ]);
    assert.deepEqual(decode(ports(2), u16(1), u16(3)), [
      { source_transport_port: 1, destination_transport_port: 3 },
    ]);
    assert.deepEqual(decode(ports(1), u16(1), [4]), [
      { source_transport_port: 1, destination_transport_port: 4 },
    ]);
    assert.deepEqual(decode(ports(1, 4), u16(1), [6]), [
      { source_transport_port: 1, protocol_identifier: 6 },
    ]);
    assert.equal(d.stats.templatesLearned, 1);
    assert.equal(d.stats.templatesReplaced, 3);
  });

  it('ids >= 32768 are plain ids in v9 (no enterprise bit): 4-byte specifiers, skipped as unknown', () => {
    const t = v9Template(256, [
      [0x8001, 4],
      [SRC_PORT, 2],
    ]);
    const { records } = decoder().decode(v9({}, set(0, t), set(256, u32(0xdeadbeef), u16(8080))), FROM);
    assert.deepEqual(flows(records), [{ source_transport_port: 8080 }]);
  });

  it('unknown ids and fields too long for their type are skipped, later fields stay aligned', () => {
    const t = v9Template(256, [
      [SAMPLER_ID, 2], // unsigned8 in 2 bytes (Cisco ASR 9000): never emitted
      [60_000, 3], // unknown
      [SAMPLER_ID, 4], // and in 4 (Cisco NBAR)
      [PROTO, 1],
    ]);
    const buf = v9({}, set(0, t), set(256, u16(1), [9, 9, 9], u32(1), u8(17)));
    assert.deepEqual(flows(decoder().decode(buf, FROM).records), [{ protocol_identifier: 17 }]);
  });

  it('reduced-size encoding: integers in fewer bytes than their type', () => {
    const t = v9Template(256, [
      [OCTETS, 3], // unsigned64 in 3
      [PACKETS, 5], // unsigned64 in 5
      [SAMPLING_INTERVAL, 2], // unsigned32 in 2
      [SRC_PORT, 1], // unsigned16 in 1
      [10, 3], // ingressInterface unsigned32 in 3
    ]);
    const buf = v9(
      {},
      set(0, t),
      set(256, uN(0x123456, 3), uN(0x01_0000_0002, 5), u16(1000), u8(80), uN(0xabcdef, 3)),
    );
    assert.deepEqual(flows(decoder().decode(buf, FROM).records), [
      {
        octet_delta_count: 0x123456,
        packet_delta_count: 0x01_0000_0002,
        sampling_interval: 1000,
        source_transport_port: 80,
        ingress_interface: 0xabcdef,
      },
    ]);
  });

  it('zero-length fields: a fixed-size type is skipped, a string is "" and an octet array []', () => {
    const t = v9Template(256, [
      [SRC_ADDR, 0],
      [OCTETS, 0],
      [INTERFACE_NAME, 0],
      [APPLICATION_ID, 0],
      [SRC_PORT, 2],
    ]);
    const { records } = decoder().decode(v9({}, set(0, t), set(256, u16(22), u16(23))), FROM);
    assert.deepEqual(flows(records), [
      { interface_name: '', application_id: [], source_transport_port: 22 },
      { interface_name: '', application_id: [], source_transport_port: 23 },
    ]);
  });

  it('a template whose fields are all zero-length is a decode error when its data arrives', () => {
    const t = v9Template(256, [
      [SRC_ADDR, 0],
      [INTERFACE_NAME, 0],
    ]);
    const d = decoder();
    d.decode(v9({}, set(0, t)), FROM);
    assert.throws(() => d.decode(v9({}, set(256, zeros(4))), FROM), isDecodeError('empty_template'));
  });

  it('variable-length fields (length 0xFFFF) are accepted in v9 (H3C), both length forms', () => {
    const t = v9Template(256, [
      [SRC_PORT, 2],
      [VRF_NAME, 0xffff],
    ]);
    const long = ascii('x'.repeat(300));
    const body = [
      ...u16(1),
      3,
      ...ascii('red'),
      ...u16(2),
      255,
      ...u16(300),
      ...long,
      ...u16(3),
      255,
      ...u16(1),
      0,
    ];
    const { records } = decoder().decode(v9({}, set(0, t), set(256, body)), FROM);
    assert.deepEqual(flows(records), [
      { source_transport_port: 1, vrf_name: 'red' },
      { source_transport_port: 2, vrf_name: 'x'.repeat(300) },
      { source_transport_port: 3, vrf_name: '' },
    ]);
  });

  it('a repeated element in a template: the later field wins', () => {
    const t = v9Template(256, [
      [SRC_PORT, 2],
      [SRC_PORT, 2],
    ]);
    const { records } = decoder().decode(v9({}, set(0, t), set(256, u16(1), u16(2))), FROM);
    assert.deepEqual(flows(records), [{ source_transport_port: 2 }]);
  });
});

describe('NetFlow v9 options templates', () => {
  // scope types are looked up as IEs: 1 System -> octetDeltaCount, 2 Interface ->
  // packetDeltaCount, 3 Line card -> deltaFlowCount, 4 Cache -> protocolIdentifier,
  // 5 Template -> ipClassOfService
  it('scope and option fields; scope types looked up in the IE dictionary', () => {
    const t = v9OptionsTemplate(
      300,
      [
        [1, 4],
        [2, 4],
        [3, 2],
        [4, 1],
        [5, 1],
      ],
      [
        [SAMPLING_INTERVAL, 4],
        [35, 1],
      ],
    );
    const d = decoder();
    const data = [...u32(1), ...u32(9), ...u16(3), 4, 5, ...u32(100), 2];
    const { records } = d.decode(v9({ sourceId: 3 }, paddedSet(1, t), paddedSet(300, data)), FROM);
    assert.equal(records.length, 1);
    assert.deepEqual(options(records)[0], {
      type: 'netflow_options',
      exporter: records[0].exporter,
      scope: {
        octet_delta_count: 1,
        packet_delta_count: 9,
        delta_flow_count: 3,
        protocol_identifier: 4,
        ip_class_of_service: 5,
      },
      options: { sampling_interval: 100, sampling_algorithm: 2 },
      templateId: 300,
    });
  });

  it('a scope value not fitting its IE size rule is dropped', () => {
    // Cache scope -> protocolIdentifier (unsigned8) sent in 2 bytes
    const t = v9OptionsTemplate(300, [[4, 2]], [[SAMPLING_INTERVAL, 4]]);
    const { records } = decoder().decode(v9({}, set(1, t), set(300, u16(4), u32(7))), FROM);
    assert.deepEqual(options(records)[0].scope, {});
    assert.deepEqual(options(records)[0].options, { sampling_interval: 7 });
  });

  it('zero scope length is legal (Juniper SRX)', () => {
    const t = v9OptionsTemplate(300, [], [[SAMPLING_INTERVAL, 4]]);
    const { records } = decoder().decode(v9({}, set(1, t), set(300, u32(7))), FROM);
    assert.deepEqual(
      options(records).map((r) => [r.scope, r.options]),
      [[{}, { sampling_interval: 7 }]],
    );
  });

  it('lengths not multiples of 4, both zero, past the set, or an id below 256 are decode errors', () => {
    const header = (id: number, scope: number, opts: number) => [...u16(id), ...u16(scope), ...u16(opts)];
    const bad = [
      [...header(300, 2, 4), ...zeros(8)],
      [...header(300, 4, 6), ...zeros(12)],
      [...header(300, 0, 0), ...zeros(4)],
      [...header(300, 4, 8), ...zeros(8)],
      [...header(200, 4, 4), ...zeros(8)],
    ];
    for (const body of bad) {
      assert.throws(
        () => decoder().decode(v9({}, set(1, body)), FROM),
        isDecodeError('bad_options_template'),
      );
    }
  });

  it('a decode error in an options template set loses the options templates before it in that set', () => {
    const d = decoder();
    const good = v9OptionsTemplate(300, [[1, 4]], [[SAMPLING_INTERVAL, 4]]);
    const bad = [...u16(301), ...u16(2), ...u16(4), ...zeros(8)];
    assert.throws(() => d.decode(v9({}, set(1, good, bad)), FROM), isDecodeError('bad_options_template'));
    assert.equal(d.templateCount, 0);
  });

  it('options templates are read while 6 bytes remain: shorter padding is ignored', () => {
    const d = decoder();
    d.decode(
      v9(
        {},
        set(1, v9OptionsTemplate(300, [[1, 4]], [[SAMPLING_INTERVAL, 4]]), [0xff, 0xff, 0xff, 0xff, 0xff]),
      ),
      FROM,
    );
    assert.equal(d.templateCount, 1);
  });

  it('data and options templates share the id space: a data template replaces an options one', () => {
    const d = decoder();
    d.decode(v9({}, set(1, v9OptionsTemplate(256, [[1, 4]], [[SAMPLING_INTERVAL, 4]]))), FROM);
    assert.equal(options(d.decode(v9({}, set(256, zeros(8))), FROM).records).length, 1);
    const { records } = d.decode(v9({}, set(0, T256), set(256, r256(1))), FROM);
    assert.deepEqual(flows(records), [f256(1)]);
    assert.equal(options(records).length, 0);
  });
});
