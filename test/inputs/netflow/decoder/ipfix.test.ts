/**
 * IPFIX (RFC 7011) with Filebeat's parsing rules and flowship's withdrawal handling (NETFLOW.md
 * 1.5, 1.6, R5): messages built byte by byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../../../src/util/errors.ts';
import {
  ascii,
  decoder,
  FROM,
  flows,
  ip4,
  ipfix,
  ipfixOptionsTemplate,
  ipfixTemplate,
  options,
  type Spec,
  set,
  u16,
  u32,
  u64,
  varlen,
  zeros,
} from './packets.ts';

const OCTETS = 1;
const PROTO = 4;
const SRC_PORT = 7;
const SRC_ADDR = 8;
const DST_ADDR = 12;
const INTERFACE_NAME = 82;
const APPLICATION_ID = 95;
const SAMPLING_INTERVAL = 34;

const T256: Spec[] = [
  [SRC_ADDR, 4],
  [DST_ADDR, 4],
  [PROTO, 1],
];
const r256 = (n: number) => [...ip4(`10.0.0.${n}`), ...ip4('10.0.1.1'), 17];
const f256 = (n: number) => ({
  source_ipv4_address: `10.0.0.${n}`,
  destination_ipv4_address: '10.0.1.1',
  protocol_identifier: 17,
});
/** Options template 400: scope exporting process (IE 144, u32), option samplingInterval. */
const T400 = ipfixOptionsTemplate(400, 1, [
  [144, 4],
  [SAMPLING_INTERVAL, 4],
]);
const r400 = [...u32(1), ...u32(100)];

const isDecodeError = (reason: string) => (e: unknown) => e instanceof DecodeError && e.reason === reason;

describe('IPFIX message layout', () => {
  it('header -> exporter (uptime 0, source_id = observation domain); bytes after `length` ignored', () => {
    const msg = ipfix(
      { exportTime: 1_511_274_735, sequence: 12_226_053, domain: 2_887_138_561 },
      set(2, ipfixTemplate(256, T256)),
      set(256, r256(1), r256(2)),
    );
    const buf = Buffer.concat([msg, Buffer.from([0x00, 0x0a, 0xff, 0xff])]);
    const { records, consumed } = decoder().decode(buf, FROM);
    assert.equal(consumed, msg.length);
    assert.deepEqual(flows(records), [f256(1), f256(2)]);
    assert.deepEqual(records[0].exporter, {
      version: 10,
      timestamp: new Date(1_511_274_735_000),
      uptimeMillis: 0,
      address: '192.0.2.1:4444',
      ip: '192.0.2.1',
      sourceId: 2_887_138_561,
      sequence: 12_226_053,
    });
  });

  it('length below 16 or beyond the datagram, or a header under 16 bytes, is a decode error', () => {
    assert.throws(() => decoder().decode(ipfix({ length: 15 }), FROM), isDecodeError('bad_length'));
    assert.throws(() => decoder().decode(ipfix({ length: 40 }, zeros(8)), FROM), isDecodeError('bad_length'));
    assert.throws(() => decoder().decode(ipfix({}).subarray(0, 15), FROM), isDecodeError('short_header'));
  });

  it('set ids 0, 1 and 4-255 are decode errors; 2 and 3 are template sets', () => {
    for (const id of [0, 1, 4, 255]) {
      assert.throws(() => decoder().decode(ipfix({}, set(id, zeros(4))), FROM), isDecodeError('bad_set_id'));
    }
  });

  it('stops at a (0,0) set header and at a set longer than the message; earlier records kept', () => {
    const d = decoder();
    d.decode(ipfix({}, set(2, ipfixTemplate(256, T256))), FROM);
    const padded = ipfix({}, set(256, r256(1)), zeros(4), set(256, r256(2)));
    assert.deepEqual(flows(d.decode(padded, FROM).records), [f256(1)]);
    const long = [...u16(256), ...u16(200), ...r256(3)];
    assert.deepEqual(flows(d.decode(ipfix({}, set(256, r256(4)), long), FROM).records), [f256(4)]);
  });

  it('a decode error discards the whole message but keeps templates of the sets before it', () => {
    const d = decoder();
    assert.throws(
      () => d.decode(ipfix({}, set(2, ipfixTemplate(256, T256)), set(256, r256(1)), set(5, zeros(4))), FROM),
      DecodeError,
    );
    assert.deepEqual(flows(d.decode(ipfix({}, set(256, r256(2))), FROM).records), [f256(2)]);
  });
});

describe('IPFIX templates', () => {
  it('enterprise-specific fields: the E bit, a 4-byte PEN, (PEN, id) lookup; unknown PENs skipped', () => {
    const t: Spec[] = [
      [1, 8, 29305], // reverseOctetDeltaCount
      [33, 2, 6871], // CERT silkAppLabel
      [4321, 8, 41916], // viptelaVPNId
      [1, 4, 4_000_000], // unknown PEN: skipped, 4 bytes
      [OCTETS, 8],
    ];
    const data = [...u64(200n), ...u16(53), ...u64(100n), ...u32(0xffffffff), ...u64(7n)];
    const { records } = decoder().decode(ipfix({}, set(2, ipfixTemplate(300, t)), set(300, data)), FROM);
    assert.deepEqual(flows(records), [
      { reverse_octet_delta_count: 200, silk_app_label: 53, viptela_vpn_id: 100, octet_delta_count: 7 },
    ]);
  });

  it('variable-length fields: 1-byte lengths and the 255 + u16 form; records until the body ends', () => {
    const t: Spec[] = [
      [SRC_PORT, 2],
      [INTERFACE_NAME, 0xffff],
      [APPLICATION_ID, 0xffff],
    ];
    const long = 'y'.repeat(1000);
    const body = [
      ...u16(1),
      ...varlen(ascii('eth0')),
      ...varlen([3, 0, 0, 80]),
      ...u16(2),
      ...varlen(ascii(long)),
      ...varlen([]),
      ...u16(3),
      255,
      ...u16(2),
      ...ascii('ab'), // 255 + u16 form for a short value is legal too
      0,
    ];
    const { records } = decoder().decode(ipfix({}, set(2, ipfixTemplate(300, t)), set(300, body)), FROM);
    assert.deepEqual(flows(records), [
      { source_transport_port: 1, interface_name: 'eth0', application_id: [3, 0, 0, 80] },
      { source_transport_port: 2, interface_name: long, application_id: [] },
      { source_transport_port: 3, interface_name: 'ab', application_id: [] },
    ]);
  });

  it('a truncated last variable-length record is discarded', () => {
    const t: Spec[] = [
      [SRC_PORT, 2],
      [INTERFACE_NAME, 0xffff],
    ];
    const body = [...u16(1), ...varlen(ascii('eth0')), ...u16(2), 10, ...ascii('abc')];
    const { records } = decoder().decode(ipfix({}, set(2, ipfixTemplate(300, t)), set(300, body)), FROM);
    assert.deepEqual(flows(records), [{ source_transport_port: 1, interface_name: 'eth0' }]);
  });

  it('[inferred] zero padding long enough for a variable-length record decodes as one', () => {
    const t: Spec[] = [[INTERFACE_NAME, 0xffff]];
    const { records } = decoder().decode(
      ipfix({}, set(2, ipfixTemplate(300, t)), set(300, varlen(ascii('a')), [0, 0])),
      FROM,
    );
    assert.deepEqual(flows(records), [
      { interface_name: 'a' },
      { interface_name: '' },
      { interface_name: '' },
    ]);
  });

  it('template id below 256, and fewer than 2 x field_count bytes, are decode errors', () => {
    assert.throws(
      () => decoder().decode(ipfix({}, set(2, ipfixTemplate(200, T256))), FROM),
      isDecodeError('bad_template'),
    );
    const short = [...u16(256), ...u16(4), ...u16(SRC_ADDR), ...u16(4), 0];
    assert.throws(() => decoder().decode(ipfix({}, set(2, short)), FROM), isDecodeError('bad_template'));
  });

  it('4-7 trailing bytes of a template set are padding whatever they hold, in both modes', () => {
    for (const compatibility of ['filebeat', 'extended'] as const) {
      for (const junk of [
        [0x01, 0x00, 0x00, 0x05],
        [0x00, 0x05, 0x00, 0x00],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      ]) {
        const d = decoder({ compatibility });
        const msg = ipfix({}, set(2, ipfixTemplate(256, T256), junk), set(256, r256(1)));
        assert.deepEqual(flows(d.decode(msg, FROM).records), [f256(1)], `${compatibility} ${junk}`);
      }
    }
  });

  it('a template running past the set end is dropped silently, templates before it kept', () => {
    const d = decoder();
    // 3 specifiers announced, the third has the E bit and its PEN is cut off
    const cut = [
      ...u16(301),
      ...u16(3),
      ...u16(SRC_ADDR),
      ...u16(4),
      ...u16(DST_ADDR),
      ...u16(4),
      ...u16(0x8001),
      ...u16(4),
    ];
    d.decode(ipfix({}, set(2, ipfixTemplate(256, T256), cut)), FROM);
    assert.equal(d.templateCount, 1);
  });

  it('a decode error in a template set loses the templates before it in that set (Filebeat)', () => {
    const d = decoder();
    assert.throws(
      () => d.decode(ipfix({}, set(2, ipfixTemplate(256, T256), ipfixTemplate(7, T256))), FROM),
      DecodeError,
    );
    assert.equal(d.templateCount, 0);
  });

  it('options templates: scope fields then option fields', () => {
    const { records } = decoder().decode(ipfix({ domain: 5 }, set(3, T400), set(400, r400, r400)), FROM);
    assert.deepEqual(
      options(records).map((r) => [r.scope, r.options, r.templateId]),
      [
        [{ exporting_process_id: 1 }, { sampling_interval: 100 }, 400],
        [{ exporting_process_id: 1 }, { sampling_interval: 100 }, 400],
      ],
    );
  });

  it('options templates: scope count 0 or above field_count, an id below 256, truncation are decode errors', () => {
    const bad = [
      ipfixOptionsTemplate(400, 0, [[144, 4]]),
      ipfixOptionsTemplate(400, 2, [[144, 4]]),
      ipfixOptionsTemplate(200, 1, [[144, 4]]),
      ipfixOptionsTemplate(400, 1, [
        [144, 4],
        [SAMPLING_INTERVAL, 4],
      ]).slice(0, 10),
    ];
    for (const body of bad) {
      for (const compatibility of ['filebeat', 'extended'] as const) {
        assert.throws(
          () => decoder({ compatibility }).decode(ipfix({}, set(3, body)), FROM),
          isDecodeError('bad_options_template'),
        );
      }
    }
  });
});

describe('IPFIX template withdrawal (RFC 7011 §8.1)', () => {
  /** A session with data templates 256 and 257 and options template 400. */
  function learned(compatibility: 'filebeat' | 'extended') {
    const d = decoder({ compatibility });
    d.decode(
      ipfix({}, set(2, ipfixTemplate(256, T256), ipfixTemplate(257, [[SRC_PORT, 2]])), set(3, T400)),
      FROM,
    );
    assert.equal(d.templateCount, 3);
    return d;
  }
  const data = () => ipfix({}, set(256, r256(1)), set(257, u16(80)), set(400, r400));
  const decoded = (d: ReturnType<typeof decoder>) => d.decode(data(), FROM).records.map((r) => r.templateId);

  it('extended: field_count 0 withdraws that template id (a 4-byte record)', () => {
    const d = learned('extended');
    d.decode(ipfix({}, set(2, u16(256), u16(0))), FROM);
    assert.deepEqual(decoded(d), [257, 400]);
    assert.equal(d.stats.templatesWithdrawn, 1);
  });

  it('extended: template id 2 with field_count 0 withdraws all data templates, not options ones', () => {
    const d = learned('extended');
    d.decode(ipfix({}, set(2, u16(2), u16(0))), FROM);
    assert.deepEqual(decoded(d), [400]);
    assert.equal(d.stats.templatesWithdrawn, 2);
  });

  it('extended: an options withdrawal is 4 bytes; id 3 withdraws all options templates', () => {
    const single = learned('extended');
    single.decode(ipfix({}, set(3, u16(400), u16(0))), FROM);
    assert.deepEqual(decoded(single), [256, 257]);
    const all = learned('extended');
    all.decode(ipfix({}, set(3, u16(3), u16(0), zeros(4))), FROM);
    assert.deepEqual(decoded(all), [256, 257]);
  });

  it('extended: a withdrawal and a new definition in one set apply in order', () => {
    const d = learned('extended');
    d.decode(ipfix({}, set(2, u16(256), u16(0), ipfixTemplate(256, [[SRC_PORT, 2]]))), FROM);
    assert.deepEqual(flows(d.decode(ipfix({}, set(256, u16(8080))), FROM).records), [
      { source_transport_port: 8080 },
    ]);
  });

  it('extended: a withdrawal in a set that then fails to parse is not applied', () => {
    const d = learned('extended');
    assert.throws(
      () => d.decode(ipfix({}, set(2, u16(256), u16(0), ipfixTemplate(7, T256))), FROM),
      DecodeError,
    );
    assert.deepEqual(decoded(d), [256, 257, 400]);
  });

  it('filebeat: the 4-byte withdrawal record is skipped, the template kept', () => {
    const d = learned('filebeat');
    d.decode(ipfix({}, set(2, u16(256), u16(0), u16(257), u16(0))), FROM);
    assert.deepEqual(decoded(d), [256, 257, 400]);
    assert.equal(d.stats.templatesWithdrawn, 0);
  });

  it('filebeat: all-templates withdrawal is rejected as an invalid template id', () => {
    const d = learned('filebeat');
    assert.throws(
      () => d.decode(ipfix({}, set(2, u16(2), u16(0), zeros(4))), FROM),
      isDecodeError('bad_template'),
    );
    assert.deepEqual(decoded(d), [256, 257, 400]);
  });

  it('filebeat: a 4-byte options withdrawal is misread as a 6-byte header (decode error)', () => {
    const d = learned('filebeat');
    assert.throws(
      () => d.decode(ipfix({}, set(3, u16(400), u16(0), u16(401), u16(0))), FROM),
      isDecodeError('bad_options_template'),
    );
    assert.deepEqual(decoded(d), [256, 257, 400]);
  });

  it('extended mode still decodes data templates as filebeat mode does', () => {
    for (const compatibility of ['filebeat', 'extended'] as const) {
      const d = learned(compatibility);
      assert.deepEqual(flows(d.decode(ipfix({}, set(256, r256(5))), FROM).records), [f256(5)]);
      assert.equal(options(d.decode(ipfix({}, set(400, r400)), FROM).records).length, 1);
    }
  });
});
