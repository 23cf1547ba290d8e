/**
 * Template sessions (NETFLOW.md 2): keying, sequence-reset detection, mark-and-sweep expiry with
 * an injected clock, and the session/template caps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoder, FROM, ip4, ipfix, ipfixTemplate, set, u16, v9, v9Template } from './packets.ts';

const SRC_ADDR = 8;
const SRC_PORT = 7;

const V9_TEMPLATE = set(0, v9Template(256, [[SRC_ADDR, 4]]));
const V9_DATA = set(256, ip4('10.1.1.1'));
const IPFIX_TEMPLATE = set(2, ipfixTemplate(256, [[SRC_ADDR, 4]]));
const IPFIX_DATA = set(256, ip4('10.2.2.2'));

const OTHER_PORT = { ip: '192.0.2.1', address: '192.0.2.1:5555' };

function count(d: ReturnType<typeof decoder>, buf: Buffer, from = FROM): number {
  return d.decode(buf, from).records.length;
}

describe('sequence reset detection', () => {
  const cases: [name: string, first: number, next: number, reset: boolean][] = [
    ['+999', 5000, 5999, false],
    ['+1000', 5000, 6000, true],
    ['-999', 5000, 4001, false],
    ['-1000', 5000, 4000, true],
    ['wrap-around at 2^32 (+16)', 0xffff_fff0, 0, false],
    ['wrap-around at 2^32 (-16)', 0, 0xffff_fff0, false],
    ['wrap-around at 2^32 (+1000)', 0xffff_fc18, 0, true],
    ['wrap-around at 2^32 (+999)', 0xffff_fc19, 0, false],
    ['half the sequence space', 0, 0x8000_0000, true],
  ];

  for (const [name, first, next, reset] of cases) {
    it(`v9 ${name}: ${reset ? 'drops' : 'keeps'} the session's templates`, () => {
      const d = decoder({ detectSequenceReset: true });
      d.decode(v9({ sequence: first }, V9_TEMPLATE), FROM);
      const resets = d.stats.sequenceResets;
      assert.equal(count(d, v9({ sequence: next }, V9_DATA)), reset ? 0 : 1);
      assert.equal(d.stats.sequenceResets - resets, reset ? 1 : 0);
    });

    it(`IPFIX ${name}: ${reset ? 'drops' : 'keeps'} the session's templates`, () => {
      const d = decoder({ detectSequenceReset: true });
      d.decode(ipfix({ sequence: first }, IPFIX_TEMPLATE), FROM);
      assert.equal(count(d, ipfix({ sequence: next }, IPFIX_DATA)), reset ? 0 : 1);
    });
  }

  it('the reset happens before the packet is parsed: templates in the resetting packet are learned', () => {
    const d = decoder({ detectSequenceReset: true });
    d.decode(v9({ sequence: 10 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sequence: 90_000 }, V9_TEMPLATE, V9_DATA)), 1);
    assert.equal(d.stats.sequenceResets, 1);
  });

  it('a new session starting at any sequence number keeps its templates, and counts no reset', () => {
    // Filebeat "resets" a new session's empty table when its first sequence is >= 1000: no effect
    // on documents, and flowship does not count a reset that dropped nothing
    const d = decoder({ detectSequenceReset: true });
    assert.equal(count(d, v9({ sequence: 5000 }, V9_TEMPLATE, V9_DATA)), 1);
    assert.equal(count(d, v9({ sequence: 5001 }, V9_DATA)), 1);
    assert.equal(d.stats.sequenceResets, 0);
    const e = decoder({ detectSequenceReset: true });
    e.decode(v9({ sequence: 999 }, V9_TEMPLATE), FROM);
    assert.equal(e.stats.sequenceResets, 0);
  });

  it('the last sequence is remembered in every case, so drift in small steps never resets', () => {
    const d = decoder({ detectSequenceReset: true });
    d.decode(v9({ sequence: 0 }, V9_TEMPLATE), FROM);
    for (let seq = 900; seq <= 9000; seq += 900) assert.equal(count(d, v9({ sequence: seq }, V9_DATA)), 1);
    assert.equal(d.stats.sequenceResets, 0);
  });

  it('is per session: a jump in one source id leaves another untouched', () => {
    const d = decoder({ detectSequenceReset: true });
    d.decode(v9({ sequence: 0, sourceId: 1 }, V9_TEMPLATE), FROM);
    d.decode(v9({ sequence: 0, sourceId: 2 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sequence: 50_000, sourceId: 1 }, V9_DATA)), 0);
    assert.equal(count(d, v9({ sequence: 1, sourceId: 2 }, V9_DATA)), 1);
  });

  it('is off with detectSequenceReset: false', () => {
    const d = decoder({ detectSequenceReset: false });
    d.decode(v9({ sequence: 0 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sequence: 1_000_000 }, V9_DATA)), 1);
    assert.equal(d.stats.sequenceResets, 0);
  });

  it('with share_templates, resets follow the shared (source id) session', () => {
    const d = decoder({ detectSequenceReset: true, shareTemplates: true });
    d.decode(v9({ sequence: 0 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sequence: 500 }, V9_DATA), OTHER_PORT), 1);
    assert.equal(count(d, v9({ sequence: 50_000 }, V9_DATA), OTHER_PORT), 0);
    assert.equal(count(d, v9({ sequence: 50_001 }, V9_DATA), FROM), 0);
  });
});

describe('session keys', () => {
  it('default: exporter ip:port + source id; another port or source id is another session', () => {
    const d = decoder();
    d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA)), 1);
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA), OTHER_PORT), 0);
    assert.equal(count(d, v9({ sourceId: 2 }, V9_DATA)), 0);
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA), { ip: '192.0.2.2', address: '192.0.2.2:4444' }), 0);
    // data-only packets of unknown sessions create none
    assert.equal(d.sessionCount, 1);
    d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), OTHER_PORT);
    assert.equal(d.sessionCount, 2);
  });

  it('share_templates: keyed by source id alone, whatever the address', () => {
    const d = decoder({ shareTemplates: true });
    d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA), OTHER_PORT), 1);
    assert.equal(
      count(d, v9({ sourceId: 1 }, V9_DATA), { ip: '2001:db8::1', address: '[2001:db8::1]:9' }),
      1,
    );
    assert.equal(count(d, v9({ sourceId: 2 }, V9_DATA), OTHER_PORT), 0);
    assert.equal(d.sessionCount, 1);
  });

  it('share_templates applies to IPFIX observation domains too', () => {
    const d = decoder({ shareTemplates: true });
    d.decode(ipfix({ domain: 9 }, IPFIX_TEMPLATE), FROM);
    assert.equal(count(d, ipfix({ domain: 9 }, IPFIX_DATA), OTHER_PORT), 1);
    assert.equal(count(d, ipfix({ domain: 8 }, IPFIX_DATA), OTHER_PORT), 0);
  });

  it('v9 and IPFIX have separate tables: same address, same id 0, same template id', () => {
    for (const shareTemplates of [false, true]) {
      const d = decoder({ shareTemplates });
      d.decode(v9({}, V9_TEMPLATE), FROM);
      assert.equal(count(d, ipfix({}, IPFIX_DATA)), 0);
      d.decode(ipfix({}, set(2, ipfixTemplate(256, [[SRC_PORT, 2]]))), FROM);
      assert.deepEqual(
        d.decode(v9({}, V9_DATA), FROM).records.map((r) => r.type === 'netflow_flow' && r.fields),
        [{ source_ipv4_address: '10.1.1.1' }],
      );
      assert.equal(count(d, ipfix({}, set(256, u16(80)))), 1);
    }
  });
});

describe('expiry (mark and sweep, injected clock)', () => {
  const PERIOD = 60_000;
  function clocked() {
    let now = 1_000_000;
    const d = decoder({ expirationTimeoutMs: PERIOD, now: () => now });
    return { d, advance: (ms: number) => (now += ms) };
  }

  it('a template used within each period survives', () => {
    const { d, advance } = clocked();
    d.decode(v9({}, V9_TEMPLATE), FROM);
    for (let i = 0; i < 5; i++) {
      advance(PERIOD);
      assert.equal(count(d, v9({}, V9_DATA)), 1, `period ${i + 1}`);
    }
    assert.equal(d.stats.templatesExpired, 0);
  });

  it('a template idle for two periods is gone; one period idle is not enough', () => {
    const { d, advance } = clocked();
    d.decode(v9({}, V9_TEMPLATE), FROM);
    advance(PERIOD);
    d.maybeSweep(); // first sweep clears the mark
    assert.equal(d.templateCount, 1);
    advance(PERIOD);
    d.maybeSweep(); // second sweep deletes
    assert.equal(d.templateCount, 0);
    assert.equal(d.stats.templatesExpired, 1);
    assert.equal(count(d, v9({}, V9_DATA)), 0);
  });

  it('a re-announced template counts as used; a received packet keeps the session but not its templates', () => {
    const { d, advance } = clocked();
    d.decode(v9({}, V9_TEMPLATE, set(0, v9Template(257, [[SRC_PORT, 2]]))), FROM);
    advance(PERIOD);
    d.maybeSweep();
    d.decode(v9({}, V9_TEMPLATE), FROM); // 256 re-announced, 257 idle
    advance(PERIOD);
    d.maybeSweep();
    assert.equal(d.templateCount, 1);
    assert.equal(d.sessionCount, 1);
    assert.equal(count(d, v9({}, V9_DATA)), 1);
    assert.equal(count(d, v9({}, set(257, u16(1)))), 0);
  });

  it('sessions without packets for two periods are deleted with their templates', () => {
    const { d, advance } = clocked();
    d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM);
    d.decode(ipfix({ domain: 1 }, IPFIX_TEMPLATE), FROM);
    assert.equal(d.sessionCount, 2);
    advance(PERIOD);
    d.maybeSweep();
    d.decode(v9({ sourceId: 1 }), FROM); // the v9 session is used (no data, templates unmarked)
    advance(PERIOD);
    d.maybeSweep();
    assert.equal(d.sessionCount, 1);
    assert.equal(d.stats.sessionsExpired, 1);
    assert.equal(d.stats.templatesExpired, 2);
  });

  it('a sweep runs at most once per period, also when decode is what triggers it', () => {
    const { d, advance } = clocked();
    d.decode(v9({}, V9_TEMPLATE), FROM);
    advance(PERIOD - 1);
    d.maybeSweep();
    d.maybeSweep();
    advance(1);
    assert.equal(count(d, v9({}, V9_DATA)), 1); // sweep 1 ran first, then the data marked it
    advance(PERIOD);
    d.maybeSweep(); // sweep 2: used since sweep 1, survives
    assert.equal(d.templateCount, 1);
    advance(PERIOD);
    assert.equal(count(d, v9({}, V9_DATA)), 0); // sweep 3 ran before the data: idle since sweep 2
  });

  it('expiration timeout 0 never expires', () => {
    let now = 0;
    const d = decoder({ expirationTimeoutMs: 0, now: () => now });
    d.decode(v9({}, V9_TEMPLATE), FROM);
    now += 365 * 24 * 3600_000;
    d.maybeSweep();
    assert.equal(count(d, v9({}, V9_DATA)), 1);
  });
});

describe('caps', () => {
  it('a new session beyond maxSessions evicts the least recently used one', () => {
    const d = decoder({ limits: { maxSessions: 2, maxTemplatesPerSession: 10, maxTemplateFields: 1000 } });
    d.decode(v9({ sourceId: 1 }, V9_TEMPLATE), FROM);
    d.decode(v9({ sourceId: 2 }, V9_TEMPLATE), FROM);
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA)), 1); // 1 is now the most recently used
    assert.equal(count(d, v9({ sourceId: 3 }, V9_TEMPLATE, V9_DATA)), 1);
    assert.equal(d.sessionCount, 2);
    assert.equal(d.stats.sessionsEvicted, 1);
    assert.equal(count(d, v9({ sourceId: 2 }, V9_DATA)), 0, 'session 2 was evicted');
    assert.equal(count(d, v9({ sourceId: 1 }, V9_DATA)), 1);
    // the cap is per table: IPFIX has its own
    assert.equal(count(d, ipfix({ domain: 3 }, IPFIX_TEMPLATE, IPFIX_DATA)), 1);
  });

  it('data-only packets create no session, so they cannot crowd out exporters that send templates', () => {
    const d = decoder({ limits: { maxSessions: 2, maxTemplatesPerSession: 10, maxTemplateFields: 1000 } });
    d.decode(v9({ sourceId: 7 }, V9_TEMPLATE), FROM);
    for (let port = 1; port <= 100; port++) {
      assert.equal(
        count(d, v9({ sourceId: 7 }, V9_DATA), { ip: '192.0.2.9', address: `192.0.2.9:${port}` }),
        0,
      );
    }
    assert.equal(d.sessionCount, 1);
    assert.equal(d.stats.dataSetsWithoutTemplate, 100);
    assert.equal(count(d, v9({ sourceId: 7 }, V9_DATA)), 1);
  });

  it('the fields of all templates together are bounded: a template beyond the budget is refused', () => {
    const d = decoder({ limits: { maxSessions: 10, maxTemplatesPerSession: 10, maxTemplateFields: 5 } });
    const wide = (id: number, n: number) =>
      set(
        0,
        v9Template(
          id,
          Array.from({ length: n }, () => [SRC_ADDR, 4] as [number, number]),
        ),
      );
    d.decode(v9({ sourceId: 1 }, wide(256, 3)), FROM);
    d.decode(v9({ sourceId: 2 }, wide(256, 3)), FROM); // 3 + 3 > 5: refused
    assert.equal(d.stats.templatesRejected, 1);
    assert.equal(d.stats.templateFields, 3);
    d.decode(v9({ sourceId: 2 }, wide(256, 2)), FROM); // fits
    assert.equal(d.stats.templateFields, 5);
    d.decode(v9({ sourceId: 1 }, wide(256, 1)), FROM); // a smaller replacement frees fields
    assert.equal(d.stats.templateFields, 3);
    d.maybeSweep();
  });

  it('a template whose records would produce too many values is a decode error, not an allocation', () => {
    // one 1-byte field and 2,000 zero-length strings: each byte of data would become 2,001 values
    const fields: [number, number][] = [
      [4, 1],
      ...Array.from({ length: 2000 }, () => [82, 0] as [number, number]),
    ];
    const d = decoder({});
    d.decode(v9({}, set(0, v9Template(300, fields))), FROM);
    assert.throws(() => d.decode(v9({}, set(300, new Array(1000).fill(6))), FROM), {
      reason: 'too_many_values',
    });
    // a few records are fine
    assert.equal(count(d, v9({}, set(300, new Array(8).fill(6)))), 8);
  });

  it('templates beyond maxTemplatesPerSession are refused; replacements still apply', () => {
    const d = decoder({ limits: { maxSessions: 10, maxTemplatesPerSession: 2, maxTemplateFields: 1000 } });
    const t = (id: number, field: number) => set(0, v9Template(id, [[field, field === SRC_ADDR ? 4 : 2]]));
    d.decode(v9({}, t(256, SRC_ADDR), t(257, SRC_ADDR), t(258, SRC_ADDR)), FROM);
    assert.equal(d.templateCount, 2);
    assert.equal(d.stats.templatesRejected, 1);
    assert.equal(count(d, v9({}, set(258, ip4('1.1.1.1')))), 0);
    const { records } = d.decode(v9({}, t(257, SRC_PORT), set(257, u16(99))), FROM);
    assert.deepEqual(
      records.map((r) => r.type === 'netflow_flow' && r.fields),
      [{ source_transport_port: 99 }],
    );
  });
});
