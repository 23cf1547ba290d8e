/**
 * End to end, with real components only: `flowship run` listens on loopback; Debian's softflowd
 * exports NetFlow v5, v9 and IPFIX from a traffic capture over real UDP; tshark captures that
 * export and decodes it independently. Every flow tshark sees must arrive in flowship's output
 * with the same addresses, ports, protocol, bytes and packets, and `flowship decode` of the
 * captured export must print the same documents `run` shipped.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Doc, readOutputDocs } from '../helpers/output.ts';
import { eventually, freeUdpPort, type Spawned, start, startFlowship } from '../helpers/process.ts';
import { defaultTraffic, writeTrafficPcap } from '../helpers/traffic-pcap.ts';

interface FlowKey {
  version: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  bytes: number;
  packets: number;
}

const key = (f: FlowKey) =>
  `${f.version} ${f.src}:${f.sport} > ${f.dst}:${f.dport} p${f.proto} ${f.bytes}B ${f.packets}P`;

/** Every `Flow N` object of tshark's JSON, with the version of its packet. */
function tsharkFlows(pcap: string, port: number): FlowKey[] {
  const json = execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'json'], {
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const flows: FlowKey[] = [];
  const collect = (node: unknown, version: number) => {
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      // v9/IPFIX records are "Flow N", v1-v8 records "pdu N/M"
      if (/^(Flow \d+|pdu \d+\/\d+)$/.test(k) && v !== null && typeof v === 'object') {
        const f = v as Record<string, string>;
        const src = f['cflow.srcaddr'] ?? f['cflow.srcaddrv6'];
        if (src === undefined) continue; // options records
        flows.push({
          version,
          src,
          dst: f['cflow.dstaddr'] ?? f['cflow.dstaddrv6'],
          sport: Number(f['cflow.srcport'] ?? 0),
          dport: Number(f['cflow.dstport'] ?? 0),
          proto: Number(f['cflow.protocol']),
          bytes: Number(f['cflow.octets'] ?? f['cflow.octets64']),
          packets: Number(f['cflow.packets'] ?? f['cflow.packets64']),
        });
      } else {
        collect(v, version);
      }
    }
  };
  for (const packet of JSON.parse(json) as {
    _source: { layers: { cflow?: { 'cflow.version': string } } };
  }[]) {
    const cflow = packet._source.layers.cflow;
    if (cflow !== undefined) collect(cflow, Number(cflow['cflow.version']));
  }
  return flows;
}

function flowshipFlows(docs: Doc[]): FlowKey[] {
  return docs
    .filter((d) => d.netflow.type === 'netflow_flow')
    .map((d) => ({
      version: d.netflow.exporter.version,
      src: d.source.ip,
      dst: d.destination.ip,
      sport: d.source.port ?? 0,
      dport: d.destination.port ?? 0,
      proto: Number(d.network.iana_number),
      bytes: d.network.bytes,
      packets: d.network.packets,
    }));
}

function withoutCreated(doc: Doc): string {
  const { created: _, ...event } = doc.event;
  return JSON.stringify({ ...doc, event });
}

describe('flowship run with softflowd over real UDP', { timeout: 180_000 }, () => {
  let dir: string;
  let port: number;
  let flowship: Spawned;
  let expected: FlowKey[];
  let shipped: Doc[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowship-e2e-'));
    port = await freeUdpPort();
    const traffic = join(dir, 'traffic.pcap');
    writeTrafficPcap(traffic, defaultTraffic(40));
    writeFileSync(
      join(dir, 'flowship.yml'),
      [
        'flowship.inputs:',
        '  - type: netflow',
        '    host: 127.0.0.1',
        `    port: ${port}`,
        'output.file:',
        `  path: ${join(dir, 'out')}`,
        `path.data: ${join(dir, 'data')}`,
        'queue.mem.flush.timeout: 100ms',
        '',
      ].join('\n'),
    );
    flowship = startFlowship(['run', '-c', join(dir, 'flowship.yml')]);
    await flowship.waitFor(/flowship started/);

    const capture = join(dir, 'capture.pcap');
    // tshark announces "Capturing on" before the capture is live: wait until it has seen a probe
    // datagram (to a port nobody listens on, so the exporter's stream stays clean)
    const probePort = await freeUdpPort();
    const tshark = start('tshark', [
      '-i',
      'lo',
      '-f',
      `udp port ${port} or udp port ${probePort}`,
      '-w',
      capture,
      '-P',
      '-l',
    ]);
    await tshark.waitFor(/Capturing on/);
    const probe = createSocket('udp4');
    try {
      await eventually(
        () => {
          probe.send('probe', probePort, '127.0.0.1');
          return tshark.stdout().includes(String(probePort)) ? true : undefined;
        },
        20_000,
        'tshark to capture a probe datagram',
      );
    } finally {
      probe.close();
    }
    for (const version of ['5', '9', '10']) {
      const args = ['-r', traffic, '-n', `127.0.0.1:${port}`, '-v', version, '-d'];
      if (version !== '5') args.push('-6'); // v5 has no IPv6 records
      // a pid file of our own; no control socket (-c keeps softflowd running after the capture ends)
      args.push('-p', join(dir, `softflowd-${version}.pid`));
      const r = spawnSync('softflowd', args, { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `softflowd -v ${version} failed: ${r.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    await tshark.stop('SIGINT');
    // the exporters' datagrams alone, for `flowship decode`
    execFileSync(
      'tshark',
      ['-r', capture, '-Y', `udp.dstport == ${port}`, '-F', 'pcap', '-w', join(dir, 'export.pcap')],
      {
        stdio: 'ignore',
      },
    );
    expected = tsharkFlows(join(dir, 'export.pcap'), port);

    shipped = await eventually(
      () => {
        const docs = readOutputDocs(join(dir, 'out'));
        return flowshipFlows(docs).length >= expected.length ? docs : undefined;
      },
      30_000,
      'flowship to write every flow',
    );
  });

  after(async () => {
    await flowship?.stop('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('exports from all three versions reach tshark', () => {
    const versions = new Set(expected.map((f) => f.version));
    assert.deepEqual(
      [...versions].sort((a, b) => a - b),
      [5, 9, 10],
    );
    // v5 carries the 34 IPv4 conversations both ways; v9 and IPFIX add the IPv6 ones
    assert.ok(expected.length > 150, `only ${expected.length} flows exported`);
  });

  it('ships every flow with the addresses, ports, protocol, bytes and packets tshark decodes', () => {
    const got = flowshipFlows(shipped).map(key).sort();
    const want = expected.map(key).sort();
    assert.deepEqual(got, want);
  });

  it('stops cleanly on SIGTERM, flushing everything', async () => {
    const code = await flowship.stop('SIGTERM');
    assert.equal(code, 0, flowship.stderr());
    assert.match(flowship.stderr(), /flowship stopped/);
    assert.equal(flowshipFlows(readOutputDocs(join(dir, 'out'))).length, expected.length);
  });

  it('flowship decode of the captured export prints the documents run shipped', () => {
    const r = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '../../bin/flowship.js'), 'decode', join(dir, 'export.pcap')],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, / 0 decode errors/);
    const decoded = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Doc);
    const ran = readOutputDocs(join(dir, 'out'));
    assert.equal(decoded.length, ran.length);
    assert.deepEqual(decoded.map(withoutCreated).sort(), ran.map(withoutCreated).sort());
  });
});
