/**
 * Data before its template (NETFLOW.md 6, R1): v9/IPFIX data sets whose template is unknown are kept
 * per (session, template id) in extended mode and decoded, each with its own packet's header, when
 * the template arrives; bounded by sets per template, bytes and age; dropped on a sequence reset and
 * on withdrawal (R5). Filebeat mode drops them as Filebeat does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readPcap } from '../../../../src/inputs/netflow/capture/pcap.ts';
import { replayedRecords } from '../../../../src/inputs/netflow/decoder/decoder.ts';
import {
  PENDING_EXPORTER_OVERHEAD,
  PENDING_KEY_OVERHEAD,
  PENDING_SESSION_OVERHEAD,
  PENDING_SET_OVERHEAD,
} from '../../../../src/inputs/netflow/decoder/pending.ts';
import type { DecodedRecord } from '../../../../src/inputs/netflow/decoder/types.ts';
import { DecodeError } from '../../../../src/util/errors.ts';
import {
  decoder,
  FROM,
  flows,
  ip4,
  ipfix,
  ipfixOptionsTemplate,
  ipfixTemplate,
  json,
  options,
  set,
  type TestDecoderOptions,
  u16,
  u32,
  v9,
  v9OptionsTemplate,
  v9Template,
} from './packets.ts';

const SRC_ADDR = 8;
const SRC_PORT = 7;
const IN_PKTS = 2;

const V9_TEMPLATE = set(0, v9Template(256, [[SRC_ADDR, 4]]));
const v9Data = (ip: string, id = 256) => set(id, ip4(ip));
const IPFIX_TEMPLATE = set(2, ipfixTemplate(256, [[SRC_ADDR, 4]]));
const ipfixData = (ip: string, id = 256) => set(id, ip4(ip));

/** An extended-mode decoder (where R1 applies) unless told otherwise. */
function extended(options: TestDecoderOptions = {}) {
  return decoder({ compatibility: 'extended', ...options });
}

function addresses(records: readonly DecodedRecord[]): unknown[] {
  return flows(records).map((f) => f.source_ipv4_address);
}

/** A record as data, order-free comparisons sort these. */
function canonical(record: DecodedRecord): string {
  return JSON.stringify(json(record));
}

function multiset(records: readonly DecodedRecord[]): string[] {
  return records.map(canonical).sort();
}

const NO_EVICTIONS = { age: 0, size: 0, reset: 0, withdrawn: 0 };

describe('R1 acceptance: ipfix_cisco.pcap with the data datagrams before the template datagram', () => {
  const file = new URL('../../../../fixtures/netflow/pcap/ipfix_cisco.pcap', import.meta.url);
  const datagrams = [...readPcap(readFileSync(file), 'ipfix_cisco.pcap')].map((d) => ({
    payload: Buffer.from(d.payload),
    from: { ip: d.srcIp, address: `${d.srcIp}:${d.srcPort}` },
  }));

  function decodeInOrder(order: readonly number[], compatibility: 'extended' | 'filebeat' = 'extended') {
    const d = decoder({ compatibility, detectSequenceReset: true });
    const records: DecodedRecord[] = [];
    for (const i of order) records.push(...d.decode(datagrams[i].payload, datagrams[i].from).records);
    return { d, records };
  }

  it('the capture: datagram 1 brings template 267 and 9 flows, datagrams 2 and 3 only data (10 flows each)', () => {
    assert.equal(datagrams.length, 3);
    const { records } = decodeInOrder([0, 1, 2]);
    assert.equal(flows(records).length, 29);
    assert.deepEqual(
      [0, 1, 2].map(
        (i) => records.filter((r) => r.exporter.sequence === datagrams[i].payload.readUInt32BE(8)).length,
      ),
      [9, 10, 10],
    );
  });

  it('data datagrams 2 and 3, then the template datagram: the same 29 flows', () => {
    const inOrder = decodeInOrder([0, 1, 2]);
    const reordered = decodeInOrder([1, 2, 0]);
    assert.equal(flows(reordered.records).length, 29);
    assert.deepEqual(multiset(reordered.records), multiset(inOrder.records));
    assert.equal(reordered.d.stats.dataSetsWithoutTemplate, 2);
    assert.equal(reordered.d.stats.pendingReplayedSets, 2);
    assert.equal(reordered.d.stats.pendingSets, 0);
    assert.equal(reordered.d.stats.pendingBytes, 0);
    assert.deepEqual(reordered.d.stats.pendingEvicted, NO_EVICTIONS);
  });

  it('the template datagram returns the pending records first, in arrival order, then its own', () => {
    const d = decoder({ compatibility: 'extended', detectSequenceReset: true });
    assert.deepEqual(d.decode(datagrams[1].payload, datagrams[1].from).records, []);
    assert.deepEqual(d.decode(datagrams[2].payload, datagrams[2].from).records, []);
    assert.equal(d.stats.pendingSets, 2);
    const { records } = d.decode(datagrams[0].payload, datagrams[0].from);
    const sequences = records.map((r) => r.exporter.sequence);
    const [first, second, own] = [1, 2, 0].map((i) => datagrams[i].payload.readUInt32BE(8));
    assert.deepEqual(sequences, [...Array(10).fill(first), ...Array(10).fill(second), ...Array(9).fill(own)]);
  });

  it('every order of the three datagrams yields the same 29 flows', () => {
    const want = multiset(decodeInOrder([0, 1, 2]).records);
    for (const order of [
      [0, 2, 1],
      [1, 0, 2],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      assert.deepEqual(multiset(decodeInOrder(order).records), want, `order ${order.join(',')}`);
    }
  });

  it('filebeat compatibility: the data datagrams before the template are lost, as in Filebeat', () => {
    const { d, records } = decodeInOrder([1, 2, 0], 'filebeat');
    assert.equal(flows(records).length, 9);
    assert.equal(d.stats.dataSetsWithoutTemplate, 2);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingReplayedSets, 0);
  });
});

describe('R1: each pending set keeps its own packet header', () => {
  it('v9: export time, uptime, sequence and source id of the data packet, not of the template packet', () => {
    const d = extended();
    const from2 = { ip: '192.0.2.1', address: '192.0.2.1:4444' };
    d.decode(v9({ secs: 1_600_000_100, uptime: 5_000, sequence: 41, sourceId: 7 }, v9Data('10.0.0.1')), FROM);
    d.decode(
      v9({ secs: 1_600_000_200, uptime: 6_000, sequence: 42, sourceId: 7 }, v9Data('10.0.0.2')),
      from2,
    );
    const { records } = d.decode(
      v9({ secs: 1_600_000_300, uptime: 7_000, sequence: 43, sourceId: 7 }, V9_TEMPLATE, v9Data('10.0.0.3')),
      FROM,
    );
    assert.deepEqual(
      records.map((r) => [
        r.type === 'netflow_flow' && r.fields.source_ipv4_address,
        r.exporter.timestamp.toISOString(),
        r.exporter.uptimeMillis,
        r.exporter.sequence,
        r.exporter.sourceId,
        r.exporter.version,
        r.exporter.address,
      ]),
      [
        ['10.0.0.1', '2020-09-13T12:28:20.000Z', 5_000, 41, 7, 9, '192.0.2.1:4444'],
        ['10.0.0.2', '2020-09-13T12:30:00.000Z', 6_000, 42, 7, 9, '192.0.2.1:4444'],
        ['10.0.0.3', '2020-09-13T12:31:40.000Z', 7_000, 43, 7, 9, '192.0.2.1:4444'],
      ],
    );
    assert.notEqual(records[0].exporter, records[2].exporter);
  });

  it('IPFIX: export time, sequence and observation domain of the data message', () => {
    const d = extended();
    d.decode(ipfix({ exportTime: 1_600_000_100, sequence: 10, domain: 3 }, ipfixData('10.0.0.1')), FROM);
    const { records } = d.decode(
      ipfix({ exportTime: 1_600_000_200, sequence: 11, domain: 3 }, IPFIX_TEMPLATE),
      FROM,
    );
    assert.equal(records.length, 1);
    assert.equal(records[0].exporter.timestamp.getTime(), 1_600_000_100_000);
    assert.equal(records[0].exporter.sequence, 10);
    assert.equal(records[0].exporter.sourceId, 3);
    assert.equal(records[0].exporter.uptimeMillis, 0);
  });
});

describe('R1: data set before its template set in one packet', () => {
  it('is decoded when the template set is read: after the sets before it, before the sets after it', () => {
    const d = extended();
    d.decode(v9({}, set(0, v9Template(257, [[SRC_PORT, 2]]))), FROM);
    const { records } = d.decode(
      v9({ sequence: 1 }, v9Data('10.0.0.1'), set(257, u16(80)), V9_TEMPLATE, v9Data('10.0.0.2')),
      FROM,
    );
    assert.deepEqual(flows(records), [
      { source_transport_port: 80 },
      { source_ipv4_address: '10.0.0.1' },
      { source_ipv4_address: '10.0.0.2' },
    ]);
    assert.equal(d.stats.dataSetsWithoutTemplate, 1);
    assert.equal(d.stats.pendingReplayedSets, 1);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingBytes, 0);
  });

  it('IPFIX likewise; filebeat mode skips the data set', () => {
    for (const compatibility of ['extended', 'filebeat'] as const) {
      const d = decoder({ compatibility });
      const { records } = d.decode(
        ipfix({}, ipfixData('10.0.0.1'), IPFIX_TEMPLATE, ipfixData('10.0.0.2')),
        FROM,
      );
      assert.deepEqual(
        addresses(records),
        compatibility === 'extended' ? ['10.0.0.1', '10.0.0.2'] : ['10.0.0.2'],
        compatibility,
      );
      assert.equal(d.stats.dataSetsWithoutTemplate, 1);
    }
  });
});

describe('R1: options data before its options template', () => {
  it('v9: the options records are decoded once the options template arrives', () => {
    const d = extended();
    // scope System (4 bytes), option samplingInterval (34, 4 bytes)
    const data = set(300, u32(1), u32(100));
    assert.deepEqual(d.decode(v9({}, data), FROM).records, []);
    const { records } = d.decode(
      v9({ sequence: 1 }, set(1, v9OptionsTemplate(300, [[1, 4]], [[34, 4]]))),
      FROM,
    );
    assert.equal(options(records).length, 1);
    assert.deepEqual(options(records)[0].options, { sampling_interval: 100 });
    assert.equal(records[0].exporter.sequence, 0);
  });

  it('IPFIX: likewise', () => {
    const d = extended();
    d.decode(ipfix({}, set(300, u32(9), u32(100))), FROM);
    const { records } = d.decode(
      ipfix(
        { sequence: 1 },
        set(
          3,
          ipfixOptionsTemplate(300, 1, [
            [149, 4],
            [34, 4],
          ]),
        ),
      ),
      FROM,
    );
    assert.equal(options(records).length, 1);
    assert.deepEqual(options(records)[0].options, { sampling_interval: 100 });
  });
});

describe('R1: pending data is keyed by (session, template id)', () => {
  it('another session, another template id or the other protocol does not take it', () => {
    const d = extended();
    d.decode(v9({ sourceId: 1 }, v9Data('10.0.0.1')), FROM);
    // same id, other source id / other port / IPFIX: none of them replays it
    assert.deepEqual(d.decode(v9({ sourceId: 2 }, V9_TEMPLATE), FROM).records, []);
    assert.deepEqual(
      d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), { ip: '192.0.2.1', address: '192.0.2.1:5555' }).records,
      [],
    );
    assert.deepEqual(d.decode(ipfix({ domain: 1 }, IPFIX_TEMPLATE), FROM).records, []);
    // another template id of the right session neither
    assert.deepEqual(
      d.decode(v9({ sourceId: 1 }, set(0, v9Template(257, [[SRC_ADDR, 4]]))), FROM).records,
      [],
    );
    assert.equal(d.stats.pendingSets, 1);
    assert.deepEqual(addresses(d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM).records), ['10.0.0.1']);
    assert.equal(d.stats.pendingSets, 0);
  });

  it('share_templates: data from any address of the source id waits for the shared session', () => {
    const d = extended({ shareTemplates: true });
    d.decode(v9({ sourceId: 1 }, v9Data('10.0.0.1')), { ip: '192.0.2.9', address: '192.0.2.9:1' });
    const { records } = d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM);
    assert.deepEqual(addresses(records), ['10.0.0.1']);
    assert.equal(records[0].exporter.address, '192.0.2.9:1');
  });

  it('a template learned is replayed once; a re-announcement decodes nothing more', () => {
    const d = extended();
    d.decode(v9({}, v9Data('10.0.0.1')), FROM);
    assert.equal(d.decode(v9({ sequence: 1 }, V9_TEMPLATE), FROM).records.length, 1);
    assert.equal(d.decode(v9({ sequence: 2 }, V9_TEMPLATE), FROM).records.length, 0);
    assert.equal(d.stats.pendingReplayedSets, 1);
  });

  it('an empty data set is counted as a miss but not kept', () => {
    const d = extended();
    d.decode(v9({}, set(256)), FROM);
    assert.equal(d.stats.dataSetsWithoutTemplate, 1);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingBytes, 0);
  });
});

describe('R1: bounds', () => {
  it('max_sets_per_template: a new set evicts the oldest of its key (reason size)', () => {
    const d = extended({ pending: { maxSetsPerTemplate: 3 } });
    for (let i = 1; i <= 5; i++) d.decode(v9({ sequence: i }, v9Data(`10.0.0.${i}`)), FROM);
    // another key is not affected
    d.decode(v9({ sequence: 6 }, v9Data('10.0.1.1', 257)), FROM);
    assert.equal(d.stats.pendingSets, 4);
    assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, size: 2 });
    const { records } = d.decode(v9({ sequence: 7 }, V9_TEMPLATE), FROM);
    assert.deepEqual(addresses(records), ['10.0.0.3', '10.0.0.4', '10.0.0.5']);
    assert.equal(d.stats.pendingReplayedSets, 3);
    assert.equal(d.stats.pendingSets, 1);
  });

  it('max_sets_per_template 1 keeps the newest set', () => {
    const d = extended({ pending: { maxSetsPerTemplate: 1 } });
    d.decode(v9({}, v9Data('10.0.0.1')), FROM);
    d.decode(v9({}, v9Data('10.0.0.2')), FROM);
    assert.deepEqual(addresses(d.decode(v9({}, V9_TEMPLATE), FROM).records), ['10.0.0.2']);
    assert.equal(d.stats.pendingEvicted.size, 1);
  });

  it('max_bytes: the oldest sets of the whole decoder go first, overheads counted', () => {
    const SET = 4 + PENDING_SET_OVERHEAD;
    const PER_SESSION = PENDING_SESSION_OVERHEAD + PENDING_KEY_OVERHEAD;
    const EXPORTER = PENDING_EXPORTER_OVERHEAD;
    // room for one exporter, two sessions with one key each and three 4-byte sets
    const d = extended({ pending: { maxBytes: EXPORTER + 2 * PER_SESSION + 3 * SET } });
    const a = (ip: string) => d.decode(v9({ sourceId: 1 }, v9Data(ip)), FROM);
    const b = (ip: string) => d.decode(ipfix({ domain: 1 }, ipfixData(ip)), FROM);
    a('10.0.0.1');
    assert.equal(d.stats.pendingBytes, EXPORTER + PER_SESSION + SET);
    b('10.0.1.1');
    a('10.0.0.2');
    assert.equal(d.stats.pendingBytes, EXPORTER + 2 * PER_SESSION + 3 * SET);
    assert.equal(d.stats.pendingEvicted.size, 0);
    b('10.0.1.2'); // over: a's first set, the oldest of all, goes
    assert.equal(d.stats.pendingEvicted.size, 1);
    assert.equal(d.stats.pendingSets, 3);
    assert.equal(d.stats.pendingBytes, EXPORTER + 2 * PER_SESSION + 3 * SET);
    assert.deepEqual(addresses(d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM).records), ['10.0.0.2']);
    assert.deepEqual(addresses(d.decode(ipfix({ domain: 1 }, IPFIX_TEMPLATE), FROM).records), [
      '10.0.1.1',
      '10.0.1.2',
    ]);
    assert.equal(d.stats.pendingBytes, 0);
  });

  it("max_bytes: evicting a key's last set frees its key and session overhead too", () => {
    const SET = 4 + PENDING_SET_OVERHEAD;
    const PER_SESSION = PENDING_EXPORTER_OVERHEAD + PENDING_SESSION_OVERHEAD + PENDING_KEY_OVERHEAD;
    const d = extended({ pending: { maxBytes: PER_SESSION + SET } }); // one exporter, session, set
    for (let source = 1; source <= 10; source++) d.decode(v9({ sourceId: source }, v9Data('10.0.0.1')), FROM);
    assert.equal(d.stats.pendingSets, 1);
    assert.equal(d.stats.pendingBytes, PER_SESSION + SET);
    assert.equal(d.stats.pendingEvicted.size, 9);
    // only the last source's set is left
    assert.equal(d.decode(v9({ sourceId: 9 }, V9_TEMPLATE), FROM).records.length, 0);
    assert.equal(d.decode(v9({ sourceId: 10 }, V9_TEMPLATE), FROM).records.length, 1);
  });

  it("per exporter: a flooding exporter's oldest sets go, the other exporters' pending data stays", () => {
    const SET = 4 + PENDING_SET_OVERHEAD;
    const d = extended({ pending: { maxSetsPerExporter: 3, maxBytesPerExporter: 1_000_000 } });
    const FLOODER = { ip: '192.0.2.66', address: '192.0.2.66:9999' };
    d.decode(v9({ sourceId: 1 }, v9Data('10.0.0.1')), FROM);
    for (let i = 1; i <= 10; i++) d.decode(v9({ sourceId: 1 }, v9Data(`10.9.9.${i}`)), FLOODER);
    assert.equal(d.stats.pendingSets, 4, 'three of the flooder, one of the other');
    assert.equal(d.stats.pendingEvicted.size, 7);
    // the flooder keeps its newest three, the other exporter its set
    assert.deepEqual(addresses(d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FLOODER).records), [
      '10.9.9.8',
      '10.9.9.9',
      '10.9.9.10',
    ]);
    assert.deepEqual(addresses(d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM).records), ['10.0.0.1']);
    assert.equal(d.stats.pendingBytes, 0);

    // in bytes: room for two sets of an exporter
    const e = extended({ pending: { maxBytesPerExporter: 2 * SET } });
    for (let i = 1; i <= 5; i++) e.decode(v9({ sourceId: i }, v9Data(`10.9.9.${i}`)), FLOODER);
    assert.equal(e.stats.pendingSets, 2);
    assert.equal(e.stats.pendingEvicted.size, 3);
    assert.equal(e.decode(v9({ sourceId: 5 }, V9_TEMPLATE), FLOODER).records.length, 1, 'the newest stayed');
  });

  it('max_bytes: a set larger than the whole budget is not kept, and counted', () => {
    const d = extended({ pending: { maxBytes: 1000 } });
    d.decode(v9({}, set(256, new Array(800).fill(1))), FROM);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingBytes, 0);
    assert.equal(d.stats.pendingEvicted.size, 1);
    assert.equal(d.stats.dataSetsWithoutTemplate, 1);
  });

  it('a flood of one-byte sets for every template id from many sources stays within max_bytes', () => {
    const maxBytes = 256 * 1024;
    const d = extended({ pending: { maxBytes } });
    let peak = 0;
    for (let source = 0; source < 40; source++) {
      // one datagram per source: 1,000 sets of one byte for 1,000 template ids
      const sets = Array.from({ length: 1000 }, (_, i) => set(256 + source * 1000 + i, [7]));
      d.decode(v9({ sourceId: source, count: sets.length }, ...sets), FROM);
      peak = Math.max(peak, d.stats.pendingBytes);
    }
    assert.ok(peak <= maxBytes, `peak ${peak}`);
    // each set pays its own overhead and its key's: the count is bounded by them, not by its bytes
    assert.ok(d.stats.pendingSets <= maxBytes / (1 + PENDING_SET_OVERHEAD + PENDING_KEY_OVERHEAD));
    assert.equal(d.stats.pendingSets + d.stats.pendingEvicted.size, 40_000);
  });

  describe('max_age (injected clock; swept at most once a second)', () => {
    function clocked(maxAgeMs = 60_000) {
      let now = 1_000_000;
      const d = extended({ pending: { maxAgeMs }, now: () => now });
      return { d, advance: (ms: number) => (now += ms) };
    }

    it('a set as old as max_age is still replayed', () => {
      const { d, advance } = clocked();
      d.decode(v9({}, v9Data('10.0.0.1')), FROM);
      advance(60_000);
      assert.deepEqual(addresses(d.decode(v9({}, V9_TEMPLATE), FROM).records), ['10.0.0.1']);
      assert.deepEqual(d.stats.pendingEvicted, NO_EVICTIONS);
    });

    it('an older one is evicted (reason age) by the next sweep, from maybeSweep or decode', () => {
      const { d, advance } = clocked();
      d.decode(v9({}, v9Data('10.0.0.1')), FROM);
      advance(30_000);
      d.decode(v9({}, v9Data('10.0.0.2')), FROM);
      advance(31_000);
      d.maybeSweep();
      assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, age: 1 });
      assert.equal(d.stats.pendingSets, 1);
      advance(30_000); // the second one is 61 s old; decode sweeps before it reads the packet
      assert.deepEqual(d.decode(v9({}, V9_TEMPLATE), FROM).records, []);
      assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, age: 2 });
      assert.equal(d.stats.pendingBytes, 0);
    });

    it('sweeps run at most once a second: a set may outlive max_age by less than a second', () => {
      const { d, advance } = clocked();
      d.decode(v9({}, v9Data('10.0.0.1')), FROM); // sweep at t0
      advance(60_000);
      d.maybeSweep(); // sweep at t0 + 60 s: exactly max_age, kept
      advance(999);
      assert.deepEqual(addresses(d.decode(v9({}, V9_TEMPLATE), FROM).records), ['10.0.0.1']);

      const second = clocked();
      second.d.decode(v9({}, v9Data('10.0.0.1')), FROM);
      second.advance(60_000);
      second.d.maybeSweep();
      second.advance(1000);
      assert.deepEqual(second.d.decode(v9({}, V9_TEMPLATE), FROM).records, []);
      assert.equal(second.d.stats.pendingEvicted.age, 1);
    });

    it('a clock set back does not stop the sweeps until it catches up', () => {
      const { d, advance } = clocked(1000);
      advance(3_600_000);
      d.maybeSweep(); // a sweep an hour ahead
      advance(-3_600_000);
      d.decode(v9({}, v9Data('10.0.0.1')), FROM);
      advance(5000);
      d.maybeSweep();
      assert.equal(d.stats.pendingEvicted.age, 1);
    });
  });
});

describe("R1: sequence reset drops the session's pending sets", () => {
  it('a jump of 1000 or more, even when the session has no template yet (reason reset)', () => {
    const d = extended({ detectSequenceReset: true });
    d.decode(v9({ sequence: 5000 }, v9Data('10.0.0.1'), v9Data('10.0.0.2', 257)), FROM);
    d.decode(v9({ sequence: 5001, sourceId: 9 }, v9Data('10.0.9.1')), FROM); // another session
    assert.equal(d.stats.pendingSets, 3);
    // the exporter restarted: its old data must not meet the new templates
    assert.deepEqual(d.decode(v9({ sequence: 1 }, V9_TEMPLATE), FROM).records, []);
    assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, reset: 2 });
    assert.equal(d.stats.pendingSets, 1);
    assert.deepEqual(addresses(d.decode(v9({ sequence: 5002, sourceId: 9 }, V9_TEMPLATE), FROM).records), [
      '10.0.9.1',
    ]);
  });

  it('with templates in the session: the templates and the pending sets go together', () => {
    const d = extended({ detectSequenceReset: true });
    d.decode(v9({ sequence: 10 }, set(0, v9Template(257, [[SRC_PORT, 2]]))), FROM);
    d.decode(v9({ sequence: 11 }, v9Data('10.0.0.1')), FROM);
    d.decode(v9({ sequence: 90_000 }, v9Data('10.0.0.2')), FROM); // the reset, then this packet's set is kept
    assert.equal(d.stats.sequenceResets, 1);
    assert.equal(d.stats.pendingEvicted.reset, 1);
    assert.deepEqual(addresses(d.decode(v9({ sequence: 90_001 }, V9_TEMPLATE), FROM).records), ['10.0.0.2']);
  });

  it('IPFIX: a 1000-record jump; small steps keep them', () => {
    const d = extended({ detectSequenceReset: true });
    for (let seq = 0; seq <= 4500; seq += 900)
      d.decode(ipfix({ sequence: seq }, ipfixData(`10.0.0.${seq / 900}`)), FROM);
    assert.equal(d.stats.pendingSets, 6);
    d.decode(ipfix({ sequence: 4500 + 1000 }), FROM);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingEvicted.reset, 6);
  });

  it('detect_sequence_reset false keeps them', () => {
    const d = extended({ detectSequenceReset: false });
    d.decode(v9({ sequence: 5000 }, v9Data('10.0.0.1')), FROM);
    assert.deepEqual(addresses(d.decode(v9({ sequence: 1 }, V9_TEMPLATE), FROM).records), ['10.0.0.1']);
    assert.equal(d.stats.pendingEvicted.reset, 0);
  });
});

describe('R1 + R5: withdrawal drops the pending sets of the withdrawn ids', () => {
  const withdraw = (id: number) => set(2, [...u16(id), ...u16(0)]);

  it('one id: its sets go (reason withdrawn), other ids stay', () => {
    const d = extended();
    d.decode(ipfix({}, ipfixData('10.0.0.1'), ipfixData('10.0.0.2', 257)), FROM);
    d.decode(ipfix({}, withdraw(256)), FROM);
    assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, withdrawn: 1 });
    assert.deepEqual(d.decode(ipfix({}, IPFIX_TEMPLATE), FROM).records, []);
    const t257 = set(2, ipfixTemplate(257, [[SRC_ADDR, 4]]));
    assert.deepEqual(addresses(d.decode(ipfix({}, t257), FROM).records), ['10.0.0.2']);
  });

  it('withdrawal then a new definition in one set: the old data is not decoded with the new layout', () => {
    const d = extended();
    d.decode(ipfix({}, ipfixData('10.0.0.1')), FROM);
    const { records } = d.decode(
      ipfix(
        {},
        set(
          2,
          [...u16(256), ...u16(0)],
          ipfixTemplate(256, [
            [SRC_PORT, 2],
            [IN_PKTS, 2],
          ]),
        ),
      ),
      FROM,
    );
    assert.deepEqual(records, []);
    assert.equal(d.stats.pendingEvicted.withdrawn, 1);
  });

  it('all data templates (id 2) or all options templates (id 3): every pending set of the session goes', () => {
    for (const all of [set(2, [...u16(2), ...u16(0)]), set(3, [...u16(3), ...u16(0)])]) {
      const d = extended();
      d.decode(ipfix({}, ipfixData('10.0.0.1'), ipfixData('10.0.0.2', 257)), FROM);
      d.decode(ipfix({ domain: 5 }, ipfixData('10.0.5.1')), FROM);
      d.decode(ipfix({}, all), FROM);
      assert.deepEqual(d.stats.pendingEvicted, { ...NO_EVICTIONS, withdrawn: 2 });
      assert.equal(d.stats.pendingSets, 1, 'the other session keeps its set');
    }
  });
});

describe('R1: a packet that fails to decode', () => {
  it('its own sets are not kept pending (its records are lost, as for any failed packet)', () => {
    const d = extended();
    assert.throws(() => d.decode(v9({}, v9Data('10.0.0.1'), set(5, [1, 2, 3, 4])), FROM), {
      reason: 'bad_set_id',
    });
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingBytes, 0);
    assert.deepEqual(d.decode(v9({}, V9_TEMPLATE), FROM).records, []);
  });

  it('records its template replayed from earlier packets ride along on the error', () => {
    const d = extended();
    d.decode(v9({}, v9Data('10.0.0.1')), FROM);
    let thrown: unknown;
    try {
      // the template, a same-packet data set, then a reserved set id
      d.decode(v9({ sequence: 1 }, V9_TEMPLATE, v9Data('10.0.0.2'), set(5, [1, 2, 3, 4])), FROM);
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof DecodeError);
    assert.equal(thrown.reason, 'bad_set_id');
    assert.deepEqual(addresses(replayedRecords(thrown)), ['10.0.0.1']);
    assert.equal(replayedRecords(thrown)[0].exporter.sequence, 0);
    assert.deepEqual(replayedRecords(new DecodeError('x', 'y')), []);
    // the template was learned before the failing set, as without pending data
    assert.equal(d.decode(v9({ sequence: 2 }, v9Data('10.0.0.3')), FROM).records.length, 1);
  });

  it('a pending set its template cannot decode is skipped and counted; the packet goes on', () => {
    // one 1-byte field and 2,000 zero-length strings: more values than a set may produce
    const fields: [number, number][] = [
      [4, 1],
      ...Array.from({ length: 2000 }, () => [82, 0] as [number, number]),
    ];
    const d = extended();
    d.decode(v9({}, set(300, new Array(1000).fill(6))), FROM);
    d.decode(v9({}, v9Data('10.0.0.1')), FROM);
    const { records } = d.decode(v9({}, set(0, v9Template(300, fields)), V9_TEMPLATE), FROM);
    assert.deepEqual(addresses(records), ['10.0.0.1']);
    assert.equal(d.stats.pendingFailedSets, 1);
    assert.equal(d.stats.pendingReplayedSets, 2);
  });
});

describe('R1: filebeat compatibility keeps nothing', () => {
  it('data before its template is counted and dropped; no pending metrics move', () => {
    const d = decoder({ compatibility: 'filebeat', pending: { maxSetsPerTemplate: 1000 } });
    d.decode(v9({}, v9Data('10.0.0.1')), FROM);
    d.decode(ipfix({}, ipfixData('10.0.0.2')), FROM);
    assert.deepEqual(d.decode(v9({}, V9_TEMPLATE), FROM).records, []);
    assert.deepEqual(d.decode(ipfix({}, IPFIX_TEMPLATE), FROM).records, []);
    assert.equal(d.stats.dataSetsWithoutTemplate, 2);
    assert.equal(d.stats.pendingSets, 0);
    assert.equal(d.stats.pendingBytes, 0);
    assert.equal(d.stats.pendingReplayedSets, 0);
    assert.deepEqual(d.stats.pendingEvicted, NO_EVICTIONS);
    assert.equal(d.keepsPendingData, false);
  });
});

describe('R1: options are validated at construction', () => {
  it('rejects a non-positive age, a count below 1 and a byte budget below 1', () => {
    assert.throws(() => extended({ pending: { maxAgeMs: 0 } }), RangeError);
    assert.throws(() => extended({ pending: { maxSetsPerTemplate: 0 } }), RangeError);
    assert.throws(() => extended({ pending: { maxSetsPerTemplate: 1.5 } }), RangeError);
    assert.throws(() => extended({ pending: { maxBytes: 0 } }), RangeError);
  });
});

describe('R1 property: any interleaving yields the in-order records when nothing is evicted', () => {
  const SEED = 0x5eed_0001;

  interface Packet {
    readonly session: number;
    /** Position in its session's stream: 0 is the template packet. */
    readonly step: number;
    readonly buf: Buffer;
    readonly from: { ip: string; address: string };
  }

  /**
   * Sessions of v9 and IPFIX packets: each a template packet (data and options templates, with a
   * data set before the template set in it) then data packets with data and options data.
   */
  function sessions(dataCounts: readonly number[]): Packet[][] {
    return dataCounts.map((count, session) => {
      const isIpfix = session % 2 === 1;
      const from = { ip: '192.0.2.1', address: `192.0.2.1:${4000 + (session % 3)}` };
      const sourceId = session;
      const packets: Packet[] = [];
      const dataSet = (step: number, i: number) =>
        set(256, ip4(`10.${session}.${step}.${i}`), u16(step * 10 + i));
      const optionsSet = (step: number) => set(300, u32(session), u32(step + 1));
      const header = (step: number) =>
        isIpfix
          ? { exportTime: 1_600_000_000 + step, sequence: step * 3, domain: sourceId }
          : { secs: 1_600_000_000 + step, uptime: step * 1000, sequence: step, sourceId };
      const build = (step: number, ...sets: number[][]) =>
        isIpfix ? ipfix(header(step), ...sets) : v9(header(step), ...sets);
      const templates = isIpfix
        ? [
            set(
              2,
              ipfixTemplate(256, [
                [SRC_ADDR, 4],
                [SRC_PORT, 2],
              ]),
            ),
            set(
              3,
              ipfixOptionsTemplate(300, 1, [
                [149, 4],
                [34, 4],
              ]),
            ),
          ]
        : [
            set(
              0,
              v9Template(256, [
                [SRC_ADDR, 4],
                [SRC_PORT, 2],
              ]),
            ),
            set(1, v9OptionsTemplate(300, [[1, 4]], [[34, 4]])),
          ];
      packets.push({ session, step: 0, from, buf: build(0, dataSet(0, 0), ...templates, dataSet(0, 1)) });
      for (let step = 1; step <= count; step++) {
        const sets = [dataSet(step, 0), optionsSet(step), dataSet(step, 1)];
        packets.push({ session, step, from, buf: build(step, ...sets) });
      }
      return packets;
    });
  }

  function decodeAll(packets: readonly Packet[]) {
    const d = extended({ detectSequenceReset: true });
    const records: DecodedRecord[] = [];
    for (const p of packets) records.push(...d.decode(p.buf, p.from).records);
    return { d, records };
  }

  it(`random interleavings of 1-6 sessions (seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }).chain((counts) => {
          const all = sessions(counts).flat();
          return fc.tuple(
            fc.constant(counts),
            fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
          );
        }),
        ([counts, shuffled]) => {
          // in order: each session's template first, sessions one after another
          const inOrder = decodeAll(sessions(counts).flat());
          const mixed = decodeAll(shuffled);
          assert.deepEqual(multiset(mixed.records), multiset(inOrder.records));
          // no datagram is lost and nothing is left waiting
          assert.equal(mixed.records.length, inOrder.records.length);
          assert.equal(mixed.d.stats.pendingSets, 0);
          assert.equal(mixed.d.stats.pendingBytes, 0);
          assert.deepEqual(mixed.d.stats.pendingEvicted, NO_EVICTIONS);
          // each session's records in order of its own packets, whatever order they came in
          for (let s = 0; s < counts.length; s++) {
            const mine = mixed.records.filter((r) => r.exporter.sourceId === s);
            const positions = shuffled.filter((p) => p.session === s).map((p) => p.step);
            const firstTemplate = positions.indexOf(0);
            const waited = positions.slice(0, firstTemplate);
            // the pending sets come out in arrival order, then the rest as they arrive
            const order = [...waited, ...positions.slice(firstTemplate)];
            const seen = [...new Set(mine.map((r) => r.exporter.timestamp.getTime() / 1000 - 1_600_000_000))];
            assert.deepEqual(seen, order);
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});
