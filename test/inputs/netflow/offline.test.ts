import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NetflowDecoder } from '../../../src/inputs/netflow/decoder/decoder.ts';
import {
  decodeCaptureFile,
  type OfflineDecodeOptions,
  type OfflineDecodeSummary,
} from '../../../src/inputs/netflow/offline.ts';
import { DecodeError } from '../../../src/util/errors.ts';
import { ethernet, ipv4, pcapFile, udp } from './capture/synthetic.ts';
import { decoder, ipfix, ipfixTemplate, set, u32, v9, v9Template } from './decoder/packets.ts';

const FIXTURES = new URL('../../../fixtures/netflow/dat/', import.meta.url);
/** One v5 packet of 30 records, 1464 bytes. */
const V5 = readFileSync(new URL('netflow5_test_microtik.dat', FIXTURES));
/** A v5 packet of 2 records, 120 bytes (the first of netflow5.dat). */
const V5_SMALL = readFileSync(new URL('netflow5.dat', FIXTURES)).subarray(0, 24 + 2 * 48);
const EXPORTER = { ip: '192.0.2.1', port: 4444 };

const dir = mkdtempSync(join(tmpdir(), 'flowship-offline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ...parts: Uint8Array[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

interface Decoded {
  records: number;
  summary: OfflineDecodeSummary;
  errors: { reason: string; frame: number }[];
  truncated: { frame: number; length: number }[];
}

function decodeFile(path: string, options: Partial<OfflineDecodeOptions> = {}): Decoded {
  const summary: OfflineDecodeSummary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
  const errors: Decoded['errors'] = [];
  const truncated: Decoded['truncated'] = [];
  let records = 0;
  for (const _ of decodeCaptureFile(
    path,
    {
      decoder: decoder(),
      exporter: EXPORTER,
      maxMessageSize: 10 * 1024,
      onError: (err, where) => errors.push({ reason: err.reason, frame: where.frame }),
      onTruncated: (where) => truncated.push({ frame: where.frame, length: where.length }),
      ...options,
    },
    summary,
  ))
    records++;
  return { records, summary, errors, truncated };
}

/** A pcap file of one Ethernet/IPv4/UDP frame per payload. */
function pcap(name: string, ...payloads: Uint8Array[]): string {
  return file(
    name,
    pcapFile(
      1,
      payloads.map((p, i) => ({
        seconds: 1_700_000_000 + i,
        fraction: 0,
        data: ethernet(0x0800, ipv4(udp(4444, 2055, p))),
      })),
    ),
  );
}

describe('decodeCaptureFile: datagrams that do not decode', () => {
  it('a datagram of one byte is a decode error, not an exception', () => {
    const d = decodeFile(file('one.dat', Uint8Array.of(0x09)));
    assert.equal(d.records, 0);
    assert.equal(d.summary.errors, 1);
    assert.equal(d.errors.length, 1);
    assert.equal(d.summary.datagrams, 1);
  });

  it('an exception other than a DecodeError counts as reason internal, and decoding goes on', () => {
    const real = decoder();
    let calls = 0;
    const buggy = {
      decode: (packet: Buffer, from: Parameters<NetflowDecoder['decode']>[1]) => {
        if (calls++ === 0) throw new TypeError('decoder bug');
        return real.decode(packet, from);
      },
    } as unknown as NetflowDecoder;
    const d = decodeFile(file('two.dat', V5_SMALL, V5), { decoder: buggy });
    assert.deepEqual(d.errors, [{ reason: 'internal', frame: 1 }]);
    assert.equal(d.summary.errors, 1);
    assert.equal(d.records, 30, 'the second packet decodes');
    assert.equal(d.summary.datagrams, 2);
  });

  it('hands the internal error over as a DecodeError with its cause', () => {
    let seen: DecodeError | undefined;
    const bug = new RangeError('decoder bug');
    const buggy = {
      decode: () => {
        throw bug;
      },
    } as unknown as NetflowDecoder;
    decodeFile(file('v5.dat', V5_SMALL), {
      decoder: buggy,
      onError: (err) => {
        seen = err;
      },
    });
    assert.ok(seen instanceof DecodeError);
    assert.equal(seen.code, 'FLOWSHIP_DECODE');
    assert.equal(seen.reason, 'internal');
    assert.equal(seen.message, 'decoder bug');
    assert.equal(seen.cause, bug);
  });
});

describe('decodeCaptureFile: max_message_size', () => {
  it('cuts a pcap datagram longer than max_message_size, as the UDP receiver does, and counts it', () => {
    const path = pcap('long.pcap', V5_SMALL, V5);
    const whole = decodeFile(path);
    assert.equal(whole.records, 32);
    assert.equal(whole.summary.truncated, 0);
    assert.deepEqual(whole.truncated, []);
    // 1000 bytes of a 30-record v5 packet: fewer bytes than count records, a decode error (as in run)
    const cut = decodeFile(path, { maxMessageSize: 1000 });
    assert.equal(cut.records, 2);
    assert.equal(cut.summary.truncated, 1);
    assert.deepEqual(cut.truncated, [{ frame: 2, length: V5.length }]);
    assert.equal(cut.summary.errors, 1);
    assert.deepEqual(
      cut.errors.map((e) => e.frame),
      [2],
    );
  });

  it('cuts a .dat packet of a known length the same way', () => {
    const path = file('long.dat', V5_SMALL, V5, V5_SMALL);
    const cut = decodeFile(path, { maxMessageSize: 1000 });
    assert.equal(cut.records, 4);
    assert.deepEqual(cut.truncated, [{ frame: 2, length: V5.length }]);
    assert.equal(cut.summary.errors, 1);
  });

  it('.dat v9 packets, which have no length, are not cut when each fits (whatever the file size)', () => {
    const template = set(
      0,
      v9Template(256, [
        [8, 4],
        [12, 4],
        [2, 4],
      ]),
    );
    const record = [...u32(0x0a000001), ...u32(0x0a000002), ...u32(7)];
    const data = (n: number) => set(256, ...Array.from({ length: n }, () => record));
    const first = v9({ sequence: 0 }, template, data(10));
    const second = v9({ sequence: 1, count: 1 }, data(20));
    const third = v9({ sequence: 2, count: 1 }, data(30));
    const max = Math.max(first.length, second.length, third.length) + 8;
    const path = file('v9.dat', first, second, third);
    assert.ok(first.length + second.length + third.length > max);
    const d = decodeFile(path, { maxMessageSize: max });
    assert.equal(d.records, 60);
    assert.equal(d.summary.truncated, 0);
    assert.equal(d.summary.errors, 0);
    assert.equal(d.summary.datagrams, 3);
  });

  it('a .dat v9 packet longer than max_message_size (it runs to the end of the file) is cut and counted', () => {
    const template = set(
      0,
      v9Template(256, [
        [8, 4],
        [12, 4],
        [2, 4],
      ]),
    );
    const record = [...u32(0x0a000001), ...u32(0x0a000002), ...u32(7)];
    const packet = v9({ sequence: 0 }, template, set(256, ...Array.from({ length: 50 }, () => record)));
    const d = decodeFile(file('v9-long.dat', packet), { maxMessageSize: 200 });
    assert.equal(d.summary.truncated, 1);
    assert.deepEqual(d.truncated, [{ frame: 1, length: packet.length }]);
    assert.ok(d.records < 50);
  });

  it('an IPFIX message longer than max_message_size in a pcap: cut and counted', () => {
    const template = set(
      2,
      ipfixTemplate(256, [
        [8, 4],
        [12, 4],
      ]),
    );
    const records = set(
      256,
      ...Array.from({ length: 40 }, (_, i) => [...u32(0x0a000000 + i), ...u32(0x0a000100 + i)]),
    );
    const message = ipfix({}, template, records);
    const d = decodeFile(pcap('ipfix.pcap', message), { maxMessageSize: 100 });
    assert.equal(d.summary.truncated, 1);
    assert.deepEqual(d.truncated, [{ frame: 1, length: message.length }]);
    assert.equal(d.records, 0);
  });
});
