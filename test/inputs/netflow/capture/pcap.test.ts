import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CaptureStats,
  MAX_PENDING_FRAGMENTED,
  newCaptureStats,
  readPcap,
  type UdpDatagram,
} from '../../../../src/inputs/netflow/capture/pcap.ts';
import { FlowshipError } from '../../../../src/util/errors.ts';
import {
  be16,
  be32,
  block,
  concat,
  epb,
  ethernet,
  extensionHeader,
  fragmentHeader,
  idb,
  ipv4,
  ipv6,
  le32,
  option,
  type PcapRecord,
  payload,
  pb,
  pcapFile,
  shb,
  sll,
  sll2,
  spb,
  udp,
} from './synthetic.ts';

const fixtures = new URL('../../../../fixtures/netflow/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, fixtures));

function read(data: Uint8Array, name = 'test.pcap'): { datagrams: UdpDatagram[]; stats: CaptureStats } {
  const stats = newCaptureStats();
  const datagrams = [...readPcap(data, name, stats)];
  return { datagrams, stats };
}

/** One pcap file of the given link type, one record per frame, frame i at second 1000 + i. */
function frames(linktype: number, ...data: Uint8Array[]) {
  return read(
    pcapFile(
      linktype,
      data.map((d, i) => ({ seconds: 1000 + i, fraction: 0, data: d })),
    ),
  );
}

const version = (d: UdpDatagram) => (d.payload[0] << 8) | d.payload[1];
const exporter = (d: UdpDatagram) => `${d.srcIp}:${d.srcPort}`;

const ETHERNET = 1;
const UDP_BODY = udp(4739, 2055, payload(20));
const V4_UDP = ipv4(UDP_BODY);
const V6_UDP = ipv6(17, UDP_BODY);

function assertOneDatagram(result: { datagrams: UdpDatagram[]; stats: CaptureStats }, srcIp = '192.0.2.1') {
  assert.equal(result.datagrams.length, 1, JSON.stringify(result.stats));
  const [d] = result.datagrams;
  assert.equal(d.srcIp, srcIp);
  assert.equal(d.srcPort, 4739);
  assert.equal(d.dstPort, 2055);
  assert.deepEqual(d.payload, payload(20));
  assert.equal(result.stats.udp, 1);
}

describe('readPcap: fixture captures (fixtures/netflow/README.md)', () => {
  const cases = [
    { file: 'ipfix_cisco.pcap', count: 3, exporters: ['10.101.255.2:52788'], version: 10 },
    { file: 'netflow9_ubiquiti_edgerouter.pcap', count: 2, exporters: ['10.100.4.1:33135'], version: 9 },
    {
      file: 'ipt_netflow_v5.pcap',
      count: 2,
      exporters: ['192.168.1.1:37189', '192.168.1.1:57751'],
      version: 5,
    },
    {
      file: 'ipt_netflow_v9.pcap',
      count: 2,
      exporters: ['192.168.1.1:57573', '192.168.1.1:37303'],
      version: 9,
    },
  ];
  for (const c of cases) {
    it(`${c.file}: ${c.count} datagrams from ${c.exporters.join(', ')}, NetFlow version ${c.version}`, () => {
      const { datagrams, stats } = read(fixture(`pcap/${c.file}`), c.file);
      assert.equal(datagrams.length, c.count);
      assert.deepEqual([...new Set(datagrams.map(exporter))], c.exporters);
      for (const d of datagrams) {
        assert.equal(version(d), c.version);
        assert.equal(d.dstPort, 2055);
      }
      assert.deepEqual(
        datagrams.map((d) => d.frame),
        Array.from({ length: c.count }, (_, i) => i + 1),
      );
      assert.deepEqual(stats, {
        frames: c.count,
        udp: c.count,
        skipped: 0,
        truncated: 0,
        fragments: 0,
        fragmentsDropped: 0,
      });
    });
  }

  it('IPFIX payload length equals the message length field; timestamps in whole ms', () => {
    const { datagrams } = read(fixture('pcap/ipfix_cisco.pcap'));
    for (const d of datagrams) assert.equal((d.payload[2] << 8) | d.payload[3], d.payload.length);
    // First record: 2018-07-03T10:47:00.175945Z (tshark), truncated to the millisecond.
    assert.equal(datagrams[0].timestampMs, Date.UTC(2018, 6, 3, 10, 47, 0, 175));
    assert.equal(datagrams[0].dstIp, '10.10.28.57');
  });
});

describe('readPcap: file formats', () => {
  const original = read(fixture('pcap/netflow9_ubiquiti_edgerouter.pcap'));
  // 2018-08-09T16:49:04.951160Z and .951335Z
  const expectedTimes = [1533833344951, 1533833344951];

  function assertSameAsOriginal(result: { datagrams: UdpDatagram[]; stats: CaptureStats }) {
    assert.equal(result.datagrams.length, 2);
    assert.deepEqual(
      result.datagrams.map((d) => ({ ...d, payload: [...d.payload] })),
      original.datagrams.map((d) => ({ ...d, payload: [...d.payload] })),
    );
    assert.deepEqual(result.stats, original.stats);
  }

  it('classic little-endian microsecond pcap (the original)', () => {
    assert.deepEqual(
      original.datagrams.map((d) => d.timestampMs),
      expectedTimes,
    );
    assert.equal(original.datagrams[0].payload.length, 496);
  });

  it('nanosecond pcap (generated with editcap -F nsecpcap)', () => {
    assertSameAsOriginal(read(fixture('generated/netflow9_ubiquiti_edgerouter.nsec.pcap')));
  });

  it('pcapng, microsecond interface (generated with editcap -F pcapng)', () => {
    assertSameAsOriginal(read(fixture('generated/netflow9_ubiquiti_edgerouter.pcapng')));
  });

  it('pcapng with if_tsresol = 9 (generated from the nanosecond pcap)', () => {
    const data = fixture('generated/netflow9_ubiquiti_edgerouter.nsec.pcapng');
    assert.ok(data.includes(Buffer.from([9, 0, 1, 0, 9])), 'fixture carries if_tsresol 9');
    assertSameAsOriginal(read(data));
  });

  it('big-endian classic pcap (the original with every header field byte-swapped)', () => {
    const le = fixture('pcap/netflow9_ubiquiti_edgerouter.pcap');
    const be = Uint8Array.from(le);
    const view = new DataView(be.buffer);
    const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
    view.setUint32(0, src.getUint32(0, true), false);
    view.setUint16(4, src.getUint16(4, true), false);
    view.setUint16(6, src.getUint16(6, true), false);
    for (let o = 8; o < 24; o += 4) view.setUint32(o, src.getUint32(o, true), false);
    for (let off = 24; off < be.length; ) {
      for (let o = off; o < off + 16; o += 4) view.setUint32(o, src.getUint32(o, true), false);
      off += 16 + src.getUint32(off + 8, true);
    }
    assert.deepEqual([...be.subarray(0, 4)], [0xa1, 0xb2, 0xc3, 0xd4]);
    assertSameAsOriginal(read(be));
  });

  it('synthetic big-endian nanosecond pcap', () => {
    const data = pcapFile(
      ETHERNET,
      [{ seconds: 1_700_000_000, fraction: 999_999_999, data: ethernet(0x0800, V4_UDP) }],
      {
        le: false,
        nano: true,
      },
    );
    const result = read(data);
    assertOneDatagram(result);
    assert.equal(result.datagrams[0].timestampMs, 1_700_000_000_999);
  });

  it('pcapng: two sections of opposite byte order, several interfaces, EPB/SPB/PB, unknown blocks', () => {
    const file = concat(
      shb(true, [option(true, 4, [...Buffer.from('synthetic')])]),
      idb(true, ETHERNET),
      // raw IP, nanosecond units, timestamps shifted by 10 s
      idb(true, 101, [option(true, 9, [9]), option(true, 14, [...le32(10), 0, 0, 0, 0])]),
      block(true, 4, [0, 0, 0, 0]), // name resolution block, empty
      block(true, 0x40000bad, [0, 0, 0x7f, 0xff, 1, 2, 3, 4]), // custom block
      epb(true, 0, 1_700_000_000_123_456n, ethernet(0x0800, V4_UDP)),
      epb(true, 1, 1_700_000_000_987_654_321n, V6_UDP),
      spb(true, ethernet(0x0800, V4_UDP)),
      pb(true, 0, 1_600_000_000_000_001n, ethernet(0x0800, V4_UDP)),
      block(true, 5, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // interface statistics
      shb(false),
      // SLL with binary units: 2^-10 s
      idb(false, 113, [option(false, 9, [0x8a])]),
      epb(false, 0, 1024n * 5n + 512n, sll(0x0800, V4_UDP)),
      epb(false, 1, 0n, V6_UDP), // interface 1 was defined in the previous section only
    );
    const { datagrams, stats } = read(file, 'multi.pcapng');
    assert.deepEqual(
      datagrams.map((d) => [d.frame, d.srcIp, d.timestampMs]),
      [
        [1, '192.0.2.1', 1_700_000_000_123],
        [2, '2001:db8::1', 1_700_000_010_987],
        [3, '192.0.2.1', 0],
        [4, '192.0.2.1', 1_600_000_000_000],
        [5, '192.0.2.1', 5500],
      ],
    );
    assert.equal(datagrams[1].dstIp, '2001:db8:0:1::fe');
    assert.deepEqual(stats, {
      frames: 6,
      udp: 5,
      skipped: 1,
      truncated: 0,
      fragments: 0,
      fragmentsDropped: 0,
    });
  });

  it('pcapng: SPB captured length is limited by the interface snap length', () => {
    const frame = ethernet(0x0800, V4_UDP);
    const file = concat(shb(true), idb(true, ETHERNET, [], 40), spb(true, frame));
    assert.deepEqual(read(file).stats.truncated, 1);
  });
});

describe('readPcap: link types', () => {
  it('Ethernet with one 802.1Q tag', () => {
    assertOneDatagram(frames(ETHERNET, ethernet(0x0800, V4_UDP, [[0x8100, 100]])));
  });

  it('Ethernet with stacked tags (802.1ad + 802.1Q, and 0x9100 + 0x8100)', () => {
    assertOneDatagram(
      frames(
        ETHERNET,
        ethernet(0x0800, V4_UDP, [
          [0x88a8, 10],
          [0x8100, 20],
        ]),
      ),
    );
    assertOneDatagram(
      frames(
        ETHERNET,
        ethernet(0x86dd, V6_UDP, [
          [0x9100, 10],
          [0x8100, 20],
        ]),
      ),
      '2001:db8::1',
    );
  });

  it('Ethernet cut inside a VLAN tag, or shorter than its header, is truncated', () => {
    const tagged = ethernet(0x0800, V4_UDP, [
      [0x8100, 1],
      [0x8100, 2],
    ]);
    assert.equal(frames(ETHERNET, tagged.subarray(0, 16)).stats.truncated, 1);
    assert.equal(frames(ETHERNET, tagged.subarray(0, 10)).stats.truncated, 1);
  });

  it('Linux cooked SLL (113), also with a VLAN tag in the protocol field', () => {
    assertOneDatagram(frames(113, sll(0x0800, V4_UDP)));
    assertOneDatagram(frames(113, sll(0x8100, concat(be16(7), be16(0x0800), V4_UDP))));
    assertOneDatagram(frames(113, sll(0x86dd, V6_UDP)), '2001:db8::1');
  });

  it('Linux cooked SLL2 (276)', () => {
    assertOneDatagram(frames(276, sll2(0x0800, V4_UDP)));
    assertOneDatagram(frames(276, sll2(0x86dd, V6_UDP)), '2001:db8::1');
  });

  it('BSD NULL (0): family in either byte order; AF_INET6 of BSD, FreeBSD, macOS', () => {
    assertOneDatagram(frames(0, concat(le32(2), V4_UDP)));
    assertOneDatagram(frames(0, concat(be32(2), V4_UDP)));
    for (const family of [24, 28, 30]) {
      assertOneDatagram(frames(0, concat(le32(family), V6_UDP)), '2001:db8::1');
      assertOneDatagram(frames(0, concat(be32(family), V6_UDP)), '2001:db8::1');
    }
  });

  it('OpenBSD LOOP (108): family in network byte order only', () => {
    assertOneDatagram(frames(108, concat(be32(2), V4_UDP)));
    assertOneDatagram(frames(108, concat(be32(24), V6_UDP)), '2001:db8::1');
    assert.equal(frames(108, concat(le32(2), V4_UDP)).stats.skipped, 1);
  });

  it('raw IP: 101, 12 and 14 by version nibble; 228 IPv4 only; 229 IPv6 only', () => {
    for (const linktype of [101, 12, 14]) {
      assertOneDatagram(frames(linktype, V4_UDP));
      assertOneDatagram(frames(linktype, V6_UDP), '2001:db8::1');
    }
    assertOneDatagram(frames(228, V4_UDP));
    assertOneDatagram(frames(229, V6_UDP), '2001:db8::1');
    assert.equal(frames(228, V6_UDP).stats.skipped, 1);
    assert.equal(frames(229, V4_UDP).stats.skipped, 1);
  });

  it('unsupported link types and ethertypes are skipped', () => {
    const result = frames(9 /* PPP */, V4_UDP);
    assert.deepEqual([result.stats.frames, result.stats.skipped], [1, 1]);
    assert.equal(frames(ETHERNET, ethernet(0x0806, new Uint8Array(28))).stats.skipped, 1); // ARP
  });
});

describe('readPcap: IPv4', () => {
  it('honours IHL (options) and ignores Ethernet padding and FCS past the total length', () => {
    const small = udp(4739, 2055, Uint8Array.from([0, 10, 0, 4]));
    const packet = ipv4(small, { options: [1, 1, 1, 0, 0x94, 4, 0, 0] }); // NOPs, EOL, router alert
    const frame = concat(
      ethernet(0x0800, packet),
      new Uint8Array(60 - 14 - packet.length),
      [0xde, 0xad, 0xbe, 0xef],
    );
    const { datagrams } = frames(ETHERNET, frame);
    assert.equal(datagrams.length, 1);
    assert.deepEqual([...datagrams[0].payload], [0, 10, 0, 4]);
  });

  it('non-UDP and malformed packets are skipped', () => {
    const tcp = ipv4(new Uint8Array(20), { protocol: 6 });
    const badIhl = Uint8Array.from(V4_UDP);
    badIhl[0] = 0x44;
    const badUdpLength = ipv4(udp(1, 2, payload(20), 200));
    const result = frames(101, tcp, badIhl, badUdpLength);
    assert.deepEqual(result.stats, {
      frames: 3,
      udp: 0,
      skipped: 3,
      truncated: 0,
      fragments: 0,
      fragmentsDropped: 0,
    });
  });

  it('reassembles fragments that arrive in reverse order, around an unrelated datagram', () => {
    const body = payload(3000, 7);
    const datagram = udp(4739, 2055, body);
    const pieces = [0, 1480, 2960].map((offset) =>
      ipv4(datagram.subarray(offset, offset + 1480), {
        id: 0xbeef,
        fragmentOffset: offset,
        more: offset < 2960,
      }),
    );
    const result = frames(101, pieces[2], pieces[1], V4_UDP, pieces[0]);
    assert.equal(result.datagrams.length, 2);
    assert.deepEqual(result.datagrams[0].payload, payload(20));
    const whole = result.datagrams[1];
    assert.deepEqual(whole.payload, body);
    assert.equal(whole.frame, 4);
    assert.equal(whole.timestampMs, 1003_000);
    assert.deepEqual(result.stats, {
      frames: 4,
      udp: 2,
      skipped: 0,
      truncated: 0,
      fragments: 3,
      fragmentsDropped: 0,
    });
  });

  it('keeps fragments of different datagrams apart (id, source)', () => {
    const a = udp(1000, 2055, payload(100, 1));
    const b = udp(2000, 2055, payload(100, 2));
    const frag = (d: Uint8Array, o: { id: number; src?: string }, first: boolean) =>
      ipv4(first ? d.subarray(0, 64) : d.subarray(64), { ...o, fragmentOffset: first ? 0 : 64, more: first });
    const result = frames(
      101,
      frag(a, { id: 1 }, true),
      frag(b, { id: 1, src: '192.0.2.99' }, true),
      frag(b, { id: 1, src: '192.0.2.99' }, false),
      frag(a, { id: 1 }, false),
    );
    assert.deepEqual(
      result.datagrams.map((d) => [d.srcIp, d.srcPort, d.frame]),
      [
        ['192.0.2.99', 2000, 3],
        ['192.0.2.1', 1000, 4],
      ],
    );
    assert.deepEqual(result.datagrams[1].payload, payload(100, 1));
  });

  it(`holds at most ${MAX_PENDING_FRAGMENTED} pending datagrams, abandoning the oldest`, () => {
    const datagram = udp(4739, 2055, payload(100));
    const first = (id: number) => ipv4(datagram.subarray(0, 64), { id, more: true });
    const last = (id: number) => ipv4(datagram.subarray(64), { id, fragmentOffset: 64 });
    const ids = Array.from({ length: MAX_PENDING_FRAGMENTED + 1 }, (_, i) => i);
    const result = frames(101, ...ids.map(first), last(0), last(MAX_PENDING_FRAGMENTED));
    // id 0 was abandoned to make room for id 64, so its last fragment opens a new entry (evicting
    // id 1); id 64 completes. At the end 63 entries are left: 2 evicted + 63 = 65 dropped.
    assert.equal(result.datagrams.length, 1);
    assert.equal(result.datagrams[0].frame, MAX_PENDING_FRAGMENTED + 3);
    assert.equal(result.stats.fragments, MAX_PENDING_FRAGMENTED + 3);
    assert.equal(result.stats.fragmentsDropped, MAX_PENDING_FRAGMENTED + 1);
  });

  it('abandons a datagram that would exceed 64 KiB, and one whose last fragment contradicts another', () => {
    const beyond = ipv4(new Uint8Array(16), { id: 9, fragmentOffset: 65528, more: false });
    const lastA = ipv4(new Uint8Array(16), { id: 10, fragmentOffset: 64 });
    const lastB = ipv4(new Uint8Array(8), { id: 10, fragmentOffset: 96 });
    const middle = ipv4(new Uint8Array(64), { id: 11, fragmentOffset: 128, more: true });
    const shortLast = ipv4(new Uint8Array(8), { id: 11, fragmentOffset: 64 });
    const result = frames(101, beyond, lastA, lastB, middle, shortLast);
    assert.deepEqual(result.stats, {
      frames: 5,
      udp: 0,
      skipped: 0,
      truncated: 0,
      fragments: 5,
      fragmentsDropped: 3,
    });
  });

  it('counts fragments still incomplete at the end of the file', () => {
    const result = frames(101, ipv4(new Uint8Array(64), { id: 5, more: true }));
    assert.deepEqual([result.stats.fragments, result.stats.fragmentsDropped], [1, 1]);
  });
});

describe('readPcap: IPv6', () => {
  it('walks hop-by-hop, routing and destination options headers to UDP', () => {
    const chain = concat(extensionHeader(43), extensionHeader(60, 1), extensionHeader(17), UDP_BODY);
    assertOneDatagram(frames(ETHERNET, ethernet(0x86dd, ipv6(0, chain))), '2001:db8::1');
    assertOneDatagram(frames(101, ipv6(0, concat(extensionHeader(17), UDP_BODY))), '2001:db8::1');
  });

  it('reassembles a fragmented datagram behind a hop-by-hop header', () => {
    const body = payload(2000, 3);
    const datagram = udp(4739, 2055, body);
    const fragment = (offset: number, end: number, more: boolean) =>
      ipv6(
        0,
        concat(
          extensionHeader(44),
          fragmentHeader(17, offset, more, 0xcafe0001),
          datagram.subarray(offset, end),
        ),
      );
    const result = frames(
      ETHERNET,
      ethernet(0x86dd, fragment(1232, datagram.length, false)),
      ethernet(0x86dd, fragment(0, 1232, true)),
    );
    assert.equal(result.datagrams.length, 1);
    const [d] = result.datagrams;
    assert.deepEqual(d.payload, body);
    assert.deepEqual(
      [d.srcIp, d.dstIp, d.srcPort, d.dstPort, d.frame],
      ['2001:db8::1', '2001:db8:0:1::fe', 4739, 2055, 2],
    );
    assert.deepEqual([result.stats.fragments, result.stats.udp, result.stats.fragmentsDropped], [2, 1, 0]);
  });

  it('treats an atomic fragment (offset 0, M = 0) as a whole packet', () => {
    assertOneDatagram(
      frames(101, ipv6(44, concat(fragmentHeader(17, 0, false, 1), UDP_BODY))),
      '2001:db8::1',
    );
  });

  it('skips ICMPv6, ESP, no-next-header and fragments of other protocols', () => {
    const result = frames(
      101,
      ipv6(58, new Uint8Array(8)),
      ipv6(50, new Uint8Array(16)),
      ipv6(59, new Uint8Array(0)),
      ipv6(44, concat(fragmentHeader(6, 0, true, 2), new Uint8Array(16))),
    );
    assert.deepEqual([result.stats.skipped, result.stats.fragments], [4, 0]);
  });

  it('uses the source and destination addresses in RFC 5952 form', () => {
    const src = '2001:0db8:0000:0000:0001:0000:0000:0001';
    const dst = '0000:0000:0000:0000:0000:ffff:c000:0201';
    const { datagrams } = frames(101, ipv6(17, UDP_BODY, src, dst));
    assert.deepEqual([datagrams[0].srcIp, datagrams[0].dstIp], ['2001:db8::1:0:0:1', '192.0.2.1']); // IPv4-mapped prints dotted, as Go's net.IP
  });
});

describe('readPcap: truncated frames', () => {
  it('counts frames cut by the snap length inside the IP packet or a header', () => {
    const frame = ethernet(0x0800, ipv4(udp(4739, 2055, payload(100))));
    const v6 = ethernet(0x86dd, ipv6(0, concat(extensionHeader(17), UDP_BODY)));
    const records: PcapRecord[] = [
      { seconds: 1, fraction: 0, data: frame, caplen: 60 }, // inside the UDP payload
      { seconds: 2, fraction: 0, data: frame, caplen: 20 }, // inside the IPv4 header
      { seconds: 3, fraction: 0, data: v6, caplen: 40 }, // inside the IPv6 header
      { seconds: 4, fraction: 0, data: v6, caplen: 14 + 40 + 4 }, // inside the hop-by-hop header
      { seconds: 5, fraction: 0, data: v6, caplen: 14 + 40 + 8 + 4 }, // inside UDP
      { seconds: 6, fraction: 0, data: frame, caplen: 14 }, // nothing after the Ethernet header
    ];
    const { datagrams, stats } = read(pcapFile(ETHERNET, records));
    assert.equal(datagrams.length, 0);
    assert.deepEqual(stats, {
      frames: 6,
      udp: 0,
      skipped: 0,
      truncated: 6,
      fragments: 0,
      fragmentsDropped: 0,
    });
  });

  it('counts a last record cut by the end of the file (in its data, or in its header)', () => {
    const data = fixture('pcap/netflow9_ubiquiti_edgerouter.pcap');
    const inData = read(data.subarray(0, data.length - 100));
    assert.deepEqual([inData.datagrams.length, inData.stats.frames, inData.stats.truncated], [1, 2, 1]);
    const inHeader = read(data.subarray(0, 24 + 16 + 538 + 8));
    assert.deepEqual([inHeader.datagrams.length, inHeader.stats.frames, inHeader.stats.truncated], [1, 2, 1]);
  });

  it('counts a pcapng packet block cut by the end of the file', () => {
    const data = fixture('generated/netflow9_ubiquiti_edgerouter.pcapng');
    const inData = read(data.subarray(0, data.length - 100));
    assert.deepEqual([inData.datagrams.length, inData.stats.frames, inData.stats.truncated], [1, 2, 1]);
    const inFixedPart = read(data.subarray(0, data.length - 552));
    assert.deepEqual(
      [inFixedPart.datagrams.length, inFixedPart.stats.frames, inFixedPart.stats.truncated],
      [1, 2, 1],
    );
  });
});

describe('readPcap: not a capture', () => {
  const expectCaptureError = (data: Uint8Array, name: string, pattern: RegExp) =>
    assert.throws(
      () => [...readPcap(data, name)],
      (error: unknown) => {
        assert.ok(error instanceof FlowshipError);
        assert.equal(error.code, 'FLOWSHIP_CAPTURE');
        assert.match(error.message, pattern);
        return true;
      },
    );

  it('a raw NetFlow payload: names the file and the magic', () => {
    expectCaptureError(
      fixture('dat/netflow5.dat'),
      'netflow5.dat',
      /^netflow5\.dat: not a pcap.*magic 0x00050002/,
    );
  });

  it('a file too short for a magic number', () => {
    expectCaptureError(Uint8Array.from([0xd4, 0xc3]), 'tiny.pcap', /tiny\.pcap: .*2 bytes/);
  });

  it('a truncated pcap file header', () => {
    expectCaptureError(
      fixture('pcap/ipfix_cisco.pcap').subarray(0, 20),
      'cut.pcap',
      /cut\.pcap: pcap file header/,
    );
  });

  it('a pcapng block with an impossible length, or a bad byte-order magic', () => {
    const good = concat(shb(true), idb(true, ETHERNET));
    const bad = Uint8Array.from(good);
    new DataView(bad.buffer).setUint32(shb(true).length + 4, 13, true);
    expectCaptureError(bad, 'bad.pcapng', /bad\.pcapng: corrupt pcapng block at offset 28/);
    const bom = Uint8Array.from(good);
    bom[8] = 0;
    expectCaptureError(bom, 'bom.pcapng', /byte-order magic/);
  });
});

describe('readPcap: robustness (fast-check, fixed seed)', () => {
  const seeds = { seed: 0x5eed, numRuns: 300 };
  const originals = [
    fixture('pcap/ipfix_cisco.pcap'),
    fixture('generated/netflow9_ubiquiti_edgerouter.pcapng'),
    fixture('generated/netflow9_ubiquiti_edgerouter.nsec.pcapng'),
  ];

  /** Reads to the end; only FLOWSHIP_CAPTURE may escape, and the counters must add up. */
  function readsSafely(data: Uint8Array): void {
    const stats = newCaptureStats();
    let datagrams: UdpDatagram[];
    try {
      datagrams = [...readPcap(data, 'fuzz', stats)];
    } catch (error) {
      assert.ok(error instanceof FlowshipError, String(error));
      assert.equal(error.code, 'FLOWSHIP_CAPTURE');
      return;
    }
    assert.equal(stats.udp, datagrams.length);
    assert.ok(stats.udp + stats.skipped + stats.truncated + stats.fragments >= stats.frames);
    for (const d of datagrams) {
      assert.ok(d.frame >= 1 && d.frame <= stats.frames);
      assert.ok(Number.isInteger(d.srcPort) && d.srcPort <= 0xffff);
    }
  }

  it('survives byte flips and truncation of real captures', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...originals),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.nat(),
        (original, flips, cut) => {
          const data = Uint8Array.from(original.subarray(0, original.length - (cut % 64)));
          for (const [at, value] of flips) data[at % data.length] = value;
          readsSafely(data);
        },
      ),
      seeds,
    );
  });

  it('survives arbitrary frame bytes under every supported link type', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276),
        fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 8 }),
        (linktype, data) => {
          readsSafely(
            pcapFile(
              linktype,
              data.map((d) => ({ seconds: 0, fraction: 0, data: d })),
            ),
          );
        },
      ),
      seeds,
    );
  });
});
