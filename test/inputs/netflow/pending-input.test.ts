/**
 * Data before its template (NETFLOW.md R1) end to end: real UDP datagrams into a started
 * NetflowInput, its metrics and document ids, and `flowship decode` of a capture whose data
 * precedes its template.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, afterEach, describe, it } from 'node:test';
import { decode } from '../../../src/cli/decode.ts';
import { datagramDigest, flowDocumentId } from '../../../src/ecs/netflow-id.ts';
import { readPcap } from '../../../src/inputs/netflow/capture/pcap.ts';
import type { DecodedRecord } from '../../../src/inputs/netflow/decoder/types.ts';
import {
  CaptureClock,
  decodeCaptureFile,
  type OfflineDecodeSummary,
} from '../../../src/inputs/netflow/offline.ts';
import type { MetricsRegistry, ValueSnapshot } from '../../../src/monitoring/metrics.ts';
import { eventDocument, eventId } from '../../../src/pipeline/event.ts';
import { ethernet, ipv4, pcapFile, udp } from './capture/synthetic.ts';
import { decoder, ip4, set, v9, v9Template } from './decoder/packets.ts';
import { inputHarness, until } from './input-harness.ts';

const CISCO = readFileSync(new URL('../../../fixtures/netflow/pcap/ipfix_cisco.pcap', import.meta.url));
/** ipfix_cisco.pcap's three IPFIX messages: [0] template 267 + 9 flows, [1] and [2] 10 flows each. */
const [WITH_TEMPLATE, DATA_1, DATA_2] = [...readPcap(CISCO, 'ipfix_cisco.pcap')].map((d) =>
  Buffer.from(d.payload),
);

const dir = mkdtempSync(join(tmpdir(), 'flowship-pending-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const harness = inputHarness;

/** Value of a metric (with the given labels besides `input`), 0 when absent. */
function metric(metrics: MetricsRegistry, name: string, labels: Record<string, string> = {}): number {
  const snapshot = metrics.snapshot()[name];
  assert.ok(snapshot !== undefined, `${name} is registered`);
  const found = (snapshot.values as ValueSnapshot[]).find(
    (v) =>
      v.labels.input === 'netflow' && Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  );
  return found?.value ?? 0;
}

/** A UDP socket sending from one source port: one exporter session, as a router's would be. */
function exporter(port: number) {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  return {
    send: async (...payloads: Buffer[]) => {
      for (const payload of payloads) {
        await new Promise<void>((resolve, reject) =>
          socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
      }
    },
  };
}

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const FROM = { ip: '192.0.2.1', address: '192.0.2.1:4444' };

describe('NetflowInput, R1: data datagrams before the template datagram', () => {
  it('over a real socket: the flows come once the template arrives; the metrics say so', async () => {
    const { input, events, metrics } = harness();
    await input.start();
    const router = exporter(input.addresses[0].port);
    await router.send(DATA_1, DATA_2);
    await until(() => metric(metrics, 'flowship_netflow_pending_sets') === 2, 'two pending sets');
    assert.equal(events.length, 0);
    assert.ok(metric(metrics, 'flowship_netflow_pending_bytes') > DATA_1.length + DATA_2.length - 2 * 20);
    assert.equal(metric(metrics, 'flowship_netflow_data_sets_without_template_total'), 2);

    await router.send(WITH_TEMPLATE);
    await until(() => events.length >= 29, '29 flows');
    assert.equal(events.length, 29);
    assert.equal(input.stats.flows_total, 29);
    assert.equal(metric(metrics, 'flowship_netflow_pending_sets'), 0);
    assert.equal(metric(metrics, 'flowship_netflow_pending_bytes'), 0);
    assert.equal(metric(metrics, 'flowship_netflow_pending_replayed_sets_total'), 2);
    for (const reason of ['age', 'size', 'reset', 'withdrawn']) {
      assert.equal(metric(metrics, 'flowship_netflow_pending_evicted_sets_total', { reason }), 0, reason);
    }
    assert.equal(new Set(events.map((e) => eventId(e))).size, 29);
  });

  it('document ids of replayed records come from their own datagram: a duplicate datagram gives the same ids', () => {
    const { input, events } = harness();
    input.process(DATA_1, FROM);
    input.process(DATA_1, FROM); // received twice
    input.process(DATA_2, FROM);
    input.process(WITH_TEMPLATE, FROM);
    assert.equal(events.length, 39);
    const ids = events.map((e) => eventId(e));
    assert.equal(new Set(ids).size, 29, 'the duplicate datagram dedups');
    const d1 = datagramDigest(DATA_1);
    assert.deepEqual(
      ids.slice(0, 10),
      Array.from({ length: 10 }, (_, i) => flowDocumentId('netflow', FROM.address, d1, 0x1_0000 + i)),
    );
    assert.deepEqual(ids.slice(10, 20), ids.slice(0, 10));
    // the template datagram's own records are numbered among themselves, as without pending data
    const inOrder = harness();
    inOrder.input.process(WITH_TEMPLATE, FROM);
    assert.deepEqual(
      ids.slice(30),
      inOrder.events.map((e) => eventId(e)),
    );
  });

  it('a template datagram that then fails to decode still publishes the records of the earlier datagrams', () => {
    const { input, events, metrics } = harness();
    input.process(v9({ sequence: 1 }, set(256, ip4('10.0.0.1'))), FROM);
    // the template, then a reserved set id: a decode error
    input.process(v9({ sequence: 2 }, set(0, v9Template(256, [[8, 4]])), set(5, [0, 0, 0, 0])), FROM);
    assert.equal(input.stats.decode_errors_total, 1);
    assert.equal(events.length, 1);
    assert.equal((eventDocument(events[0]).source as Record<string, unknown>).ip, '10.0.0.1');
    assert.equal(metric(metrics, 'flowship_netflow_pending_replayed_sets_total'), 1);
  });

  it('filebeat compatibility: nothing is kept, the data before the template is lost and counted', async () => {
    const { input, events, metrics } = harness({ compatibility: 'filebeat' });
    await input.start();
    await exporter(input.addresses[0].port).send(DATA_1, DATA_2, WITH_TEMPLATE);
    await until(() => events.length >= 9, '9 flows');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.length, 9);
    assert.equal(metric(metrics, 'flowship_netflow_data_sets_without_template_total'), 2);
    assert.equal(metric(metrics, 'flowship_netflow_pending_sets'), 0);
    assert.equal(metric(metrics, 'flowship_netflow_pending_replayed_sets_total'), 0);
  });

  it('the age sweep runs every second from a timer, without datagrams', async () => {
    let now = 1_000_000;
    const { input, metrics } = harness({ now: () => now });
    await input.start();
    input.process(DATA_1, FROM);
    assert.equal(metric(metrics, 'flowship_netflow_pending_sets'), 1);
    now += 61_000;
    await until(() => metric(metrics, 'flowship_netflow_pending_sets') === 0, 'the timer sweep');
    assert.equal(metric(metrics, 'flowship_netflow_pending_evicted_sets_total', { reason: 'age' }), 1);
  });
});

/** A pcap file of one Ethernet/IPv4/UDP frame per payload, at the given capture times (s). */
function pcap(name: string, frames: readonly [seconds: number, payload: Uint8Array][]): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    pcapFile(
      1,
      frames.map(([seconds, p]) => ({
        seconds,
        fraction: 0,
        data: ethernet(0x0800, ipv4(udp(52788, 2055, p), { src: '10.101.255.2' })),
      })),
    ),
  );
  return path;
}

function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk;
      callback();
    },
  });
  return { stream, text: () => text };
}

async function decodeDocuments(path: string): Promise<{ docs: string[]; stderr: string }> {
  const stdout = collector();
  const stderr = collector();
  assert.equal(
    await decode({ files: [path], overrides: [], stdout: stdout.stream, stderr: stderr.stream }),
    0,
  );
  const docs = stdout
    .text()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const doc = JSON.parse(line);
      delete doc.event.created; // the time of decoding
      return JSON.stringify(doc);
    });
  return { docs, stderr: stderr.text() };
}

describe('flowship decode, R1: a capture whose data precedes its template', () => {
  it('yields the flows of the in-order capture', async () => {
    const t = 1_530_614_820;
    const inOrder = await decodeDocuments(
      pcap('in-order.pcap', [
        [t, WITH_TEMPLATE],
        [t + 1, DATA_1],
        [t + 2, DATA_2],
      ]),
    );
    const reordered = await decodeDocuments(
      pcap('reordered.pcap', [
        [t, DATA_1],
        [t + 1, DATA_2],
        [t + 2, WITH_TEMPLATE],
      ]),
    );
    assert.equal(inOrder.docs.length, 29);
    assert.deepEqual([...reordered.docs].sort(), [...inOrder.docs].sort());
    assert.match(reordered.stderr, /decoded 29 records from 3 packets/);
  });

  it('pending data ages by the capture time, not by how fast the file is read', () => {
    const data = v9({ sequence: 1, secs: 1_700_000_000 }, set(256, ip4('10.0.0.1')));
    const template = v9({ sequence: 2, secs: 1_700_000_000 }, set(0, v9Template(256, [[8, 4]])));
    function flowsOf(path: string, withClock: boolean): number {
      const clock = new CaptureClock();
      const d = decoder({ compatibility: 'extended', ...(withClock ? { now: clock.now } : {}) });
      const summary: OfflineDecodeSummary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
      const records: DecodedRecord[] = [];
      const options = {
        decoder: d,
        ...(withClock ? { clock } : {}),
        exporter: { ip: '192.0.2.1', port: 4444 },
        maxMessageSize: 10 * 1024,
        onError: (err: Error) => assert.fail(err),
      };
      for (const r of decodeCaptureFile(path, options, summary)) records.push(r);
      return records.length;
    }
    const soon = pcap('soon.pcap', [
      [1_700_000_000, data],
      [1_700_000_030, template],
    ]);
    const late = pcap('late.pcap', [
      [1_700_000_000, data],
      [1_700_000_120, template],
    ]);
    assert.equal(flowsOf(soon, true), 1);
    assert.equal(flowsOf(soon, false), 1);
    assert.equal(flowsOf(late, true), 0, '120 s later by the capture: older than max_age 60 s');
    assert.equal(flowsOf(late, false), 1, 'the wall clock has not moved');
  });

  it('a template packet that fails after its template decoded earlier data: those records are still yielded', () => {
    const path = pcap('fails.pcap', [
      [1_700_000_000, v9({ sequence: 1 }, set(256, ip4('10.0.0.1')))],
      [1_700_000_001, v9({ sequence: 2 }, set(0, v9Template(256, [[8, 4]])), set(5, [0, 0, 0, 0]))],
    ]);
    const summary: OfflineDecodeSummary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
    const errors: string[] = [];
    const records = [
      ...decodeCaptureFile(
        path,
        {
          decoder: decoder({ compatibility: 'extended' }),
          exporter: { ip: '192.0.2.1', port: 4444 },
          maxMessageSize: 10 * 1024,
          onError: (err) => errors.push(err.reason),
        },
        summary,
      ),
    ];
    assert.deepEqual(errors, ['bad_set_id']);
    assert.equal(records.length, 1);
    assert.equal(records[0].exporter.sequence, 1);
    assert.equal(summary.records, 1);
  });
});
