/**
 * R6 in the documents (NETFLOW.md 6, with R2 and R3): `observer.ingress/egress.interface`,
 * `network.application`, `netflow.sampling_rate` from the sampler table or the session, and the
 * session's system init time, with `compatibility: extended` and `enrich.options` (defaults);
 * never with `compatibility: filebeat`, and never changing what the record carries. Real captures
 * from fixtures/netflow (logstash-plugins/logstash-codec-netflow, Apache-2.0; see its README).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { NetflowInputConfig } from '../../src/config/schema.ts';
import { parseNetworks } from '../../src/ecs/locality.ts';
import { NetflowNormalizer, type NetflowNormalizerOptions } from '../../src/ecs/netflow.ts';
import { NetflowDecoder } from '../../src/inputs/netflow/decoder/decoder.ts';
import type {
  DecodedRecord,
  FieldMap,
  FlowRecord,
  OptionsNames,
  SessionOptionsView,
} from '../../src/inputs/netflow/decoder/types.ts';
import { decodeCaptureFile } from '../../src/inputs/netflow/offline.ts';
import { buildNetflowParts } from '../../src/inputs/netflow/parts.ts';
import { DAT_EXPORTER, FIXTURES } from '../conformance/netflow-fixtures.ts';
import {
  ascii,
  FROM,
  ipfix,
  ipfixOptionsTemplate,
  ipfixTemplate,
  paddedSet,
  sessionOptionsView,
  set,
  u16,
  u32,
  u64,
  v9,
  v9OptionsTemplate,
  v9Template,
  varlen,
} from '../inputs/netflow/decoder/packets.ts';

type Json = Record<string, any>;

function config(settings = ''): NetflowInputConfig {
  return loadConfig({ text: `flowship.inputs: [{type: netflow${settings}}]\noutput.console: {}\n`, env: {} })
    .flowship.inputs[0] as NetflowInputConfig;
}

/**
 * What `flowship run`/`decode` build from the configuration: decoder and normalizer. Sequence-reset
 * detection is off, as for every fixture test (fixtures/netflow/README.md): the files of one test
 * come from separate captures whose sequence numbers jump.
 */
function parts(settings = '') {
  const c = config(settings);
  const { dictionary, normalizer } = buildNetflowParts(c, () => new Date(0));
  const decoder = new NetflowDecoder({
    dictionary,
    compatibility: c.compatibility,
    expirationTimeoutMs: 0,
    detectSequenceReset: false,
  });
  return { decoder, normalizer };
}

const asJson = (doc: unknown): Json => JSON.parse(JSON.stringify(doc)) as Json;

/** Decodes fixture `.dat` files in order, as `flowship decode --exporter 192.0.2.1:4444` does. */
function decodeDat(decoder: NetflowDecoder, files: readonly string[]): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const summary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
  const options = {
    decoder,
    exporter: DAT_EXPORTER,
    maxMessageSize: 10 * 1024,
    onError: (e: unknown) => assert.fail(String(e)),
  };
  for (const file of files) records.push(...decodeCaptureFile(`${FIXTURES}dat/${file}`, options, summary));
  return records;
}

/** The flow documents of `files` under the configuration `settings`. */
function flowDocuments(files: readonly string[], settings = ''): Json[] {
  const { decoder, normalizer } = parts(settings);
  return decodeDat(decoder, files)
    .filter((r) => r.type === 'netflow_flow')
    .map((r) => asJson(normalizer.normalize(r)));
}

const ASR9K = [
  'netflow9_test_cisco_asr9k_opttpl256.dat',
  'netflow9_test_cisco_asr9k_data256.dat',
  'netflow9_test_cisco_asr9k_tpl260.dat',
  'netflow9_test_cisco_asr9k_data260.dat',
];
const NBAR = [
  'netflow9_test_cisco_nbar_opttpl260.dat',
  'netflow9_test_cisco_nbar_tpl262.dat',
  'netflow9_test_cisco_nbar_data262.dat',
];
const FORTIGATE = [
  'netflow9_test_fortigate_fortios_521_tpl.dat',
  'netflow9_test_fortigate_fortios_521_data256.dat',
  'netflow9_test_fortigate_fortios_521_data257.dat',
];

/** Deletes dotted `paths` from a copy of `doc`. */
function without(doc: Json, ...paths: string[]): Json {
  const copy = structuredClone(doc);
  for (const path of paths) {
    const parts = path.split('.');
    let node: Json | undefined = copy;
    for (const p of parts.slice(0, -1)) node = node?.[p];
    if (node !== undefined) delete node[parts[parts.length - 1]];
  }
  return copy;
}

describe('R6: observer.ingress/egress.interface', () => {
  it('real capture (Cisco ASR 9000): interfaces the options data described, and only those', () => {
    const docs = flowDocuments(ASR9K);
    assert.equal(docs.length, 21);
    assert.equal(docs[0].netflow.ingress_interface, 110);
    assert.deepEqual(docs[0].observer, {
      ip: ['192.0.2.1'],
      ingress: { interface: { id: '110', alias: 'TenGigE0_6_1_0' } },
    });
    // egress 158 is not in the table: nothing is made up for it
    assert.equal(docs[0].netflow.egress_interface, 158);
    const both = docs.find((d) => d.observer.egress !== undefined);
    assert.deepEqual(both?.observer.egress, { interface: { id: '162', alias: 'Bundle-Ether2' } });
  });

  it('adds fields and changes none: the rest equals the document without the enrichment', () => {
    const on = flowDocuments(ASR9K);
    const off = flowDocuments(ASR9K, ', enrich: {options: false}');
    assert.ok(on.some((d) => d.observer.ingress !== undefined));
    for (const [i, doc] of on.entries()) {
      assert.deepEqual(without(doc, 'observer.ingress', 'observer.egress'), off[i]);
      assert.equal(off[i].observer.ingress, undefined);
    }
  });

  it('name and alias from interfaceName (82) and interfaceDescription (83); id as text', () => {
    const { decoder, normalizer } = parts();
    const { records } = decoder.decode(
      v9(
        { sourceId: 1 },
        paddedSet(
          1,
          v9OptionsTemplate(
            300,
            [[2, 4]],
            [
              [82, 8],
              [83, 8],
            ],
          ),
        ),
        paddedSet(300, [...u32(3), ...ascii('Gi0/1\0\0\0'), ...ascii('uplink\0\0')]),
        set(
          0,
          v9Template(256, [
            [10, 4],
            [14, 4],
          ]),
        ),
        set(256, [...u32(3), ...u32(3)]),
      ),
      FROM,
    );
    const doc = asJson(normalizer.normalize(records[1]));
    const iface = { interface: { id: '3', name: 'Gi0/1', alias: 'uplink' } };
    assert.deepEqual(doc.observer, { ip: ['192.0.2.1'], ingress: iface, egress: iface });
  });
});

describe('R6: network.application', () => {
  it('real capture (Cisco NBAR): the name of the record’s applicationId, when the table has it', () => {
    const docs = flowDocuments(NBAR);
    assert.deepEqual(
      docs.map((d) => [d.netflow.application_id, d.network.application]),
      [
        [[1, 0, 0, 1], 'icmp'],
        [[5, 0, 0, 38], undefined],
        [[1, 0, 0, 1], 'icmp'],
        [[3, 0, 0, 123], undefined],
        [[5, 0, 0, 38], undefined],
      ],
    );
    const off = flowDocuments(NBAR, ', enrich: {options: false}');
    for (const [i, doc] of docs.entries()) assert.deepEqual(without(doc, 'network.application'), off[i]);
  });

  /** IPFIX: an application table saying 3:80 is "HTTP", then flows with the id (and a name). */
  function applicationDocs(flows: readonly (readonly number[])[], template: readonly [number, number][]) {
    const { decoder, normalizer } = parts();
    const { records } = decoder.decode(
      ipfix(
        {},
        set(
          3,
          ipfixOptionsTemplate(400, 1, [
            [95, 4],
            [96, 0xffff],
          ]),
        ),
        set(400, [3, 0, 0, 80, ...varlen(ascii('HTTP'))]),
        set(2, ipfixTemplate(256, template)),
        set(256, ...flows),
      ),
      FROM,
    );
    return records.slice(1).map((r) => asJson(normalizer.normalize(r)));
  }

  it('lower-cased; never when the record names its application itself', () => {
    const [doc] = applicationDocs([[3, 0, 0, 80]], [[95, 4]]);
    assert.equal(doc.network.application, 'http');
    const [named] = applicationDocs(
      [[3, 0, 0, 80, ...varlen(ascii('Web'))]],
      [
        [95, 4],
        [96, 0xffff],
      ],
    );
    assert.equal(named.netflow.application_name, 'Web');
    assert.equal(named.network.application, undefined);
  });
});

describe('R3 with R6: netflow.sampling_rate from options data', () => {
  /** A v9 session with a sampler table (1 -> 100, 2 -> 1000), then its flows' documents. */
  function sampledDocs(settings: string, flows: readonly number[][], systemRate?: number): Json[] {
    const { decoder, normalizer } = parts(settings);
    const sets = [
      paddedSet(
        1,
        v9OptionsTemplate(
          301,
          [[1, 4]],
          [
            [48, 2],
            [50, 4],
          ],
        ),
        v9OptionsTemplate(302, [[1, 4]], [[34, 4]]),
      ),
      paddedSet(301, [...u32(0), ...u16(1), ...u32(100)], [...u32(0), ...u16(2), ...u32(1000)]),
      ...(systemRate === undefined ? [] : [paddedSet(302, [...u32(0), ...u32(systemRate)])]),
      set(
        0,
        v9Template(256, [
          [8, 4],
          [48, 2],
          [2, 4],
        ]),
        v9Template(257, [
          [8, 4],
          [48, 2],
          [34, 4],
          [2, 4],
        ]),
      ),
    ];
    decoder.decode(v9({ sourceId: 1, sequence: 1 }, ...sets), FROM);
    const { records } = decoder.decode(v9({ sourceId: 1, sequence: 2 }, ...flows), FROM);
    return records.map((r) => asJson(normalizer.normalize(r)));
  }
  const flow = (sampler: number, packets = 3) => [10, 0, 0, 1, ...u16(sampler), ...u32(packets)];

  it('scoped by the record’s samplerId (sent in 2 bytes), else the session-wide rate', () => {
    const docs = sampledDocs('', [set(256, flow(1), flow(2), flow(9))], 10);
    assert.deepEqual(
      docs.map((d) => d.netflow.sampling_rate),
      [100, 1000, 10],
    );
    assert.equal(docs[0].netflow.sampler_id, undefined, 'the document still drops the 2-byte samplerId');
    const noSession = sampledDocs('', [set(256, flow(9))]);
    assert.equal(noSession[0].netflow.sampling_rate, undefined);
  });

  it('the record’s own sampling elements win', () => {
    const docs = sampledDocs('', [set(257, [...flow(1).slice(0, 6), ...u32(7), ...u32(3)])], 10);
    assert.equal(docs[0].netflow.sampling_interval, 7);
    assert.equal(docs[0].netflow.sampling_rate, 7);
  });

  it('scale_counters multiplies by the sampler’s rate', () => {
    const [doc] = sampledDocs(', enrich: {scale_counters: true}', [set(256, flow(1, 3))]);
    assert.equal(doc.network.packets, 300);
    assert.equal(doc.netflow.packet_delta_count, 3, 'netflow.* keeps what the exporter sent');
  });

  it('enrich.options: false, or compatibility: filebeat, use no options data', () => {
    for (const settings of [', enrich: {options: false}', ', compatibility: filebeat']) {
      const docs = sampledDocs(settings, [set(256, flow(1), flow(9))], 10);
      assert.deepEqual(
        docs.map((d) => d.netflow.sampling_rate),
        [undefined, undefined],
        settings,
      );
    }
  });

  it('real capture (Fortigate): the System-scope options record says 1 (NETFLOW.md 4.5)', () => {
    const [doc] = flowDocuments(FORTIGATE);
    assert.equal(doc.netflow.sampling_rate, 1);
    assert.equal(flowDocuments(FORTIGATE, ', enrich: {options: false}')[0].netflow.sampling_rate, undefined);
  });

  /** A record with the sampling elements `fields` and a session view saying what `state` says. */
  function rate(fields: FieldMap, state: Partial<SessionOptionsView>, samplerId?: number): unknown {
    const sessionOptions = sessionOptionsView(state);
    const record: FlowRecord = {
      type: 'netflow_flow',
      exporter: {
        version: 10,
        timestamp: new Date(0),
        uptimeMillis: 0,
        address: 'a',
        ip: '192.0.2.1',
        sessionOptions,
      },
      fields,
      ...(samplerId === undefined ? {} : { samplerId }),
    };
    const options: NetflowNormalizerOptions = {
      internalNetworks: parseNetworks(['private']),
      samplingRate: true,
      options: true,
    };
    return asJson(new NetflowNormalizer(options).normalize(record)).netflow.sampling_rate;
  }

  it('precedence: own elements, samplerId (raw, then decoded), selectorId, session', () => {
    const table = {
      samplerRate: (id: number) => (id === 1 ? 100 : undefined),
      selectorRate: (id: number) => (id === 5 ? 50 : undefined),
      samplingRate: 10,
    };
    assert.equal(rate({ sampling_packet_interval: 1, sampling_packet_space: 3 }, table, 1), 4);
    assert.equal(rate({ sampler_random_interval: 8 }, table, 1), 8);
    assert.equal(rate({ sampler_id: 2 }, table, 1), 100, 'the raw id the decoder kept first');
    assert.equal(rate({ sampler_id: 1 }, table), 100);
    assert.equal(rate({ sampler_id: 2, selector_id: 5 }, table), 50, 'an unknown sampler falls through');
    assert.equal(rate({ selector_id: 6 }, table), 10);
    assert.equal(rate({}, { samplingRate: undefined }), undefined);
  });
});

describe('R2 with R6: the session’s systemInitTimeMilliseconds', () => {
  it('places flowStart/EndSysUpTime of IPFIX flows (which have no header uptime)', () => {
    const init = Date.UTC(2026, 0, 1);
    const exportTime = init / 1000 + 3600;
    const packet = ipfix(
      { exportTime },
      set(
        3,
        ipfixOptionsTemplate(400, 1, [
          [149, 4],
          [160, 8],
        ]),
      ),
      set(400, [...u32(0), ...u64(BigInt(init))]),
      set(
        2,
        ipfixTemplate(256, [
          [22, 4],
          [21, 4],
        ]),
      ),
      set(256, [...u32(60_000), ...u32(90_000)]),
    );
    const event = (settings: string) => {
      const { decoder, normalizer } = parts(settings);
      const { records } = decoder.decode(packet, FROM);
      const { start, end, duration } = asJson(normalizer.normalize(records[1])).event;
      return { start, end, duration };
    };
    assert.deepEqual(event(''), {
      start: new Date(init + 60_000).toISOString(),
      end: new Date(init + 90_000).toISOString(),
      duration: 30e9,
    });
    const none = { start: undefined, end: undefined, duration: undefined };
    assert.deepEqual(event(', enrich: {options: false}'), none);
    assert.deepEqual(event(', compatibility: filebeat'), none);
  });
});

describe('R6: compatibility: filebeat produces what it always did', () => {
  it('real captures with options data: no added field; documents equal an unenriched normalizer’s', () => {
    for (const files of [ASR9K, NBAR, FORTIGATE]) {
      const { decoder, normalizer } = parts(', compatibility: filebeat');
      const plain = new NetflowNormalizer({
        internalNetworks: parseNetworks(['private']),
        now: () => new Date(0),
      });
      const records = decodeDat(decoder, files);
      assert.deepEqual(decoder.exportOptionsState(), []);
      for (const r of records) {
        const doc = asJson(normalizer.normalize(r));
        assert.deepEqual(doc, asJson(plain.normalize(r)));
        assert.equal(doc.observer.ingress, undefined);
        assert.equal(doc.network.application, undefined);
        assert.equal(doc.netflow.sampling_rate, undefined);
      }
    }
  });

  it('the normalizer ignores a session state it is handed when its options enrichment is off', () => {
    const names: OptionsNames = { name: 'eth0', description: undefined };
    const record: FlowRecord = {
      type: 'netflow_flow',
      exporter: {
        version: 9,
        timestamp: new Date(0),
        uptimeMillis: 0,
        address: 'a',
        ip: '192.0.2.1',
        sessionOptions: {
          systemInitTimeMs: undefined,
          samplingRate: 10,
          interfaceNames: () => names,
          applicationNames: () => names,
          vrfName: () => undefined,
          samplerRate: () => undefined,
          selectorRate: () => undefined,
        },
      },
      fields: { ingress_interface: 1, application_id: [1] },
    };
    const make = (options: boolean) =>
      asJson(
        new NetflowNormalizer({
          internalNetworks: parseNetworks(['private']),
          samplingRate: true,
          options,
        }).normalize(record),
      );
    assert.equal(make(true).observer.ingress.interface.name, 'eth0');
    assert.equal(make(true).network.application, 'eth0');
    assert.equal(make(false).observer.ingress, undefined);
    assert.equal(make(false).network.application, undefined);
    assert.equal(make(false).netflow.sampling_rate, undefined);
  });
});
