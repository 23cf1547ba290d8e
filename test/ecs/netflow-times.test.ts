/**
 * R2, absolute flow times (NETFLOW.md 6): event.start/end/duration from IEs 150-162 and 21/22 when
 * Filebeat's sysUpTime logic (4.1) leaves them unset; only with `compatibility: extended` and
 * `enrich.absolute_times`. Records are built directly, then real captures are checked against
 * values read off the flowbeat golden files (fixtures/netflow/golden, andrewkroh/flowbeat,
 * Apache-2.0).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { NetflowInputConfig } from '../../src/config/schema.ts';
import { parseNetworks } from '../../src/ecs/locality.ts';
import { NetflowNormalizer, type NetflowNormalizerOptions } from '../../src/ecs/netflow.ts';
import type { ExporterMeta, FieldMap, FlowRecord } from '../../src/inputs/netflow/decoder/types.ts';
import { buildDictionary } from '../../src/inputs/netflow/fields/dictionary.ts';
import { toKey } from '../../src/inputs/netflow/fields/names.ts';
import { buildNetflowParts } from '../../src/inputs/netflow/parts.ts';
import { datTests, decodeFixtures, FIXTURES } from '../conformance/netflow-fixtures.ts';
import { sessionOptionsView } from '../inputs/netflow/decoder/packets.ts';

type Json = Record<string, any>;

const EXPORT_MS = Date.parse('2020-06-01T12:00:10.000Z');
const EXPORT = new Date(EXPORT_MS);
const iso = (ms: number) => new Date(ms).toISOString();
/** A decoded date: its ISO text, as the decoder writes it. */
const at = (ms: number) => new Date(ms).toISOString();

function exporter(overrides: Partial<ExporterMeta> = {}): ExporterMeta {
  return {
    version: 10,
    timestamp: EXPORT,
    uptimeMillis: 0,
    address: '192.0.2.1:4444',
    ip: '192.0.2.1',
    sourceId: 0,
    ...overrides,
  };
}

function flow(fields: FieldMap, exp: Partial<ExporterMeta> = {}): FlowRecord {
  return { type: 'netflow_flow', exporter: exporter(exp), fields, templateId: 256 };
}

function normalizer(options: Partial<NetflowNormalizerOptions> = {}): NetflowNormalizer {
  return new NetflowNormalizer({
    internalNetworks: parseNetworks(['private']),
    now: () => new Date('2026-01-01T00:00:00.000Z'),
    absoluteTimes: true,
    ...options,
  });
}

/** The document's `event` and `@timestamp` as JSON carries them. */
function times(record: FlowRecord, n = normalizer()): Json {
  const doc = JSON.parse(JSON.stringify(n.normalize(record))) as Json;
  const { start, end, duration } = doc.event;
  return { '@timestamp': doc['@timestamp'], start, end, duration };
}

const NONE = { '@timestamp': EXPORT.toISOString(), start: undefined, end: undefined, duration: undefined };

describe('netflow.* keys of the time elements (dictionary names, NETFLOW.md 3.3)', () => {
  it('IEs 21, 22, 150-162 are named as the normaliser reads them, dates typed as dates', () => {
    const dictionary = buildDictionary({ compatibility: 'extended' });
    const expected: [id: number, key: string, type: string][] = [
      [21, 'flow_end_sys_up_time', 'unsigned32'],
      [22, 'flow_start_sys_up_time', 'unsigned32'],
      [150, 'flow_start_seconds', 'dateTimeSeconds'],
      [151, 'flow_end_seconds', 'dateTimeSeconds'],
      [152, 'flow_start_milliseconds', 'dateTimeMilliseconds'],
      [153, 'flow_end_milliseconds', 'dateTimeMilliseconds'],
      [154, 'flow_start_microseconds', 'dateTimeMicroseconds'],
      [155, 'flow_end_microseconds', 'dateTimeMicroseconds'],
      [156, 'flow_start_nanoseconds', 'dateTimeNanoseconds'],
      [157, 'flow_end_nanoseconds', 'dateTimeNanoseconds'],
      [158, 'flow_start_delta_microseconds', 'unsigned32'],
      [159, 'flow_end_delta_microseconds', 'unsigned32'],
      [160, 'system_init_time_milliseconds', 'dateTimeMilliseconds'],
      [161, 'flow_duration_milliseconds', 'unsigned32'],
      [162, 'flow_duration_microseconds', 'unsigned32'],
    ];
    for (const [id, key, type] of expected) {
      const def = dictionary.lookup(0, id);
      assert.equal(def?.key, key, `IE ${id}`);
      assert.equal(toKey(def.name), key);
      assert.equal(def.type, type, `IE ${id}`);
    }
  });
});

describe('R2: each source on its own', () => {
  const start = EXPORT_MS - 7_250;
  const end = EXPORT_MS - 2_125;
  const expected = { ...NONE, start: iso(start), end: iso(end), duration: 5_125_000_000 };

  for (const unit of ['nanoseconds', 'microseconds', 'milliseconds'] as const) {
    it(`flow_start/end_${unit} (dates)`, () => {
      const d = times(flow({ [`flow_start_${unit}`]: at(start), [`flow_end_${unit}`]: at(end) }));
      assert.deepEqual(d, expected);
    });
  }

  it('flow_start/end_seconds', () => {
    const d = times(
      flow({ flow_start_seconds: at(EXPORT_MS - 7000), flow_end_seconds: at(EXPORT_MS - 2000) }),
    );
    assert.deepEqual(d, { ...NONE, start: iso(EXPORT_MS - 7000), end: iso(EXPORT_MS - 2000), duration: 5e9 });
  });

  it('flow_start/end_delta_microseconds: export time minus the delta, microseconds kept in the duration', () => {
    const d = times(
      flow({ flow_start_delta_microseconds: 7_250_500, flow_end_delta_microseconds: 2_125_250 }),
    );
    // 12:00:10.000 - 7.2505 s = 12:00:02.7495 -> shown truncated to the millisecond
    assert.deepEqual(d, {
      ...NONE,
      start: '2020-06-01T12:00:02.749Z',
      end: '2020-06-01T12:00:07.874Z',
      duration: 5_125_250_000,
    });
  });

  it('a zero delta is the export time itself', () => {
    const d = times(flow({ flow_start_delta_microseconds: 0, flow_end_delta_microseconds: 0 }));
    assert.deepEqual(d, { ...NONE, start: EXPORT.toISOString(), end: EXPORT.toISOString(), duration: 0 });
  });

  it('flow_start/end_sys_up_time + the record’s system_init_time_milliseconds (IPFIX, no header uptime)', () => {
    const init = EXPORT_MS - 86_400_000;
    const d = times(
      flow({
        system_init_time_milliseconds: at(init),
        flow_start_sys_up_time: 86_400_000 - 7_250,
        flow_end_sys_up_time: 86_400_000 - 2_125,
      }),
    );
    assert.deepEqual(d, expected);
  });

  it('only one edge known: that edge alone, no duration', () => {
    assert.deepEqual(times(flow({ flow_start_milliseconds: at(start) })), { ...NONE, start: iso(start) });
    assert.deepEqual(times(flow({ flow_end_seconds: at(EXPORT_MS - 2000) })), {
      ...NONE,
      end: iso(EXPORT_MS - 2000),
    });
  });
});

describe('R2: precedence 156 > 154 > 152 > 150 > 158 > 160+22 (end: 157 > 155 > 153 > 151 > 159 > 160+21)', () => {
  // every source present, each giving a different instant: the first one present wins
  const init = EXPORT_MS - 100_000;
  const sources: [
    start: string,
    end: string,
    startValue: FieldMap[string],
    endValue: FieldMap[string],
    ms: number,
  ][] = [
    ['flow_start_nanoseconds', 'flow_end_nanoseconds', at(EXPORT_MS - 6000), at(EXPORT_MS - 1000), 6000],
    ['flow_start_microseconds', 'flow_end_microseconds', at(EXPORT_MS - 6100), at(EXPORT_MS - 1100), 6100],
    ['flow_start_milliseconds', 'flow_end_milliseconds', at(EXPORT_MS - 6200), at(EXPORT_MS - 1200), 6200],
    ['flow_start_seconds', 'flow_end_seconds', at(EXPORT_MS - 7000), at(EXPORT_MS - 2000), 7000],
    ['flow_start_delta_microseconds', 'flow_end_delta_microseconds', 8_000_000, 3_000_000, 8000],
    ['flow_start_sys_up_time', 'flow_end_sys_up_time', 100_000 - 9000, 100_000 - 4000, 9000],
  ];
  for (let i = 0; i < sources.length; i++) {
    const [startKey, endKey, , , ms] = sources[i];
    it(`${startKey} / ${endKey} win over what follows`, () => {
      const fields: FieldMap = { system_init_time_milliseconds: at(init) };
      for (const [s, e, sv, ev] of sources.slice(i)) {
        fields[s] = sv;
        fields[e] = ev;
      }
      const d = times(flow(fields));
      assert.equal(d.start, iso(EXPORT_MS - ms));
      assert.equal(d.end, iso(EXPORT_MS - ms + 5000));
      assert.equal(d.duration, 5e9);
    });
  }

  it('the edges choose independently: start from seconds, end from delta microseconds', () => {
    const d = times(flow({ flow_start_seconds: at(EXPORT_MS - 7000), flow_end_delta_microseconds: 500 }));
    assert.deepEqual(d, {
      ...NONE,
      start: iso(EXPORT_MS - 7000),
      end: '2020-06-01T12:00:09.999Z',
      duration: 6_999_500_000,
    });
  });
});

describe('R2 never overrides Filebeat’s times (4.1)', () => {
  it('v9 sysUpTime edges within the header uptime stay, whatever the absolute IEs say', () => {
    const d = times(
      flow(
        {
          flow_start_sys_up_time: 4000,
          flow_end_sys_up_time: 9000,
          flow_start_milliseconds: at(EXPORT_MS - 60_000),
          flow_end_milliseconds: at(EXPORT_MS - 50_000),
        },
        { version: 9, uptimeMillis: 10_000 },
      ),
    );
    assert.deepEqual(d, { ...NONE, start: iso(EXPORT_MS - 6000), end: iso(EXPORT_MS - 1000), duration: 5e9 });
  });

  it('an edge 4.1 leaves unset (sysUpTime beyond the uptime) is filled; duration from both edges', () => {
    const d = times(
      flow(
        {
          flow_start_sys_up_time: 4000,
          flow_end_sys_up_time: 20_000,
          flow_end_milliseconds: at(EXPORT_MS - 500),
        },
        { version: 9, uptimeMillis: 10_000 },
      ),
    );
    assert.deepEqual(d, {
      ...NONE,
      start: iso(EXPORT_MS - 6000),
      end: iso(EXPORT_MS - 500),
      duration: 5.5e9,
    });
  });

  it('v9: sysUpTime beyond the header uptime, plus IE 160 in the record -> init + sysUpTime', () => {
    const init = EXPORT_MS - 1_000_000;
    const d = times(
      flow(
        {
          system_init_time_milliseconds: at(init),
          flow_start_sys_up_time: 990_000,
          flow_end_sys_up_time: 995_000,
        },
        { version: 9, uptimeMillis: 3381 },
      ),
    );
    assert.deepEqual(d, { ...NONE, start: iso(init + 990_000), end: iso(init + 995_000), duration: 5e9 });
  });
});

describe('R2: systemInitTimeMilliseconds from the session (R6 options state)', () => {
  /** A flow whose session's options data said `systemInitTimeMs` (ExporterMeta.sessionOptions). */
  function sessionFlow(fields: FieldMap, systemInitTimeMs: number): FlowRecord {
    const record = flow(fields);
    record.exporter.sessionOptions = sessionOptionsView({ systemInitTimeMs });
    return record;
  }

  it('the session’s value stands in for IE 160 with the options enrichment on', () => {
    const init = EXPORT_MS - 50_000;
    const record = sessionFlow({ flow_start_sys_up_time: 40_000, flow_end_sys_up_time: 45_000 }, init);
    const d = times(record, normalizer({ options: true }));
    assert.deepEqual(d, { ...NONE, start: iso(init + 40_000), end: iso(init + 45_000), duration: 5e9 });
    assert.deepEqual(times(record, normalizer({ options: false })), NONE, 'enrich.options: false');
  });

  it('IE 160 in the record wins over the session’s value', () => {
    const init = EXPORT_MS - 50_000;
    const d = times(
      sessionFlow(
        { system_init_time_milliseconds: at(init), flow_start_sys_up_time: 40_000 },
        init - 3_600_000,
      ),
      normalizer({ options: true }),
    );
    assert.equal(d.start, iso(init + 40_000));
  });

  it('without either, IPFIX sysUpTime gives nothing (as in 4.1)', () => {
    assert.deepEqual(times(flow({ flow_start_sys_up_time: 40_000, flow_end_sys_up_time: 45_000 })), NONE);
  });
});

describe('R2: plausibility guard', () => {
  const MIN = Date.UTC(1995, 0, 1);
  const MAX = EXPORT_MS + 600_000;

  it('1995-01-01T00:00:00.000Z and export time + 10 min are accepted; a millisecond beyond is not', () => {
    const n = normalizer();
    assert.deepEqual(times(flow({ flow_start_milliseconds: at(MIN), flow_end_milliseconds: at(MAX) }), n), {
      ...NONE,
      start: iso(MIN),
      end: iso(MAX),
      duration: (MAX - MIN) * 1e6,
    });
    assert.equal(n.stats.timeRejected, 0);
    assert.deepEqual(
      times(flow({ flow_start_milliseconds: at(MIN - 1), flow_end_milliseconds: at(MAX + 1) }), n),
      NONE,
    );
    assert.equal(n.stats.timeRejected, 2);
  });

  it('a rejected source is counted and the next one in precedence is used', () => {
    const n = normalizer();
    const d = times(
      flow({
        flow_start_microseconds: at(Date.parse('1762-11-10T12:59:40.464Z')), // an old decoder's reading
        flow_start_seconds: at(EXPORT_MS - 7000),
        flow_end_nanoseconds: at(EXPORT_MS + 3_600_000),
        flow_end_milliseconds: at(EXPORT_MS - 2000),
      }),
      n,
    );
    assert.deepEqual(d, { ...NONE, start: iso(EXPORT_MS - 7000), end: iso(EXPORT_MS - 2000), duration: 5e9 });
    assert.equal(n.stats.timeRejected, 2);
  });

  it('the epoch (a zero timestamp) and an init time of 0 are rejected: the edge is left as Filebeat would', () => {
    const n = normalizer();
    const d = times(
      flow({
        flow_start_seconds: at(0),
        system_init_time_milliseconds: at(0),
        flow_end_sys_up_time: 5000,
      }),
      n,
    );
    assert.deepEqual(d, NONE);
    assert.equal(n.stats.timeRejected, 2);
  });

  it('stats accumulate over records and start at zero', () => {
    const n = normalizer();
    assert.deepEqual(n.stats, { timeRejected: 0 });
    for (let i = 0; i < 3; i++) times(flow({ flow_start_seconds: at(0) }), n);
    assert.equal(n.stats.timeRejected, 3);
  });

  it('nothing is counted with absolute times off', () => {
    const n = normalizer({ absoluteTimes: false });
    times(flow({ flow_start_seconds: at(0) }), n);
    assert.equal(n.stats.timeRejected, 0);
  });
});

describe('R2: duration from 161 / 162', () => {
  it('flowDurationMicroseconds alone: the duration, exact to the microsecond', () => {
    assert.deepEqual(times(flow({ flow_duration_microseconds: 1_234_567 })), {
      ...NONE,
      duration: 1_234_567_000,
    });
  });

  it('flowDurationMilliseconds alone: the duration (4.1 already does this, also for Filebeat)', () => {
    assert.deepEqual(times(flow({ flow_duration_milliseconds: 1500 })), { ...NONE, duration: 1.5e9 });
    assert.deepEqual(
      times(flow({ flow_duration_milliseconds: 1500 }), normalizer({ absoluteTimes: false })),
      {
        ...NONE,
        duration: 1.5e9,
      },
    );
  });

  it('161 wins over 162: 4.1 takes it first, and R2 fills only what 4.1 leaves unset', () => {
    const d = times(flow({ flow_duration_microseconds: 2_000_001, flow_duration_milliseconds: 3000 }));
    assert.equal(d.duration, 3e9);
  });

  it('a duration 4.1 took from 161 yields to end - start when R2 completes the edges', () => {
    const d = times(
      flow({
        flow_start_seconds: at(EXPORT_MS - 7000),
        flow_end_seconds: at(EXPORT_MS - 2000),
        flow_duration_milliseconds: 4999,
      }),
    );
    assert.deepEqual(d, { ...NONE, start: iso(EXPORT_MS - 7000), end: iso(EXPORT_MS - 2000), duration: 5e9 });
  });

  it('one edge and a duration give the other edge', () => {
    assert.deepEqual(
      times(flow({ flow_start_seconds: at(EXPORT_MS - 7000), flow_duration_microseconds: 2_500_000 })),
      {
        ...NONE,
        start: iso(EXPORT_MS - 7000),
        end: iso(EXPORT_MS - 4500),
        duration: 2.5e9,
      },
    );
    assert.deepEqual(
      times(flow({ flow_end_milliseconds: at(EXPORT_MS - 1000), flow_duration_milliseconds: 1500 })),
      {
        ...NONE,
        start: iso(EXPORT_MS - 2500),
        end: iso(EXPORT_MS - 1000),
        duration: 1.5e9,
      },
    );
  });

  it('a derived edge is guarded too', () => {
    const n = normalizer();
    const d = times(
      flow({ flow_start_seconds: at(EXPORT_MS - 1000), flow_duration_milliseconds: 3_600_000 }),
      n,
    );
    assert.deepEqual(d, { ...NONE, start: iso(EXPORT_MS - 1000), duration: 3.6e12 });
    assert.equal(n.stats.timeRejected, 1);
  });

  it('both edges win over 161/162 (as in 4.1)', () => {
    const d = times(
      flow({
        flow_start_milliseconds: at(EXPORT_MS - 7000),
        flow_end_milliseconds: at(EXPORT_MS - 2000),
        flow_duration_milliseconds: 1,
        flow_duration_microseconds: 1,
      }),
    );
    assert.equal(d.duration, 5e9);
  });

  it('end before start (mixed sources): both edges, the duration from 162/161 or none', () => {
    const edges = { flow_start_milliseconds: at(EXPORT_MS - 1500), flow_end_seconds: at(EXPORT_MS - 2000) };
    assert.deepEqual(times(flow(edges)), {
      ...NONE,
      start: iso(EXPORT_MS - 1500),
      end: iso(EXPORT_MS - 2000),
    });
    assert.equal(times(flow({ ...edges, flow_duration_microseconds: 400 })).duration, 400_000);
  });
});

describe('compatibility and enrich.absolute_times (src/inputs/netflow/parts.ts)', () => {
  function configured(yaml: string): NetflowNormalizer {
    const config = loadConfig({
      text: `flowship.inputs: [{type: netflow${yaml}}]\noutput.console: {}\n`,
      env: {},
    }).flowship.inputs[0] as NetflowInputConfig;
    return buildNetflowParts(config, () => new Date('2026-01-01T00:00:00.000Z')).normalizer;
  }
  const record = () =>
    flow({ flow_start_milliseconds: at(EXPORT_MS - 7000), flow_end_milliseconds: at(EXPORT_MS - 2000) });
  const filled = { ...NONE, start: iso(EXPORT_MS - 7000), end: iso(EXPORT_MS - 2000), duration: 5e9 };

  it('extended (the default) with absolute_times (the default): filled', () => {
    assert.deepEqual(times(record(), configured('')), filled);
    assert.deepEqual(
      times(record(), configured(', compatibility: extended, enrich: {absolute_times: true}')),
      filled,
    );
  });

  it('filebeat compatibility: nothing, even with absolute_times: true', () => {
    assert.deepEqual(times(record(), configured(', compatibility: filebeat')), NONE);
    assert.deepEqual(
      times(record(), configured(', compatibility: filebeat, enrich: {absolute_times: true}')),
      NONE,
    );
  });

  it('extended with absolute_times: false: nothing', () => {
    assert.deepEqual(times(record(), configured(', enrich: {absolute_times: false}')), NONE);
  });

  it('the NetflowNormalizer default is off (Filebeat’s output)', () => {
    assert.deepEqual(times(record(), normalizer({ absoluteTimes: undefined })), NONE);
  });

  it('filebeat compatibility keeps 4.1 times byte for byte', () => {
    const v9 = flow(
      { flow_start_sys_up_time: 4000, flow_end_sys_up_time: 9000, flow_duration_milliseconds: 1 },
      { version: 9, uptimeMillis: 10_000 },
    );
    const fb = configured(', compatibility: filebeat');
    const ext = configured('');
    assert.equal(JSON.stringify(fb.normalize(v9)), JSON.stringify(ext.normalize(v9)));
  });
});

/** Golden events of one dat test (fixtures/netflow/README.md: the i-th flow pairs with the i-th event). */
function goldenNetflow(file: string): Json[] {
  const golden = JSON.parse(readFileSync(`${FIXTURES}golden/${file}`, 'utf8')) as { events: Json[] };
  return golden.events.map((e) => e.Fields);
}

function flowsOf(test: string, compatibility: 'extended' | 'filebeat' = 'extended'): FlowRecord[] {
  const files = new Map(datTests()).get(test);
  assert.ok(files, test);
  const { records, errors } = decodeFixtures(
    files.map((f) => `dat/${f}`),
    { compatibility },
  );
  assert.deepEqual(errors, []);
  return records.filter((r): r is FlowRecord => r.type === 'netflow_flow');
}

describe('real captures (expected values from the flowbeat goldens)', () => {
  it('IPFIX YAF (flowStart/EndMilliseconds): second flow', () => {
    const flows = flowsOf('IPFIX YAF basic with applabel');
    const golden = goldenNetflow('IPFIX-YAF-basic-with-applabel.golden.json')[1];
    // '2016-12-25T07:58:33.345-05:00' and '...07:58:34.347-05:00', export time 12:58:38Z
    const start = Date.parse(golden.netflow.flowStartMilliseconds);
    const end = Date.parse(golden.netflow.flowEndMilliseconds);
    assert.equal(end - start, 1002);
    const n = normalizer();
    assert.deepEqual(times(flows[1], n), {
      '@timestamp': new Date(Date.parse(golden.event.created)).toISOString(),
      start: '2016-12-25T12:58:33.345Z',
      end: '2016-12-25T12:58:34.347Z',
      duration: 1_002_000_000,
    });
    assert.equal(iso(start), '2016-12-25T12:58:33.345Z');
    assert.equal(iso(end), '2016-12-25T12:58:34.347Z');
    assert.equal(n.stats.timeRejected, 0);
  });

  it('IPFIX YAF with compatibility: filebeat: no times (as Filebeat, 4.4)', () => {
    const flows = flowsOf('IPFIX YAF basic with applabel', 'filebeat');
    assert.deepEqual(times(flows[1], normalizer({ absoluteTimes: false })), {
      ...NONE,
      '@timestamp': '2016-12-25T12:58:38.000Z',
    });
  });

  it('NetFlow v9 Cisco ASR1001-X (flowStart/EndMilliseconds, header uptime, no sysUpTime): every flow', () => {
    const flows = flowsOf('Netflow 9 Cisco ASR1001-X');
    const golden = goldenNetflow('Netflow-9-Cisco-ASR1001--X.golden.json');
    assert.equal(flows.length, golden.length);
    const n = normalizer();
    flows.forEach((record, i) => {
      const start = Date.parse(golden[i].netflow.flowStartMilliseconds);
      const end = Date.parse(golden[i].netflow.flowEndMilliseconds);
      assert.deepEqual(
        times(record, n),
        {
          '@timestamp': '2017-10-09T20:22:35.000Z',
          start: iso(start),
          end: iso(end),
          duration: (end - start) * 1e6,
        },
        `flow ${i}`,
      );
    });
    // flow 0: 16:22:20.637-04:00 .. 16:22:20.731-04:00
    assert.equal(times(flows[0], n).duration, 94_000_000);
    assert.equal(n.stats.timeRejected, 0);
  });

  it('IPFIX Procera (flowStart/EndSeconds): first flow', () => {
    const flows = flowsOf('IPFIX Procera');
    const golden = goldenNetflow('IPFIX-Procera.golden.json')[0];
    const start = Date.parse(golden.netflow.flowStartSeconds); // 2018-04-14T23:26:50-04:00
    const end = Date.parse(golden.netflow.flowEndSeconds); // 2018-04-14T23:29:02-04:00
    assert.deepEqual(times(flows[0]), {
      '@timestamp': '2018-04-15T03:30:00.000Z',
      start: '2018-04-15T03:26:50.000Z',
      end: '2018-04-15T03:29:02.000Z',
      duration: 132_000_000_000,
    });
    assert.equal((end - start) * 1e6, 132_000_000_000);
  });

  it('IPFIX vIPtela: the event fields of the NETFLOW.md 4.5 document', () => {
    const [record] = flowsOf('IPFIX vIPtela with VPN id');
    assert.deepEqual(times(record), {
      '@timestamp': '2017-11-21T14:32:15.000Z',
      start: '2017-11-21T14:32:15.000Z',
      end: '2017-11-21T14:32:15.000Z',
      duration: 0,
    });
  });

  it('IPFIX Barracuda (sysUpTime, no systemInitTime): only 4.1’s duration from 161 (R6 will add edges)', () => {
    const flows = flowsOf('IPFIX Barracuda firewall');
    const ext = flows.map((r) => times(r));
    const fb = flows.map((r) => times(r, normalizer({ absoluteTimes: false })));
    assert.deepEqual(ext, fb);
    assert.ok(
      ext.every((t) => t.start === undefined && t.end === undefined && typeof t.duration === 'number'),
    );
  });
});
