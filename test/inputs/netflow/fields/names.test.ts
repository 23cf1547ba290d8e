import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toKey } from '../../../../src/inputs/netflow/fields/names.ts';

// Vectors from NETFLOW.md 3.3, which lists what Filebeat's conversion produces.
const VECTORS: readonly (readonly [name: string, key: string])[] = [
  ['postNATSourceIPv4Address', 'post_nat_source_ipv4_address'],
  ['dot1qVlanId', 'dot1q_vlan_id'],
  ['selectorIDTotalFlowsObserved', 'selector_id_total_flows_observed'],
  ['messageMD5Checksum', 'message_md5_checksum'],
  ['postMCastLayer2OctetDeltaCount', 'post_mcast_layer2_octet_delta_count'],
  ['hashIPPayloadSize', 'hash_ip_payload_size'],
  ['IPSecSPI', 'ip_sec_spi'],
  ['upperCILimit', 'upper_ci_limit'],
  ['virtualStationUUID', 'virtual_station_uuid'],
  ['egressVRFID', 'egress_vrfid'],
  ['icmpTypeCodeIPv4', 'icmp_type_code_ipv4'],
  ['ipv4IHL', 'ipv4_ihl'],
  ['reverseVRFname', 'reverse_vr_fname'],
  ['dnsSOAMName', 'dns_soam_name'],
  ['engineId', 'engine_id'],
  ['XlateSourceAddressIPV4', 'xlate_source_address_ip_v4'],
  ['FirewallEvent', 'firewall_event'],
  ['aBCDe', 'a_bc_de'],
  ['applicationHttpUser-agent', 'application_http_user-agent'],
  ['viptelaVPNId', 'viptela_vpn_id'],
  ['PolicyQosQueueINDEX', 'policy_qos_queue_index'],
  ['waasoptimizationSegment', 'waasoptimization_segment'],
  ['IPv4Foo', 'i_pv4_foo'],
];

test('toKey converts every NETFLOW.md 3.3 vector', () => {
  for (const [name, key] of VECTORS) assert.equal(toKey(name), key, name);
});

test('VRFname is the one exception entry', () => {
  assert.equal(toKey('VRFname'), 'vrf_name');
});

test('names containing _ are only lower-cased', () => {
  assert.equal(toKey('conntrack_id'), 'conntrack_id');
  assert.equal(toKey('FW_Rule'), 'fw_rule');
  assert.equal(toKey('ssl_server_name_raw'), 'ssl_server_name_raw');
  assert.equal(toKey('http2_User_Agent'), 'http2_user_agent');
});

test('header metadata names', () => {
  assert.equal(toKey('uptimeMillis'), 'uptime_millis');
  assert.equal(toKey('sourceId'), 'source_id');
  assert.equal(toKey('engineType'), 'engine_type');
  assert.equal(toKey('samplingInterval'), 'sampling_interval');
  assert.equal(toKey('aggregationVersion'), 'aggregation_version');
});

test('edge cases: empty, single characters, trailing capital run', () => {
  assert.equal(toKey(''), '');
  assert.equal(toKey('a'), 'a');
  assert.equal(toKey('A'), 'a');
  assert.equal(toKey('Timestamp'), 'timestamp');
  assert.equal(toKey('ipTTL'), 'ip_ttl');
  assert.equal(toKey('mplsTopLabelTTL'), 'mpls_top_label_ttl');
});
