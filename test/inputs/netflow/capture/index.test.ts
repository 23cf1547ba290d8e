import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../../../src/inputs/netflow/capture/index.ts';
import { FlowshipError } from '../../../../src/util/errors.ts';

const fixtures = fileURLToPath(new URL('../../../../fixtures/netflow/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'flowship-capture-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const exporter = { ip: '192.0.2.1', port: 4444 };

function expectError(fn: () => unknown, code: string, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FlowshipError);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('readCaptureFile', () => {
  it('a pcap file: datagrams with their own addresses, stats filled while iterating', () => {
    const capture = readCaptureFile(join(fixtures, 'pcap/ipt_netflow_v5.pcap'));
    assert.equal(capture.kind, 'pcap');
    assert.equal(capture.stats.frames, 0);
    const datagrams = [...capture.datagrams];
    assert.deepEqual(
      datagrams.map((d) => `${d.srcIp}:${d.srcPort}`),
      ['192.168.1.1:37189', '192.168.1.1:57751'],
    );
    assert.equal(capture.stats.udp, 2);
  });

  it('a pcapng file', () => {
    const capture = readCaptureFile(join(fixtures, 'generated/netflow9_ubiquiti_edgerouter.pcapng'));
    assert.equal(capture.kind, 'pcap');
    assert.equal([...capture.datagrams].length, 2);
  });

  it('decides by magic before extension: a pcap named .dat is read as pcap', () => {
    const path = join(tmp, 'really-a-pcap.dat');
    copyFileSync(join(fixtures, 'pcap/ipfix_cisco.pcap'), path);
    const capture = readCaptureFile(path, { exporter });
    assert.equal(capture.kind, 'pcap');
    assert.equal([...capture.datagrams][0].srcIp, '10.101.255.2');
  });

  it('a .dat file: one datagram per packet, from the given exporter, stamped by the injected clock', () => {
    const capture = readCaptureFile(join(fixtures, 'dat/netflow5.dat'), { exporter, now: () => 1_234_567 });
    assert.equal(capture.kind, 'dat');
    const datagrams = [...capture.datagrams];
    assert.equal(datagrams.length, 12);
    assert.deepEqual(
      { ...datagrams[0], payload: datagrams[0].payload.length },
      {
        payload: 120,
        srcIp: '192.0.2.1',
        srcPort: 4444,
        dstIp: '',
        dstPort: 0,
        timestampMs: 1_234_567,
        frame: 1,
      },
    );
    assert.equal(datagrams[11].frame, 12);
    assert.deepEqual([capture.stats.frames, capture.stats.udp], [12, 12]);
  });

  it('a file of another extension that starts with a NetFlow version is read as raw packets', () => {
    const path = join(tmp, 'payloads.bin');
    copyFileSync(join(fixtures, 'dat/ipfix.dat'), path);
    const capture = readCaptureFile(path, { exporter });
    assert.equal(capture.kind, 'dat');
    assert.equal([...capture.datagrams].length, 3);
  });

  it('a .dat file without an exporter address is a usage error', () => {
    expectError(
      () => readCaptureFile(join(fixtures, 'dat/ipfix.dat')),
      'FLOWSHIP_USAGE',
      /ipfix\.dat: .*--exporter/,
    );
  });

  it('garbage, or a .pcap whose magic is wrong, names the file and the magic', () => {
    const garbage = join(tmp, 'garbage.txt');
    writeFileSync(garbage, 'hello, world\n');
    expectError(
      () => readCaptureFile(garbage, { exporter }),
      'FLOWSHIP_CAPTURE',
      /garbage\.txt: .*magic 0x68656c6c/,
    );
    const fake = join(tmp, 'fake.pcap');
    copyFileSync(join(fixtures, 'dat/netflow5.dat'), fake);
    expectError(
      () => readCaptureFile(fake, { exporter }),
      'FLOWSHIP_CAPTURE',
      /fake\.pcap: not a pcap.*0x00050002/,
    );
  });

  it('an unreadable path', () => {
    expectError(
      () => readCaptureFile(join(tmp, 'missing.pcap')),
      'FLOWSHIP_CAPTURE',
      /missing\.pcap: cannot read.*ENOENT/,
    );
    expectError(() => readCaptureFile(tmp), 'FLOWSHIP_CAPTURE', /cannot read.*EISDIR/);
  });
});
