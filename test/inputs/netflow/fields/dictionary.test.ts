import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CustomDefinition } from '../../../../src/inputs/netflow/fields/custom.ts';
import { buildDictionary, defaultDictionary } from '../../../../src/inputs/netflow/fields/dictionary.ts';
import type { FieldDef, IeType } from '../../../../src/inputs/netflow/fields/types.ts';

const filebeat = defaultDictionary('filebeat');
const extended = defaultDictionary('extended');

function expectDef(pen: number, id: number, name: string, key: string, type: IeType): void {
  for (const dictionary of [filebeat, extended]) {
    assert.deepEqual({ ...dictionary.lookup(pen, id) }, { name, key, type }, `PEN ${pen} id ${id}`);
  }
}

function countByPen(entries: Iterable<readonly [number, number, FieldDef]>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [pen] of entries) counts.set(pen, (counts.get(pen) ?? 0) + 1);
  return counts;
}

test('IANA elements: YAML names, IANA types', () => {
  expectDef(0, 1, 'octetDeltaCount', 'octet_delta_count', 'unsigned64');
  expectDef(0, 8, 'sourceIPv4Address', 'source_ipv4_address', 'ipv4Address');
  expectDef(0, 150, 'flowStartSeconds', 'flow_start_seconds', 'dateTimeSeconds');
  expectDef(0, 152, 'flowStartMilliseconds', 'flow_start_milliseconds', 'dateTimeMilliseconds');
  expectDef(0, 154, 'flowStartMicroseconds', 'flow_start_microseconds', 'dateTimeMicroseconds');
  expectDef(0, 157, 'flowEndNanoseconds', 'flow_end_nanoseconds', 'dateTimeNanoseconds');
  expectDef(0, 210, 'paddingOctets', 'padding_octets', 'octetArray');
  expectDef(0, 95, 'applicationId', 'application_id', 'octetArray');
  expectDef(0, 89, 'forwardingStatus', 'forwarding_status', 'unsigned8');
  expectDef(0, 276, 'dataRecordsReliability', 'data_records_reliability', 'boolean');
  expectDef(0, 291, 'basicList', 'basic_list', 'basicList');
  expectDef(0, 293, 'subTemplateMultiList', 'sub_template_multi_list', 'subTemplateMultiList');
  expectDef(0, 236, 'VRFname', 'vrf_name', 'string');
  expectDef(0, 225, 'postNATSourceIPv4Address', 'post_nat_source_ipv4_address', 'ipv4Address');
  expectDef(0, 372, 'applicationCategoryName', 'application_category_name', 'string');
});

test('IANA ids 434-482 are added; nothing beyond, no reserved or v9-only ids', () => {
  expectDef(0, 434, 'mibObjectValueInteger', 'mib_object_value_integer', 'signed32');
  expectDef(0, 443, 'mibObjectValueTable', 'mib_object_value_table', 'subTemplateList');
  expectDef(0, 482, 'vpnIdentifier', 'vpn_identifier', 'octetArray');
  for (let id = 434; id <= 482; id++) assert.ok(filebeat.lookup(0, id), `id ${id}`);
  for (const id of [0, 65, 69, 97, 105, 127, 416, 419, 483]) {
    assert.equal(filebeat.lookup(0, id), undefined, `id ${id}`);
    assert.equal(extended.lookup(0, id), undefined, `id ${id}`);
  }
});

test('Cisco NSEL ids in PEN 0', () => {
  expectDef(0, 33000, 'ingressAclID', 'ingress_acl_id', 'aclIdAsa');
  expectDef(0, 33001, 'egressAclID', 'egress_acl_id', 'aclIdAsa');
  expectDef(0, 33002, 'fwExtEvent', 'fw_ext_event', 'unsigned16');
  expectDef(0, 35010, 'fwExtEventDesc', 'fw_ext_event_desc', 'string');
  expectDef(0, 40000, 'username', 'username', 'string');
  expectDef(0, 40001, 'XlateSourceAddressIPV4', 'xlate_source_address_ip_v4', 'ipv4Address');
  expectDef(0, 40005, 'FirewallEvent', 'firewall_event', 'unsigned8');
});

test("Cisco PEN 9 is Filebeat's set, not the YAML's", () => {
  expectDef(9, 9360, 'PolicyQosQueueINDEX', 'policy_qos_queue_index', 'unsigned32');
  expectDef(9, 12232, 'applicationCategoryName', 'application_category_name', 'unsigned32');
  expectDef(9, 9252, 'waasoptimizationSegment', 'waasoptimization_segment', 'unsigned8');
  expectDef(9, 12235, 'applicationHttpUser-agent', 'application_http_user-agent', 'octetArray');
  expectDef(
    9,
    32733,
    'timestampAbsoluteMonitoring-interval',
    'timestamp_absolute_monitoring-interval',
    'unsigned64',
  );
  // The YAML's own PEN 9 ids that Filebeat lacks: extended only.
  assert.equal(filebeat.lookup(9, 12236), undefined);
  assert.equal(extended.lookup(9, 12236)?.name, 'ciscoClientIPv4Address');
  assert.equal(filebeat.lookup(9, 8337), undefined);
  assert.equal(extended.lookup(9, 8337)?.key, 'cisco_server_bytes_network');
});

test('vendor PENs from the YAML', () => {
  expectDef(41916, 4321, 'viptelaVPNId', 'viptela_vpn_id', 'unsigned64');
  expectDef(
    5951,
    193,
    'netscalerConnectionChainHopCount',
    'netscaler_connection_chain_hop_count',
    'unsigned64',
  );
  expectDef(5951, 192, 'netscalerConnectionChainID', 'netscaler_connection_chain_id', 'octetArray');
  expectDef(9789, 4, 'flowDirection', 'flow_direction', 'unsigned8');
  expectDef(10704, 4, 'FW_Rule', 'fw_rule', 'string');
  expectDef(12326, 3, 'TrafficType', 'traffic_type', 'unsigned8');
  expectDef(21373, 6, 'conntrack_id', 'conntrack_id', 'unsigned32');
  expectDef(3054, 194, 'ixiaThreatIPv6', 'ixia_threat_ipv6', 'ipv4Address');
  expectDef(6871, 214, 'dnsSOAMName', 'dns_soam_name', 'string');
  expectDef(15397, 47, 'proceraTemplateName', 'procera_template_name', 'string');
});

test('RFC 5103 reverse elements (PEN 29305) are `reverse` + the IANA name, YAML types', () => {
  let count = 0;
  for (const [pen, id, def] of filebeat.entries()) {
    if (pen !== 29305) continue;
    count++;
    const forward = filebeat.lookup(0, id);
    assert.ok(forward, `reverse id ${id} has a forward element`);
    assert.equal(def.name, `reverse${forward.name[0]!.toUpperCase()}${forward.name.slice(1)}`);
  }
  assert.equal(count, 374);
  expectDef(29305, 1, 'reverseOctetDeltaCount', 'reverse_octet_delta_count', 'unsigned64');
  expectDef(29305, 236, 'reverseVRFname', 'reverse_vr_fname', 'string');
  // Filebeat keeps the YAML's simplified type for reverse dates.
  expectDef(29305, 150, 'reverseFlowStartSeconds', 'reverse_flow_start_seconds', 'unsigned32');
  assert.equal(filebeat.lookup(29305, 291), undefined);
});

test('filebeat mode leaves out what Filebeat lacks; extended has it', () => {
  for (const [pen, id] of [
    [5951, 358],
    [5951, 362],
    [5951, 541],
    [15397, 49],
    [15397, 70],
    [26866, 2250],
    [26866, 3],
  ] as const) {
    assert.equal(filebeat.lookup(pen, id), undefined, `filebeat PEN ${pen} id ${id}`);
    assert.ok(extended.lookup(pen, id), `extended PEN ${pen} id ${id}`);
  }
  assert.equal(extended.lookup(26866, 2250)?.key, 'http2_user_agent');
  assert.equal(extended.lookup(5951, 538)?.type, 'unsigned16');
  assert.ok(filebeat.lookup(5951, 357));
  assert.ok(filebeat.lookup(5951, 363));
});

test('entry counts per PEN match Filebeat (filebeat) and the full YAML (extended)', () => {
  assert.deepEqual(
    Object.fromEntries(countByPen(filebeat.entries())),
    // PEN 0: 402 IANA ids 1-433 + 49 ids 434-482 + 23 NSEL; 5951: 299 - 78 excluded.
    {
      0: 474,
      9: 47,
      637: 3,
      3054: 39,
      5951: 221,
      6871: 98,
      6876: 10,
      9789: 3,
      10704: 12,
      12326: 12,
      15397: 45,
      21373: 2,
      29305: 374,
      41916: 1,
    },
  );
  const ext = Object.fromEntries(countByPen(extended.entries()));
  assert.equal(ext[5951], 299);
  assert.equal(ext[15397], 66);
  assert.equal(ext[26866], 23);
  assert.equal(ext[9], 55); // Filebeat's 47 + 8 YAML ids Filebeat lacks
});

test('extended never changes an entry filebeat mode has', () => {
  for (const [pen, id, def] of filebeat.entries()) {
    assert.deepEqual(extended.lookup(pen, id), def, `PEN ${pen} id ${id}`);
  }
  assert.ok(extended.size > filebeat.size);
});

test('defaultDictionary is built once per mode; definitions are frozen', () => {
  assert.equal(defaultDictionary('filebeat'), filebeat);
  assert.equal(defaultDictionary('extended'), extended);
  assert.ok(Object.isFrozen(filebeat.lookup(0, 1)));
});

test('custom definitions merge last, in order, later wins', () => {
  const custom: CustomDefinition[] = [
    { pen: 0, id: 1, type: 'unsigned32', name: 'in_bytes', source: 'a.yml' },
    { pen: 25461, id: 1, type: 'string', name: 'panUser', source: 'a.yml' },
    { pen: 25461, id: 1, type: 'string', name: 'panUserName', source: 'b.yml' },
    // A literal [:skip] does not remove the built-in definition.
    { pen: 0, id: 8, type: 'skip', name: '', source: 'b.yml' },
    // A named decode-to-nothing type does replace it.
    { pen: 0, id: 95, type: 'skip', name: 'application_id', source: 'b.yml' },
  ];
  for (const compatibility of ['filebeat', 'extended'] as const) {
    const dictionary = buildDictionary({ compatibility, custom });
    assert.deepEqual(
      { ...dictionary.lookup(0, 1) },
      { name: 'in_bytes', key: 'in_bytes', type: 'unsigned32' },
    );
    assert.deepEqual(
      { ...dictionary.lookup(25461, 1) },
      { name: 'panUserName', key: 'pan_user_name', type: 'string' },
    );
    assert.equal(dictionary.lookup(0, 8)?.name, 'sourceIPv4Address');
    assert.deepEqual(
      { ...dictionary.lookup(0, 95) },
      { name: 'application_id', key: 'application_id', type: 'skip' },
    );
  }
  // The cached defaults are untouched.
  assert.equal(filebeat.lookup(0, 1)?.name, 'octetDeltaCount');
  assert.equal(filebeat.lookup(25461, 1), undefined);
});

test('buildDictionary without custom definitions equals the default', () => {
  const built = buildDictionary({ compatibility: 'filebeat' });
  assert.equal(built.size, filebeat.size);
  for (const [pen, id, def] of filebeat.entries()) assert.deepEqual(built.lookup(pen, id), def);
});
