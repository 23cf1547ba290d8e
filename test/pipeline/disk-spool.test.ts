import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetricsRegistry } from '../../src/monitoring/metrics.ts';
import { DiskQueue } from '../../src/pipeline/disk-queue.ts';
import { DiskSpool, decodeSpoolRecord, encodeSpoolRecord } from '../../src/pipeline/disk-spool.ts';
import type { Event } from '../../src/pipeline/event.ts';
import { MemoryQueue } from '../../src/pipeline/memory-queue.ts';
import { FlowshipError } from '../../src/util/errors.ts';
import { isSettled, rawJSON } from './helpers.ts';

let root: string;
let dirs = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowship-diskspool-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): string {
  return join(root, `s${dirs++}`);
}

function flowEvent(n: number): Event {
  return {
    doc: { n, 'source.ip': '10.0.0.1', bytes: rawJSON('18446744073709551615') },
    dataset: 'netflow.log',
    namespace: n % 2 === 0 ? 'prod' : undefined,
    id: () => `flow-${n}`,
  };
}

/** Takes batches until `count` events came out. */
async function take(queue: MemoryQueue, count: number): Promise<Event[]> {
  const out: Event[] = [];
  const deadline = Date.now() + 5000;
  while (out.length < count) {
    if (Date.now() > deadline) assert.fail(`only ${out.length} of ${count} events came out`);
    out.push(...(await queue.getBatch(count - out.length, 20)));
  }
  return out;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('spool records', () => {
  it('round-trip dataset, namespace, id and the document text', () => {
    const event: Event = {
      json: '{"message":"héllo ✓ 𝄞","n":1}',
      dataset: 'netflow.log',
      namespace: 'ünï',
      id: 'id-✓',
    };
    const { buffer, length } = encodeSpoolRecord(event)!;
    assert.deepEqual(decodeSpoolRecord(buffer.subarray(0, length)), {
      dataset: 'netflow.log',
      namespace: 'ünï',
      id: 'id-✓',
      json: event.json,
    });
    // A plain Uint8Array view decodes too.
    const copy = new Uint8Array(buffer.subarray(0, length));
    assert.equal(decodeSpoolRecord(copy).json, event.json);
  });

  it('leave out an absent namespace and id, serialise doc with exact big integers', () => {
    const { buffer, length } = encodeSpoolRecord({
      doc: { big: rawJSON('18446744073709551615') },
      dataset: 'x',
    })!;
    assert.deepEqual(decodeSpoolRecord(buffer.subarray(0, length)), {
      dataset: 'x',
      json: '{"big":18446744073709551615}',
    });
  });

  it('reuse a scratch buffer large enough, and grow it otherwise', () => {
    const scratch = Buffer.alloc(64 * 1024);
    assert.equal(encodeSpoolRecord({ json: '{}', dataset: 'd' }, scratch)!.buffer, scratch);
    const big = encodeSpoolRecord(
      { json: JSON.stringify({ s: 'y'.repeat(100_000) }), dataset: 'd' },
      scratch,
    )!;
    assert.notEqual(big.buffer, scratch);
    assert.ok(big.length > 100_000);
  });

  it('refuse fields too long for their length field, and reject unknown records with a code', () => {
    assert.equal(encodeSpoolRecord({ json: '{}', dataset: 'd', id: 'i'.repeat(70_000) }), undefined);
    assert.throws(
      () => decodeSpoolRecord(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])),
      (err: unknown) => err instanceof FlowshipError && err.code === 'FLOWSHIP_QUEUE_CORRUPT',
    );
    assert.throws(() => decodeSpoolRecord(Buffer.from([1, 0, 0, 200, 0, 0, 0, 0])), FlowshipError);
  });
});

describe('DiskSpool', () => {
  it('moves events from disk to the memory queue; the pipeline acknowledgements advance the disk ledger', async () => {
    const path = freshDir();
    const memoryQueue = new MemoryQueue({ maxEvents: 1000 });
    const metrics = new MetricsRegistry();
    const spool = await DiskSpool.open({ path, maxBytes: 1024 * 1024, memoryQueue, metrics });
    spool.start();
    spool.start(); // idempotent
    for (let n = 0; n < 100; n++) assert.equal(spool.tryPublish(flowEvent(n)), true);
    await spool.publish(flowEvent(100));
    const events = await take(memoryQueue, 101);
    assert.deepEqual(
      events.map((e) => [e.dataset, e.namespace, e.id, e.json]),
      Array.from({ length: 101 }, (_, n) => [
        'netflow.log',
        n % 2 === 0 ? 'prod' : undefined,
        `flow-${n}`,
        `{"n":${n},"source.ip":"10.0.0.1","bytes":18446744073709551615}`,
      ]),
    );
    assert.equal(spool.diskQueue.stats.pendingRecords, 101);
    // The pipeline acknowledges in any order.
    for (const e of events.slice(50).reverse()) e.ack!.ack();
    assert.equal(spool.diskQueue.stats.acked, 0);
    for (const e of events.slice(0, 50)) e.ack!.ack();
    assert.equal(spool.diskQueue.stats.acked, 101);
    assert.equal(spool.diskQueue.stats.pendingRecords, 0);
    assert.equal(spool.stats.spooled, 101);
    assert.equal(spool.stats.pumped, 101);
    const pumped = metrics.snapshot().flowship_diskspool_pumped_total?.values[0] as { value: number };
    assert.equal(pumped.value, 101);
    await spool.close();
    assert.equal(spool.close(), spool.close());

    const reopened = await DiskQueue.open({ path, maxBytes: 1024 * 1024 });
    assert.equal(reopened.stats.pendingRecords, 0, 'nothing is replayed');
    await reopened.close();
  });

  it('replays what was not acknowledged after a restart, ids included', async () => {
    const path = freshDir();
    const first = new MemoryQueue({ maxEvents: 1000 });
    const spool = await DiskSpool.open({ path, maxBytes: 1024 * 1024, memoryQueue: first });
    spool.start();
    for (let n = 0; n < 20; n++) spool.tryPublish(flowEvent(n));
    const events = await take(first, 20);
    for (const e of events.slice(0, 5)) e.ack!.ack();
    await spool.close();

    const second = new MemoryQueue({ maxEvents: 1000 });
    const again = await DiskSpool.open({ path, maxBytes: 1024 * 1024, memoryQueue: second });
    again.start();
    const replayed = await take(second, 15);
    assert.deepEqual(
      replayed.map((e) => e.id),
      Array.from({ length: 15 }, (_, i) => `flow-${i + 5}`),
    );
    await again.close();
  });

  it('holds records on disk while the memory queue is full (backpressure), and stops promptly', async () => {
    const memoryQueue = new MemoryQueue({ maxEvents: 5 });
    const spool = await DiskSpool.open({
      path: freshDir(),
      maxBytes: 1024 * 1024,
      memoryQueue,
      readBatch: 8,
    });
    spool.start();
    for (let n = 0; n < 50; n++) assert.equal(spool.tryPublish(flowEvent(n)), true);
    await waitFor(() => memoryQueue.blocked === 1, 'the pump to block');
    assert.equal(memoryQueue.length, 5);
    assert.equal(spool.diskQueue.stats.pendingRecords, 50, 'every record is still on disk');
    assert.equal(spool.stats.pumped, 5);

    // Draining lets the pump go on.
    const batch = await memoryQueue.getBatch(5, 0);
    for (const e of batch) e.ack!.ack();
    await waitFor(() => spool.stats.pumped >= 10, 'the pump to resume');
    assert.equal(spool.diskQueue.stats.acked, 5);

    // stop() does not wait for the memory queue to make room.
    const stopping = spool.stop();
    await waitFor(() => true, '');
    assert.equal(await isSettled(stopping), true);
    assert.equal(spool.stop(), stopping);
    memoryQueue.close(); // the publish left blocked is rejected, quietly
    await spool.close();
  });

  it('ends the pump when the memory queue closes', async () => {
    const memoryQueue = new MemoryQueue({ maxEvents: 2 });
    const spool = await DiskSpool.open({ path: freshDir(), maxBytes: 1024 * 1024, memoryQueue });
    spool.start();
    for (let n = 0; n < 10; n++) spool.tryPublish(flowEvent(n));
    await waitFor(() => memoryQueue.blocked === 1, 'the pump to block');
    memoryQueue.close();
    await spool.stop();
    assert.equal(spool.stats.pumped, 2);
    assert.equal(spool.diskQueue.stats.pendingRecords, 10);
    await spool.close();
  });

  it('counts what a full disk queue refuses; publish resolves anyway', async () => {
    const memoryQueue = new MemoryQueue();
    const spool = await DiskSpool.open({
      path: freshDir(),
      maxBytes: 16 * 1024,
      segmentBytes: 4096,
      memoryQueue,
    });
    const big: Event = { json: JSON.stringify({ s: 'z'.repeat(2000) }), dataset: 'netflow.log' };
    let accepted = 0;
    while (spool.tryPublish(big)) accepted++;
    await spool.publish(big);
    assert.ok(accepted > 0);
    assert.equal(spool.stats.dropped, 2);
    assert.equal(spool.diskQueue.stats.droppedFull, 2);
    await spool.close();
    assert.equal(spool.tryPublish(big), false, 'closed');
  });

  it('skips and acknowledges a record that is not a spool record', async () => {
    const memoryQueue = new MemoryQueue();
    const diskQueue = await DiskQueue.open({ path: freshDir(), maxBytes: 1024 * 1024 });
    diskQueue.append(Buffer.from('not a spool record'));
    const spool = new DiskSpool({ diskQueue, memoryQueue });
    spool.tryPublish(flowEvent(1));
    spool.start();
    const [event] = await take(memoryQueue, 1);
    assert.equal(event.id, 'flow-1');
    assert.equal(spool.stats.decodeErrors, 1);
    event.ack!.ack();
    assert.equal(diskQueue.stats.pendingRecords, 0);
    await spool.close();
  });
});

describe('DiskSpool: throughput (printed, not asserted)', () => {
  it('spools and pumps ~1 KB documents', async (t) => {
    const memoryQueue = new MemoryQueue({ maxEvents: 4096 });
    const spool = await DiskSpool.open({ path: freshDir(), maxBytes: 1024 * 1024 * 1024, memoryQueue });
    const json = JSON.stringify({ message: 'm'.repeat(1000) });
    const count = 100_000;
    let started = performance.now();
    for (let n = 0; n < count; n++) {
      spool.tryPublish({ json, dataset: 'netflow.log', id: `id-${n}` });
      if ((n & 16383) === 16383) await spool.diskQueue.flush();
    }
    await spool.diskQueue.flush();
    const spoolSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    spool.start();
    let taken = 0;
    while (taken < count) {
      const batch = await memoryQueue.getBatch(1600, 5);
      for (const e of batch) e.ack!.ack();
      taken += batch.length;
    }
    const pumpSeconds = (performance.now() - started) / 1000;
    await spool.close();
    t.diagnostic(
      `spool (encode+append+write): ${Math.round(count / spoolSeconds)} events/s; pump (read+decode+publish+ack): ${Math.round(count / pumpSeconds)} events/s`,
    );
  });
});
