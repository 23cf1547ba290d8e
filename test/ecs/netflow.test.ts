/**
 * The NetFlow normalizer, rule by rule (NETFLOW.md 4.1 what Filebeat emits, 4.2 locality, 4.3 what
 * the integration's pipeline adds). Records are built directly; documents are read back from
 * their JSON text, integers losslessly.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { flowId } from '../../src/ecs/flow-id.ts';
import { parseIp } from '../../src/ecs/ip.ts';
import { parseNetworks } from '../../src/ecs/locality.ts';
import { NetflowNormalizer, type NetflowNormalizerOptions } from '../../src/ecs/netflow.ts';
import type {
  ExporterMeta,
  FieldMap,
  FlowRecord,
  OptionsRecord,
} from '../../src/inputs/netflow/decoder/types.ts';

type Json = Record<string, any>;

const EXPORT = new Date('2020-06-01T12:00:10.000Z');
const CREATED = new Date('2026-01-01T00:00:00.000Z');

function exporter(overrides: Partial<ExporterMeta> = {}): ExporterMeta {
  return {
    version: 9,
    timestamp: EXPORT,
    uptimeMillis: 10_000,
    address: '192.0.2.1:4444',
    ip: '192.0.2.1',
    sourceId: 0,
    sequence: 5,
    ...overrides,
  };
}

function flow(fields: FieldMap, exp: Partial<ExporterMeta> = {}): FlowRecord {
  return { type: 'netflow_flow', exporter: exporter(exp), fields, templateId: 256 };
}

const big = (value: bigint) => JSON.rawJSON(value.toString()) as { rawJSON: string };

/** The document as JSON carries it; integers beyond 2^53 as bigint. */
function doc(record: FlowRecord | OptionsRecord, options: Partial<NetflowNormalizerOptions> = {}): Json {
  const normalizer = new NetflowNormalizer({
    internalNetworks: parseNetworks(['private']),
    now: () => CREATED,
    ...options,
  });
  return JSON.parse(normalizer.normalizeJson(record), (_k: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^\d+$/.test(ctx.source)
      ? BigInt(ctx.source)
      : v,
  );
}

const TCP_FLOW = {
  source_ipv4_address: '10.0.0.1',
  destination_ipv4_address: '10.0.0.2',
  source_transport_port: 40000,
  destination_transport_port: 443,
  protocol_identifier: 6,
};

describe('common fields', () => {
  it('@timestamp is the export time; event, data_stream, ecs, input, observer, netflow.exporter', () => {
    const d = doc(
      flow(TCP_FLOW, {
        version: 5,
        sourceId: undefined,
        engineType: 1,
        engineId: 2,
        samplingInterval: 0x4064,
      }),
    );
    assert.equal(d['@timestamp'], '2020-06-01T12:00:10.000Z');
    // no sysUpTime fields: no times
    assert.deepEqual(d.event, {
      action: 'netflow_flow',
      category: ['network'],
      created: '2026-01-01T00:00:00.000Z',
      dataset: 'netflow.log',
      kind: 'event',
      type: ['connection'],
    });
    assert.deepEqual(d.data_stream, { dataset: 'netflow.log', namespace: 'default', type: 'logs' });
    assert.deepEqual(d.ecs, { version: '8.17.0' });
    assert.deepEqual(d.input, { type: 'netflow' });
    assert.deepEqual(d.observer, { ip: ['192.0.2.1'] });
    // the header's sequence number is not exported; absent keys stay absent
    assert.deepEqual(d.netflow.exporter, {
      address: '192.0.2.1:4444',
      timestamp: '2020-06-01T12:00:10.000Z',
      uptime_millis: 10_000,
      version: 5,
      engine_type: 1,
      engine_id: 2,
      sampling_interval: 0x4064,
    });
    assert.equal(d.netflow.type, 'netflow_flow');
    assert.equal(d.netflow.source_ipv4_address, '10.0.0.1');
  });

  it('v8 exporter keys and IPFIX source_id', () => {
    const v8 = doc(flow({}, { version: 8, sourceId: undefined, aggregation: 13, aggregationVersion: 2 }));
    assert.equal(v8.netflow.exporter.aggregation, 13);
    assert.equal(v8.netflow.exporter.aggregation_version, 2);
    const ipfix = doc(flow({}, { version: 10, uptimeMillis: 0, sourceId: 2_887_138_561 }));
    assert.equal(ipfix.netflow.exporter.source_id, 2_887_138_561);
    assert.equal(ipfix.netflow.exporter.uptime_millis, 0);
  });

  it('network.transport and iana_number (a string)', () => {
    const transport = (p: number) => doc(flow({ protocol_identifier: p })).network;
    assert.deepEqual([transport(1).transport, transport(1).iana_number], ['icmp', '1']);
    assert.equal(transport(6).transport, 'tcp');
    assert.equal(transport(17).transport, 'udp');
    assert.equal(transport(58).transport, 'ipv6-icmp');
    assert.deepEqual([transport(47).transport, transport(47).iana_number], ['unknown (47)', '47']);
    const none = doc(flow({})).network;
    assert.equal('transport' in none || 'iana_number' in none, false);
  });
});

describe('times (4.1)', () => {
  const ts = EXPORT.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();

  it('start/end = export time - (uptime - sysUpTime); duration in nanoseconds', () => {
    const d = doc(flow({ flow_start_sys_up_time: 4000, flow_end_sys_up_time: 9000 }));
    assert.equal(d.event.start, iso(ts - 6000));
    assert.equal(d.event.end, iso(ts - 1000));
    assert.equal(d.event.duration, 5_000_000_000);
  });

  it('uptime guard: a sysUpTime beyond the exporter uptime gives no edge (equal is fine)', () => {
    const d = doc(flow({ flow_start_sys_up_time: 10_001, flow_end_sys_up_time: 10_000 }));
    assert.equal(d.event.start, undefined);
    assert.equal(d.event.end, iso(ts));
    assert.equal(d.event.duration, undefined);
    // netflow5.dat: first 4294967295 > uptime 3381
    const wrapped = doc(
      flow(
        { flow_start_sys_up_time: 4_294_967_295, flow_end_sys_up_time: 4_294_967_295 },
        { uptimeMillis: 3381 },
      ),
    );
    assert.equal('start' in wrapped.event || 'end' in wrapped.event || 'duration' in wrapped.event, false);
  });

  it('flowDurationMilliseconds: duration when the edges give none, and the missing edge derived', () => {
    const endOnly = doc(
      flow({ flow_start_sys_up_time: 20_000, flow_end_sys_up_time: 9000, flow_duration_milliseconds: 1500 }),
    );
    assert.equal(endOnly.event.end, iso(ts - 1000));
    assert.equal(endOnly.event.start, iso(ts - 2500));
    assert.equal(endOnly.event.duration, 1_500_000_000);
    const startOnly = doc(
      flow({ flow_start_sys_up_time: 4000, flow_end_sys_up_time: 20_000, flow_duration_milliseconds: 1500 }),
    );
    assert.equal(startOnly.event.start, iso(ts - 6000));
    assert.equal(startOnly.event.end, iso(ts - 4500));
    assert.equal(startOnly.event.duration, 1_500_000_000);
  });

  it('flowDurationMilliseconds does not override a duration from both edges', () => {
    const d = doc(
      flow({ flow_start_sys_up_time: 4000, flow_end_sys_up_time: 9000, flow_duration_milliseconds: 1 }),
    );
    assert.equal(d.event.duration, 5_000_000_000);
  });

  it('IPFIX (uptime 0) never gets start/end: sysUpTime fields ignored, absolute IEs unused (R2)', () => {
    const d = doc(
      flow(
        {
          flow_start_sys_up_time: 0,
          flow_end_sys_up_time: 0,
          flow_start_seconds: '2020-06-01T12:00:00.000Z',
          flow_end_milliseconds: '2020-06-01T12:00:05.000Z',
          // decoded as a date, so never the uptime alternative
          system_init_time_milliseconds: '2020-06-01T00:00:00.000Z',
        },
        { version: 10, uptimeMillis: 0 },
      ),
    );
    assert.equal('start' in d.event || 'end' in d.event || 'duration' in d.event, false);
    // flowDurationMilliseconds still gives a duration alone
    const withDuration = doc(flow({ flow_duration_milliseconds: 250 }, { version: 10, uptimeMillis: 0 }));
    assert.deepEqual(
      [withDuration.event.start, withDuration.event.end, withDuration.event.duration],
      [undefined, undefined, 250_000_000],
    );
  });

  it('uptime 0 with an integer systemInitTimeMilliseconds (a custom definition) uses it as the uptime', () => {
    const d = doc(
      flow({ system_init_time_milliseconds: 10_000, flow_start_sys_up_time: 4000 }, { uptimeMillis: 0 }),
    );
    assert.equal(d.event.start, iso(ts - 6000));
  });

  it('v5 export time keeps its milliseconds', () => {
    const d = doc(flow({ flow_start_sys_up_time: 9000 }, { version: 5, timestamp: new Date(ts + 514) }));
    assert.equal(d.event.start, iso(ts + 514 - 1000));
  });
});

describe('source and destination (4.1)', () => {
  it('ip, port (0 kept), mac, locality', () => {
    const d = doc(
      flow({
        ...TCP_FLOW,
        destination_ipv4_address: '8.8.8.8',
        source_transport_port: 0,
        source_mac_address: '00-11-22-33-44-55',
        destination_mac_address: 'AA-BB-CC-DD-EE-FF',
      }),
    );
    assert.deepEqual(d.source, { ip: '10.0.0.1', locality: 'internal', port: 0, mac: '00-11-22-33-44-55' });
    assert.deepEqual(d.destination, {
      ip: '8.8.8.8',
      locality: 'external',
      port: 443,
      mac: 'AA-BB-CC-DD-EE-FF',
    });
  });

  it('the IPv4 address wins over the IPv6 one (Procera sends both); IPv6 alone is used', () => {
    const both = doc(flow({ source_ipv4_address: '10.0.0.1', source_ipv6_address: '2001:db8::1' }));
    assert.equal(both.source.ip, '10.0.0.1');
    const v6 = doc(flow({ source_ipv6_address: 'fd00::1', destination_ipv6_address: '2001:db8::1' }));
    assert.deepEqual([v6.source.ip, v6.source.locality], ['fd00::1', 'internal']);
    assert.deepEqual([v6.destination.ip, v6.destination.locality], ['2001:db8::1', 'external']);
  });

  it('bytes and packets: first of delta, total, initiator; reverse/responder to destination; sums', () => {
    const d = doc(
      flow({
        octet_total_count: 500,
        initiator_octets: 1,
        packet_total_count: 5,
        initiator_packets: 1,
        reverse_octet_total_count: 300,
        responder_octets: 2,
        responder_packets: 3,
      }),
    );
    assert.deepEqual([d.source.bytes, d.source.packets], [500, 5]);
    assert.deepEqual([d.destination.bytes, d.destination.packets], [300, 3]);
    assert.deepEqual([d.network.bytes, d.network.packets], [800, 8]);
    const delta = doc(flow({ octet_delta_count: 7, octet_total_count: 500, initiator_octets: 1 }));
    assert.equal(delta.source.bytes, 7);
    const initiator = doc(flow({ initiator_octets: 9, responder_octets: 1 }));
    assert.deepEqual([initiator.source.bytes, initiator.network.bytes], [9, 10]);
  });

  it('network.bytes/packets only when the source value exists', () => {
    const d = doc(flow({ reverse_octet_delta_count: 300, reverse_packet_delta_count: 3 }));
    assert.deepEqual(d.destination, { bytes: 300, packets: 3 });
    assert.equal('bytes' in d.network || 'packets' in d.network, false);
    assert.equal(d.source, undefined);
  });

  it('counters beyond 2^53 are exact, sums too; uint64 sums wrap like Go', () => {
    const d = doc(
      flow({ octet_delta_count: big(2n ** 60n), reverse_octet_delta_count: big(2n ** 60n + 1n) }),
    );
    assert.equal(d.source.bytes, 2n ** 60n);
    assert.equal(d.destination.bytes, 2n ** 60n + 1n);
    assert.equal(d.network.bytes, 2n ** 61n + 1n);
    const crossing = doc(
      flow({ packet_delta_count: Number.MAX_SAFE_INTEGER, reverse_packet_delta_count: 2 }),
    );
    assert.equal(crossing.network.packets, 2n ** 53n + 1n);
    const wrapped = doc(flow({ octet_delta_count: big(2n ** 64n - 1n), reverse_octet_delta_count: 2 }));
    assert.equal(wrapped.network.bytes, 1);
  });
});

describe('Cisco WLC mapping (4.1)', () => {
  const WLAN = {
    sta_mac_address: '34-02-86-75-C0-51',
    wtp_mac_address: '00-F6-63-CC-80-60',
    sta_ipv4_address: '192.168.20.121',
    protocol_identifier: 17,
  };

  it('flowDirection 0: source = station (mac, ip), destination = access point (mac)', () => {
    const d = doc(flow({ ...WLAN, flow_direction: 0 }));
    assert.deepEqual(d.source, { ip: '192.168.20.121', locality: 'internal', mac: '34-02-86-75-C0-51' });
    assert.deepEqual(d.destination, { mac: '00-F6-63-CC-80-60' });
    assert.equal(d.network.direction, 'inbound');
  });

  it('flowDirection 1: swapped', () => {
    const d = doc(flow({ ...WLAN, flow_direction: 1 }));
    assert.deepEqual(d.source, { mac: '00-F6-63-CC-80-60' });
    assert.deepEqual(d.destination, { ip: '192.168.20.121', locality: 'internal', mac: '34-02-86-75-C0-51' });
  });

  it('needs flowDirection and both MACs', () => {
    const { flow_direction: _, ...noDirection } = { ...WLAN, flow_direction: 0 };
    assert.equal(doc(flow(noDirection)).source, undefined);
    const { wtp_mac_address: __, ...oneMac } = WLAN;
    assert.equal(doc(flow({ ...oneMac, flow_direction: 0 })).source, undefined);
  });

  it('regular IP and MAC fields overwrite the WLAN ones', () => {
    const d = doc(
      flow({
        ...WLAN,
        flow_direction: 0,
        source_ipv4_address: '10.9.9.9',
        source_mac_address: '11-11-11-11-11-11',
      }),
    );
    assert.deepEqual(d.source, { ip: '10.9.9.9', locality: 'internal', mac: '11-11-11-11-11-11' });
  });

  it('the station IP feeds flow.id and the community id', () => {
    const wlan = doc(flow({ ...WLAN, flow_direction: 0 }));
    const plain = doc(flow({ source_ipv4_address: '192.168.20.121', protocol_identifier: 17 }));
    assert.equal(wlan.flow.id, plain.flow.id);
    assert.equal(wlan.network.community_id, plain.network.community_id);
    const outbound = doc(flow({ ...WLAN, flow_direction: 1 }));
    const plainOut = doc(flow({ destination_ipv4_address: '192.168.20.121', protocol_identifier: 17 }));
    assert.equal(outbound.flow.id, plainOut.flow.id);
  });

  it('WLAN IPs are no endpoints of related.ip; the station IP arrives through pipeline step 6 only', () => {
    // Filebeat (4.1) leaves it out; the pipeline adds every netflow.*_ipv4_address (4.3 step 6),
    // and sta_ipv4_address is one. Without that key the mapping contributes nothing.
    const d = doc(flow({ ...WLAN, flow_direction: 1 }));
    assert.deepEqual(d.related.ip, ['192.0.2.1', '192.168.20.121']);
  });
});

describe('biflows (4.1)', () => {
  const BIFLOW = {
    ...TCP_FLOW,
    destination_ipv4_address: '8.8.8.8',
    octet_delta_count: 10,
    reverse_octet_delta_count: 20,
  };

  it('biflowDirection 1: category network+session, client/server copies of source/destination', () => {
    const d = doc(flow({ ...BIFLOW, biflow_direction: 1 }));
    assert.deepEqual(d.event.category, ['network', 'session']);
    assert.equal(d.source.ip, '10.0.0.1');
    assert.deepEqual(d.client, d.source);
    assert.deepEqual(d.server, d.destination);
  });

  it('biflowDirection 2 (reverseInitiator) swaps source and destination; flow.id computed before', () => {
    const plain = doc(flow(BIFLOW));
    const d = doc(flow({ ...BIFLOW, biflow_direction: 2 }));
    assert.deepEqual(d.source, plain.destination);
    assert.deepEqual(d.destination, plain.source);
    assert.deepEqual(d.client, plain.destination);
    assert.deepEqual(d.server, plain.source);
    assert.equal(d.flow.id, plain.flow.id);
    assert.equal(d.network.community_id, plain.network.community_id);
    // localities decide the direction after the swap: external -> internal
    assert.equal(plain.network.direction, 'outbound');
    assert.equal(d.network.direction, 'inbound');
    // network totals stay
    assert.equal(d.network.bytes, 30);
  });

  it('client and server are copies, not the same objects as source and destination', () => {
    const normalizer = new NetflowNormalizer({ internalNetworks: parseNetworks(['private']) });
    const raw = normalizer.normalize(flow({ ...BIFLOW, biflow_direction: 1 }));
    assert.notEqual(raw.client, raw.source);
    assert.notEqual(raw.server, raw.destination);
  });

  it('no client/server when source or destination is empty', () => {
    const d = doc(flow({ source_ipv4_address: '10.0.0.1', biflow_direction: 1 }));
    assert.deepEqual(d.event.category, ['network']);
    assert.equal('client' in d || 'server' in d, false);
  });
});

describe('network.direction (4.1 then pipeline step 9)', () => {
  it('from flowDirection when localities are incomplete', () => {
    assert.equal(doc(flow({ flow_direction: 0 })).network.direction, 'inbound');
    assert.equal(
      doc(flow({ flow_direction: 1, source_ipv4_address: '10.0.0.1' })).network.direction,
      'outbound',
    );
    assert.equal(doc(flow({ flow_direction: 7 })).network.direction, 'unknown (7)');
    assert.equal(doc(flow({})).network.direction, 'unknown');
  });

  it('overwritten by the localities when both are known', () => {
    const dir = (src: string, dst: string, flowDirection?: number) =>
      doc(
        flow({
          source_ipv4_address: src,
          destination_ipv4_address: dst,
          ...(flowDirection === undefined ? {} : { flow_direction: flowDirection }),
        }),
      ).network.direction;
    assert.equal(dir('8.8.8.8', '10.0.0.1', 1), 'inbound');
    assert.equal(dir('10.0.0.1', '8.8.8.8', 0), 'outbound');
    assert.equal(dir('10.0.0.1', '192.168.1.1', 0), 'internal');
    assert.equal(dir('8.8.8.8', '1.1.1.1'), 'external');
  });
});

describe('flow.id and flow.locality (4.1)', () => {
  it('no IPs, no ports, tcp: 0.0.0.0 and port 0 (Vhs9T5k296w), internal', () => {
    const d = doc(flow({ protocol_identifier: 6 }));
    assert.deepEqual(d.flow, { id: 'Vhs9T5k296w', locality: 'internal' });
    assert.equal(d.network.community_id, '1:idwO/QHAjbcGlF1bfQE9dPuu7T0=');
  });

  it('the NETFLOW.md vectors', () => {
    const d = doc(
      flow({
        ...TCP_FLOW,
        source_ipv4_address: '10.113.7.54',
        source_transport_port: 41717,
        destination_ipv4_address: '172.16.21.27',
      }),
    );
    assert.equal(d.flow.id, 'dO-Anbp9xpw');
    assert.equal(d.network.community_id, '1:uhU0lSQQ+LoAMve6GxHC0M3nIes=');
    const udp = doc(
      flow({
        source_ipv4_address: '192.168.0.3',
        source_transport_port: 137,
        destination_ipv4_address: '192.168.0.2',
        destination_transport_port: 137,
        protocol_identifier: 17,
      }),
    );
    assert.equal(udp.flow.id, 'X6k2SQeAX5c');
  });

  it('an IPv4-mapped address in an IPv6 field is hashed as 16 bytes for flow.id, 4 for community_id', () => {
    // Go keeps sourceIPv6Address as a 16-byte net.IP (flow.id hashes it raw); libbeat's
    // community id applies To4(); the decoder renders the address dotted
    const d = doc(
      flow({
        source_ipv6_address: '10.0.0.1',
        destination_ipv6_address: '10.0.0.2',
        source_transport_port: 40000,
        destination_transport_port: 443,
        protocol_identifier: 6,
      }),
    );
    const mapped = (ip: string) => parseIp(`::ffff:${ip}`)!;
    assert.equal(d.flow.id, flowId(mapped('10.0.0.1'), 40000, mapped('10.0.0.2'), 443, 6));
    assert.notEqual(d.flow.id, flowId(parseIp('10.0.0.1'), 40000, parseIp('10.0.0.2'), 443, 6));
    assert.equal(d.network.community_id, doc(flow(TCP_FLOW)).network.community_id);
    assert.equal(d.source.ip, '10.0.0.1');
  });

  it('external when either address is external', () => {
    assert.equal(
      doc(flow({ source_ipv4_address: '10.0.0.1', destination_ipv4_address: '8.8.8.8' })).flow.locality,
      'external',
    );
    assert.equal(doc(flow({ destination_ipv4_address: '8.8.8.8' })).flow.locality, 'external');
  });
});

describe('network.type (pipeline step 8)', () => {
  it('ipv4, ipv6, or both', () => {
    assert.equal(doc(flow({ destination_ipv4_address: '10.0.0.1' })).network.type, 'ipv4');
    assert.equal(doc(flow({ source_ipv6_address: '2001:db8::1' })).network.type, 'ipv6');
    assert.deepEqual(
      doc(flow({ source_ipv4_address: '10.0.0.1', destination_ipv6_address: '2001:db8::1' })).network.type,
      ['ipv4', 'ipv6'],
    );
    assert.equal('type' in doc(flow({ post_nat_source_ipv4_address: '10.0.0.1' })).network, false);
  });
});

describe('related.ip (4.1, pipeline steps 5 and 6)', () => {
  it('endpoints, the observer and every netflow.*_ipv4/_ipv6_address, unique, sorted as strings', () => {
    const d = doc(
      flow({
        source_ipv4_address: '192.168.99.7',
        destination_ipv4_address: '31.13.87.36',
        ip_next_hop_ipv4_address: '192.168.99.7',
        post_nat_source_ipv4_address: '100.64.0.1',
        exporter_ipv6_address: '2001:db8::9',
        source_ipv4_prefix: '10.0.0.0', // not an *_address key
      }),
    );
    assert.deepEqual(d.related.ip, ['100.64.0.1', '192.0.2.1', '192.168.99.7', '2001:db8::9', '31.13.87.36']);
  });

  it('the observer alone when the record has no address', () => {
    assert.deepEqual(doc(flow({})).related.ip, ['192.0.2.1']);
  });

  it('with the template’s keys (as decoded records carry them): the address keys among them', () => {
    const fields = {
      source_ipv4_address: '10.0.0.1',
      ip_next_hop_ipv4_address: '192.0.2.254',
      bgp_next_hop_ipv6_address: '2001:db8::1',
    };
    const record = flow(fields);
    // the template lists an address element this record's value of which did not decode
    record.keys = ['source_ipv4_address', 'post_nat_source_ipv4_address', ...Object.keys(fields)];
    assert.deepEqual(doc(record).related.ip, ['10.0.0.1', '192.0.2.1', '192.0.2.254', '2001:db8::1']);
  });
});

describe('netflow.tcp_flags (pipeline step 7)', () => {
  const flags = (bits?: number) =>
    doc(flow(bits === undefined ? {} : { tcp_control_bits: bits })).netflow.tcp_flags;

  it('names of the low 8 bits, CWR first, FIN last', () => {
    assert.deepEqual(flags(0x12), ['ACK', 'SYN']);
    assert.deepEqual(flags(0x1ff), ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']);
    assert.deepEqual(flags(0x01), ['FIN']);
  });

  it('absent when none of them is set', () => {
    assert.equal(flags(0), undefined);
    assert.equal(flags(0x100), undefined);
    assert.equal(flags(), undefined);
  });
});

describe('options documents (4.1, 4.3)', () => {
  it('event, observer, netflow {exporter, scope, options, type}; network.direction unknown; related.ip observer', () => {
    const record: OptionsRecord = {
      type: 'netflow_options',
      exporter: exporter({ sourceId: 1 }),
      scope: { octet_delta_count: 1 },
      options: { sampling_interval: 1, exporter_ipv4_address: '10.0.0.9' },
      templateId: 256,
    };
    assert.deepEqual(doc(record), {
      '@timestamp': '2020-06-01T12:00:10.000Z',
      data_stream: { dataset: 'netflow.log', namespace: 'default', type: 'logs' },
      ecs: { version: '8.17.0' },
      event: {
        action: 'netflow_options',
        category: ['network'],
        created: '2026-01-01T00:00:00.000Z',
        dataset: 'netflow.log',
        kind: 'event',
      },
      input: { type: 'netflow' },
      netflow: {
        exporter: {
          address: '192.0.2.1:4444',
          source_id: 1,
          timestamp: '2020-06-01T12:00:10.000Z',
          uptime_millis: 10_000,
          version: 9,
        },
        options: { sampling_interval: 1, exporter_ipv4_address: '10.0.0.9' },
        scope: { octet_delta_count: 1 },
        type: 'netflow_options',
      },
      network: { direction: 'unknown' },
      observer: { ip: ['192.0.2.1'] },
      // option values are not top-level netflow keys: not in related.ip
      related: { ip: ['192.0.2.1'] },
      tags: ['netflow', 'forwarded'],
    });
  });
});

describe('tags, namespace and the forwarded rule', () => {
  it('default tags [netflow, forwarded]: no host.*', () => {
    const d = doc(flow({}));
    assert.deepEqual(d.tags, ['netflow', 'forwarded']);
    assert.equal(d.host, undefined);
  });

  it('without `forwarded`, host.* describes this host', () => {
    const d = doc(flow({}), { tags: ['netflow'] });
    assert.deepEqual(d.tags, ['netflow']);
    assert.deepEqual(d.host, { hostname: hostname(), name: hostname() });
    assert.equal(doc(flow({}), { tags: ['custom', 'forwarded'] }).host, undefined);
  });

  it('namespace goes to data_stream.namespace', () => {
    assert.equal(doc(flow({}), { namespace: 'prod' }).data_stream.namespace, 'prod');
  });
});

describe('fields and fields_under_root (Filebeat common options)', () => {
  const fields = { observer: { name: 'edge-1' }, event: { module: 'x' }, site: 'paris' };

  it('fields go under `fields` by default', () => {
    const d = doc(flow(TCP_FLOW), { fields });
    assert.deepEqual(d.fields, fields);
    assert.deepEqual(d.observer, { ip: ['192.0.2.1'] });
  });

  it('under the root they merge into existing objects, their values winning, nothing else lost', () => {
    const d = doc(flow(TCP_FLOW), { fields, fieldsUnderRoot: true });
    assert.deepEqual(d.observer, { ip: ['192.0.2.1'], name: 'edge-1' });
    assert.equal(d.event.module, 'x');
    assert.equal(d.event.kind, 'event');
    assert.equal(d.site, 'paris');
    assert.equal(d.fields, undefined);
    // one normalizer, two documents: merging must not write into the objects documents share
    const normalizer = new NetflowNormalizer({
      internalNetworks: parseNetworks(['private']),
      fields: { data_stream: { namespace: 'x' }, tags: ['extra'] },
      fieldsUnderRoot: true,
    });
    const first = normalizer.normalize(flow(TCP_FLOW)) as Json;
    const second = normalizer.normalize(flow(TCP_FLOW)) as Json;
    assert.equal(first.data_stream.namespace, 'x');
    assert.equal(second.data_stream.dataset, 'netflow.log');
    const plain = new NetflowNormalizer({ internalNetworks: parseNetworks(['private']) });
    assert.equal((plain.normalize(flow(TCP_FLOW)) as Json).data_stream.namespace, 'default');
    assert.notEqual(first.data_stream, second.data_stream);
  });
});

describe('the document as text', () => {
  const normalizer = (options: Partial<NetflowNormalizerOptions> = {}) =>
    new NetflowNormalizer({ internalNetworks: parseNetworks(['private']), now: () => CREATED, ...options });

  it('is what JSON.stringify writes of the document: members in Filebeat’s order, then the pipeline’s', () => {
    const record = flow({
      ...TCP_FLOW,
      octet_delta_count: big(2n ** 60n),
      packet_delta_count: 3,
      flow_start_milliseconds: '2020-06-01T12:00:01.250Z',
      application_name: 'a "quoted" \\ name\n',
      biflow_direction: 1,
      tcp_control_bits: 0x12,
    });
    const text = normalizer({ tags: ['netflow'], fields: { site: 'a' } }).normalizeJson(record);
    const exact = JSON.parse(text, (_k, v, ctx?: { source?: string }) =>
      typeof v === 'number' && !Number.isSafeInteger(v) ? JSON.rawJSON(ctx!.source!) : v,
    );
    // no whitespace, canonical numbers and escapes: serialising the parsed document gives the text back
    assert.equal(JSON.stringify(exact), text);
    assert.deepEqual(Object.keys(exact), [
      '@timestamp',
      'data_stream',
      'ecs',
      'event',
      'input',
      'netflow',
      'observer',
      'tags',
      'host',
      'flow',
      'network',
      'source',
      'destination',
      'client',
      'server',
      'related',
      'fields',
    ]);
    assert.deepEqual(Object.keys(exact.event), ['action', 'category', 'created', 'dataset', 'kind', 'type']);
    assert.deepEqual(Object.keys(exact.netflow), [
      ...Object.keys(record.fields),
      'exporter',
      'type',
      'tcp_flags',
    ]);
    assert.deepEqual(Object.keys(exact.network), [
      'transport',
      'iana_number',
      'bytes',
      'packets',
      'direction',
      'community_id',
      'type',
    ]);
    assert.deepEqual(Object.keys(exact.source), ['ip', 'locality', 'port', 'bytes', 'packets']);
    assert.equal(exact.netflow.application_name, 'a "quoted" \\ name\n');
    assert.equal(exact.network.bytes.rawJSON, String(2n ** 60n));
  });

  it('a record element named like one of netflow’s own members keeps its place and takes the document’s value', () => {
    // a custom definition can name an element `type`, `exporter`, `sampling_rate` or `tcp_flags`
    const record = flow({
      type: 'mine',
      a: 1,
      tcp_flags: 7,
      tcp_control_bits: 2,
      exporter: 'x',
      sampling_rate: 9,
    });
    const text = normalizer().normalizeJson(record);
    // each member once: JSON.parse would keep a repeated key at its first place, with its last value
    assert.equal(JSON.stringify(JSON.parse(text)), text);
    const d = doc(record);
    assert.deepEqual(Object.keys(d.netflow), [
      'type',
      'a',
      'tcp_flags',
      'tcp_control_bits',
      'exporter',
      'sampling_rate',
    ]);
    assert.equal(d.netflow.type, 'netflow_flow');
    assert.deepEqual(d.netflow.tcp_flags, ['SYN']);
    assert.equal(d.netflow.exporter.address, '192.0.2.1:4444');
    // sampling_rate is the document's only where the option sets it
    assert.equal(d.netflow.sampling_rate, 9);
    const sampled = doc(flow({ sampling_rate: 9, sampling_interval: 100 }), { samplingRate: true });
    assert.deepEqual(Object.keys(sampled.netflow), [
      'sampling_rate',
      'sampling_interval',
      'exporter',
      'type',
    ]);
    assert.equal(sampled.netflow.sampling_rate, 100);
  });

  it('event.created is read per record, also for records of a packet converted before (replayed pending data)', () => {
    let clock = CREATED.getTime();
    const n = normalizer({ now: () => new Date(clock) });
    const record = flow(TCP_FLOW);
    const first = JSON.parse(n.normalizeJson(record));
    clock += 30_000;
    const again = JSON.parse(n.normalizeJson({ ...record, fields: { ...TCP_FLOW } }));
    assert.equal(first.event.created, '2026-01-01T00:00:00.000Z');
    assert.equal(again.event.created, '2026-01-01T00:00:30.000Z');
  });

  it('an invalid date is null, as JSON.stringify writes an invalid Date', () => {
    const d = doc(flow({ flow_duration_milliseconds: 9e15, flow_end_sys_up_time: 10_000 }), {
      now: () => new Date(Number.NaN),
    });
    assert.equal(d.event.created, null);
    assert.equal(d.event.start, null);
    assert.equal(d.event.end, '2020-06-01T12:00:10.000Z');
    assert.equal(d.event.duration, 9e21);
  });

  it('the records of one packet share the export time’s text and the exporter; a new packet gets its own', () => {
    const n = normalizer();
    const meta = exporter();
    const one = JSON.parse(n.normalizeJson({ type: 'netflow_flow', exporter: meta, fields: TCP_FLOW }));
    const next = exporter({
      timestamp: new Date(EXPORT.getTime() + 1500),
      uptimeMillis: 11_500,
      sequence: 6,
    });
    const two = JSON.parse(n.normalizeJson({ type: 'netflow_flow', exporter: next, fields: TCP_FLOW }));
    assert.equal(one['@timestamp'], '2020-06-01T12:00:10.000Z');
    assert.equal(two['@timestamp'], '2020-06-01T12:00:11.500Z');
    assert.equal(two.netflow.exporter.timestamp, '2020-06-01T12:00:11.500Z');
    assert.equal(two.netflow.exporter.uptime_millis, 11_500);
  });
});
