/**
 * Scenarios that need exact control of inodes and time: the in-memory filesystem (MemoryFs) and
 * a ManualClock drive the same Tailer deterministically.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs } from '../../../src/inputs/goflow2/memory-fs.ts';
import type { TailerOptions } from '../../../src/inputs/goflow2/options.ts';
import { MemoryRegistryStore } from '../../../src/inputs/goflow2/registry.ts';
import { Tailer } from '../../../src/inputs/goflow2/tailer.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';
import { MetricsRegistry } from '../../../src/monitoring/metrics.ts';
import { ManualClock } from '../../../src/pipeline/clock.ts';
import type { AckHandle } from '../../../src/pipeline/event.ts';
import { Consumer, flow, flows } from './helpers.ts';

interface World {
  clock: ManualClock;
  fs: MemoryFs;
  store: MemoryRegistryStore;
  consumer: Consumer;
  tailer: Tailer;
  logs: string[];
  run(ms: number): Promise<void>;
}

async function world(overrides: Partial<TailerOptions> = {}, birthtime = false): Promise<World> {
  const clock = new ManualClock();
  const fs = new MemoryFs({ now: () => clock.now(), birthtime });
  fs.mkdir('/logs');
  const store = new MemoryRegistryStore();
  const consumer = new Consumer();
  const logs: string[] = [];
  const tailer = new Tailer({
    id: 'mem',
    registryStore: store,
    fs,
    clock,
    paths: ['/logs/*.log'],
    checkIntervalMs: 1000,
    backoffInitMs: 100,
    backoffMaxMs: 400,
    closeCheckIntervalMs: 200,
    registryFlushMs: 100,
    logger: createLogger({ level: 'debug', sink: (l) => logs.push(l), clock }),
    onLine: consumer.onLine,
    ...overrides,
  });
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) await clock.advance(50);
  };
  await tailer.start();
  return { clock, fs, store, consumer, tailer, logs, run };
}

describe('tailer on the in-memory filesystem', () => {
  for (const birthtime of [false, true]) {
    it(`inode_reuse (birthtime ${birthtime ? 'reported' : 'not reported'}): a new file on a reused inode is read from 0`, async () => {
      const w = await world({ closeOnEof: true }, birthtime);
      w.fs.writeFile('/logs/a.log', flows(0, 5));
      await w.run(2000);
      assert.equal(w.consumer.delivered.length, 5);
      const ino = w.fs.inodeOf('/logs/a.log');
      w.fs.unlink('/logs/a.log');
      // longer than the old file: the size alone does not reveal the reuse
      assert.ok(w.fs.createReusingInode('/logs/a.log', flows(100, 8, 'reused')));
      assert.equal(w.fs.inodeOf('/logs/a.log'), ino);
      await w.run(3000);
      assert.deepEqual(w.consumer.texts().slice(5), flows(100, 8, 'reused').trimEnd().split('\n'));
      assert.equal(w.consumer.delivered[5].offset, 0);
      assert.notEqual(w.consumer.delivered[5].fingerprint, w.consumer.delivered[0].fingerprint);
      await w.tailer.stop({ timeoutMs: 0 });
      assert.equal(w.fs.openHandles, 0);
    });
  }

  it('inode_reuse under native identity: the marker at the stored offset catches it', async () => {
    const w = await world({ closeOnEof: true, fileIdentity: 'native' });
    w.fs.writeFile('/logs/a.log', flows(0, 5));
    await w.run(2000);
    w.fs.unlink('/logs/a.log');
    assert.ok(w.fs.createReusingInode('/logs/b.log', flows(100, 8, 'reused')));
    await w.run(3000);
    assert.deepEqual(w.consumer.texts().slice(5), flows(100, 8, 'reused').trimEnd().split('\n'));
    assert.equal(w.tailer.stats.truncations_total, 1);
    await w.tailer.stop({ timeoutMs: 0 });
  });

  it('truncate_regrow_between_looks: the marker detects it, no mid-line garbage', async () => {
    const w = await world();
    const writer = w.fs.writeFile('/logs/a.log', flows(0, 3));
    await w.run(1000);
    assert.equal(w.consumer.delivered.length, 3);
    // within one backoff: truncated and regrown past the read position
    w.fs.truncate('/logs/a.log', 0);
    writer.append(`${flow(0)}\n${flows(50, 6, 'regrown')}`);
    await w.run(3000);
    assert.deepEqual(
      w.consumer.texts().slice(3),
      `${flow(0)}\n${flows(50, 6, 'regrown')}`.trimEnd().split('\n'),
    );
    assert.equal(w.consumer.delivered[3].offset, 0);
    assert.equal(w.tailer.stats.truncations_total, 1);
    await w.tailer.stop({ timeoutMs: 0 });
  });

  it('rotate_many_fast: 5 rotations within one scan interval under load: no loss, no duplicate', async () => {
    const w = await world({
      paths: ['/logs/*.log', '/logs/*.log.*'],
      checkIntervalMs: 5000,
      backoffMaxMs: 1000,
    });
    let n = 0;
    let writer = w.fs.writeFile('/logs/goflow2.log');
    const expected: string[] = [];
    const write = (k: number) => {
      for (let i = 0; i < k; i++) {
        writer.append(`${flow(n)}\n`);
        expected.push(flow(n));
        n++;
      }
    };
    write(20);
    await w.run(200);
    for (let r = 1; r <= 5; r++) {
      write(10);
      w.fs.rename('/logs/goflow2.log', `/logs/goflow2.log.${r}`);
      const old = writer;
      writer = w.fs.writeFile('/logs/goflow2.log');
      // the old descriptor gets a few more lines until the HUP
      old.append(`${flow(n)}\n`);
      expected.push(flow(n));
      n++;
      write(7);
      await w.clock.advance(150);
    }
    await w.run(12_000);
    const got = w.consumer.texts();
    assert.equal(new Set(got).size, got.length, 'no duplicates');
    assert.deepEqual([...got].sort(), [...expected].sort());
    await w.tailer.stop({ timeoutMs: 0 });
  });

  it('a remount (new device id) keeps the offset: the fingerprint is known, the marker matches', async () => {
    const w = await world();
    const writer = w.fs.writeFile('/logs/a.log', flows(0, 4));
    await w.run(1000);
    await w.tailer.stop({ timeoutMs: 0 });
    w.fs.remount(7n);
    writer.append(flows(4, 2));
    const consumer = new Consumer();
    const again = new Tailer({
      id: 'mem',
      registryStore: w.store,
      fs: w.fs,
      clock: w.clock,
      paths: ['/logs/*.log'],
      checkIntervalMs: 1000,
      backoffInitMs: 100,
      backoffMaxMs: 400,
      onLine: consumer.onLine,
    });
    await again.start();
    await w.run(2000);
    assert.deepEqual(consumer.texts(), [flow(4), flow(5)]);
    assert.equal(again.entries()[0].dev, '7');
    assert.equal(again.stats.moves_total, 1);
    await again.stop({ timeoutMs: 0 });
  });

  it('two live files with one fingerprint: the holder is followed, a WARN names both', async () => {
    const w = await world();
    w.fs.writeFile('/logs/a.log', flows(0, 3));
    await w.run(1000);
    w.fs.copy('/logs/a.log', '/logs/b.log');
    await w.run(2000);
    assert.equal(w.consumer.delivered.length, 3);
    assert.ok(w.logs.some((l) => /WARNING .*identical identity bytes.*followed=\/logs\/a.log/.test(l)));
    assert.equal(w.tailer.entries().length, 1);
    await w.tailer.stop({ timeoutMs: 0 });
  });

  it('backpressure: readers pause at the in-flight byte bound and resume as acks arrive', async () => {
    const w = await world({ maxInFlightBytes: 1000, bufferSize: 256 });
    w.consumer.mode = 'manual';
    w.fs.writeFile('/logs/a.log', flows(0, 100));
    await w.run(3000);
    const first = w.consumer.delivered.length;
    assert.ok(first > 0 && first < 100, `paused after ${first} lines`);
    assert.ok(w.tailer.inFlightBytes < 1000 + 256 + 200, `in flight ${w.tailer.inFlightBytes}`);
    await w.run(3000);
    assert.equal(w.consumer.delivered.length, first, 'still paused: nothing acked');
    for (let i = 0; i < 50 && w.consumer.delivered.length < 100; i++) {
      w.consumer.ack();
      await w.run(200);
    }
    assert.deepEqual(w.consumer.texts(), flows(0, 100).trimEnd().split('\n'));
    w.consumer.ack();
    await w.run(200);
    assert.equal(w.tailer.inFlightBytes, 0);
    await w.tailer.stop({ timeoutMs: 0 });
  });

  it('TailedLine contract: a handle per part, acks(0) or no call = done, a rejection = unacked', async () => {
    const clock = new ManualClock();
    const fs = new MemoryFs({ now: () => clock.now() });
    const store = new MemoryRegistryStore();
    const handles: AckHandle[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const tailer = new Tailer({
      id: 'contract',
      registryStore: store,
      fs,
      clock,
      paths: ['/logs/*.log'],
      checkIntervalMs: 1000,
      backoffInitMs: 100,
      backoffMaxMs: 400,
      onLine: async (line) => {
        calls++;
        if (line.text === flow(0))
          handles.push(...line.acks(3)); // three documents
        else if (line.text === flow(1))
          line.acks(0); // no document
        else if (line.text === flow(3)) throw new Error('pipeline closing');
        // flow(2): returns without calling acks: done; flow(4): likewise
        if (line.text === flow(0) || line.text === flow(1)) {
          try {
            line.acks(1);
          } catch (err) {
            errors.push(err);
          }
        }
      },
    });
    fs.writeFile('/logs/a.log', flows(0, 5));
    await tailer.start();
    for (let i = 0; i < 20; i++) await clock.advance(50);
    assert.equal(calls, 5);
    assert.equal(handles.length, 3);
    assert.equal(errors.length, 2, 'a second acks() throws');
    assert.equal(tailer.entries()[0].ackedOffset, 0, 'waits for all three parts');
    handles[0].ack();
    handles[2].ack();
    handles[2].ack(); // idempotent
    assert.equal(tailer.entries()[0].ackedOffset, 0);
    handles[1].ack();
    // lines 1 and 2 were done already; line 3's consumer rejected: it stays unacked
    assert.equal(tailer.entries()[0].ackedOffset, Buffer.byteLength(flows(0, 3)));
    assert.equal(tailer.stats.consumer_errors_total, 1);
    await tailer.stop({ timeoutMs: 0 });
  });

  it('metrics: several tailers export into one registry, one label set each', async () => {
    const metrics = new MetricsRegistry();
    const a = await world({ id: 'one', metrics });
    const b = await world({ id: 'two', metrics });
    a.fs.writeFile('/logs/a.log', flows(0, 2));
    b.fs.writeFile('/logs/b.log', flows(0, 3));
    await a.run(1500);
    await b.run(1500);
    const lines = metrics.snapshot().flowship_goflow2_lines_total.values;
    assert.deepEqual(
      lines.map((v) => [v.labels.input, 'value' in v ? v.value : undefined]),
      [
        ['one', 2],
        ['two', 3],
      ],
    );
    assert.match(metrics.prometheus(), /flowship_goflow2_registry_entries\{input="two"\} 1/);
    await a.tailer.stop({ timeoutMs: 0 });
    await b.tailer.stop({ timeoutMs: 0 });
  });

  it('stop waits for in-flight acks up to its timeout, then writes the registry', async () => {
    const w = await world();
    w.consumer.mode = 'manual';
    w.fs.writeFile('/logs/a.log', flows(0, 3));
    await w.run(1500);
    assert.equal(w.consumer.delivered.length, 3);
    const stopping = w.tailer.stop({ timeoutMs: 5000 });
    assert.equal(w.tailer.stop(), stopping, 'idempotent');
    await w.clock.advance(100);
    w.consumer.ack(2);
    await w.clock.advance(100);
    w.consumer.ack();
    await w.clock.advance(100);
    await stopping;
    const reg = JSON.parse(w.store.text!);
    assert.equal(reg.entries[0].offset, Buffer.byteLength(flows(0, 3)));
  });
});
