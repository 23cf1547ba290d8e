/**
 * IPv6 rendering cases are the examples of RFC 5952 (sections 2, 4 and 5); expected text is what
 * Go's `net.IP.String()` prints, which Filebeat ships (NETFLOW.md 3.4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compareIp,
  formatExporterAddress,
  formatIPv4,
  formatIPv6,
  formatIp,
  ipEqual,
  ipv4Offset,
  isIPv4Mapped,
  normalizeRemoteAddress,
  parseIp,
  toIPv4,
} from '../../src/ecs/ip.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);
const ip = (text: string): Uint8Array => {
  const parsed = parseIp(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};

describe('parseIp', () => {
  it('parses IPv4 to 4 bytes', () => {
    assert.deepEqual(ip('192.0.2.1'), bytes(192, 0, 2, 1));
    assert.deepEqual(ip('0.0.0.0'), bytes(0, 0, 0, 0));
    assert.deepEqual(ip('255.255.255.255'), bytes(255, 255, 255, 255));
  });

  it('parses IPv6 to 16 bytes, any case, with or without leading zeros', () => {
    assert.deepEqual(ip('2001:db8::1'), bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(ip('2001:0DB8:0000:0000:0000:0000:0000:0001'), ip('2001:db8::1'));
    assert.deepEqual(ip('::'), new Uint8Array(16));
    assert.deepEqual(ip('::1'), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(ip('1::'), bytes(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(ip('1:2:3:4:5:6:7::'), ip('1:2:3:4:5:6:7:0'));
    assert.deepEqual(ip('::2:3:4:5:6:7:8'), ip('0:2:3:4:5:6:7:8'));
  });

  it('parses embedded IPv4 in IPv6 text, keeping 16 bytes', () => {
    const mapped = ip('::ffff:192.0.2.1');
    assert.deepEqual(mapped, bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1));
    assert.deepEqual(ip('0:0:0:0:0:FFFF:192.0.2.1'), mapped);
    assert.deepEqual(ip('1:2:3:4:5:6:1.2.3.4'), ip('1:2:3:4:5:6:102:304'));
    assert.deepEqual(ip('::1.2.3.4'), ip('::102:304'));
  });

  it('rejects what Go rejects', () => {
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4', // leading zero (octal elsewhere)
      '1.2.3.00',
      '1..2.3',
      '1.2.3.4.',
      '.1.2.3.4',
      '1.2.3.-4',
      ' 1.2.3.4',
      '1.2.3.4 ',
      'localhost',
      ':',
      ':::',
      '1:',
      ':1',
      '1::2::3',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8::', // `::` must stand for at least one group
      '::1:2:3:4:5:6:7:8',
      '1::2:3:4:5:6:7:8',
      '::ffff:1.2.3',
      '::ffff:01.2.3.4',
      '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4', // no room for the IPv4 part
      '1:2:3:4:5:1.2.3.4', // IPv4 part not at the end without `::`
      'fe80::1%eth0', // zones are not addresses
      '[::1]',
    ]) {
      assert.equal(parseIp(text), undefined, JSON.stringify(text));
    }
  });
});

describe('formatIp', () => {
  it('prints IPv4 dotted', () => {
    assert.equal(formatIp(bytes(192, 0, 2, 1)), '192.0.2.1');
    assert.equal(formatIp(bytes(0, 0, 0, 0)), '0.0.0.0');
  });

  // RFC 5952 section 2.2 lists these spellings of one address; 4.2.3 says which run to compress.
  it('prints one canonical text for every spelling (RFC 5952 2.2)', () => {
    for (const text of [
      '2001:db8:0:0:1:0:0:1',
      '2001:0db8:0:0:1:0:0:1',
      '2001:db8::1:0:0:1',
      '2001:db8::0:1:0:0:1',
      '2001:0db8::1:0:0:1',
      '2001:db8:0:0:1::1',
      '2001:db8:0000:0:1::1',
      '2001:DB8:0:0:1::1',
    ]) {
      assert.equal(formatIp(ip(text)), '2001:db8::1:0:0:1', text);
    }
  });

  it('follows RFC 5952 section 4', () => {
    const cases: [string, string][] = [
      ['2001:0db8::0001', '2001:db8::1'], // 4.1 leading zeros
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // 4.2.1 shorten as much as possible
      ['2001:db8::0:1', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2 one zero group is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3 longest run
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3 first of equal runs
      ['2001:DB8::AB:CD', '2001:db8::ab:cd'], // 4.3 lower case
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['0:2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
      ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
      ['fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 'fe80:1:203:405:607:809:a0b:c0d'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ];
    for (const [input, expected] of cases) assert.equal(formatIp(ip(input)), expected, input);
  });

  it('prints IPv4-mapped addresses dotted, like Go (RFC 5952 section 5 would keep ::ffff:)', () => {
    assert.equal(formatIp(ip('::ffff:192.0.2.1')), '192.0.2.1');
    assert.equal(formatIp(ip('::ffff:c000:201')), '192.0.2.1');
    assert.equal(formatIPv6(ip('::ffff:10.0.0.1')), '10.0.0.1');
    // Only ::ffff:0:0/96 is mapped; IPv4-compatible and translated addresses print in hex.
    assert.equal(formatIp(ip('::192.0.2.1')), '::c000:201');
    assert.equal(formatIp(ip('64:ff9b::192.0.2.1')), '64:ff9b::c000:201');
    assert.equal(formatIp(ip('::ffff:0:192.0.2.1')), '::ffff:0:c000:201');
  });

  it('formats in place from a larger buffer', () => {
    const datagram = new Uint8Array(40).fill(0xee);
    datagram.set(ip('2001:db8::1'), 3);
    datagram.set(bytes(10, 1, 2, 3), 30);
    assert.equal(formatIp(datagram, 3, 16), '2001:db8::1');
    assert.equal(formatIPv6(datagram, 3), '2001:db8::1');
    assert.equal(formatIp(datagram, 30, 4), '10.1.2.3');
    assert.equal(formatIPv4(datagram, 30), '10.1.2.3');
  });

  it('prints other lengths as ? and hex, like Go', () => {
    assert.equal(formatIp(bytes(1, 2, 0xab)), '?0102ab');
  });

  it('agrees with the WHATWG URL serializer (RFC 5952 compression) on random addresses', () => {
    // Few distinct group values so that zero runs of every length and position occur.
    const group = fc.constantFrom(0, 0, 0, 1, 0xabcd, 0xffff);
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const addr = new Uint8Array(16);
        groups.forEach((g, i) => {
          addr[2 * i] = g >> 8;
          addr[2 * i + 1] = g & 0xff;
        });
        const text = formatIp(addr);
        assert.deepEqual(parseIp(text), isIPv4Mapped(addr) ? addr.subarray(12) : addr);
        if (!isIPv4Mapped(addr)) assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
      }),
      { seed: 5952, numRuns: 2000 },
    );
  });
});

describe('IPv4-mapped helpers', () => {
  it('recognises ::ffff:0:0/96 only', () => {
    assert.equal(isIPv4Mapped(ip('::ffff:1.2.3.4')), true);
    assert.equal(isIPv4Mapped(ip('::1.2.3.4')), false);
    assert.equal(isIPv4Mapped(ip('1.2.3.4')), false);
    assert.equal(ipv4Offset(ip('1.2.3.4')), 0);
    assert.equal(ipv4Offset(ip('::ffff:1.2.3.4')), 12);
    assert.equal(ipv4Offset(ip('2001:db8::1')), -1);
    assert.deepEqual(toIPv4(ip('::ffff:1.2.3.4')), bytes(1, 2, 3, 4));
    assert.deepEqual(toIPv4(ip('1.2.3.4')), bytes(1, 2, 3, 4));
    assert.equal(toIPv4(ip('2001:db8::1')), undefined);
  });

  it('ipEqual treats an IPv4 address and its mapped form as equal (Go net.IP.Equal)', () => {
    assert.equal(ipEqual(ip('1.2.3.4'), ip('::ffff:1.2.3.4')), true);
    assert.equal(ipEqual(ip('::ffff:1.2.3.4'), ip('1.2.3.4')), true);
    assert.equal(ipEqual(ip('1.2.3.4'), ip('1.2.3.4')), true);
    assert.equal(ipEqual(ip('1.2.3.4'), ip('1.2.3.5')), false);
    assert.equal(ipEqual(ip('1.2.3.4'), ip('::1.2.3.4')), false);
    assert.equal(ipEqual(ip('::1'), ip('::1')), true);
  });
});

describe('compareIp', () => {
  it('orders raw bytes like Go bytes.Compare (related.ip order)', () => {
    assert.ok(compareIp(ip('31.13.87.36'), ip('192.168.99.7')) < 0);
    assert.ok(compareIp(ip('192.168.99.7'), ip('31.13.87.36')) > 0);
    assert.equal(compareIp(ip('10.0.0.1'), ip('10.0.0.1')), 0);
    // 4 bytes against 16: byte by byte, then the shorter first.
    assert.ok(compareIp(ip('10.0.0.1'), ip('2001:db8::1')) < 0);
    assert.ok(compareIp(ip('255.0.0.0'), ip('2001:db8::1')) > 0);
    assert.ok(compareIp(bytes(0, 0, 0, 0), new Uint8Array(16)) < 0);
    assert.ok(compareIp(ip('::ffff:1.2.3.4'), ip('1.2.3.4')) < 0);
  });
});

describe('exporter addresses', () => {
  it('normalizeRemoteAddress prints IPv4-mapped senders dotted', () => {
    assert.equal(normalizeRemoteAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeRemoteAddress('::FFFF:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeRemoteAddress('192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeRemoteAddress('2001:db8::1'), '2001:db8::1');
    assert.equal(normalizeRemoteAddress('fe80::1%eth0'), 'fe80::1%eth0');
  });

  it('formatExporterAddress brackets IPv6 like net.JoinHostPort', () => {
    assert.equal(formatExporterAddress('192.0.2.1', 2055), '192.0.2.1:2055');
    assert.equal(formatExporterAddress('::ffff:192.0.2.1', 2055), '192.0.2.1:2055');
    assert.equal(formatExporterAddress('2001:db8::1', 2055), '[2001:db8::1]:2055');
    assert.equal(formatExporterAddress('fe80::1%eth0', 4739), '[fe80::1%eth0]:4739');
  });
});
