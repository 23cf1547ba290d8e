/**
 * Sequence-number tracking (issue 5 point 5): gaps, lost-record estimates and reordered packets
 * per stream, beside Filebeat's reset rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetflowDecoder } from '../../../../src/inputs/netflow/decoder/decoder.ts';
import { netflowV5Datagram } from '../../../helpers/netflow-v5.ts';
import {
  decoder,
  FROM,
  ipfix,
  ipfixTemplate,
  legacy,
  legacyHeader,
  packet,
  set,
  u32,
  v9,
  v9Template,
  zeros,
} from './packets.ts';

const OTHER = { ip: '192.0.2.2', address: '192.0.2.2:4444' };

function counters(d: NetflowDecoder) {
  const { sequenceGaps, lostRecordsEstimate, sequenceOutOfOrder, sequenceResets } = d.stats;
  return {
    gaps: sequenceGaps,
    lost: lostRecordsEstimate,
    outOfOrder: sequenceOutOfOrder,
    resets: sequenceResets,
  };
}

const NONE = { gaps: 0, lost: 0, outOfOrder: 0, resets: 0 };

// ---- v9: package_sequence counts packets --------------------------------------------------------

const V9_TEMPLATE = set(0, v9Template(256, [[8, 4]]));
const v9Data = (sequence: number, sourceId = 0, records = 1) =>
  v9({ sequence, sourceId }, set(256, ...Array.from({ length: records }, (_, i) => u32(0x0a000001 + i))));

// ---- IPFIX: sequence counts data records --------------------------------------------------------

const IPFIX_TEMPLATE = set(2, ipfixTemplate(256, [[8, 4]]));
const ipfixData = (sequence: number, records: number, domain = 0) =>
  ipfix({ sequence, domain }, set(256, ...Array.from({ length: records }, (_, i) => u32(0x0a000001 + i))));

describe('sequence tracking: NetFlow v5/v7/v8 (flow_sequence counts flows)', () => {
  it('counts a missing datagram as one gap losing its flows', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(0, 30), FROM);
    d.decode(netflowV5Datagram(30, 30), FROM);
    assert.deepEqual(counters(d), NONE);
    // flows 60..79 (one datagram of 20) never arrive
    d.decode(netflowV5Datagram(80, 10), FROM);
    d.decode(netflowV5Datagram(90, 5), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 20 });
  });

  it('counts nothing on the first packet, nor for v1 or v6', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(12345, 3), FROM);
    const record = zeros(48);
    d.decode(legacy(1, {}, record), FROM);
    d.decode(legacy(1, {}, record), FROM);
    d.decode(packet(legacyHeader(6, { sequence: 1 }, 1), zeros(52)), FROM);
    d.decode(packet(legacyHeader(6, { sequence: 500 }, 1), zeros(52)), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('does not take the wrap at 2^32 for a gap', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(0xffff_fff0, 16), FROM);
    d.decode(netflowV5Datagram(0, 4), FROM);
    d.decode(netflowV5Datagram(4, 4), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('counts a reordered datagram as out of order, not lost, and keeps the expectation', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(0, 10), FROM);
    d.decode(netflowV5Datagram(20, 10), FROM); // 10..19 missing so far
    d.decode(netflowV5Datagram(10, 10), FROM); // late
    d.decode(netflowV5Datagram(30, 10), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 10, outOfOrder: 1 });
  });

  it('takes a jump of 1000 or more as a restart: no gap', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(5000, 10), FROM);
    d.decode(netflowV5Datagram(6010, 10), FROM);
    d.decode(netflowV5Datagram(0, 10), FROM);
    d.decode(netflowV5Datagram(10, 10), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('tracks exporters, engines, v7 and v8 streams apart', () => {
    const d = decoder();
    d.decode(netflowV5Datagram(0, 10), FROM);
    d.decode(netflowV5Datagram(500, 10), OTHER);
    d.decode(netflowV5Datagram(10, 10), FROM);
    d.decode(netflowV5Datagram(510, 10), OTHER);
    const engine1 = (sequence: number) => legacy(5, { sequence, engineId: 1 }, zeros(48));
    d.decode(engine1(700), FROM);
    d.decode(engine1(701), FROM);
    assert.deepEqual(counters(d), NONE);
    d.decode(engine1(705), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 3 });
    const v7 = (sequence: number) => legacy(7, { sequence }, zeros(52));
    d.decode(v7(100), FROM);
    d.decode(v7(101), FROM);
    d.decode(v7(103), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 2, lost: 4 });
    // v8 RouterAS (28-byte records)
    const v8 = (sequence: number) =>
      legacy(8, { sequence, aggregation: 1, aggregationVersion: 2 }, zeros(28), zeros(28));
    d.decode(v8(0), FROM);
    d.decode(v8(2), FROM);
    d.decode(v8(6), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 3, lost: 6 });
  });

  it('bounds the streams it remembers, counting evictions', () => {
    const d = decoder({ limits: { maxSessions: 2, maxTemplatesPerSession: 16, maxTemplateFields: 1000 } });
    const from = (i: number) => ({ ip: `192.0.2.${i}`, address: `192.0.2.${i}:1` });
    for (let i = 1; i <= 3; i++) d.decode(netflowV5Datagram(0, 1), from(i));
    assert.equal(d.stats.sequenceStreamsEvicted, 1);
    // the first exporter was forgotten: its next packet is taken as is
    d.decode(netflowV5Datagram(50, 1), from(1));
    assert.deepEqual(counters(d), NONE);
  });
});

describe('sequence tracking: NetFlow v9 (package_sequence counts packets)', () => {
  it('counts a skipped packet as one lost', () => {
    const d = decoder();
    d.decode(v9({ sequence: 1 }, V9_TEMPLATE), FROM);
    d.decode(v9Data(2, 0, 3), FROM);
    d.decode(v9Data(4, 0, 3), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 1 });
  });

  it('does not take the wrap at 2^32 for a gap', () => {
    const d = decoder();
    d.decode(v9({ sequence: 0xffff_ffff }, V9_TEMPLATE), FROM);
    d.decode(v9Data(0), FROM);
    d.decode(v9Data(1), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('counts a jump of 1000 or more as a reset, not a gap', () => {
    const d = decoder();
    d.decode(v9({ sequence: 10 }, V9_TEMPLATE), FROM);
    d.decode(v9({ sequence: 2000 }, V9_TEMPLATE), FROM);
    d.decode(v9Data(2001), FROM);
    assert.deepEqual(counters(d), { ...NONE, resets: 1 });
  });

  it('counts a reordered packet as out of order', () => {
    const d = decoder();
    d.decode(v9({ sequence: 10 }, V9_TEMPLATE), FROM);
    d.decode(v9Data(12), FROM);
    d.decode(v9Data(11), FROM);
    d.decode(v9Data(13), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 1, outOfOrder: 1 });
  });

  it('tracks sessions (exporter, source id) apart', () => {
    const d = decoder();
    d.decode(v9({ sequence: 1, sourceId: 1 }, V9_TEMPLATE), FROM);
    d.decode(v9({ sequence: 100, sourceId: 2 }, V9_TEMPLATE), FROM);
    d.decode(v9({ sequence: 300, sourceId: 1 }, V9_TEMPLATE), OTHER);
    d.decode(v9Data(2, 1), FROM);
    d.decode(v9Data(101, 2), FROM);
    d.decode(v9Data(301, 1), OTHER);
    assert.deepEqual(counters(d), NONE);
    d.decode(v9Data(103, 2), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 1 });
  });
});

describe('sequence tracking: IPFIX (sequence counts data records)', () => {
  for (const compatibility of ['filebeat', 'extended'] as const) {
    it(`counts a missing message of N data records as N lost (${compatibility})`, () => {
      const d = decoder({ compatibility });
      d.decode(ipfix({ sequence: 0 }, IPFIX_TEMPLATE), FROM); // templates are not counted
      d.decode(ipfixData(0, 5), FROM);
      d.decode(ipfix({ sequence: 5 }, IPFIX_TEMPLATE), FROM); // template only, in between
      d.decode(ipfixData(5, 3), FROM);
      assert.deepEqual(counters(d), NONE);
      // the message of 7 records at 8 never arrives
      d.decode(ipfixData(15, 2), FROM);
      d.decode(ipfixData(17, 1), FROM);
      assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 7 });
    });
  }

  it('counts options data records', () => {
    const d = decoder();
    const optionsTemplate = set(3, [0x01, 0x01, 0, 2, 0, 1, 0, 149, 0, 4, 0, 41, 0, 8]);
    d.decode(ipfix({ sequence: 0 }, optionsTemplate), FROM);
    d.decode(ipfix({ sequence: 0 }, set(257, u32(1), u32(0), u32(9), u32(2), u32(0), u32(9))), FROM);
    d.decode(ipfix({ sequence: 2 }, set(257, u32(1), u32(0), u32(9))), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('does not take the wrap at 2^32 for a gap', () => {
    const d = decoder();
    d.decode(ipfix({ sequence: 0xffff_fffe }, IPFIX_TEMPLATE), FROM);
    d.decode(ipfixData(0xffff_fffe, 4), FROM);
    d.decode(ipfixData(2, 1), FROM);
    assert.deepEqual(counters(d), NONE);
  });

  it('counts a reordered message as out of order, not lost', () => {
    const d = decoder();
    d.decode(ipfix({ sequence: 0 }, IPFIX_TEMPLATE), FROM);
    d.decode(ipfixData(0, 4), FROM);
    d.decode(ipfixData(8, 4), FROM); // 4..7 missing so far
    d.decode(ipfixData(4, 4), FROM); // late
    d.decode(ipfixData(12, 4), FROM);
    assert.deepEqual(counters(d), { ...NONE, gaps: 1, lost: 4, outOfOrder: 1 });
  });

  it('tracks observation domains apart', () => {
    const d = decoder();
    d.decode(ipfix({ sequence: 0, domain: 1 }, IPFIX_TEMPLATE), FROM);
    d.decode(ipfix({ sequence: 900, domain: 2 }, IPFIX_TEMPLATE), FROM);
    d.decode(ipfixData(0, 3, 1), FROM);
    d.decode(ipfixData(900, 3, 2), FROM);
    d.decode(ipfixData(3, 3, 1), FROM);
    d.decode(ipfixData(903, 3, 2), FROM);
    assert.deepEqual(counters(d), NONE);
  });
});
