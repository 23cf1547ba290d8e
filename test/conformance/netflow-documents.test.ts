/**
 * The final documents of NETFLOW.md 4.5, field by field: `extended` mode, exporter 192.0.2.1:4444,
 * `internal_networks: [private]`, namespace `default`, `event.created` injected.
 *
 * Fields marked † in 4.5 that come from requirements not implemented yet are listed in PENDING:
 * they are asserted ABSENT for now. Whoever implements the requirement named there removes the
 * entry, and the full 4.5 document is then asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecodedRecord } from '../../src/inputs/netflow/decoder/types.ts';
import {
  decodeFixtures,
  EXTENDED_ENRICHMENT,
  type FixtureEnrichment,
  normalizer,
} from './netflow-fixtures.ts';

type Json = Record<string, unknown>;

const COMMON = {
  data_stream: { dataset: 'netflow.log', namespace: 'default', type: 'logs' },
  ecs: { version: '8.17.0' },
  input: { type: 'netflow' },
  observer: { ip: ['192.0.2.1'] },
  tags: ['netflow', 'forwarded'],
};

/** NETFLOW.md 4.5, NetFlow v5: first record of netflow5_test_microtik.dat. */
const V5_MICROTIK: Json = {
  '@timestamp': '2016-07-21T13:51:57.514Z',
  ...COMMON,
  destination: { ip: '192.168.0.98', locality: 'internal', port: 52734 },
  event: {
    action: 'netflow_flow',
    category: ['network'],
    created: '2026-01-01T00:00:00.000Z',
    dataset: 'netflow.log',
    duration: 0,
    end: '2016-07-21T13:51:42.144Z',
    kind: 'event',
    start: '2016-07-21T13:51:42.144Z',
    type: ['connection'],
  },
  flow: { id: '1fVpsD_mB5k', locality: 'internal' },
  netflow: {
    bgp_destination_as_number: 0,
    bgp_source_as_number: 0,
    destination_ipv4_address: '192.168.0.98',
    destination_ipv4_prefix_length: 0,
    destination_transport_port: 52734,
    egress_interface: 50,
    exporter: {
      address: '192.0.2.1:4444',
      engine_id: 0,
      engine_type: 0,
      sampling_interval: 0,
      timestamp: '2016-07-21T13:51:57.514Z',
      uptime_millis: 27361640,
      version: 5,
    },
    flow_end_sys_up_time: 27346270,
    flow_start_sys_up_time: 27346270,
    ingress_interface: 13,
    ip_class_of_service: 0,
    ip_next_hop_ipv4_address: '192.168.0.98',
    octet_delta_count: 104,
    packet_delta_count: 2,
    protocol_identifier: 6,
    source_ipv4_address: '10.0.13.1',
    source_ipv4_prefix_length: 0,
    source_transport_port: 5228,
    tcp_control_bits: 16,
    tcp_flags: ['ACK'],
    type: 'netflow_flow',
  },
  network: {
    bytes: 104,
    community_id: '1:5mQ4MDVWf1HxjOfkmNocHEXPHmw=',
    direction: 'internal',
    iana_number: '6',
    packets: 2,
    transport: 'tcp',
    type: 'ipv4',
  },
  related: { ip: ['10.0.13.1', '192.0.2.1', '192.168.0.98'] },
  source: { bytes: 104, ip: '10.0.13.1', locality: 'internal', packets: 2, port: 5228 },
};

/** NETFLOW.md 4.5, NetFlow v9: the Fortigate flow (files ...521_tpl, ...data256, ...data257). */
const V9_FORTIGATE_FLOW: Json = {
  '@timestamp': '2017-07-18T05:41:59.000Z',
  ...COMMON,
  destination: { ip: '31.13.87.36', locality: 'external', port: 443 },
  event: {
    action: 'netflow_flow',
    category: ['network'],
    created: '2026-01-01T00:00:00.000Z',
    dataset: 'netflow.log',
    kind: 'event',
    type: ['connection'],
  },
  flow: { id: 'SKsZNpZob60', locality: 'external' },
  netflow: {
    destination_ipv4_address: '31.13.87.36',
    destination_transport_port: 443,
    egress_interface: 3,
    exporter: {
      address: '192.0.2.1:4444',
      source_id: 1,
      timestamp: '2017-07-18T05:41:59.000Z',
      uptime_millis: 20412178,
      version: 9,
    },
    flow_end_sys_up_time: 621770700,
    flow_start_sys_up_time: 621761700,
    ingress_interface: 9,
    octet_delta_count: 152,
    packet_delta_count: 3,
    post_octet_delta_count: 0,
    post_packet_delta_count: 0,
    protocol_identifier: 6,
    sampling_rate: 1,
    source_ipv4_address: '192.168.99.7',
    source_transport_port: 61910,
    type: 'netflow_flow',
  },
  network: {
    bytes: 152,
    community_id: '1:/WRdjqoOaqvaSKG3KADN7XCzjYI=',
    direction: 'outbound',
    iana_number: '6',
    packets: 3,
    transport: 'tcp',
    type: 'ipv4',
  },
  related: { ip: ['192.0.2.1', '192.168.99.7', '31.13.87.36'] },
  source: { bytes: 152, ip: '192.168.99.7', locality: 'internal', packets: 3, port: 61910 },
};

/**
 * NETFLOW.md 4.5 "The options document before it" and 4.4 (Fortigate golden: scope
 * {octet_delta_count: 1}, options sampling_interval 1, sampling_algorithm 1, flow_active_timeout
 * 1800, flow_idle_timeout 15, exported_*_total_count). The exported_* values, header time and
 * uptime are read by hand from netflow9_test_fortigate_fortios_521_data256.dat (template 256 in
 * ..._tpl.dat: scope System/4; options 40/8, 41/8, 42/8, 36/2, 37/2, 34/4, 35/1).
 */
const V9_FORTIGATE_OPTIONS: Json = {
  '@timestamp': '2017-07-18T05:42:14.000Z', // unix_secs 0x596d9fb6
  ...COMMON,
  event: {
    action: 'netflow_options',
    category: ['network'],
    created: '2026-01-01T00:00:00.000Z',
    dataset: 'netflow.log',
    kind: 'event',
  },
  netflow: {
    exporter: {
      address: '192.0.2.1:4444',
      source_id: 1,
      timestamp: '2017-07-18T05:42:14.000Z',
      uptime_millis: 20427178, // 0x0137b1aa
      version: 9,
    },
    options: {
      exported_flow_record_total_count: 107864, // 00 00 00 00 00 01 a5 58
      exported_message_total_count: 11920854, // 00 00 00 00 00 b5 e5 d6
      exported_octet_total_count: 6871319015, // 00 00 00 01 99 90 01 e7
      flow_active_timeout: 1800,
      flow_idle_timeout: 15,
      sampling_algorithm: 1,
      sampling_interval: 1,
    },
    scope: { octet_delta_count: 1 },
    type: 'netflow_options',
  },
  network: { direction: 'unknown' },
  related: { ip: ['192.0.2.1'] },
};

/** NETFLOW.md 4.5, IPFIX: vIPtela (ipfix_test_viptela_tpl257.dat, ..._data257.dat). */
const IPFIX_VIPTELA: Json = {
  '@timestamp': '2017-11-21T14:32:15.000Z',
  ...COMMON,
  destination: { ip: '172.16.21.27', locality: 'internal', port: 443 },
  event: {
    action: 'netflow_flow',
    category: ['network'],
    created: '2026-01-01T00:00:00.000Z',
    dataset: 'netflow.log',
    duration: 0,
    end: '2017-11-21T14:32:15.000Z',
    kind: 'event',
    start: '2017-11-21T14:32:15.000Z',
    type: ['connection'],
  },
  flow: { id: 'dO-Anbp9xpw', locality: 'internal' },
  netflow: {
    destination_ipv4_address: '172.16.21.27',
    destination_transport_port: 443,
    egress_interface: 3,
    exporter: {
      address: '192.0.2.1:4444',
      source_id: 2887138561,
      timestamp: '2017-11-21T14:32:15.000Z',
      uptime_millis: 0,
      version: 10,
    },
    flow_end_reason: 3,
    flow_end_seconds: '2017-11-21T14:32:15.000Z',
    flow_start_seconds: '2017-11-21T14:32:15.000Z',
    icmp_type_code_ipv4: 0,
    ingress_interface: 11,
    ip_class_of_service: 48,
    ip_diff_serv_code_point: 12,
    ip_next_hop_ipv4_address: '10.0.0.1',
    ip_precedence: 1,
    maximum_ip_total_length: 277,
    minimum_ip_total_length: 70,
    octet_delta_count: 775,
    octet_total_count: 775,
    packet_delta_count: 8,
    packet_total_count: 8,
    padding_octets: [0, 0, 0, 0, 0, 0, 0],
    protocol_identifier: 6,
    source_ipv4_address: '10.113.7.54',
    source_transport_port: 41717,
    tcp_control_bits: 16,
    tcp_flags: ['ACK'],
    type: 'netflow_flow',
    viptela_vpn_id: 100,
  },
  network: {
    bytes: 775,
    community_id: '1:uhU0lSQQ+LoAMve6GxHC0M3nIes=',
    direction: 'internal',
    iana_number: '6',
    packets: 8,
    transport: 'tcp',
    type: 'ipv4',
  },
  related: { ip: ['10.0.0.1', '10.113.7.54', '172.16.21.27', '192.0.2.1'] },
  source: { bytes: 775, ip: '10.113.7.54', locality: 'internal', packets: 8, port: 41717 },
};

/**
 * † fields of 4.5 from requirements not implemented yet: asserted absent until then. When the
 * requirement lands, delete its entry here so the 4.5 value is asserted instead. None is left
 * (the last one, `netflow.sampling_rate` of the Fortigate flow, came with R3 + R6).
 */
const PENDING: Readonly<Record<string, readonly { path: string; requirement: string }[]>> = {};

function document(record: DecodedRecord, options: FixtureEnrichment = EXTENDED_ENRICHMENT): Json {
  // the 4.5 documents are what flowship emits in its default, extended, compatibility
  return JSON.parse(JSON.stringify(normalizer(options).normalize(record))) as Json;
}

/** Deletes `path` (dotted) from `doc`; returns whether it was there. */
function remove(doc: Json, path: string): boolean {
  const parts = path.split('.');
  let node: Json = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) return false;
    node = node[p] as Json;
  }
  const last = parts[parts.length - 1];
  if (!(last in node)) return false;
  delete node[last];
  return true;
}

/** Compares field by field, with the PENDING fields of `name` expected absent for now. */
function assertDocument(name: string, actual: Json, expected: Json): void {
  const want = structuredClone(expected);
  for (const { path, requirement } of PENDING[name] ?? []) {
    assert.ok(remove(want, path), `${path} is in the NETFLOW.md 4.5 document`);
    assert.equal(
      remove(structuredClone(actual), path),
      false,
      `${path} (${requirement}) is not implemented yet; now that it is, remove it from PENDING`,
    );
  }
  assert.deepStrictEqual(actual, want);
}

describe('NETFLOW.md 4.5 final documents (compatibility: extended)', () => {
  it('NetFlow v5: first record of netflow5_test_microtik.dat', () => {
    const { records, errors } = decodeFixtures(['dat/netflow5_test_microtik.dat'], {
      compatibility: 'extended',
    });
    assert.deepEqual(errors, []);
    assert.equal(records.length, 30);
    assertDocument('v5 microtik', document(records[0]), V5_MICROTIK);
  });

  it('NetFlow v9: Fortigate options document, then the flow', () => {
    const { records, errors } = decodeFixtures(
      [
        'dat/netflow9_test_fortigate_fortios_521_tpl.dat',
        'dat/netflow9_test_fortigate_fortios_521_data256.dat',
        'dat/netflow9_test_fortigate_fortios_521_data257.dat',
      ],
      { compatibility: 'extended' },
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => r.type),
      ['netflow_options', 'netflow_flow'],
    );
    assertDocument('v9 Fortigate options', document(records[0]), V9_FORTIGATE_OPTIONS);
    assertDocument('v9 Fortigate flow', document(records[1]), V9_FORTIGATE_FLOW);
  });

  it('IPFIX: vIPtela', () => {
    const { records, errors } = decodeFixtures(
      ['dat/ipfix_test_viptela_tpl257.dat', 'dat/ipfix_test_viptela_data257.dat'],
      { compatibility: 'extended' },
    );
    assert.deepEqual(errors, []);
    assert.equal(records.length, 1);
    assertDocument('IPFIX vIPtela', document(records[0]), IPFIX_VIPTELA);
  });
});

/** † fields of 4.5: flowship additions, never present with `compatibility: filebeat`. */
const DAGGER: Readonly<Record<string, readonly string[]>> = {
  'v9 Fortigate flow': ['netflow.sampling_rate'],
  'IPFIX vIPtela': ['event.start', 'event.end', 'event.duration'],
};

describe('NETFLOW.md 4.5 documents with compatibility: filebeat (no † fields)', () => {
  const cases: [name: string, files: string[], index: number, expected: Json][] = [
    ['v5 microtik', ['netflow5_test_microtik.dat'], 0, V5_MICROTIK],
    [
      'v9 Fortigate options',
      ['netflow9_test_fortigate_fortios_521_tpl.dat', 'netflow9_test_fortigate_fortios_521_data256.dat'],
      0,
      V9_FORTIGATE_OPTIONS,
    ],
    [
      'v9 Fortigate flow',
      [
        'netflow9_test_fortigate_fortios_521_tpl.dat',
        'netflow9_test_fortigate_fortios_521_data256.dat',
        'netflow9_test_fortigate_fortios_521_data257.dat',
      ],
      1,
      V9_FORTIGATE_FLOW,
    ],
    ['IPFIX vIPtela', ['ipfix_test_viptela_tpl257.dat', 'ipfix_test_viptela_data257.dat'], 0, IPFIX_VIPTELA],
  ];
  for (const [name, files, index, expected] of cases) {
    it(name, () => {
      const { records, errors } = decodeFixtures(
        files.map((f) => `dat/${f}`),
        { compatibility: 'filebeat' },
      );
      assert.deepEqual(errors, []);
      const want = structuredClone(expected);
      for (const path of DAGGER[name] ?? []) assert.ok(remove(want, path), path);
      assert.deepStrictEqual(document(records[index], { absoluteTimes: false }), want);
    });
  }
});
