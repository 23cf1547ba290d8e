import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { NetflowNormalizer } from '../../../src/ecs/netflow.ts';
import type { EventSink } from '../../../src/inputs/input.ts';
import { buildNetflowParts } from '../../../src/inputs/netflow/parts.ts';
import type { MetricsRegistry } from '../../../src/monitoring/metrics.ts';
import type { Event } from '../../../src/pipeline/event.ts';
import { ip4, set, v9, v9Template } from './decoder/packets.ts';
import { CONFIG, inputHarness, until } from './input-harness.ts';

const V5 = readFileSync(new URL('../../../fixtures/netflow/dat/netflow5_test_microtik.dat', import.meta.url));

const harness = inputHarness;

function errorsByReason(metrics: MetricsRegistry): Record<string, number> {
  const snapshot = metrics.snapshot() as Record<
    string,
    { values: { labels: Record<string, string>; value: number }[] }
  >;
  return Object.fromEntries(
    snapshot.flowship_netflow_decode_errors_by_reason_total.values.map((v) => [v.labels.reason, v.value]),
  );
}

async function sendTo(port: number, payload: Buffer): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    socket.close();
  }
}

describe('NetflowInput: decode errors', () => {
  it('logs once per exporter IP and reason, whatever the source port, naming the full address', () => {
    const { input, lines } = harness();
    const bad = Buffer.from([0x00, 0x63, 0x00, 0x01]); // version 99
    // an exporter (or a spoofer) with a new source port for every datagram
    for (let i = 0; i < 5000; i++) {
      const port = 1024 + i;
      input.process(bad, { ip: '192.0.2.7', address: `192.0.2.7:${port}` });
    }
    input.process(bad, { ip: '2001:db8::7', address: '[2001:db8::7]:9995' });
    assert.equal(input.stats.decode_errors_total, 5001);
    const logged = lines.filter((l) => l.includes('cannot decode datagram'));
    assert.equal(logged.length, 2, logged.join('\n'));
    assert.match(logged[0], / exporter=192\.0\.2\.7:1024 /);
    assert.match(logged[1], / exporter=\[2001:db8::7\]:9995 /);
  });

  it('a data set its template cannot decode names the exporter, source id and template id', () => {
    const { input, lines, metrics } = harness();
    const from = { ip: '192.0.2.9', address: '192.0.2.9:2055' };
    // a template whose only field has length 0: no record can be read with it
    input.process(v9({ sourceId: 7 }, set(0, v9Template(300, [[8, 0]]))), from);
    input.process(v9({ sourceId: 7, sequence: 1 }, set(300, ip4('10.0.0.1'))), from);
    assert.equal(input.stats.decode_errors_total, 1);
    const logged = lines.filter((l) => l.includes('cannot decode datagram'));
    assert.equal(logged.length, 1);
    assert.match(logged[0], / exporter=192\.0\.2\.9:2055 /);
    assert.match(logged[0], / source_id=7 /);
    assert.match(logged[0], / template_id=300 /);
    assert.match(logged[0], / reason=empty_template /);
    const perExporter = metrics.get('flowship_netflow_exporter_decode_errors_total')?.samples();
    assert.deepEqual(perExporter, [
      { labels: { input: 'netflow', exporter: '192.0.2.9', source_id: '7', version: 'v9' }, value: 1 },
    ]);
  });

  it('a normalizer or sink that throws counts a decode error (internal) and the other records go on', async () => {
    const real = buildNetflowParts(CONFIG).normalizer;
    let normalized = 0;
    const normalizer = {
      dataStream: real.dataStream,
      normalizeJson: (record: Parameters<NetflowNormalizer['normalizeJson']>[0]) => {
        if (normalized++ === 0) throw new Error('normalizer bug');
        return real.normalizeJson(record);
      },
    } as unknown as NetflowNormalizer;
    const events: Event[] = [];
    let offered = 0;
    const sink: EventSink = {
      tryPublish: (event) => {
        if (offered++ === 0) throw new Error('sink bug');
        events.push(event);
        return true;
      },
      publish: async () => {},
    };
    const { input, lines, metrics } = harness({ normalizer, sink });
    await input.start();
    // Over a real socket: the records are normalised from setImmediate, where a throw ends the process.
    await sendTo(input.addresses[0].port, V5);
    await until(() => input.stats.decode_errors_total + events.length >= 30, '30 records handled');
    assert.equal(input.stats.flows_total, 30);
    assert.equal(input.stats.decode_errors_total, 2);
    assert.equal(input.stats.published_events_total, 28);
    assert.equal(events.length, 28);
    assert.deepEqual(errorsByReason(metrics), { internal: 2 });
    if (process.platform === 'linux') {
      // the kernel's own counters of the input's socket, read from /proc/net/udp
      const snapshot = metrics.snapshot() as Record<
        string,
        { values: { labels: Record<string, string>; value: number }[] }
      >;
      assert.deepEqual(snapshot.flowship_netflow_kernel_drops_total.values, [
        { labels: { input: input.id }, value: 0 },
      ]);
      assert.equal(snapshot.flowship_netflow_socket_receive_queue_bytes.values.length, 1);
    }
    const logged = lines.filter((l) => l.includes('cannot decode datagram'));
    assert.equal(logged.length, 1, 'rate-limited per exporter IP and reason');
    assert.match(logged[0], /reason=internal/);
  });
});

describe('NetflowInput: read_buffer', () => {
  it('warns, naming net.core.rmem_max, when the kernel grants less than read_buffer', {
    skip: process.platform !== 'linux' && 'Linux only (reads /proc/sys/net/core/rmem_max)',
  }, async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const requested = Math.min(2 ** 31 - 1, rmemMax * 2);
    const { input, lines } = harness({ readBuffer: requested });
    await input.start();
    const warnings = lines.filter((l) => l.includes(' WARNING '));
    assert.equal(warnings.length, 1, lines.join('\n'));
    assert.match(warnings[0], /raise net\.core\.rmem_max/);
    assert.match(warnings[0], new RegExp(` read_buffer=${requested} granted=${rmemMax} `));
  });

  it('says nothing when the kernel grants what read_buffer asks for', async () => {
    const { input, lines } = harness({ readBuffer: 64 * 1024 });
    await input.start();
    assert.deepEqual(
      lines.filter((l) => l.includes(' WARNING ')),
      [],
    );
  });
});
