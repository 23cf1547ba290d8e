/** R3: the sampling rate of a flow from its record or its v5/v6 header, and scale_counters. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { NetflowInputConfig } from '../../src/config/schema.ts';
import { samplingRate } from '../../src/ecs/netflow-sampling.ts';
import { NetflowDecoder } from '../../src/inputs/netflow/decoder/decoder.ts';
import type { FieldMap, FlowRecord } from '../../src/inputs/netflow/decoder/types.ts';
import { buildNetflowParts } from '../../src/inputs/netflow/parts.ts';
import { netflowV5Datagram } from '../helpers/netflow-v5.ts';

const flow = (fields: FieldMap, version = 10, samplingInterval?: number): FlowRecord => ({
  type: 'netflow_flow',
  exporter: {
    version,
    timestamp: new Date(0),
    uptimeMillis: 0,
    address: '192.0.2.1:2055',
    ip: '192.0.2.1',
    ...(samplingInterval === undefined ? {} : { samplingInterval }),
  },
  fields,
});

function config(enrich: string): NetflowInputConfig {
  return loadConfig({ text: `flowship.inputs: [{type: netflow, ${enrich}}]\noutput.console: {}\n`, env: {} })
    .flowship.inputs[0] as NetflowInputConfig;
}

/** The first document of a real v5 datagram whose header says `sampling`. */
function v5Document(enrich: string, sampling: number) {
  const { dictionary, normalizer } = buildNetflowParts(config(enrich));
  const datagram = netflowV5Datagram(0, 1, Date.UTC(2026, 10, 22));
  datagram.writeUInt16BE(sampling, 22);
  const decoder = new NetflowDecoder({ dictionary });
  const [record] = decoder.decode(datagram, { ip: '192.0.2.1', address: '192.0.2.1:2055' }).records;
  return JSON.parse(JSON.stringify(normalizer.normalize(record)));
}

describe('samplingRate', () => {
  it('packet interval and space give (interval + space) / interval', () => {
    assert.equal(samplingRate(flow({ sampling_packet_interval: 1, sampling_packet_space: 99 })), 100);
    assert.equal(samplingRate(flow({ sampling_packet_interval: 2, sampling_packet_space: 1998 })), 1000);
  });

  it("the record's interval wins over the header; the header's low 14 bits count for v5 and v6 only", () => {
    assert.equal(samplingRate(flow({ sampling_interval: 512 }, 5, 0x4000 | 100)), 512);
    assert.equal(samplingRate(flow({ sampler_random_interval: 64 })), 64);
    assert.equal(samplingRate(flow({}, 5, 0x4000 | 100)), 100, 'mode bits masked off');
    assert.equal(samplingRate(flow({}, 6, 10)), 10);
    assert.equal(samplingRate(flow({}, 5, 0x4000)), undefined, 'interval 0 says nothing');
    assert.equal(samplingRate(flow({}, 7, 10)), undefined);
    assert.equal(samplingRate(flow({ sampling_interval: 0 })), undefined);
  });
});

describe('netflow.sampling_rate and scale_counters on a real v5 datagram', () => {
  it('extended (the default) emits the rate and leaves the counters as sampled', () => {
    const doc = v5Document('', 0x4000 | 100);
    assert.equal(doc.netflow.sampling_rate, 100);
    assert.equal(doc.netflow.exporter.sampling_interval, 0x4000 | 100, 'the raw header field stays');
    assert.equal(doc.network.bytes, 100);
    assert.equal(doc.network.packets, 1);
  });

  it('scale_counters multiplies source/destination/network bytes and packets, not netflow.*', () => {
    const doc = v5Document('enrich: {scale_counters: true}', 0x4000 | 100);
    assert.equal(doc.network.bytes, 10_000);
    assert.equal(doc.network.packets, 100);
    assert.equal(doc.source.bytes, 10_000);
    assert.equal(doc.netflow.octet_delta_count, 100, 'the exported value is kept as it was');
  });

  it('filebeat compatibility and sampling_rate: false emit nothing', () => {
    assert.equal(v5Document('compatibility: filebeat', 0x4000 | 100).netflow.sampling_rate, undefined);
    assert.equal(v5Document('enrich: {sampling_rate: false}', 0x4000 | 100).netflow.sampling_rate, undefined);
    assert.equal(v5Document('', 0).netflow.sampling_rate, undefined, 'unsampled header: unknown, not 1');
  });
});
