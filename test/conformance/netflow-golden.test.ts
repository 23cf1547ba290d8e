/**
 * Conformance against flowbeat's golden files (fixtures/netflow/golden, andrewkroh/flowbeat,
 * Apache-2.0) and the expected document counts of fixtures/netflow/README.md, following its
 * "How to compare flowship output with a golden file" rules exactly. The goldens are an older,
 * pre-ECS format: they give expected decoded *values*, not the expected document shape.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseIp } from '../../src/ecs/ip.ts';
import type { DecodedRecord } from '../../src/inputs/netflow/decoder/types.ts';
import { buildDictionary } from '../../src/inputs/netflow/fields/dictionary.ts';
import { toKey } from '../../src/inputs/netflow/fields/names.ts';
import type { IeType } from '../../src/inputs/netflow/fields/types.ts';
import { asJson, datTests, decodeFixtures, FIXTURES, normalizer, parseLossless } from './netflow-fixtures.ts';

type Json = Record<string, unknown>;

/** README "Expected results per test": flows, options, golden flow events (or 'error'). */
const EXPECTED: Readonly<
  Record<string, readonly [flows: number, options: number, golden: number | 'error']>
> = {
  'IPFIX vIPtela with VPN id': [1, 0, 1],
  'IPFIX Barracuda firewall': [8, 0, 8],
  'IPFIX YAF basic with applabel': [2, 1, 2],
  'IPFIX Netscaler with variable length fields, missing templates': [0, 0, 0],
  'IPFIX configured with include_flowset_id': [3, 0, 3],
  IPFIX: [12, 1, 6],
  'IPFIX OpenBSD pflow': [26, 0, 26],
  'IPFIX options template from Juniper MX240 JunOS 15.1 R6 S3': [0, 1, 0],
  'IPFIX Nokia BRAS': [1, 0, 1],
  'IPFIX Procera': [8, 0, 8],
  'IPFIX Barracuda extended uniflow template 256': [2, 0, 2],
  'IPFIX Mikrotik RouterOS 6.39.2': [46, 0, 46],
  'IPFIX Netscaler with variable length fields': [3, 0, 3],
  'IPFIX VMware virtual distributed switch': [5, 0, 5],
  'Netflow 9 valid 01': [7, 0, 7],
  'Netflow 9 macaddress': [29, 1, 29],
  'Netflow 9 Cisco ASA': [14, 0, 'error'],
  'Netflow 9 multiple netflow exporters': [8, 1, 8],
  'Netflow 9 invalid 01': [0, 0, 0],
  'Netflow 9 options template with scope fields': [0, 1, 0],
  'Netflow 9 Cisco ASA 2': [19, 0, 'error'],
  'Netflow 9 ipt_netflow reduced size encoding': [12, 0, 'error'],
  'Netflow 9 H3C': [16, 0, 16],
  'Netflow 9 IE150 IE151': [2, 0, 2],
  'Netflow 9 Palo Alto 1 flowset in large zero filled packet': [1, 0, 'error'],
  'Netflow 9 H3C Netstream with varstring': [1, 0, 1],
  'Netflow 9 Fortigate FortiOS 54x appid': [17, 0, 17],
  'Netflow 9 Ubiquiti Edgerouter with MPLS labels': [16, 0, 16],
  'Netflow 9 nprobe DPI L7': [1, 0, 2],
  'Netflow 9 Fortigate FortiOS 5.2.1': [1, 1, 1],
  'Netflow 9 Streamcore': [4, 0, 4],
  'Netflow9 Juniper SRX options template with 0 scope field length': [0, 1, 0],
  'Netflow 9 template with 0 length fields': [10, 0, 10],
  'Netflow 9 Cisco ASR 9000 series options template 256': [0, 19, 'error'],
  'Netflow 9 Huawei Netstream': [1, 0, 1],
  'Netflow 9 field layer2segmentid': [1, 0, 1],
  'Netflow 9 Cisco ASR 9000 series template 260': [21, 0, 21],
  'Netflow 9 Cisco NBAR options template 260': [0, 15, 'error'],
  'Netflow 9 Cisco NBAR flowset 262': [5, 0, 5],
  'Netflow 9 Cisco WLC': [19, 0, 19],
  'Netflow 9 Cisco WLC 8500 release 8.2': [0, 0, 0],
  'Netflow 9 Cisco 1941/K9 release 15.1': [29, 0, 29],
  'Netflow 9 Cisco ASR1001-X': [25, 0, 25],
  'Netflow 9 Palo Alto PAN-OS with app-id': [8, 0, 8],
};

const PCAPS: Readonly<Record<string, readonly [flows: number, options: number, golden: number]>> = {
  'ipfix_cisco.pcap': [29, 0, 29],
  'netflow9_ubiquiti_edgerouter.pcap': [10, 0, 10],
};

/**
 * Golden events compared, when fewer than the golden holds. Each entry is a deliberate
 * difference from the golden file, with its reason.
 */
const COMPARED_EVENTS: Readonly<Record<string, { count: number; reason: string }>> = {
  // README step 2: the old harness decoded only the first of the file's 3 messages.
  IPFIX: { count: 6, reason: 'the old harness decoded only the first IPFIX message of ipfix.dat' },
  // README table: a 100-byte set with an 83-byte template holds one record (floor(96 / 83));
  // the old decoder made a second, partial record (all zero addresses) of the 13 bytes left.
  'Netflow 9 nprobe DPI L7': {
    count: 1,
    reason: 'the 96-byte set body holds one 83-byte record; the golden second event is the 13 bytes left',
  },
};

/** README step 3: golden keys flowship must not emit, per test. */
const EXPECTED_ABSENT: Readonly<Record<string, readonly string[]>> = {
  '*': ['subTemplateMultiList'], // YAF; RFC 6313 lists are consumed, not emitted
  'Netflow 9 Cisco ASR 9000 series template 260': ['samplerId'], // 2 bytes for an unsigned8
  'Netflow 9 Cisco NBAR flowset 262': ['samplerId'], // 4 bytes for an unsigned8
  'Netflow 9 H3C': ['ipv4RouterSc'], // 2 bytes for an ipv4Address
  'Netflow 9 H3C Netstream with varstring': ['ipv4RouterSc'],
};

/**
 * Values where the golden file is wrong and flowship deliberately differs: flowship's value is
 * asserted instead (golden value checked too, so a changed golden file is noticed).
 */
const VALUE_DIFFERENCES: readonly {
  test: string;
  event: number;
  key: string;
  golden: (value: unknown) => boolean;
  flowship: unknown;
  reason: string;
}[] = [
  {
    test: 'IPFIX YAF basic with applabel',
    event: 0,
    key: 'silkAppLabel',
    golden: (v) => v === 0n,
    flowship: 53n,
    reason:
      'CERT PEN 6871 id 33 is an unsigned16 (in Filebeat and the Logstash YAML) sent in 2 bytes 00 35 ' +
      '(a DNS flow to port 53); the old decoder shows 0. The neighbouring fields ' +
      '(reverseFlowDeltaMilliseconds = 1) match the golden, so the record offsets agree.',
  },
  {
    test: 'Netflow 9 H3C Netstream with varstring',
    event: 0,
    key: 'VRFname',
    golden: (v) => typeof v === 'string' && v.startsWith('\ufffd\u0000\u0001') && v.length === 65_535,
    flowship: '',
    reason:
      'the v9 template declares VRFname with length 0xFFFF (variable); the record ends ff 00 01 00 = ' +
      'the 255 + u16 form, length 1, value one NUL -> "" (NETFLOW.md 1.4, 3.4). The old decoder read ' +
      '0xFFFF as a fixed length: its value is 65 535 characters, ff 00 01 then zeroes past the datagram.',
  },
];

/** README step 4: the old decoder misread the NTP format (year 1762): key checked, value not. */
const VALUE_NOT_COMPARED = new Set(['flowStartMicroseconds', 'flowEndMicroseconds']);

/** README: golden file name = test name, `-` -> `--`, then `:` `/` `+` space -> `-`, `,` removed. */
function goldenFileName(test: string): string {
  let out = '';
  for (const ch of test) {
    if (ch === '-') out += '--';
    else if (ch === ':' || ch === '/' || ch === '+' || ch === ' ') out += '-';
    else if (ch !== ',') out += ch;
  }
  return `${out}.golden.json`;
}

interface Golden {
  test_name: string;
  error?: string;
  events?: { Fields: Json }[];
}

function readGolden(name: string): Golden {
  return parseLossless(readFileSync(`${FIXTURES}golden/${name}`, 'utf8')) as Golden;
}

/** IE type per `netflow.*` key; keys with conflicting types (3.2 traps) map to undefined. */
const KEY_TYPES = (() => {
  const types = new Map<string, IeType | undefined>();
  for (const [, , def] of buildDictionary({ compatibility: 'filebeat' }).entries()) {
    types.set(def.key, types.has(def.key) && types.get(def.key) !== def.type ? undefined : def.type);
  }
  return types;
})();

const INTEGER_TYPES = new Set<IeType>([
  'unsigned8',
  'unsigned16',
  'unsigned32',
  'unsigned64',
  'signed8',
  'signed16',
  'signed32',
  'signed64',
]);
const DATE_TYPES = new Set<IeType>([
  'dateTimeSeconds',
  'dateTimeMilliseconds',
  'dateTimeMicroseconds',
  'dateTimeNanoseconds',
]);

/** Instant in ms of an RFC 3339 date with any offset; the fraction truncated to milliseconds. */
function instant(text: unknown): number | string {
  if (typeof text !== 'string') return `not a date: ${String(text)}`;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (m === null) return `not a date: ${text}`;
  return Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3]}`);
}

function ipText(value: unknown): string {
  const bytes = typeof value === 'string' ? parseIp(value) : undefined;
  return bytes === undefined ? `not an IP: ${String(value)}` : `ip ${Buffer.from(bytes).toString('hex')}`;
}

function bytesText(value: unknown): string {
  if (typeof value === 'string') return `bytes ${Buffer.from(value, 'base64').toString('hex')}`;
  if (Array.isArray(value) && value.every((b) => typeof b === 'bigint' && b >= 0n && b < 256n)) {
    return `bytes ${Buffer.from(value.map(Number)).toString('hex')}`;
  }
  return `not bytes: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
}

/**
 * Normalises a golden value and flowship's value of the same field (README step 4) into two
 * comparable strings.
 */
function normalisePair(
  goldenKey: string,
  type: IeType | undefined,
  golden: unknown,
  ours: unknown,
): [string, string] {
  if (goldenKey === 'reverseFlowDeltaMilliseconds' && typeof golden === 'string') {
    // golden base64 of 4 bytes -> big-endian integer
    const value = BigInt(`0x${Buffer.from(golden, 'base64').toString('hex') || '0'}`);
    return [`int ${show(value)}`, `int ${show(ours)}`];
  }
  if (type === undefined) {
    // a key with two types in the dictionary: the golden's own JSON type decides
    type = typeof golden === 'bigint' ? 'unsigned64' : 'string';
  }
  if (INTEGER_TYPES.has(type)) return [`int ${show(golden)}`, `int ${show(ours)}`];
  if (DATE_TYPES.has(type)) return [`date ${instant(golden)}`, `date ${instant(ours)}`];
  switch (type) {
    case 'ipv4Address':
    case 'ipv6Address':
      return [ipText(golden), ipText(ours)];
    case 'macAddress':
      return [
        `mac ${show(typeof golden === 'string' ? golden.toUpperCase().replaceAll(':', '-') : golden)}`,
        `mac ${show(ours)}`,
      ];
    case 'string':
      return [
        `str ${typeof golden === 'string' ? show(golden.replace(/\0+$/, '')) : show(golden)}`,
        `str ${show(ours)}`,
      ];
    case 'octetArray':
      return [bytesText(golden), bytesText(ours)];
    default:
      return [`${type} ${show(golden)}`, `${type} ${show(ours)}`];
  }
}

const LOCALITY: Readonly<Record<string, string>> = { private: 'internal', public: 'external' };

/** What the comparisons covered, so that a comparison silently doing nothing is noticed. */
const covered = { events: 0, values: 0, absent: 0, deliberate: 0, flowIds: 0, transports: 0 };

/** Compares one golden event with one flowship document; returns the differences found. */
function compareEvent(test: string, index: number, goldenEvent: Json, doc: Json): string[] {
  const problems: string[] = [];
  const expect = (what: string, golden: unknown, ours: unknown) => {
    if (golden !== ours) problems.push(`${what}: golden ${show(golden)}, flowship ${show(ours)}`);
  };
  const fields = goldenEvent.netflow as Json;
  const netflow = doc.netflow as Json;
  const exporter = netflow.exporter as Json;
  const absent = new Set([...EXPECTED_ABSENT['*'], ...(EXPECTED_ABSENT[test] ?? [])]);
  covered.events++;

  for (const [goldenKey, golden] of Object.entries(fields)) {
    if (goldenKey === 'template_id') continue;
    if (goldenKey === 'observation_domain_id') {
      expect('observation_domain_id = netflow.exporter.source_id', golden, exporter.source_id);
      continue;
    }
    const key = toKey(goldenKey.replaceAll(' ', ''));
    if (absent.has(goldenKey)) {
      if (key in netflow)
        problems.push(`${goldenKey}: expected absent, flowship has ${key} = ${show(netflow[key])}`);
      covered.absent++;
      continue;
    }
    if (!(key in netflow)) {
      problems.push(`${goldenKey}: netflow.${key} missing (golden ${show(golden)})`);
      continue;
    }
    if (VALUE_NOT_COMPARED.has(goldenKey)) continue;
    const difference = VALUE_DIFFERENCES.find(
      (d) => d.test === test && d.event === index && d.key === goldenKey,
    );
    if (difference !== undefined) {
      if (!difference.golden(golden)) problems.push(`${goldenKey}: golden value changed: ${show(golden)}`);
      expect(`${goldenKey} (deliberate difference)`, show(difference.flowship), show(netflow[key]));
      covered.deliberate++;
      continue;
    }
    const [g, o] = normalisePair(goldenKey, KEY_TYPES.get(key), golden, netflow[key]);
    expect(`${goldenKey} (netflow.${key})`, g, o);
    covered.values++;
  }

  // README step 5: ECS-level values
  const event = goldenEvent.event as Json;
  const created = instant(event.created);
  expect('event.created = @timestamp', created, instant(doc['@timestamp']));
  expect('event.created = netflow.exporter.timestamp', created, instant(exporter.timestamp));
  expect(
    'device.ip = observer.ip[0]',
    (goldenEvent.device as Json).ip,
    (doc.observer as { ip: string[] }).ip[0],
  );

  const oneSource = 'sourceIPv4Address' in fields !== 'sourceIPv6Address' in fields;
  if (oneSource && 'protocolIdentifier' in fields) {
    const gFlow = goldenEvent.flow as Json;
    const flow = doc.flow as Json;
    expect('flow.id', gFlow.id, flow.id);
    covered.flowIds++;
    expect('flow.locality', LOCALITY[gFlow.locality as string], flow.locality);
    for (const side of ['source', 'destination'] as const) {
      const g = goldenEvent[side] as Json;
      const ours = (doc[side] ?? {}) as Json;
      expect(`${side}.ip`, ipText(g.ip), ipText(ours.ip));
      expect(`${side}.locality`, LOCALITY[g.locality as string], ours.locality);
      // the old format omits port 0
      expect(`${side}.port`, g.port ?? 0n, ours.port ?? 0n);
    }
  }
  const protocol = (goldenEvent.network as Json).protocol;
  if (protocol === 'TCP' || protocol === 'UDP' || protocol === 'ICMP') {
    expect('network.protocol = network.transport', protocol.toLowerCase(), (doc.network as Json).transport);
    covered.transports++;
  }
  return problems;
}

function countTypes(records: readonly DecodedRecord[]): [flows: number, options: number] {
  const flows = records.filter((r) => r.type === 'netflow_flow').length;
  return [flows, records.length - flows];
}

/** Normalises the flow records and compares them pairwise with the golden's events. */
function compareWithGolden(test: string, golden: Golden, records: readonly DecodedRecord[]): string[] {
  const events = golden.events ?? [];
  const docs = records.filter((r) => r.type === 'netflow_flow').map((r) => asJson(normalizer().normalize(r)));
  const compared = COMPARED_EVENTS[test]?.count ?? events.length;
  assert.ok(docs.length >= compared, `${docs.length} flows to compare with ${compared} golden events`);
  const problems: string[] = [];
  for (let i = 0; i < compared; i++) {
    for (const p of compareEvent(test, i, events[i].Fields, docs[i])) problems.push(`event ${i}: ${p}`);
  }
  return problems;
}

describe('dat_tests.yaml against the golden files (compatibility: filebeat)', () => {
  const tests = datTests();

  it('covers the 44 tests of the README table, each with its golden file', () => {
    assert.deepEqual(tests.map(([name]) => name).sort(), Object.keys(EXPECTED).sort());
    for (const [name] of tests) assert.equal(readGolden(goldenFileName(name)).test_name, name);
    assert.equal(goldenFileName('Netflow 9 Cisco ASR1001-X'), 'Netflow-9-Cisco-ASR1001--X.golden.json');
  });

  for (const [name, files] of tests) {
    it(name, () => {
      const { records, errors } = decodeFixtures(files.map((f) => `dat/${f}`));
      assert.deepEqual(
        errors.map((e) => `${e.reason}: ${e.message}`),
        [],
        'every valid capture decodes without error',
      );
      const [flows, options, goldenCount] = EXPECTED[name];
      assert.deepEqual(countTypes(records), [flows, options], 'flows, options');

      const golden = readGolden(goldenFileName(name));
      if (goldenCount === 'error') {
        // README step 2: the old decoder failed on this capture; flowship must not (above)
        assert.equal(typeof golden.error, 'string');
        return;
      }
      assert.equal(golden.error, undefined);
      assert.equal(golden.events?.length ?? 0, goldenCount, 'golden flow events');
      assert.deepEqual(compareWithGolden(name, golden, records), []);
    });
  }
});

describe('pcaps against the golden files (compatibility: filebeat)', () => {
  for (const [pcap, [flows, options, goldenCount]] of Object.entries(PCAPS)) {
    it(pcap, () => {
      const { records, errors } = decodeFixtures([`pcap/${pcap}`]);
      assert.deepEqual(errors, []);
      assert.deepEqual(countTypes(records), [flows, options]);
      const golden = readGolden(`${pcap}.golden.json`);
      assert.equal(golden.events?.length, goldenCount);
      assert.deepEqual(compareWithGolden(pcap, golden, records), []);
    });
  }
});

describe('captures without a golden file (compatibility: filebeat)', () => {
  // README "Files not used by any test", with their expected flow counts
  const unused: [files: string[], flows: number, options: number, note: string][] = [
    [['netflow5.dat'], 30, 0, '12 v5 packets back to back'],
    [['netflow5_test_microtik.dat'], 30, 0, ''],
    [['netflow5_test_juniper_mx80.dat'], 29, 0, 'header sampling interval 1000'],
    [['netflow9_test_cisco_asr9k_tpl266.dat'], 0, 0, 'templates only'],
    [['netflow9_test_cisco_asr9k_opttpl257.dat'], 0, 0, 'templates only'],
    [['netflow9_test_cisco_asr9k_opttpl334.dat'], 0, 0, 'templates only'],
    [['ipfix_test_ixia_tpldata256.dat'], 1, 0, 'PEN 3054'],
    [['ipfix_test_ixia_tpldata271.dat'], 2, 0, 'PEN 3054'],
    [
      ['netflow9_test_cisco_aci_tpl256-258.dat', 'netflow9_test_cisco_aci_data256.dat'],
      3,
      0,
      '(0,0) padding set',
    ],
  ];
  for (const [files, flows, options, note] of unused) {
    it(`${files.join(' + ')}: ${flows} flows${note ? ` (${note})` : ''}`, () => {
      const { records, errors, decoder } = decodeFixtures(files.map((f) => `dat/${f}`));
      assert.deepEqual(errors, []);
      assert.deepEqual(countTypes(records), [flows, options]);
      if (note === 'templates only') assert.equal(decoder.templateCount, 1);
    });
  }

  it('netflow5.dat: 12 packets of the same exporter, every record a v5 flow', () => {
    const { records } = decodeFixtures(['dat/netflow5.dat']);
    assert.ok(records.every((r) => r.exporter.version === 5 && r.exporter.address === '192.0.2.1:4444'));
  });

  it('netflow5_test_juniper_mx80.dat: the raw sampling field is netflow.exporter.sampling_interval', () => {
    const { records } = decodeFixtures(['dat/netflow5_test_juniper_mx80.dat']);
    const doc = asJson(normalizer().normalize(records[0]));
    const exporter = (doc.netflow as Json).exporter as Json;
    assert.equal(exporter.sampling_interval, 1000n);
  });

  it('ixia: PEN 3054 elements are decoded', () => {
    const { records } = decodeFixtures(['dat/ipfix_test_ixia_tpldata256.dat']);
    assert.equal(records[0].type, 'netflow_flow');
    const fields = records[0].type === 'netflow_flow' ? records[0].fields : {};
    assert.ok('ixia_l7_app_name' in fields && 'ixia_http_host_name' in fields, Object.keys(fields).join());
  });

  it('ipt_netflow_v5.pcap: 60 flows from two source ports', () => {
    const { records, errors } = decodeFixtures(['pcap/ipt_netflow_v5.pcap']);
    assert.deepEqual(errors, []);
    assert.deepEqual(countTypes(records), [60, 0]);
    assert.deepEqual(
      [...new Set(records.map((r) => r.exporter.address))],
      ['192.168.1.1:37189', '192.168.1.1:57751'],
    );
  });

  it('ipt_netflow_v9.pcap: one session per source port (3 flows), shared by source id (12 flows)', () => {
    const separate = decodeFixtures(['pcap/ipt_netflow_v9.pcap']);
    assert.deepEqual(separate.errors, []);
    assert.deepEqual(countTypes(separate.records), [3, 0]);
    // the second port's packet holds only data sets: no session, its sets counted as misses
    assert.equal(separate.decoder.stats.sessionsCreated, 1);
    assert.ok(separate.decoder.stats.dataSetsWithoutTemplate > 0);
    const shared = decodeFixtures(['pcap/ipt_netflow_v9.pcap'], { shareTemplates: true });
    assert.deepEqual(shared.errors, []);
    assert.deepEqual(countTypes(shared.records), [12, 0]);
    assert.equal(shared.decoder.stats.sessionsCreated, 1);
    // data for template 258 never has a template
    assert.ok(shared.decoder.stats.dataSetsWithoutTemplate > 0);
    assert.ok(shared.records.every((r) => r.templateId === 259));
  });
});

describe('captures that must not decode', () => {
  for (const [file, count] of [
    ['netflow5_test_invalid01.dat', 55582],
    ['netflow5_test_invalid02.dat', 163],
  ] as const) {
    for (const compatibility of ['filebeat', 'extended'] as const) {
      it(`${file} (${compatibility}): header count ${count} with 30 records is a counted decode error`, () => {
        const { records, errors } = decodeFixtures([`dat/${file}`], { compatibility });
        assert.equal(records.length, 0);
        assert.equal(errors.length, 1);
        assert.equal(errors[0].code, 'FLOWSHIP_DECODE');
        assert.equal(errors[0].reason, 'short_packet');
      });
    }
  }

  for (const compatibility of ['filebeat', 'extended'] as const) {
    it(`netflow9_test_invalid01.dat (${compatibility}): no documents and no error`, () => {
      const { records, errors, decoder } = decodeFixtures(['dat/netflow9_test_invalid01.dat'], {
        compatibility,
      });
      assert.deepEqual(records, []);
      assert.deepEqual(errors, []);
      // count 2: only the two template flowsets are read
      assert.equal(decoder.templateCount, 2);
    });
  }
});

describe('coverage of the comparisons', () => {
  // Runs after the tests above (node:test runs a file's tests in order). The numbers are those of
  // the fixed golden files: all 372 events but the second of nprobe DPI L7.
  it('compared every golden event, value and deliberate difference', () => {
    assert.deepEqual(covered, {
      events: 371,
      values: 6315,
      absent: 45,
      deliberate: VALUE_DIFFERENCES.length,
      flowIds: 315,
      transports: 337,
    });
  });
});
