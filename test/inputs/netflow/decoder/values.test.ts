/**
 * Value decoding and rendering (NETFLOW.md 3.4), through real IPFIX messages: each value is one
 * field of a one-field template, read back as the JSON a document carries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDictionary } from '../../../../src/inputs/netflow/fields/dictionary.ts';
import {
  decoder,
  FROM,
  flows,
  ipfix,
  ipfixTemplate,
  json,
  type Spec,
  set,
  TEST_PEN,
  u16,
  u32,
  u64,
  v9,
  v9Template,
  varlen,
} from './packets.ts';

/** Decodes `value` as the only field of a template with `spec`; returns the record's fields. */
function decodeOne(spec: Spec, value: readonly number[]): Record<string, unknown> {
  const variable = spec[1] === 0xffff;
  const body = variable ? varlen(value) : value;
  const { records } = decoder().decode(
    ipfix({}, set(2, ipfixTemplate(300, [spec, [7, 2]])), set(300, body, u16(4242))),
    FROM,
  );
  const fields = flows(records);
  assert.equal(fields.length, 1, 'one record');
  // the marker after the value proves the value consumed exactly its bytes
  assert.equal(fields[0].source_transport_port, 4242);
  const { source_transport_port: _, ...rest } = fields[0];
  return rest;
}

/** The JSON text of the decoded value alone. */
function text(spec: Spec, value: readonly number[]): string | undefined {
  const fields = decodeOne(spec, value);
  const keys = Object.keys(fields);
  assert.ok(keys.length <= 1, keys.join());
  return keys.length === 0 ? undefined : JSON.stringify(fields[keys[0]]);
}

const T = (id: number, length: number): Spec => [id, length, TEST_PEN];

describe('integers', () => {
  it('unsigned64 beyond 2^53 is exact in JSON', () => {
    assert.equal(text([1, 8], u64(0xffff_ffff_ffff_ffffn)), '18446744073709551615');
    assert.equal(text([1, 8], u64(2n ** 53n + 1n)), '9007199254740993');
    assert.equal(text([1, 8], u64(2n ** 53n)), '9007199254740992');
    assert.equal(text([1, 8], u64(2n ** 53n - 1n)), '9007199254740991');
    // a number, not a raw JSON wrapper, below 2^53
    assert.equal(typeof decodeOne([1, 8], u64(2n ** 53n - 1n)).octet_delta_count, 'number');
    assert.deepEqual(json(decodeOne([1, 8], u64(2n ** 63n))), { octet_delta_count: 2n ** 63n });
  });

  it('reduced-size unsigned: 1 to 8 bytes', () => {
    const bytes = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];
    for (let n = 1; n <= 8; n++) {
      const expected = BigInt(`0x${Buffer.from(bytes.slice(0, n)).toString('hex')}`);
      assert.equal(text(T(7, n), bytes.slice(0, n)), expected.toString(), `${n} bytes`);
    }
  });

  it('signed 8/16/32/64, full and reduced size, two’s complement', () => {
    assert.equal(text(T(1, 1), [0xff]), '-1');
    assert.equal(text(T(1, 1), [0x7f]), '127');
    assert.equal(text(T(2, 2), [0x80, 0x00]), '-32768');
    assert.equal(text(T(2, 1), [0xfe]), '-2');
    assert.equal(text(T(3, 4), u32(0xffff_fffe)), '-2');
    assert.equal(text(T(3, 3), [0xff, 0xff, 0xfe]), '-2');
    assert.equal(text(T(3, 3), [0x7f, 0xff, 0xff]), '8388607');
    assert.equal(text(T(4, 8), u64(0xffff_ffff_ffff_ffffn)), '-1');
    assert.equal(text(T(4, 8), u64(0x8000_0000_0000_0000n)), '-9223372036854775808');
    assert.equal(text(T(4, 8), u64(0x7fff_ffff_ffff_ffffn)), '9223372036854775807');
    assert.equal(text(T(4, 8), u64(0xffe0_0000_0000_0000n)), '-9007199254740992');
    assert.equal(text(T(4, 7), [0xff, 0, 0, 0, 0, 0, 0]), '-281474976710656'); // -(2^48)
    assert.equal(text(T(4, 5), [0xff, 0xff, 0xff, 0xff, 0xfd]), '-3');
  });

  it('too long for the type: skipped (unsigned8 in 2 bytes, unsigned16 in 3)', () => {
    assert.equal(text([4, 2], [0, 6]), undefined);
    assert.equal(text([11, 3], [0, 0, 80]), undefined);
  });
});

describe('floats', () => {
  it('float32 is widened to double: 0.1f -> 0.10000000149011612', () => {
    assert.equal(text(T(5, 4), [0x3d, 0xcc, 0xcc, 0xcd]), '0.10000000149011612');
  });

  it('float64 in 8 bytes, and in 4 (read as float32)', () => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(0.1);
    assert.equal(text(T(6, 8), [...b]), '0.1');
    assert.equal(text(T(6, 4), [0x3d, 0xcc, 0xcc, 0xcd]), '0.10000000149011612');
  });

  it('NaN and infinities have no JSON form: dropped', () => {
    assert.equal(text(T(5, 4), [0x7f, 0xc0, 0, 0]), undefined);
    assert.equal(text(T(6, 8), [0x7f, 0xf0, 0, 0, 0, 0, 0, 0]), undefined);
  });
});

describe('booleans', () => {
  it('1 -> true, 2 -> false, anything else drops the field (not the record)', () => {
    assert.equal(text([276, 1], [1]), 'true');
    assert.equal(text([276, 1], [2]), 'false');
    assert.equal(text([276, 1], [3]), undefined);
    assert.equal(text([276, 1], [0]), undefined);
  });
});

describe('a record’s fields', () => {
  /** A record of two `dataRecordsReliability` (276, boolean) fields, a port after each; its fields. */
  const twice = (first: number, second: number) => {
    const template = ipfixTemplate(300, [
      [276, 1],
      [7, 2],
      [276, 1],
      [11, 2],
    ]);
    const { records } = decoder().decode(
      ipfix({}, set(2, template), set(300, [first], u16(4242), [second], u16(80))),
      FROM,
    );
    return flows(records)[0];
  };

  it('a value that does not decode leaves its element absent (not null), or as an earlier field of it set it', () => {
    const ports = { source_transport_port: 4242, destination_transport_port: 80 };
    assert.deepEqual(twice(1, 2), { data_records_reliability: false, ...ports });
    assert.deepEqual(twice(1, 3), { data_records_reliability: true, ...ports });
    assert.deepEqual(twice(3, 2), { data_records_reliability: false, ...ports });
    assert.deepEqual(twice(3, 3), ports);
    assert.equal(
      JSON.stringify(twice(3, 3)),
      '{"source_transport_port":4242,"destination_transport_port":80}',
    );
  });

  it('members in the order their values decoded: a repeated element lands where its first decoded value is', () => {
    assert.deepEqual(Object.keys(twice(1, 2)), [
      'data_records_reliability',
      'source_transport_port',
      'destination_transport_port',
    ]);
    assert.deepEqual(Object.keys(twice(3, 2)), [
      'source_transport_port',
      'data_records_reliability',
      'destination_transport_port',
    ]);
  });

  it('an element a custom definition names `__proto__` is not emitted (and sets no prototype)', () => {
    const custom = [{ pen: 0, id: 7, type: 'unsigned16', name: '__proto__', source: 'test' }] as const;
    const d = decoder({ dictionary: buildDictionary({ compatibility: 'filebeat', custom }) });
    const packet = ipfix(
      {},
      set(
        2,
        ipfixTemplate(300, [
          [7, 2],
          [11, 2],
        ]),
      ),
      set(300, u16(5), u16(80)),
    );
    const [record] = flows(d.decode(packet, FROM).records);
    assert.equal(JSON.stringify(record), '{"destination_transport_port":80}');
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
  });
});

describe('addresses', () => {
  it('MAC: upper-case, dashes', () => {
    assert.equal(text([56, 6], [0x00, 0x1b, 0x2c, 0xaa, 0xbf, 0xff]), '"00-1B-2C-AA-BF-FF"');
  });

  it('IPv6 per RFC 5952; IPv4-mapped printed dotted', () => {
    const v6 = (groups: number[]) => groups.flatMap(u16);
    assert.equal(text([27, 16], v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), '"2001:db8::1:0:0:1"');
    assert.equal(text([27, 16], v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), '"2001:db8:0:1:1:1:1:1"');
    assert.equal(text([27, 16], v6([0xfe80, 0, 0, 0, 0xff, 0xfe00, 0x401, 0])), '"fe80::ff:fe00:401:0"');
    assert.equal(text([27, 16], v6([0, 0, 0, 0, 0, 0, 0, 1])), '"::1"');
    assert.equal(text([27, 16], v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0221])), '"192.0.2.33"');
  });

  it('IPv4', () => {
    assert.equal(text([8, 4], [192, 0, 2, 254]), '"192.0.2.254"');
    assert.equal(text([8, 5], [192, 0, 2, 254, 1]), undefined); // wrong length: skipped
  });
});

describe('strings', () => {
  const S: Spec = [82, 0xffff]; // interfaceName, variable length
  const str = (...bytes: number[]) => JSON.parse(text(S, bytes) ?? 'null');

  it('trailing NULs are removed; leading and embedded ones stay', () => {
    assert.equal(str(0x65, 0x74, 0x68, 0, 0, 0), 'eth');
    assert.equal(str(0, 0x65, 0, 0x74, 0), '\0e\0t');
    assert.equal(str(0, 0, 0), '');
    assert.equal(str(), '');
  });

  it('valid UTF-8 (multi-byte, BOM) is kept as is', () => {
    assert.equal(str(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80), 'é€😀');
    assert.equal(str(0xef, 0xbb, 0xbf, 0x61), '\ufeffa');
    assert.equal(str(0xef, 0xbf, 0xbd), '\ufffd');
  });

  it('invalid UTF-8: one U+FFFD per invalid byte, as Filebeat’s JSON encoder writes it', () => {
    assert.equal(str(0x61, 0xff, 0x62), 'a\ufffdb');
    // truncated 3- and 4-byte sequences: every byte of them is replaced
    assert.equal(str(0x61, 0xe2, 0x82, 0x41), 'a\ufffd\ufffdA');
    assert.equal(str(0xf0, 0x9f, 0x98, 0x41), '\ufffd\ufffd\ufffdA');
    assert.equal(str(0x41, 0xe2, 0x82), 'A\ufffd\ufffd');
    // overlong, surrogate and beyond-U+10FFFF forms are invalid byte by byte
    assert.equal(str(0xc0, 0x80), '\ufffd\ufffd');
    assert.equal(str(0xed, 0xa0, 0x80), '\ufffd\ufffd\ufffd');
    assert.equal(str(0xf4, 0x90, 0x80, 0x80), '\ufffd\ufffd\ufffd\ufffd');
    // a lone continuation byte, then valid text
    assert.equal(str(0x80, 0xc3, 0xa9), '\ufffdé');
    // the H3C VRF name of the golden file: ff 00 01 then NULs
    assert.equal(str(0xff, 0x00, 0x01, 0, 0, 0), '\ufffd\u0000\u0001');
  });

  it('fixed-length strings too', () => {
    assert.equal(text([82, 4], [0x6c, 0x6f, 0, 0]), '"lo"');
  });
});

describe('octet arrays', () => {
  it('an array of byte values, any length', () => {
    assert.equal(text([95, 4], [3, 0, 0, 80]), '[3,0,0,80]');
    assert.equal(text([210, 7], [0, 0, 0, 0, 0, 0, 0]), '[0,0,0,0,0,0,0]');
    assert.equal(text([95, 0xffff], []), '[]');
  });
});

describe('dates', () => {
  const NTP_OFFSET = 2_208_988_800;

  it('dateTimeSeconds (4 bytes)', () => {
    assert.equal(text([150, 4], u32(1_511_274_735)), '"2017-11-21T14:32:15.000Z"');
  });

  it('dateTimeMilliseconds (8 bytes)', () => {
    assert.equal(text([152, 8], u64(1_482_670_715_818n)), '"2016-12-25T12:58:35.818Z"');
  });

  it('dateTimeMicroseconds and dateTimeNanoseconds: NTP format, fraction truncated to ms', () => {
    const secs = NTP_OFFSET + 1_511_274_735;
    assert.equal(text([154, 8], [...u32(secs), ...u32(0x8000_0000)]), '"2017-11-21T14:32:15.500Z"');
    assert.equal(text([156, 8], [...u32(secs), ...u32(0xffff_ffff)]), '"2017-11-21T14:32:15.999Z"');
    // 0.0019999 s -> 1 ms (truncated, not rounded)
    assert.equal(
      text([156, 8], [...u32(secs), ...u32(Math.floor(0.0019999 * 2 ** 32))]),
      '"2017-11-21T14:32:15.001Z"',
    );
    // the NTP epoch itself: 1900
    assert.equal(text([155, 8], [...u32(0), ...u32(0)]), '"1900-01-01T00:00:00.000Z"');
  });

  it('dates need their exact length', () => {
    assert.equal(text([150, 8], u64(1n)), undefined);
    assert.equal(text([152, 4], u32(1)), undefined);
    assert.equal(text([154, 4], u32(1)), undefined);
  });
});

describe('Cisco ASA and skipped types', () => {
  it('12-byte ACL ids as hhhhhhhh-hhhhhhhh-hhhhhhhh (lower-case hex), v9 ids 33000/33001', () => {
    // ids above 32767 exist only in v9 (in IPFIX the top bit is the enterprise bit)
    const acl = [0x0a, 0xbc, 0xde, 0xf0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe];
    const t = v9Template(256, [
      [33000, 12],
      [33001, 8],
      [7, 2],
    ]);
    const { records } = decoder().decode(v9({}, set(0, t), set(256, acl, acl.slice(0, 8), u16(1))), FROM);
    assert.deepEqual(flows(records), [
      { ingress_acl_id: '0abcdef0-00000001-fffffffe', source_transport_port: 1 },
    ]);
  });

  it('RFC 6313 lists and :skip elements are consumed, not emitted', () => {
    assert.equal(text([291, 0xffff], [0xff, 0, 4, 1, 2, 3, 4]), undefined);
    assert.equal(text([293, 6], [1, 2, 3, 4, 5, 6]), undefined);
    assert.equal(text(T(8, 3), [1, 2, 3]), undefined);
  });
});
