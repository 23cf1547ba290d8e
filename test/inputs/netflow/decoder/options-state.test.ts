/**
 * R6 options state (NETFLOW.md 6, with R2 and R3): what v9/IPFIX options data say, kept per
 * session in extended mode (interface, application, VRF and sampler tables, the session sampling
 * rate, the system init time), handed to the records' ExporterMeta, bounded, dropped with the
 * session, and exported/imported for the template cache (R4). Built packets, plus real captures
 * from fixtures/netflow (logstash-plugins/logstash-codec-netflow, Apache-2.0; see its README).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  MAX_TEXT_LENGTH,
  OPTIONS_ENTRY_OVERHEAD,
  OPTIONS_STATE_OVERHEAD,
} from '../../../../src/inputs/netflow/decoder/options-state.ts';
import type {
  DecodedRecord,
  FlowRecord,
  SessionOptionsView,
} from '../../../../src/inputs/netflow/decoder/types.ts';
import {
  type CachedOptionsState,
  loadTemplateCache,
  saveTemplateCache,
  serializeTemplateCache,
} from '../../../../src/inputs/netflow/template-cache.ts';
import { decodeFixtures } from '../../../conformance/netflow-fixtures.ts';
import {
  ascii,
  decoder,
  FROM,
  ipfix,
  ipfixOptionsTemplate,
  ipfixTemplate,
  options,
  paddedSet,
  set,
  type TestDecoderOptions,
  u16,
  u32,
  u64,
  v9,
  v9OptionsTemplate,
  v9Template,
  varlen,
  zeros,
} from './packets.ts';

// IANA element ids
const SRC_ADDR = 8;
const INGRESS = 10;
const EGRESS = 14;
const SAMPLING_INTERVAL = 34;
const SAMPLING_ALGORITHM = 35;
const SAMPLER_ID = 48;
const SAMPLER_MODE = 49;
const SAMPLER_RANDOM_INTERVAL = 50;
const IF_NAME = 82;
const IF_DESCRIPTION = 83;
const APP_DESCRIPTION = 94;
const APP_ID = 95;
const APP_NAME = 96;
const SYSTEM_INIT_TIME = 160;
const INGRESS_VRF = 234;
const VRF_NAME = 236;
const SELECTOR_ID = 302;
const PACKET_INTERVAL = 305;
const PACKET_SPACE = 306;
// v9 scope types (RFC 3954 §6.1)
const SCOPE_SYSTEM = 1;
const SCOPE_INTERFACE = 2;

function extended(options: TestDecoderOptions = {}) {
  return decoder({ compatibility: 'extended', ...options });
}

/** `text` NUL-padded to `n` bytes, as v9 exporters send fixed-length strings. */
const padded = (text: string, n: number) => [...ascii(text), ...zeros(n - text.length)];

/** v9 interface table: Interface scope (ifIndex), interfaceName (16), interfaceDescription (32). */
const V9_IF_TEMPLATE = paddedSet(
  1,
  v9OptionsTemplate(
    300,
    [[SCOPE_INTERFACE, 4]],
    [
      [IF_NAME, 16],
      [IF_DESCRIPTION, 32],
    ],
  ),
);
const v9Interface = (ifIndex: number, name: string, description: string) => [
  ...u32(ifIndex),
  ...padded(name, 16),
  ...padded(description, 32),
];

/** v9 sampler table, IOS-XR style: System scope, samplerId in 2 bytes, random interval, mode. */
const V9_SAMPLER_TEMPLATE = paddedSet(
  1,
  v9OptionsTemplate(
    301,
    [[SCOPE_SYSTEM, 4]],
    [
      [SAMPLER_ID, 2],
      [SAMPLER_RANDOM_INTERVAL, 4],
      [SAMPLER_MODE, 1],
    ],
  ),
);
const v9Sampler = (id: number, interval: number) => [...u32(0), ...u16(id), ...u32(interval), 2];

/** v9 session-wide rate: System scope, samplingInterval, samplingAlgorithm (Fortigate style). */
const V9_SYSTEM_RATE_TEMPLATE = paddedSet(
  1,
  v9OptionsTemplate(
    302,
    [[SCOPE_SYSTEM, 4]],
    [
      [SAMPLING_INTERVAL, 4],
      [SAMPLING_ALGORITHM, 1],
    ],
  ),
);
const v9SystemRate = (interval: number) => [...u32(0), ...u32(interval), 1];

/** v9 VRF table: System scope, ingressVRFID, VRFname (32). */
const V9_VRF_TEMPLATE = paddedSet(
  1,
  v9OptionsTemplate(
    303,
    [[SCOPE_SYSTEM, 4]],
    [
      [INGRESS_VRF, 4],
      [VRF_NAME, 32],
    ],
  ),
);
const v9Vrf = (id: number, name: string) => [...u32(0), ...u32(id), ...padded(name, 32)];

/** v9 flows: source address, ingress and egress ifIndex, samplerId in 2 bytes. */
const V9_FLOW_TEMPLATE = set(
  0,
  v9Template(256, [
    [SRC_ADDR, 4],
    [INGRESS, 4],
    [EGRESS, 4],
    [SAMPLER_ID, 2],
  ]),
);
const v9Flow = (ingress: number, egress: number, sampler: number) => [
  10,
  0,
  0,
  1,
  ...u32(ingress),
  ...u32(egress),
  ...u16(sampler),
];

/** The session options of the records (all of one packet share them). */
function view(records: readonly DecodedRecord[]): SessionOptionsView {
  const state = records[0]?.exporter.sessionOptions;
  assert.ok(state !== undefined, 'the records carry their session options');
  return state;
}

describe('R6: interface table', () => {
  it('v9 Interface scope -> interfaceName, interfaceDescription (NUL padding removed)', () => {
    const d = extended();
    const { records } = d.decode(
      v9(
        { sourceId: 1 },
        V9_IF_TEMPLATE,
        paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink to core'), v9Interface(4, 'Gi0/2', '')),
      ),
      FROM,
    );
    const state = view(records);
    assert.deepEqual(state.interfaceNames(3), { name: 'Gi0/1', description: 'uplink to core' });
    assert.deepEqual(state.interfaceNames(4), { name: 'Gi0/2', description: undefined }, 'empty = absent');
    assert.equal(state.interfaceNames(5), undefined);
    assert.equal(d.stats.optionsEntries, 2);
  });

  it('options records are still emitted, exactly as in filebeat mode', () => {
    const packets = [
      v9({ sourceId: 1, sequence: 1 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink'))),
      v9({ sourceId: 1, sequence: 2 }, V9_SAMPLER_TEMPLATE, paddedSet(301, v9Sampler(1, 100))),
    ];
    const ext = extended();
    const fb = decoder({ compatibility: 'filebeat' });
    for (const p of packets) {
      const a = ext.decode(p, FROM).records;
      const b = fb.decode(p, FROM).records;
      assert.equal(options(a).length, 1);
      assert.deepEqual(a, b);
    }
  });

  it('IPFIX: ingressInterface scope with variable-length names; a name beyond 255 characters is cut', () => {
    const d = extended();
    const long = 'x'.repeat(300);
    const { records } = d.decode(
      ipfix(
        { domain: 5 },
        set(
          3,
          ipfixOptionsTemplate(400, 1, [
            [INGRESS, 4],
            [IF_NAME, 0xffff],
            [IF_DESCRIPTION, 0xffff],
          ]),
        ),
        set(
          400,
          [...u32(7), ...varlen(ascii('eth0')), ...varlen(ascii('LAN'))],
          [...u32(8), ...varlen(ascii(long)), ...varlen([])],
        ),
      ),
      FROM,
    );
    const state = view(records);
    assert.deepEqual(state.interfaceNames(7), { name: 'eth0', description: 'LAN' });
    assert.equal(state.interfaceNames(8)?.name, 'x'.repeat(MAX_TEXT_LENGTH));
  });

  it('a later record changes what it states and keeps what it leaves out', () => {
    const d = extended();
    d.decode(v9({ sourceId: 1 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, 'Gi0/1', 'old'))), FROM);
    const onlyName = paddedSet(1, v9OptionsTemplate(304, [[SCOPE_INTERFACE, 4]], [[IF_NAME, 16]]));
    const { records } = d.decode(
      v9({ sourceId: 1, sequence: 1 }, onlyName, paddedSet(304, [...u32(3), ...padded('Gi0/1-new', 16)])),
      FROM,
    );
    assert.deepEqual(view(records).interfaceNames(3), { name: 'Gi0/1-new', description: 'old' });
    assert.equal(d.stats.optionsEntries, 1);
  });

  it('real capture: Cisco ASR 9000 (System scope, ingressInterface among the options) names the flows’ interfaces', () => {
    const { records, errors } = decodeFixtures(
      [
        'dat/netflow9_test_cisco_asr9k_opttpl256.dat',
        'dat/netflow9_test_cisco_asr9k_data256.dat',
        'dat/netflow9_test_cisco_asr9k_tpl260.dat',
        'dat/netflow9_test_cisco_asr9k_data260.dat',
      ],
      { compatibility: 'extended' },
    );
    assert.deepEqual(errors, []);
    assert.equal(options(records).length, 19, 'the options documents are all there');
    const flow = records.find((r): r is FlowRecord => r.type === 'netflow_flow');
    assert.ok(flow !== undefined);
    assert.equal(flow.fields.ingress_interface, 110);
    const state = view([flow]);
    assert.deepEqual(state.interfaceNames(110), { name: undefined, description: 'TenGigE0_6_1_0' });
    assert.deepEqual(state.interfaceNames(162), { name: undefined, description: 'Bundle-Ether2' });
    // samplerId is sent in 2 bytes: the document drops it, the record keeps it for the sampler table
    assert.equal(flow.fields.sampler_id, undefined);
    assert.equal(flow.samplerId, 1);
  });
});

describe('R6: application table', () => {
  it('real capture: Cisco NBAR options (System scope, applicationId among the options)', () => {
    const {
      records,
      errors,
      decoder: d,
    } = decodeFixtures(
      [
        'dat/netflow9_test_cisco_nbar_opttpl260.dat',
        'dat/netflow9_test_cisco_nbar_tpl262.dat',
        'dat/netflow9_test_cisco_nbar_data262.dat',
      ],
      { compatibility: 'extended' },
    );
    assert.deepEqual(errors, []);
    assert.equal(options(records).length, 15);
    assert.equal(d.stats.optionsEntries, 15);
    const flow = records.find((r): r is FlowRecord => r.type === 'netflow_flow')!;
    assert.deepEqual(flow.fields.application_id, [1, 0, 0, 1]);
    assert.deepEqual(view([flow]).applicationNames([1, 0, 0, 1]), {
      name: 'icmp',
      description: 'Internet Control Message',
    });
    assert.equal(view([flow]).applicationNames([5, 0, 0, 38]), undefined);
    assert.equal(view([flow]).applicationNames([0, 1, 0, 0, 1]), undefined, 'the length is part of the id');
  });

  it('IPFIX: variable-length id, name and description; ids longer than 6 bytes too', () => {
    const d = extended();
    const long = [20, 0, 0, 0, 0, 0, 0, 0, 80];
    const { records } = d.decode(
      ipfix(
        {},
        set(
          3,
          ipfixOptionsTemplate(401, 1, [
            [APP_ID, 0xffff],
            [APP_NAME, 0xffff],
            [APP_DESCRIPTION, 0xffff],
          ]),
        ),
        set(
          401,
          [...varlen([3, 0, 0, 80]), ...varlen(ascii('HTTP')), ...varlen(ascii('Hypertext'))],
          [...varlen(long), ...varlen(ascii('web')), ...varlen([])],
        ),
      ),
      FROM,
    );
    assert.deepEqual(view(records).applicationNames([3, 0, 0, 80]), {
      name: 'HTTP',
      description: 'Hypertext',
    });
    assert.deepEqual(view(records).applicationNames(long), { name: 'web', description: undefined });
  });
});

describe('R6: VRF table, system init time', () => {
  it('ingressVRFID -> VRFname', () => {
    const d = extended();
    const { records } = d.decode(
      v9({ sourceId: 1 }, V9_VRF_TEMPLATE, paddedSet(303, v9Vrf(0x6000_0000, 'default'), v9Vrf(7, 'red'))),
      FROM,
    );
    assert.equal(view(records).vrfName(0x6000_0000), 'default');
    assert.equal(view(records).vrfName(7), 'red');
    assert.equal(view(records).vrfName(8), undefined);
  });

  it('real capture: Juniper MX240 IPFIX options give systemInitTimeMilliseconds and the session rate', () => {
    const { records, errors } = decodeFixtures(
      [
        'dat/ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat',
        'dat/ipfix_test_juniper_mx240_junos151r6s3_data512.dat',
      ],
      { compatibility: 'extended' },
    );
    assert.deepEqual(errors, []);
    assert.equal(records.length, 1);
    assert.equal(view(records).systemInitTimeMs, Date.parse('2010-01-06T07:06:38.000Z'));
    assert.equal(view(records).samplingRate, 1000, 'scoped by exportingProcessId: session-wide');
  });
});

describe('R3 with R6: sampler table and session sampling rate', () => {
  it('samplerId scopes a rate; flows keep their raw 2-byte samplerId', () => {
    const d = extended();
    d.decode(
      v9(
        { sourceId: 1, sequence: 1 },
        V9_SAMPLER_TEMPLATE,
        paddedSet(301, v9Sampler(1, 100), v9Sampler(2, 1000)),
        V9_FLOW_TEMPLATE,
      ),
      FROM,
    );
    const { records } = d.decode(
      v9({ sourceId: 1, sequence: 2 }, set(256, v9Flow(3, 4, 1), v9Flow(3, 4, 2), v9Flow(3, 4, 9))),
      FROM,
    );
    const state = view(records);
    assert.deepEqual(
      records.map((r) => (r as FlowRecord).samplerId),
      [1, 2, 9],
    );
    assert.equal(state.samplerRate(1), 100);
    assert.equal(state.samplerRate(2), 1000);
    assert.equal(state.samplerRate(9), undefined);
    assert.equal(state.samplingRate, undefined, 'a sampler-scoped rate is not the session’s');
  });

  it('System scope (or no sampler id) sets the session-wide rate', () => {
    const d = extended();
    const { records } = d.decode(
      v9({ sourceId: 1 }, V9_SYSTEM_RATE_TEMPLATE, paddedSet(302, v9SystemRate(64))),
      FROM,
    );
    assert.equal(view(records).samplingRate, 64);
  });

  it('IPFIX selectorId with samplingPacketInterval/Space: rate = (interval + space) / interval', () => {
    const d = extended();
    const { records } = d.decode(
      ipfix(
        {},
        set(
          3,
          ipfixOptionsTemplate(402, 1, [
            [SELECTOR_ID, 8],
            [PACKET_INTERVAL, 4],
            [PACKET_SPACE, 4],
          ]),
        ),
        set(402, [...u64(5n), ...u32(1), ...u32(99)], [...u64(6n), ...u32(2), ...u32(1998)]),
      ),
      FROM,
    );
    assert.equal(view(records).selectorRate(5), 100);
    assert.equal(view(records).selectorRate(6), 1000);
    assert.equal(view(records).samplingRate, undefined);
  });
});

describe('R6: the state reaches the records', () => {
  it('records before the options set in the same packet, and of later packets, carry it; not as data', () => {
    const d = extended();
    const { records } = d.decode(
      v9(
        { sourceId: 1, sequence: 1 },
        V9_FLOW_TEMPLATE,
        set(256, v9Flow(3, 4, 1)),
        V9_IF_TEMPLATE,
        paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink')),
      ),
      FROM,
    );
    assert.equal(records[0].type, 'netflow_flow');
    assert.equal(view(records).interfaceNames(3)?.name, 'Gi0/1');
    assert.equal(JSON.stringify(records[0].exporter).includes('Gi0/1'), false, 'JSON leaves it out');
    const later = d.decode(v9({ sourceId: 1, sequence: 2 }, set(256, v9Flow(3, 4, 1))), FROM).records;
    assert.equal(later[0].exporter.sessionOptions, records[0].exporter.sessionOptions, 'one state, shared');
  });

  it('data kept pending for its template (R1) carries the state once replayed', () => {
    const d = extended();
    const early = d.decode(v9({ sourceId: 1, sequence: 1 }, set(256, v9Flow(3, 4, 1))), FROM);
    assert.equal(early.pended, 1);
    const { records } = d.decode(
      v9(
        { sourceId: 1, sequence: 2 },
        V9_IF_TEMPLATE,
        paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink')),
        V9_FLOW_TEMPLATE,
      ),
      FROM,
    );
    const replayed = records.find((r) => r.type === 'netflow_flow')!;
    assert.notEqual(replayed.exporter, records[0].exporter, 'the replayed record has its own header');
    assert.equal(view([replayed]).interfaceNames(3)?.name, 'Gi0/1');
  });

  it('sessions do not share state', () => {
    const d = extended();
    d.decode(v9({ sourceId: 1 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, 'one', ''))), FROM);
    const { records } = d.decode(
      v9({ sourceId: 2 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, 'two', ''))),
      FROM,
    );
    assert.equal(view(records).interfaceNames(3)?.name, 'two');
    const other = d.decode(
      v9({ sourceId: 1, sequence: 1 }, V9_FLOW_TEMPLATE, set(256, v9Flow(3, 4, 1))),
      FROM,
    );
    assert.equal(view(other.records).interfaceNames(3)?.name, 'one');
  });
});

describe('R6: filebeat compatibility, and optionsState: false', () => {
  for (const [name, d] of [
    ['filebeat', decoder({ compatibility: 'filebeat' })],
    ['optionsState: false', extended({ optionsState: false })],
  ] as const) {
    it(`${name}: nothing learned, nothing attached, nothing exported or imported`, () => {
      const { records } = d.decode(
        v9(
          { sourceId: 1, sequence: 1 },
          V9_IF_TEMPLATE,
          paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink')),
          V9_FLOW_TEMPLATE,
          set(256, v9Flow(3, 4, 1)),
        ),
        FROM,
      );
      assert.equal(records.length, 2);
      for (const r of records) assert.equal(r.exporter.sessionOptions, undefined);
      assert.equal((records[1] as FlowRecord).samplerId, undefined, 'no raw samplerId either');
      assert.deepEqual(d.exportOptionsState(), []);
      assert.equal(d.importOptionsState([{ session: '192.0.2.1:4444/1', protocol: 'v9', lastUsedMs: 0 }]), 0);
      assert.equal(d.stats.optionsEntries, 0);
      assert.equal(d.stats.optionsChanges, 0);
    });
  }
});

describe('R6: bounds (an exporter or a spoofer controls the tables)', () => {
  it('a new key beyond maxEntriesPerTable is refused and counted; known keys still change', () => {
    const d = extended({ optionsState: { maxEntriesPerTable: 2 } });
    const { records } = d.decode(
      v9(
        { sourceId: 1 },
        V9_IF_TEMPLATE,
        paddedSet(300, v9Interface(1, 'a', ''), v9Interface(2, 'b', ''), v9Interface(3, 'c', '')),
      ),
      FROM,
    );
    const state = view(records);
    assert.equal(state.interfaceNames(3), undefined);
    assert.equal(d.stats.optionsEntriesRejected, 1);
    assert.equal(d.stats.optionsEntries, 2);
    d.decode(v9({ sourceId: 1, sequence: 1 }, paddedSet(300, v9Interface(2, 'b2', ''))), FROM);
    assert.equal(state.interfaceNames(2)?.name, 'b2');
    assert.equal(d.stats.optionsEntriesRejected, 1);
    // each table has its own cap
    d.decode(
      v9({ sourceId: 1, sequence: 2 }, V9_VRF_TEMPLATE, paddedSet(303, v9Vrf(1, 'x'), v9Vrf(2, 'y'))),
      FROM,
    );
    assert.equal(state.vrfName(2), 'y');
    assert.equal(d.stats.optionsEntries, 4);
  });

  it('the byte budget is shared by all sessions; beyond it new keys (and new states) are refused', () => {
    // room for one state with one interface named by one character, nothing more
    const maxBytes = OPTIONS_STATE_OVERHEAD + OPTIONS_ENTRY_OVERHEAD + 2;
    const d = extended({ optionsState: { maxBytes } });
    d.decode(
      v9({ sourceId: 1 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(1, 'a', ''), v9Interface(2, 'b', ''))),
      FROM,
    );
    assert.equal(d.stats.optionsBytes, maxBytes);
    assert.equal(d.stats.optionsEntriesRejected, 1);
    d.decode(v9({ sourceId: 1, sequence: 1 }, paddedSet(300, v9Interface(1, 'longer', ''))), FROM);
    assert.equal(d.stats.optionsEntriesRejected, 2, 'a growing change is refused too');
    const other = d.decode(
      v9({ sourceId: 2 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(1, 'a', ''))),
      FROM,
    );
    assert.equal(other.records[0].exporter.sessionOptions, undefined);
    assert.equal(d.stats.optionsEntriesRejected, 3);
    assert.equal(d.stats.optionsBytes, maxBytes);
  });

  it('rejects bounds that are not numbers of the right kind at construction', () => {
    assert.throws(() => extended({ optionsState: { maxEntriesPerTable: 1.5 } }), RangeError);
    assert.throws(() => extended({ optionsState: { maxBytes: -1 } }), RangeError);
  });
});

describe('R6: state is dropped with its session', () => {
  const learn = (d: ReturnType<typeof extended>, sourceId: number, sequence = 0) =>
    d.decode(v9({ sourceId, sequence }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(1, 'a', 'b'))), FROM);

  function assertEmpty(d: ReturnType<typeof extended>) {
    assert.equal(d.stats.optionsEntries, 0);
    assert.equal(d.stats.optionsBytes, 0);
  }

  it('on a sequence reset', () => {
    const d = extended();
    const { records } = learn(d, 1, 10);
    const changes = d.templateChangeCount;
    d.decode(v9({ sourceId: 1, sequence: 5000 }, set(256, v9Flow(1, 1, 1))), FROM);
    assert.equal(d.stats.sequenceResets, 1);
    assert.deepEqual(d.exportOptionsState(), []);
    assertEmpty(d);
    assert.ok(d.templateChangeCount > changes);
    // records decoded before keep reading what their session knew then
    assert.equal(view(records).interfaceNames(1)?.name, 'a');
  });

  it('on expiry', () => {
    let now = 1_000_000;
    const d = extended({ expirationTimeoutMs: 1000, now: () => now });
    learn(d, 1);
    now += 1000;
    d.maybeSweep();
    assert.equal(d.exportOptionsState().length, 1, 'used since the last sweep: kept');
    now += 1000;
    d.maybeSweep();
    assert.equal(d.sessionCount, 0);
    assertEmpty(d);
  });

  it('on eviction of the least recently used session', () => {
    const d = extended({ limits: { maxSessions: 1, maxTemplatesPerSession: 10, maxTemplateFields: 1000 } });
    learn(d, 1);
    assert.equal(d.stats.optionsEntries, 1);
    d.decode(v9({ sourceId: 2 }, V9_FLOW_TEMPLATE), FROM);
    assert.equal(d.stats.sessionsEvicted, 1);
    assertEmpty(d);
  });
});

describe('R6 with R4: export, import, template cache file', () => {
  /** A decoder that learned every kind of fact for session "…/1" (v9) and "…/9" (IPFIX). */
  function learned() {
    let now = 1_700_000_000_000;
    const d = extended({ now: () => now });
    d.decode(
      v9(
        { sourceId: 1, sequence: 1 },
        V9_IF_TEMPLATE,
        paddedSet(300, v9Interface(3, 'Gi0/1', 'uplink'), v9Interface(4, 'Gi0/2', '')),
        V9_SAMPLER_TEMPLATE,
        paddedSet(301, v9Sampler(1, 100)),
        V9_SYSTEM_RATE_TEMPLATE,
        paddedSet(302, v9SystemRate(10)),
        V9_VRF_TEMPLATE,
        paddedSet(303, v9Vrf(7, 'red')),
        V9_FLOW_TEMPLATE,
      ),
      FROM,
    );
    now += 5000;
    d.decode(
      ipfix(
        { domain: 9 },
        set(
          3,
          ipfixOptionsTemplate(401, 1, [
            [APP_ID, 4],
            [APP_NAME, 0xffff],
          ]),
          ipfixOptionsTemplate(402, 1, [
            [SELECTOR_ID, 8],
            [SAMPLING_INTERVAL, 4],
          ]),
          ipfixOptionsTemplate(403, 1, [
            [INGRESS, 4],
            [SYSTEM_INIT_TIME, 8],
          ]),
        ),
        set(401, [3, 0, 0, 80, ...varlen(ascii('HTTP'))]),
        set(402, [...u64(5n), ...u32(50)]),
        set(403, [...u32(0), ...u64(1_699_000_000_000n)]),
        set(2, ipfixTemplate(256, [[SRC_ADDR, 4]])),
      ),
      FROM,
    );
    return d;
  }

  const EXPECTED: CachedOptionsState[] = [
    {
      session: '192.0.2.1:4444/1',
      protocol: 'v9',
      lastUsedMs: 1_700_000_000_000,
      samplingRate: 10,
      interfaces: [
        { id: 3, name: 'Gi0/1', description: 'uplink' },
        { id: 4, name: 'Gi0/2' },
      ],
      vrfs: [{ id: 7, name: 'red' }],
      samplers: [{ id: 1, rate: 100 }],
    },
    {
      session: '192.0.2.1:4444/9',
      protocol: 'ipfix',
      lastUsedMs: 1_700_000_005_000,
      systemInitTimeMs: 1_699_000_000_000,
      applications: [{ id: '03000050', name: 'HTTP' }],
      selectors: [{ id: 5, rate: 50 }],
    },
  ];

  it('exports plain data per session key and protocol, with its last use', () => {
    const exported = learned().exportOptionsState();
    assert.deepEqual(exported, EXPECTED);
    assert.deepEqual(JSON.parse(JSON.stringify(exported)), exported, 'JSON-serialisable as is');
  });

  it('a new decoder given the templates and the state decodes flows as the first one did', () => {
    const first = learned();
    const second = extended();
    second.importTemplates(first.exportTemplates());
    const changes = second.templateChangeCount;
    assert.equal(second.importOptionsState(JSON.parse(JSON.stringify(first.exportOptionsState()))), 2);
    assert.equal(second.templateChangeCount, changes, 'restored state is no change');
    assert.deepEqual(second.exportOptionsState(), EXPECTED);
    assert.equal(second.stats.optionsEntries, first.stats.optionsEntries);
    assert.equal(second.stats.optionsBytes, first.stats.optionsBytes);
    const { records } = second.decode(v9({ sourceId: 1, sequence: 2 }, set(256, v9Flow(3, 7, 1))), FROM);
    const state = view(records);
    assert.deepEqual(state.interfaceNames(3), { name: 'Gi0/1', description: 'uplink' });
    assert.equal(state.samplerRate((records[0] as FlowRecord).samplerId!), 100);
    assert.equal(state.samplingRate, 10);
  });

  it('import keeps a session’s live state, and applies the bounds', () => {
    const d = extended({ optionsState: { maxEntriesPerTable: 1 } });
    d.decode(v9({ sourceId: 1 }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, 'live', ''))), FROM);
    assert.equal(d.importOptionsState(EXPECTED), 1, 'only the IPFIX session is restored');
    const v9State = d.exportOptionsState().find((e) => e.protocol === 'v9');
    assert.deepEqual(v9State?.interfaces, [{ id: 3, name: 'live' }]);
    const capped = extended({ optionsState: { maxEntriesPerTable: 1 } });
    capped.importOptionsState(EXPECTED);
    assert.equal(capped.exportOptionsState()[0].interfaces?.length, 1);
    assert.equal(capped.stats.optionsEntriesRejected, 1);
  });

  it('repeated options data change nothing; a changed value is one change', () => {
    let now = 0;
    const d = extended({ now: () => now });
    const packet = (sequence: number, name: string) =>
      v9({ sourceId: 1, sequence }, V9_IF_TEMPLATE, paddedSet(300, v9Interface(3, name, '')));
    d.decode(packet(1, 'a'), FROM);
    const after = d.templateChangeCount;
    now = 60_000;
    d.decode(packet(2, 'a'), FROM);
    // the template re-announced counts as replaced; the options state did not change
    assert.equal(d.stats.optionsChanges, 1);
    assert.equal(d.exportOptionsState()[0].lastUsedMs, 60_000, 'but its last use moves');
    const before = d.templateChangeCount;
    d.decode(v9({ sourceId: 1, sequence: 3 }, paddedSet(300, v9Interface(3, 'b', ''))), FROM);
    assert.equal(d.templateChangeCount, before + 1);
    assert.ok(before > after);
  });

  const dir = mkdtempSync(join(tmpdir(), 'flowship-options-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const NOW = 1_700_000_010_000;
  const loadOptions = { shareTemplates: false, expirationMs: 30 * 60_000, now: NOW, maxTemplates: 100 };

  it('the template cache file keeps the state next to the templates, and gives it back', async () => {
    const d = learned();
    const path = join(dir, 'a', 'templates.json');
    await saveTemplateCache(path, d.exportTemplates(), {
      shareTemplates: false,
      now: NOW,
      optionsState: d.exportOptionsState(),
    });
    const loaded = await loadTemplateCache(path, loadOptions);
    assert.equal(loaded.templates.length, d.exportTemplates().length);
    // most recently used first
    assert.deepEqual(loaded.optionsState, [EXPECTED[1], EXPECTED[0]]);
    assert.equal(loaded.invalid, 0);
  });

  it('files without options state (written before R6) load as before; idle or damaged states are counted', async () => {
    const d = learned();
    const plain = join(dir, 'b.json');
    writeFileSync(plain, serializeTemplateCache(d.exportTemplates(), { shareTemplates: false, now: NOW }));
    const old = await loadTemplateCache(plain, loadOptions);
    assert.equal(old.optionsState, undefined);
    assert.equal(old.invalid, 0);

    const text = serializeTemplateCache([], {
      shareTemplates: false,
      now: NOW,
      optionsState: [
        ...EXPECTED,
        { session: 'old', protocol: 'v9', lastUsedMs: NOW - 31 * 60_000, samplingRate: 2 },
      ],
    });
    const file = JSON.parse(text) as { options: Record<string, unknown>[] };
    file.options.push({ session: 's', protocol: 'v9', last_used: NOW, interfaces: [[1, null, null]] });
    file.options.push({ session: 's', protocol: 'v9', last_used: NOW, samplers: [[1, 0]] });
    file.options.push({ session: 's', protocol: 'v5', last_used: NOW });
    const damaged = join(dir, 'c.json');
    writeFileSync(damaged, JSON.stringify(file));
    const loaded = await loadTemplateCache(damaged, loadOptions);
    assert.deepEqual(loaded.optionsState, [EXPECTED[1], EXPECTED[0]]);
    assert.equal(loaded.expired, 1);
    assert.equal(loaded.invalid, 3);
    const capped = await loadTemplateCache(damaged, { ...loadOptions, maxOptionsStates: 1 });
    assert.deepEqual(capped.optionsState, [EXPECTED[1]]);
  });
});
