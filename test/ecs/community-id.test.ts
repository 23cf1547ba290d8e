/**
 * Community ID tests.
 *
 * - `communityIdFilebeat`: the NETFLOW.md 4.1 table (Filebeat's output for the same flows).
 * - `communityIdV1`: the published test vectors of the Community ID specification,
 *   corelight/community-id-spec (https://github.com/corelight/community-id-spec), commit
 *   c4ec2bc40d65ddbcbdd642582bf5609797a80772: the tables of `baseline/README.md` (default seed and
 *   seed 1) and `baseline/baseline_deflt.json`, `baseline/baseline_seed1.json`.
 *   Copyright (c) Corelight, Inc.; BSD-3-Clause licence (see NOTICE).
 *
 * In the baseline JSON files the ICMP "ports" are already the port equivalents (type and
 * counterpart type, or type and code). They are passed here as type and code: for a type with a
 * counterpart the code is ignored, for one without it is hashed as is, so the result is the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { communityIdFilebeat, communityIdV1 } from '../../src/ecs/community-id.ts';
import { parseIp } from '../../src/ecs/ip.ts';

const ip = (text: string): Uint8Array => {
  const parsed = parseIp(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};

describe('communityIdFilebeat (NETFLOW.md 4.1)', () => {
  const cases: [
    string,
    string | undefined,
    number | undefined,
    string | undefined,
    number | undefined,
    number,
    string,
  ][] = [
    ['tcp', '10.113.7.54', 41717, '172.16.21.27', 443, 6, '1:uhU0lSQQ+LoAMve6GxHC0M3nIes='],
    ['tcp', '192.168.99.7', 61910, '31.13.87.36', 443, 6, '1:/WRdjqoOaqvaSKG3KADN7XCzjYI='],
    ['udp, equal ports', '192.168.0.3', 137, '192.168.0.2', 137, 17, '1:1DzICq61xHbOOLkFA+YUG9pmNpo='],
    [
      'udp, equal ports, reversed',
      '192.168.0.2',
      137,
      '192.168.0.3',
      137,
      17,
      '1:1DzICq61xHbOOLkFA+YUG9pmNpo=',
    ],
    [
      'no IPs, no ports, tcp',
      undefined,
      undefined,
      undefined,
      undefined,
      6,
      '1:idwO/QHAjbcGlF1bfQE9dPuu7T0=',
    ],
    ['tcp', '10.0.13.1', 5228, '192.168.0.98', 52734, 6, '1:5mQ4MDVWf1HxjOfkmNocHEXPHmw='],
    ['icmp', '10.0.0.2', undefined, '10.0.0.1', undefined, 1, '1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ='],
    ['icmp, reversed', '10.0.0.1', undefined, '10.0.0.2', undefined, 1, '1:E5tNYkCqpM09ZPfoLcq+JJj0QuQ='],
    ['ipv6-icmp', '2001:db8::2', undefined, '2001:db8::1', undefined, 58, '1:Z6xGETZ/TcOPCYO1U6q1xond9TU='],
    ['gre', '10.0.0.2', undefined, '10.0.0.1', undefined, 47, '1:+KlEHDT0vJgzs/eNmzHq0aSpRYw='],
  ];
  for (const [name, src, srcPort, dst, dstPort, proto, expected] of cases) {
    it(`${name}: ${src ?? '-'}:${srcPort ?? '-'} > ${dst ?? '-'}:${dstPort ?? '-'} proto ${proto}`, () => {
      const s = src === undefined ? undefined : ip(src);
      const d = dst === undefined ? undefined : ip(dst);
      assert.equal(communityIdFilebeat(s, srcPort, d, dstPort, proto), expected);
    });
  }

  it('ignores ICMP ports: every ICMPv4 flow hashes as type 0 (ports 0, 8), sorted', () => {
    const expected = '1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=';
    assert.equal(communityIdFilebeat(ip('10.0.0.2'), 0, ip('10.0.0.1'), 0x0800, 1), expected);
    assert.equal(communityIdFilebeat(ip('10.0.0.2'), 3, ip('10.0.0.1'), 0x0303, 1), expected);
    // The sorted tuple is (10.0.0.1, 8) (10.0.0.2, 0): the spec's echo request from .1 to .2.
    assert.equal(communityIdV1(ip('10.0.0.1'), 8, ip('10.0.0.2'), 0, 1), expected);
  });

  it('ignores ICMPv6 ports: type 0 is one-way (ports 0, 0), never sorted', () => {
    const forward = communityIdFilebeat(ip('2001:db8::2'), 128, ip('2001:db8::1'), 0, 58);
    assert.equal(forward, '1:Z6xGETZ/TcOPCYO1U6q1xond9TU=');
    assert.notEqual(communityIdFilebeat(ip('2001:db8::1'), 0, ip('2001:db8::2'), 0, 58), forward);
    assert.equal(communityIdV1(ip('2001:db8::2'), 0, ip('2001:db8::1'), 0, 58), forward);
  });

  it('hashes ports for TCP, UDP and SCTP only among the others', () => {
    const a = ip('10.0.0.1');
    const b = ip('10.0.0.2');
    for (const proto of [6, 17, 132]) {
      assert.notEqual(communityIdFilebeat(a, 1, b, 2, proto), communityIdFilebeat(a, 1, b, 3, proto));
    }
    for (const proto of [0, 47, 50, 89]) {
      assert.equal(communityIdFilebeat(a, 1, b, 2, proto), communityIdFilebeat(a, 7, b, 9, proto));
    }
  });

  it('orders by IP bytes first, then ports', () => {
    const a = ip('10.0.0.1');
    const b = ip('10.0.0.2');
    assert.equal(communityIdFilebeat(a, 9999, b, 1, 6), communityIdFilebeat(b, 1, a, 9999, 6));
    assert.equal(communityIdFilebeat(a, 2, a, 1, 6), communityIdFilebeat(a, 1, a, 2, 6));
  });

  it('hashes IPv4-mapped addresses as 4 bytes, as libbeat getRawIP does', () => {
    assert.equal(
      communityIdFilebeat(ip('::ffff:10.113.7.54'), 41717, ip('::ffff:172.16.21.27'), 443, 6),
      '1:uhU0lSQQ+LoAMve6GxHC0M3nIes=',
    );
  });
});

describe('communityIdV1 (corelight/community-id-spec baseline/README.md tables)', () => {
  const F1 = 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D';
  const F2 = 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D';
  // proto, src, dst, src port (ICMP type), dst port (ICMP code), seed 0, seed 1
  const table: [number, string, string, number | undefined, number | undefined, string, string][] = [
    [6, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:wCb3OG7yAFWelaUydu0D+125CLM=', '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='],
    [6, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:wCb3OG7yAFWelaUydu0D+125CLM=', '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='],
    [
      17,
      '1.2.3.4',
      '5.6.7.8',
      1122,
      3344,
      '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=',
      '1:OShq+iKDAMVouh/4bMxB9Sz4amw=',
    ],
    [
      17,
      '5.6.7.8',
      '1.2.3.4',
      3344,
      1122,
      '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=',
      '1:OShq+iKDAMVouh/4bMxB9Sz4amw=',
    ],
    [
      132,
      '1.2.3.4',
      '5.6.7.8',
      1122,
      3344,
      '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=',
      '1:uitchpn5MMGAQKBJh7bIr/bAr7s=',
    ],
    [
      132,
      '5.6.7.8',
      '1.2.3.4',
      3344,
      1122,
      '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=',
      '1:uitchpn5MMGAQKBJh7bIr/bAr7s=',
    ],
    [1, '1.2.3.4', '5.6.7.8', 8, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=', '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='],
    [1, '5.6.7.8', '1.2.3.4', 0, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=', '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='],
    [1, '1.2.3.4', '5.6.7.8', 11, 0, '1:f/YiSyWqczrTgfUCZlBUnvHRcPk=', '1:1DD7cWGC/Yg91YGsQeni8du3pIA='],
    [58, F1, F2, 128, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=', '1:IO27GQzPuCtNnwFvjWALMHu5tJE='],
    [58, F2, F1, 129, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=', '1:IO27GQzPuCtNnwFvjWALMHu5tJE='],
    [58, F1, F2, 146, 0, '1:fYC8+pz24E+EhANP1EZhpX0Dw10=', '1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s='],
    [
      46,
      '1.2.3.4',
      '5.6.7.8',
      undefined,
      undefined,
      '1:ikv3kmf89luf73WPz1jOs49S768=',
      '1:/buhqeOmaRCopOZFy9HnoJd5XW8=',
    ],
    [
      46,
      '5.6.7.8',
      '1.2.3.4',
      undefined,
      undefined,
      '1:ikv3kmf89luf73WPz1jOs49S768=',
      '1:/buhqeOmaRCopOZFy9HnoJd5XW8=',
    ],
    [46, F1, F2, undefined, undefined, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM='],
    [46, F2, F1, undefined, undefined, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM='],
  ];
  for (const [proto, src, dst, sport, dport, seed0, seed1] of table) {
    it(`proto ${proto} ${src} ${sport ?? '-'} > ${dst} ${dport ?? '-'}`, () => {
      assert.equal(communityIdV1(ip(src), sport, ip(dst), dport, proto), seed0);
      assert.equal(communityIdV1(ip(src), sport, ip(dst), dport, proto, 1), seed1);
    });
  }
});

describe('communityIdV1 (corelight/community-id-spec baseline/baseline_deflt.json, baseline_seed1.json)', () => {
  // proto, saddr, daddr, sport, dport, seed 0 (baseline_deflt.json), seed 1 (baseline_seed1.json)
  const baseline: [number, string, string, number | null, number | null, string, string][] = [
    [
      58,
      'fe80::200:86ff:fe05:80da',
      'fe80::260:97ff:fe07:69ea',
      135,
      136,
      '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
      '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=',
    ],
    [
      58,
      'fe80::260:97ff:fe07:69ea',
      'fe80::200:86ff:fe05:80da',
      136,
      135,
      '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
      '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=',
    ],
    [
      58,
      'fe80::260:97ff:fe07:69ea',
      'fe80::200:86ff:fe05:80da',
      135,
      136,
      '1:zavyT/cezQr1fmImYCwYnMXbgck=',
      '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=',
    ],
    [
      58,
      'fe80::200:86ff:fe05:80da',
      'fe80::260:97ff:fe07:69ea',
      136,
      135,
      '1:zavyT/cezQr1fmImYCwYnMXbgck=',
      '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=',
    ],
    [
      58,
      '3ffe:501:1800:2345::2',
      '3ffe:507:0:1:200:86ff:fe05:80da',
      3,
      0,
      '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=',
      '1:lVEtCZpYu84Xqaa++3lXFyuu2n4=',
    ],
    [
      58,
      '3ffe:501:410:0:2c0:dfff:fe47:33e',
      '3ffe:507:0:1:200:86ff:fe05:80da',
      1,
      4,
      '1:hLZd0XGWojozrvxqE0dWB1iM6R0=',
      '1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=',
    ],
    [
      58,
      '3ffe:507:0:1:200:86ff:fe05:80da',
      '3ffe:501:0:1001::2',
      128,
      129,
      '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
      '1:GfZxjAkDk2MkegpBYHV6tadtFXQ=',
    ],
    [
      58,
      '3ffe:501:0:1001::2',
      '3ffe:507:0:1:200:86ff:fe05:80da',
      129,
      128,
      '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
      '1:GfZxjAkDk2MkegpBYHV6tadtFXQ=',
    ],
    [
      58,
      'fe80::200:86ff:fe05:80da',
      'ff02::2',
      133,
      134,
      '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=',
      '1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=',
    ],
    [
      58,
      'fe80::260:97ff:fe07:69ea',
      'ff02::1',
      134,
      133,
      '1:pkvHqCL88/tg1k4cPigmZXUtL00=',
      '1:K/ee5UCqAMAQXDorP5nSa2CGLjc=',
    ],
    [
      1,
      '192.168.0.89',
      '192.168.0.1',
      8,
      0,
      '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=',
      '1:03g6IloqVBdcZlPyX8r0hgoE7kA=',
    ],
    [
      1,
      '192.168.0.1',
      '192.168.0.89',
      0,
      8,
      '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=',
      '1:03g6IloqVBdcZlPyX8r0hgoE7kA=',
    ],
    [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM=', '1:XjUibYHaafLQ3pxQeiMI8g25q20='],
    [
      6,
      '2001:470:e5bf:dead:4957:2174:e82c:4887',
      '2607:f8b0:400c:c03::1a',
      63943,
      25,
      '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
      '1:eJYTW6AOzFLlSUoESovMjnu7rMw=',
    ],
    [
      6,
      '2607:f8b0:400c:c03::1a',
      '2001:470:e5bf:dead:4957:2174:e82c:4887',
      25,
      63943,
      '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
      '1:eJYTW6AOzFLlSUoESovMjnu7rMw=',
    ],
    [
      132,
      '192.168.170.8',
      '192.168.170.56',
      7,
      7,
      '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=',
      '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=',
    ],
    [
      132,
      '192.168.170.56',
      '192.168.170.8',
      7,
      7,
      '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=',
      '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=',
    ],
    [
      6,
      '128.232.110.120',
      '66.35.250.204',
      34855,
      80,
      '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
      '1:3V71V58M3Ksw/yuFALMcW0LAHvc=',
    ],
    [
      6,
      '66.35.250.204',
      '128.232.110.120',
      80,
      34855,
      '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
      '1:3V71V58M3Ksw/yuFALMcW0LAHvc=',
    ],
    [
      17,
      '192.168.1.52',
      '8.8.8.8',
      54585,
      53,
      '1:d/FP5EW3wiY1vCndhwleRRKHowQ=',
      '1:Q9We8WO3piVF8yEQBNJF4uiSVrI=',
    ],
    [
      17,
      '8.8.8.8',
      '192.168.1.52',
      53,
      54585,
      '1:d/FP5EW3wiY1vCndhwleRRKHowQ=',
      '1:Q9We8WO3piVF8yEQBNJF4uiSVrI=',
    ],
    [
      46,
      '10.1.12.1',
      '10.1.12.2',
      null,
      null,
      '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=',
      '1:rYir8gphR31noO9iDRQmF/BteEI=',
    ],
    [
      46,
      '10.1.12.2',
      '10.1.12.1',
      null,
      null,
      '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=',
      '1:rYir8gphR31noO9iDRQmF/BteEI=',
    ],
  ];
  for (const [proto, src, dst, sport, dport, seed0, seed1] of baseline) {
    it(`proto ${proto} ${src} ${sport ?? '-'} > ${dst} ${dport ?? '-'}`, () => {
      const s = ip(src);
      const d = ip(dst);
      assert.equal(communityIdV1(s, sport ?? undefined, d, dport ?? undefined, proto), seed0);
      assert.equal(communityIdV1(s, sport ?? undefined, d, dport ?? undefined, proto, 1), seed1);
    });
  }
});

describe('communityIdV1 ICMP mapping', () => {
  const a = ip('192.168.0.89');
  const b = ip('192.168.0.1');

  it('pairs request and reply types in both families', () => {
    for (const [req, rep] of [
      [8, 0],
      [13, 14],
      [15, 16],
      [10, 9],
      [17, 18],
    ]) {
      assert.equal(communityIdV1(a, req, b, 0, 1), communityIdV1(b, rep, a, 0, 1), `icmp ${req}/${rep}`);
    }
    const c = ip('2001:db8::1');
    const d = ip('2001:db8::2');
    for (const [req, rep] of [
      [128, 129],
      [130, 131],
      [133, 134],
      [135, 136],
      [139, 140],
      [144, 145],
    ]) {
      assert.equal(communityIdV1(c, req, d, 0, 58), communityIdV1(d, rep, c, 0, 58), `icmpv6 ${req}/${rep}`);
    }
  });

  it('ignores the code of paired types and hashes the code of one-way types', () => {
    assert.equal(communityIdV1(b, 0, a, 20, 1), communityIdV1(b, 0, a, 8, 1));
    assert.notEqual(communityIdV1(a, 20, b, 0, 1), communityIdV1(a, 20, b, 1, 1));
    assert.notEqual(communityIdV1(a, 11, b, 0, 1), communityIdV1(b, 11, a, 0, 1));
  });
});
