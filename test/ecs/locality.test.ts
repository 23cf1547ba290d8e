/**
 * Locality per NETFLOW.md 4.2, on Go `net.IP` semantics (an IPv4-mapped IPv6 address is its IPv4
 * address for every range).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../src/ecs/ip.ts';
import { isInternal, type Networks, parseNetworks, validateNetworkEntry } from '../../src/ecs/locality.ts';
import { FlowshipError } from '../../src/util/errors.ts';

const ip = (text: string): Uint8Array => {
  const parsed = parseIp(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};

function check(networks: Networks, internal: string[], external: string[]): void {
  for (const text of internal)
    assert.equal(isInternal(networks, ip(text)), true, `${text} should be internal`);
  for (const text of external)
    assert.equal(isInternal(networks, ip(text)), false, `${text} should be external`);
}

/** Each address also as an IPv4-mapped IPv6 address. */
const withMapped = (addresses: string[]) => [...addresses, ...addresses.map((a) => `::ffff:${a}`)];

describe('always internal', () => {
  const none = parseNetworks([]);

  it('loopback, unspecified, broadcast, link-local and interface-local, IPv4-mapped included', () => {
    check(
      none,
      [
        ...withMapped([
          '127.0.0.1',
          '127.255.0.9',
          '0.0.0.0',
          '255.255.255.255',
          '169.254.1.1',
          '224.0.0.251',
        ]),
        '::1',
        '::',
        'fe80::1',
        'febf::1',
        'ff02::fb',
        'ff12::1', // Go reads the scope nibble: any ffX2:: is link-local
        'ff01::1',
        'ff11::1',
      ],
      [
        ...withMapped(['10.0.0.1', '8.8.8.8', '224.0.1.1', '255.255.255.254', '169.253.0.1']),
        '2001:db8::1',
        'fd00::1',
        'fec0::1',
        'ff05::1',
        '::2',
        '::127.0.0.1', // IPv4-compatible, not mapped
      ],
    );
  });

  it('treats addresses of other lengths as external', () => {
    assert.equal(isInternal(parseNetworks(['public', 'private']), new Uint8Array(5)), false);
  });
});

describe('named ranges', () => {
  it('private: 10/8, 172.16/12, 192.168/16, fd00::/8 (not fc00::/7)', () => {
    check(
      parseNetworks(['private']),
      [
        ...withMapped(['10.0.0.0', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1']),
        'fd00::1',
        'fdff::1',
      ],
      [
        ...withMapped(['11.0.0.1', '172.15.255.255', '172.32.0.0', '192.169.0.1', '8.8.8.8']),
        'fc00::1',
        '2001:db8::1',
      ],
    );
  });

  it('loopback and unspecified (always internal anyway)', () => {
    check(parseNetworks(['loopback']), withMapped(['127.0.0.1']), withMapped(['8.8.8.8']));
    check(parseNetworks(['unspecified']), [...withMapped(['0.0.0.0']), '::'], withMapped(['8.8.8.8']));
  });

  it('unicast and global_unicast: not broadcast, unspecified, loopback, multicast, link-local unicast', () => {
    for (const name of ['unicast', 'global_unicast']) {
      check(
        parseNetworks([name]),
        [...withMapped(['8.8.8.8', '10.0.0.1', '192.0.2.255']), '2001:db8::1', 'fd00::1', 'fc00::1', '::2'],
        [...withMapped(['224.0.1.1', '239.255.255.255']), 'ff05::1', 'ff0e::1'],
      );
    }
  });

  it('link_local_unicast, link_local_multicast, interface_local_multicast (always internal anyway)', () => {
    check(
      parseNetworks(['link_local_unicast']),
      [...withMapped(['169.254.0.1']), 'fe80::1'],
      withMapped(['8.8.8.8']),
    );
    check(parseNetworks(['link_local_multicast']), [...withMapped(['224.0.0.1']), 'ff02::1'], ['ff05::1']);
    check(parseNetworks(['interface_local_multicast']), ['ff01::1'], ['ff05::1', '2001:db8::1']);
  });

  it('multicast: 224/4 and ff00::/8', () => {
    check(
      parseNetworks(['multicast']),
      [...withMapped(['224.0.1.1', '239.255.255.255']), 'ff05::1', 'ff0e::1'],
      [...withMapped(['8.8.8.8', '240.0.0.1']), '2001:db8::1', 'fd00::1'],
    );
  });

  it('public: neither private nor always internal', () => {
    check(
      parseNetworks(['public']),
      [...withMapped(['8.8.8.8', '224.0.1.1', '100.64.0.1']), '2001:db8::1', 'fc00::1', 'ff05::1'],
      [...withMapped(['10.0.0.1', '172.16.0.1', '192.168.1.1']), 'fd12::1'],
    );
  });

  it('combines entries', () => {
    check(
      parseNetworks(['private', '192.0.2.0/24', '2001:db8::/32']),
      ['10.0.0.1', '192.0.2.7', '::ffff:192.0.2.7', '2001:db8:1::1', 'fd00::1'],
      ['192.0.3.1', '2001:db9::1', '8.8.8.8'],
    );
  });
});

describe('CIDRs', () => {
  it('IPv4, with the host bits of a non-canonical network ignored', () => {
    check(
      parseNetworks(['10.1.2.3/8']),
      withMapped(['10.0.0.0', '10.255.255.255']),
      withMapped(['11.0.0.0', '9.255.255.255']),
    );
    check(parseNetworks(['192.0.2.1/32']), withMapped(['192.0.2.1']), withMapped(['192.0.2.2']));
    check(parseNetworks(['172.16.0.0/12']), ['172.31.0.1'], ['172.32.0.1']);
    check(parseNetworks(['10.0.0.0/08']), ['10.9.9.9'], ['11.0.0.0']); // Go accepts leading zeros here
  });

  it('0.0.0.0/0 matches every IPv4 and IPv4-mapped address, no IPv6', () => {
    check(parseNetworks(['0.0.0.0/0']), withMapped(['8.8.8.8', '200.1.1.1']), ['2001:db8::1', '::2']);
  });

  it('IPv6, never matching IPv4-mapped addresses', () => {
    check(parseNetworks(['2001:db8::/32']), ['2001:db8::1', '2001:db8:ffff::1'], ['2001:db9::1', '10.0.0.1']);
    check(parseNetworks(['2001:db8::1/128']), ['2001:db8::1'], ['2001:db8::2']);
    check(parseNetworks(['2001:db8:0:0:8000::/65']), ['2001:db8::8000:0:0:1'], ['2001:db8::7fff:0:0:1']);
    check(parseNetworks(['::/0']), ['2001:db8::1', 'fd00::1', '::2'], withMapped(['8.8.8.8']));
    check(parseNetworks(['::/80']), ['::2'], withMapped(['8.8.8.8']));
  });

  it('IPv4-mapped CIDRs are IPv4 CIDRs with 96 bits less', () => {
    check(parseNetworks(['::ffff:10.0.0.0/104']), withMapped(['10.1.2.3']), [
      ...withMapped(['11.0.0.0']),
      '2001:db8::1',
    ]);
    check(parseNetworks(['::ffff:0:0/96']), withMapped(['8.8.8.8', '200.1.1.1']), ['2001:db8::1']);
  });
});

describe('invalid entries', () => {
  const invalid: [string, RegExp][] = [
    ['Private', /not a CIDR or a named range/],
    ['lan', /not a CIDR or a named range/],
    ['constructor', /not a CIDR or a named range/],
    ['__proto__', /not a CIDR or a named range/],
    ['', /not a CIDR or a named range/],
    ['10.0.0.1', /needs a prefix length, e\.g\. 10\.0\.0\.1\/32/],
    ['2001:db8::1', /needs a prefix length, e\.g\. 2001:db8::1\/128/],
    ['10.0.0.0/33', /prefix length 33 is out of range \(0-32\)/],
    ['2001:db8::/129', /prefix length 129 is out of range \(0-128\)/],
    ['10.0.0.0/', /missing prefix length/],
    ['10.0.0.0/-1', /prefix length "-1" is not a number/],
    ['10.0.0.0/8/8', /prefix length "8\/8" is not a number/],
    ['10.0.0.0/ 8', /is not a number/],
    ['256.0.0.0/8', /"256\.0\.0\.0" is not an IP address/],
    ['010.0.0.0/8', /is not an IP address/],
    [' 10.0.0.0/8', /is not an IP address/],
    ['fe80::%eth0/10', /is not an IP address/],
    ['10.0.0.0/255.0.0.0', /"255\.0\.0\.0" is a netmask; write the prefix length instead/],
  ];

  it('validateNetworkEntry names the entry and says what is expected', () => {
    for (const [entry, reason] of invalid) {
      const message = validateNetworkEntry(entry);
      assert.ok(message, `${JSON.stringify(entry)} should be invalid`);
      assert.ok(message.includes(`"${entry}"`), message);
      assert.match(message, reason);
      assert.match(
        message,
        /expected a CIDR such as 192\.168\.0\.0\/16 or fd00::\/8, or one of: private, public,/,
      );
    }
    assert.match(validateNetworkEntry(42) ?? '', /entry 42: must be a string/);
    assert.match(validateNetworkEntry(null) ?? '', /entry null: must be a string/);
  });

  it('validateNetworkEntry accepts every named range and CIDR form', () => {
    for (const entry of [
      'private',
      'public',
      'loopback',
      'unicast',
      'global_unicast',
      'link_local_unicast',
      'link_local_multicast',
      'interface_local_multicast',
      'multicast',
      'unspecified',
      '10.0.0.0/8',
      '0.0.0.0/0',
      '1.2.3.4/32',
      '::/0',
      'fd00::/8',
      '::ffff:10.0.0.0/104',
      '2001:DB8::/32',
    ]) {
      assert.equal(validateNetworkEntry(entry), undefined, entry);
    }
  });

  it('parseNetworks throws FLOWSHIP_CONFIG naming every bad entry', () => {
    assert.throws(
      () => parseNetworks(['private', 'lan', '10.0.0.0/33']),
      (err: unknown) => {
        assert.ok(err instanceof FlowshipError);
        assert.equal(err.code, 'FLOWSHIP_CONFIG');
        const lines = err.message.split('\n');
        assert.equal(lines.length, 2);
        assert.match(lines[0], /"lan"/);
        assert.match(lines[1], /"10\.0\.0\.0\/33"/);
        return true;
      },
    );
  });

  it('keeps the configured entries, frozen', () => {
    const entries = ['private', '192.0.2.0/24'];
    const networks = parseNetworks(entries);
    entries.push('public');
    assert.deepEqual(networks.entries, ['private', '192.0.2.0/24']);
    assert.ok(Object.isFrozen(networks));
  });
});
