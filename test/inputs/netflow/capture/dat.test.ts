import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nextV9Start, splitDat } from '../../../../src/inputs/netflow/capture/dat.ts';
import { be16, concat } from './synthetic.ts';

const datDir = new URL('../../../../fixtures/netflow/dat/', import.meta.url);
const dat = (name: string) => readFileSync(new URL(name, datDir));
const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];

/** A v1-v8 packet: header of `headerSize` bytes (version, count, v8 aggregation), records filled with 0xee. */
function legacy(version: number, count: number, headerSize: number, recordSize: number, aggregation = 0) {
  const header = new Uint8Array(headerSize);
  header.set([...be16(version), ...be16(count)]);
  if (version === 8) header[22] = aggregation;
  return concat(header, new Uint8Array(count * recordSize).fill(0xee));
}

function ipfix(length: number) {
  const p = new Uint8Array(length).fill(0xaa);
  p.set([...be16(10), ...be16(length)]);
  return p;
}

function v9(length: number) {
  const p = new Uint8Array(length).fill(0x99);
  p.set([...be16(9), ...be16(1)]);
  return p;
}

describe('splitDat: fixture files (fixtures/netflow/README.md)', () => {
  it('ipfix.dat holds 3 IPFIX messages, each as long as its length field', () => {
    const data = dat('ipfix.dat');
    const packets = splitDat(data);
    assert.equal(packets.length, 3);
    for (const p of packets) {
      assert.equal(u16(p, 0), 10);
      assert.equal(u16(p, 2), p.length);
    }
    assert.equal(
      packets.reduce((n, p) => n + p.length, 0),
      data.length,
    );
  });

  it('netflow5.dat holds 12 v5 packets of 24 + 48 x count bytes (30 records)', () => {
    const data = dat('netflow5.dat');
    const packets = splitDat(data);
    assert.equal(packets.length, 12);
    for (const p of packets) {
      assert.equal(u16(p, 0), 5);
      assert.equal(p.length, 24 + 48 * u16(p, 2));
    }
    assert.equal(
      packets.reduce((n, p) => n + u16(p, 2), 0),
      30,
    );
    assert.equal(
      packets.reduce((n, p) => n + p.length, 0),
      data.length,
    );
  });

  it('every other file is one packet starting at byte 0', () => {
    const files = readdirSync(datDir).filter(
      (f) => f.endsWith('.dat') && f !== 'ipfix.dat' && f !== 'netflow5.dat',
    );
    assert.equal(files.length, 90);
    for (const file of files) {
      const data = dat(file);
      const packets = splitDat(data);
      assert.equal(packets.length, 1, file);
      assert.equal(packets[0].byteOffset, data.byteOffset, file);
    }
  });

  it('the Palo Alto zero-filled packet is one packet, the whole file (v9: the decoder finds the end)', () => {
    const data = dat('netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat');
    const packets = splitDat(data);
    assert.equal(packets.length, 1);
    assert.equal(packets[0].length, data.length);
  });

  it('the invalid v5 files (count beyond the data) are returned whole, for the decoder to reject', () => {
    for (const file of ['netflow5_test_invalid01.dat', 'netflow5_test_invalid02.dat']) {
      const data = dat(file);
      assert.ok(24 + 48 * u16(data, 2) > data.length);
      assert.deepEqual(
        splitDat(data).map((p) => p.length),
        [data.length],
      );
    }
  });
});

describe('splitDat: synthetic files', () => {
  const lengths = (data: Uint8Array) => splitDat(data).map((p) => p.length);

  it('v1 (16 + 48n), v5 (24 + 48n), v6 and v7 (24 + 52n) back to back', () => {
    const file = concat(
      legacy(1, 2, 16, 48),
      legacy(5, 0, 24, 48),
      legacy(6, 1, 24, 52),
      legacy(7, 3, 24, 52),
    );
    assert.deepEqual(lengths(file), [112, 24, 76, 180]);
  });

  it('v8 by the record size of its aggregation scheme', () => {
    const file = concat(legacy(8, 2, 28, 44, 8), legacy(8, 1, 28, 28, 1), legacy(8, 3, 28, 40, 14));
    assert.deepEqual(lengths(file), [28 + 88, 28 + 28, 28 + 120]);
  });

  it('v8 with an unknown aggregation scheme: the rest is one packet', () => {
    const file = concat(legacy(8, 1, 28, 28, 1), legacy(8, 2, 28, 32, 99), legacy(5, 1, 24, 48));
    assert.deepEqual(lengths(file), [56, 28 + 64 + 72]);
  });

  it('IPFIX by its length; a v9 packet takes the rest of the file', () => {
    assert.deepEqual(lengths(concat(ipfix(40), ipfix(16), v9(60), ipfix(40))), [40, 16, 100]);
  });

  it('a declared length beyond the file yields the remainder as the last packet', () => {
    const cutIpfix = concat(ipfix(40), ipfix(100).subarray(0, 60));
    assert.deepEqual(lengths(cutIpfix), [40, 60]);
    const cutV5 = concat(legacy(5, 1, 24, 48), legacy(5, 3, 24, 48).subarray(0, 100));
    assert.deepEqual(lengths(cutV5), [72, 100]);
  });

  it('an IPFIX length below the header size: the rest is one packet (the decoder rejects it)', () => {
    const bad = ipfix(20);
    bad.set(be16(4), 2);
    assert.deepEqual(lengths(concat(ipfix(20), bad)), [20, 20]);
  });

  it('trailing zero padding, or a stub too short for a header, returns nothing', () => {
    assert.deepEqual(lengths(concat(ipfix(40), new Uint8Array(100))), [40]);
    assert.deepEqual(lengths(concat(legacy(5, 1, 24, 48), new Uint8Array(3))), [72]);
    assert.deepEqual(lengths(concat(ipfix(40), ipfix(16).subarray(0, 12))), [40]);
    assert.deepEqual(lengths(concat(legacy(5, 1, 24, 48), legacy(5, 0, 24, 48).subarray(0, 20))), [72]);
  });

  it('a file that starts with no known header is returned whole, so the decoder reports it', () => {
    assert.deepEqual(lengths(Uint8Array.from([0, 4, 0, 1, 2, 3])), [6]);
    assert.deepEqual(lengths(Uint8Array.from([0, 5, 0, 1])), [4]);
    assert.deepEqual(lengths(new Uint8Array(0)), []);
  });

  it('packets are views into the file, in order', () => {
    const file = concat(ipfix(40), ipfix(24));
    const [a, b] = splitDat(file);
    assert.equal(a.buffer, file.buffer);
    assert.equal(b.byteOffset, file.byteOffset + 40);
  });
});

describe('nextV9Start', () => {
  const twoPackets = concat(v9(48), v9(20), new Uint8Array(8));

  it('returns the offset when a v9 header of at least 20 bytes starts there', () => {
    assert.equal(nextV9Start(twoPackets, 48), 48);
  });

  it('undefined for fewer than 20 bytes, another version, zero padding, or no progress', () => {
    assert.equal(nextV9Start(twoPackets, 68), undefined); // 8 zero bytes left
    assert.equal(nextV9Start(concat(v9(48), v9(20).subarray(0, 19)), 48), undefined);
    assert.equal(nextV9Start(concat(v9(48), ipfix(40)), 48), undefined);
    assert.equal(nextV9Start(twoPackets, 0), undefined);
    assert.equal(nextV9Start(twoPackets, twoPackets.length), undefined);
    assert.equal(nextV9Start(twoPackets, twoPackets.length + 4), undefined);
  });

  it('the Palo Alto zero-filled packet has no second packet after its flowset', () => {
    const data = dat('netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat');
    // 20-byte header + one flowset whose length is at bytes 22-23.
    const consumed = 20 + u16(data, 22);
    assert.ok(consumed < data.length);
    assert.equal(nextV9Start(data, consumed), undefined);
  });
});

describe('splitDat: robustness (fast-check, fixed seed)', () => {
  it('returns contiguous, non-empty views from byte 0, never past the end', () => {
    const versions = fc.constantFrom(0, 1, 5, 6, 7, 8, 9, 10, 11);
    const chunk = fc
      .tuple(versions, fc.uint8Array({ maxLength: 200 }))
      .map(([v, rest]) => concat(be16(v), rest));
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 6 }), (chunks) => {
        const data = concat(...chunks);
        const packets = splitDat(data);
        let off = 0;
        for (const p of packets) {
          assert.equal(p.byteOffset, data.byteOffset + off);
          assert.ok(p.length > 0);
          off += p.length;
        }
        assert.ok(off <= data.length);
        if (data.length > 0) assert.ok(packets.length > 0);
      }),
      { seed: 0xda7, numRuns: 500 },
    );
  });
});
