/**
 * `workers > 1` (NETFLOW.md R7) over real UDP: exporters sharded to worker threads by address,
 * each exporter's datagrams decoded in arrival order by one worker, documents and ids as on one
 * thread, bounded per-worker queues, the template cache across a change of worker count, and
 * `allowed_exporters`.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseNetworks } from '../../../src/ecs/locality.ts';
import { datagramDigest, flowDocumentId } from '../../../src/ecs/netflow-id.ts';
import { WorkerPool } from '../../../src/inputs/netflow/decoding/pool.ts';
import { shardOfDatagram } from '../../../src/inputs/netflow/decoding/shard.ts';
import { silentLogger } from '../../../src/monitoring/logger.ts';
import { eventDocument, eventId } from '../../../src/pipeline/event.ts';
import {
  ascii,
  ip4,
  paddedSet,
  set,
  u16,
  u32,
  v9,
  v9OptionsTemplate,
  v9Template,
  zeros,
} from './decoder/packets.ts';
import { CONFIG, inputHarness, until } from './input-harness.ts';

const WORKERS = 3;
const workers = (count = WORKERS) => ({ count, config: CONFIG, documentIds: true });

/** Loopback source addresses, one per exporter (Linux routes all of 127/8 to lo). */
const EXPORTERS = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15'];

const TEMPLATE = (sequence: number) =>
  v9(
    { sequence, sourceId: 1 },
    set(
      0,
      v9Template(256, [
        [8, 4],
        [7, 2],
        [1, 4],
      ]),
    ),
  );
/** One flow whose source port is `n`: the order the exporter sent it in. */
const DATA = (sequence: number, n: number) =>
  v9({ sequence, sourceId: 1 }, set(256, ip4('10.0.0.1'), u16(n), u32(100 + n)));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function sender(ip: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, ip, resolve));
  return socket;
}

function send(socket: dgram.Socket, datagram: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
}

describe('netflow input, workers > 1', () => {
  it('a start that fails after loading the template cache (port taken) leaves the cache as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-workers-'));
    dirs.push(dir);
    const templateCache = { path: join(dir, 'templates.json'), flushIntervalMs: 60_000 };
    const a = inputHarness({ workers: workers(2), templateCache });
    await a.input.start();
    const socket = await sender('127.0.0.1');
    await send(socket, TEMPLATE(0), a.input.addresses[0].port);
    await until(() => a.input.snapshot().templates === 1, 'learned');
    await a.input.stop();
    const before = readFileSync(templateCache.path, 'utf8');
    // the port is taken by the sender: start fails after the cache was loaded; run() stops it
    const b = inputHarness({ workers: workers(2), templateCache, port: socket.address().port });
    await assert.rejects(b.input.start(), /cannot listen/);
    await b.input.stop();
    socket.close();
    assert.equal(readFileSync(templateCache.path, 'utf8'), before);
  });

  it('an idle worker reports what its sweeps change (pending data aged out)', async () => {
    const pool = new WorkerPool({
      workers: 2,
      queueSize: 100,
      setup: {
        inputId: 'netflow',
        config: CONFIG,
        decoder: { pending: { maxAgeMs: 300 } },
        documentIds: false,
        maxExporters: 10,
      },
      logger: silentLogger,
      callbacks: { publish: () => {}, onFailure: () => {} },
    });
    await pool.start();
    pool.accept(DATA(1, 1), { ip: '192.0.2.1', address: '192.0.2.1:2055' });
    await until(() => pool.snapshot().decoder.pendingSets === 1, 'pending');
    // no more traffic: the worker's sweep (every second) drops the set, and says so
    await until(() => pool.snapshot().decoder.pendingEvicted.age === 1, 'the age eviction reported');
    assert.equal(pool.snapshot().decoder.pendingSets, 0);
    await pool.stop();
  });

  it('spreads exporters over the workers; each exporter arrives complete, in order, with the ids one thread gives', async () => {
    const shards = new Set(EXPORTERS.map((ip) => shardOfDatagram(TEMPLATE(0), ip, WORKERS, false)));
    assert.ok(shards.size >= 2, 'the exporters of this test fall on more than one worker');
    const { input, events, metrics } = inputHarness({ workers: workers() });
    await input.start();
    const port = input.addresses[0].port;
    const sockets = await Promise.all(EXPORTERS.map(sender));
    const PER_EXPORTER = 60;
    const sent = new Map<string, Buffer[]>();
    for (const ip of EXPORTERS) {
      sent.set(ip, [TEMPLATE(0), ...Array.from({ length: PER_EXPORTER }, (_, i) => DATA(i + 1, i))]);
    }
    // interleaved, as from routers exporting at once; a round at a time, so that this thread (the
    // input's too) reads them before the socket buffer overflows
    for (let i = 0; i <= PER_EXPORTER; i++) {
      await Promise.all(sockets.map((socket, e) => send(socket, sent.get(EXPORTERS[e])![i], port)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const total = EXPORTERS.length * PER_EXPORTER;
    await until(() => events.length >= total, `${total} documents`);
    const senderPorts = sockets.map((s) => s.address().port);
    for (const s of sockets) s.close();

    const byExporter = new Map<string, number[]>();
    for (const event of events) {
      assert.equal(typeof event.json, 'string', 'a worker sends JSON text');
      const doc = eventDocument(event) as { observer: { ip: string[] }; source: { port: number } };
      const ports = byExporter.get(doc.observer.ip[0]) ?? [];
      ports.push(doc.source.port);
      byExporter.set(doc.observer.ip[0], ports);
    }
    for (const ip of EXPORTERS) {
      assert.deepEqual(
        byExporter.get(ip),
        Array.from({ length: PER_EXPORTER }, (_, i) => i),
        `${ip}: every flow, in the order sent`,
      );
    }
    // ids: what the input computes on one thread, from the exporter address and the datagram
    const expected = new Set<string>();
    for (const [e, senderPort] of senderPorts.entries()) {
      const address = `${EXPORTERS[e]}:${senderPort}`;
      for (const d of sent.get(EXPORTERS[e])!.slice(1)) {
        expected.add(flowDocumentId('netflow', address, datagramDigest(d), 0));
      }
    }
    assert.deepEqual(new Set(events.map((e) => eventId(e))), expected);

    // the workers' counters reach the metrics (a snapshot at most 100 ms old)
    await until(() => input.stats.flows_total === total, 'flows_total from the workers');
    const perExporter = metrics.get('flowship_netflow_exporter_packets_total');
    assert.ok(perExporter !== undefined && perExporter.type === 'counter');
    const samples = perExporter.samples();
    assert.equal(samples.length, EXPORTERS.length);
    for (const s of samples) {
      assert.equal(s.value, PER_EXPORTER + 1, `${s.labels.exporter} packets`);
      assert.equal(s.labels.source_id, '1');
      assert.equal(s.labels.version, 'v9');
    }
    assert.equal(input.snapshot().templates, EXPORTERS.length);
    assert.equal(input.snapshot().sessions, EXPORTERS.length);
  });

  it('templates learned by 2 workers are cached and loaded by 3, each by the worker owning its exporter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-workers-'));
    dirs.push(dir);
    const templateCache = { path: join(dir, 'templates.json'), flushIntervalMs: 60_000 };
    const a = inputHarness({ workers: workers(2), templateCache });
    await a.input.start();
    const sockets = await Promise.all(EXPORTERS.map(sender));
    for (const socket of sockets) await send(socket, TEMPLATE(0), a.input.addresses[0].port);
    await until(() => a.input.snapshot().templates === EXPORTERS.length, 'templates learned');
    await a.input.stop();

    const b = inputHarness({ workers: workers(3), templateCache });
    await b.input.start();
    assert.equal(b.input.snapshot().templates, 0, 'no snapshot yet is fine, but none is invented');
    for (const socket of sockets) await send(socket, DATA(1, 7), b.input.addresses[0].port);
    await until(() => b.events.length === EXPORTERS.length, 'data decoded with the cached templates');
    for (const s of sockets) s.close();
    assert.equal(b.input.stats.decode_errors_total, 0);
    await until(
      () => b.input.snapshot().decoder.dataSetsWithoutTemplate === 0 && b.input.stats.flows_total === 6,
      'counters',
    );
  });

  it('options state (interface names, R6) is cached with the templates and enriches flows after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-workers-'));
    dirs.push(dir);
    const templateCache = { path: join(dir, 'templates.json'), flushIntervalMs: 60_000 };
    const padded = (text: string, n: number) => [...ascii(text), ...zeros(n - text.length)];
    // v9 Interface scope (2) -> interfaceName (82, 16 bytes), interfaceDescription (83, 32 bytes)
    const interfaces = v9(
      { sequence: 0, sourceId: 1 },
      paddedSet(
        1,
        v9OptionsTemplate(
          300,
          [[2, 4]],
          [
            [82, 16],
            [83, 32],
          ],
        ),
      ),
      paddedSet(300, [...u32(3), ...padded('Gi0/3', 16), ...padded('uplink to core', 32)]),
    );
    const flowTemplate = v9(
      { sequence: 1, sourceId: 1 },
      set(
        0,
        v9Template(256, [
          [8, 4],
          [10, 4],
        ]),
      ),
    );
    const a = inputHarness({ workers: workers(2), templateCache });
    await a.input.start();
    const socket = await sender('127.0.0.10');
    await send(socket, interfaces, a.input.addresses[0].port);
    await send(socket, flowTemplate, a.input.addresses[0].port);
    await until(
      () => a.input.snapshot().decoder.optionsEntries === 1 && a.input.snapshot().templates === 2,
      'learned',
    );
    await a.input.stop();

    const b = inputHarness({ workers: workers(3), templateCache });
    await b.input.start();
    await send(
      socket,
      v9({ sequence: 2, sourceId: 1 }, set(256, ip4('10.0.0.1'), u32(3))),
      b.input.addresses[0].port,
    );
    await until(() => b.events.length === 1, 'the flow');
    socket.close();
    const doc = eventDocument(b.events[0]) as { observer: { ingress?: { interface?: unknown } } };
    assert.deepEqual(doc.observer.ingress?.interface, { id: '3', name: 'Gi0/3', alias: 'uplink to core' });
  });

  it('a full worker queue drops and counts; what was accepted is decoded and published before stop resolves', async () => {
    const published: string[] = [];
    const pool = new WorkerPool({
      workers: 2,
      queueSize: 8, // 4 per worker
      setup: {
        inputId: 'netflow',
        config: CONFIG,
        decoder: { shareTemplates: false },
        documentIds: false,
        maxExporters: 10,
      },
      logger: silentLogger,
      callbacks: { publish: (d) => published.push(d.json ?? ''), onFailure: () => {} },
    });
    await pool.start();
    const from = { ip: '192.0.2.1', address: '192.0.2.1:2055' };
    const accepted = [TEMPLATE(0), ...Array.from({ length: 9 }, (_, i) => DATA(i + 1, i))].map((d) =>
      pool.accept(d, from),
    );
    // one exporter, one worker: 4 in its queue, the rest refused
    assert.deepEqual(accepted, [true, true, true, true, false, false, false, false, false, false]);
    assert.equal(pool.queueLength, 4);
    await pool.stop();
    assert.equal(published.length, 3, 'the three data datagrams accepted, decoded before stop resolved');
    assert.deepEqual(
      published.map((j) => (JSON.parse(j) as { source: { port: number } }).source.port),
      [0, 1, 2],
    );
  });

  it('per-exporter metrics keep max_exporters label sets per input (beyond the registry default), then other', () => {
    const { input, metrics } = inputHarness({ maxExporters: 150 });
    for (let i = 0; i < 200; i++)
      input.process(TEMPLATE(0), { ip: `10.0.0.${i}`, address: `10.0.0.${i}:2055` });
    const samples = metrics.get('flowship_netflow_exporter_packets_total')?.samples() ?? [];
    assert.equal(samples.length, 151);
    assert.deepEqual(samples.at(-1), {
      labels: { input: 'netflow', exporter: 'other', source_id: 'other', version: 'other' },
      value: 50,
    });
    assert.equal(metrics.get('flowship_metrics_label_overflow_total')?.samples().length, 0);
  });

  it('allowed_exporters: datagrams from other addresses are dropped before decoding, counted and logged', async () => {
    const { input, events, lines, metrics } = inputHarness({
      allowedExporters: parseNetworks(['127.0.0.10/32', '10.0.0.0/8'], 'allowed_exporters'),
    });
    await input.start();
    const port = input.addresses[0].port;
    const allowed = await sender('127.0.0.10');
    const denied = await sender('127.0.0.11');
    await send(denied, TEMPLATE(0), port);
    await send(denied, DATA(1, 1), port);
    await send(allowed, TEMPLATE(0), port);
    await send(allowed, DATA(1, 2), port);
    await until(() => events.length === 1 && input.stats.denied_events_total === 2, 'one flow, two denied');
    allowed.close();
    denied.close();
    assert.equal((eventDocument(events[0]) as { observer: { ip: string[] } }).observer.ip[0], '127.0.0.10');
    assert.equal(input.stats.received_events_total, 4);
    assert.equal(input.snapshot().sessions, 1, 'the denied exporter made no session');
    assert.deepEqual(metrics.get('flowship_netflow_denied_events_total')?.samples(), [
      { labels: { input: 'netflow' }, value: 2 },
    ]);
    const warned = lines.filter((l) => l.includes('outside allowed_exporters'));
    assert.equal(warned.length, 1, 'rate-limited: one line for two datagrams');
    assert.match(warned[0], /exporter=127\.0\.0\.11:\d+/);
    // a spoofed flood from ever new addresses still gets one line a minute
    for (let i = 0; i < 1000; i++)
      input.process(TEMPLATE(0), { ip: `198.51.100.${i % 250}`, address: `198.51.100.${i % 250}:${i}` });
    assert.equal(lines.filter((l) => l.includes('outside allowed_exporters')).length, 1);
  });
});
