import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../src/monitoring/logger.ts';
import { MetricsRegistry } from '../../src/monitoring/metrics.ts';
import { FileOutput } from '../../src/outputs/file.ts';
import { MemoryOutput } from '../../src/outputs/memory.ts';
import { ManualClock, settle } from '../../src/pipeline/clock.ts';
import { MemoryQueue } from '../../src/pipeline/memory-queue.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { isSettled, makeEvents } from './helpers.ts';

const tmpDirs: string[] = [];
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

/** A MemoryOutput whose close never resolves, as a console output whose write is stuck in a full pipe. */
class StuckOutput extends MemoryOutput {
  closeCalls = 0;
  override close(): Promise<void> {
    this.closeCalls++;
    return new Promise(() => {});
  }
}

/** Every event acknowledged exactly once. */
function assertAckedOnce(acks: Map<number, number>, count: number): void {
  assert.equal(acks.size, count, `${acks.size} of ${count} events acknowledged`);
  for (const [n, times] of acks) assert.equal(times, 1, `event ${n} acknowledged ${times} times`);
}

describe('Pipeline', () => {
  test('delivers batches by size and acknowledges ok and dead events exactly once', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new MemoryOutput({ decide: (e) => ((e.doc?.n as number) % 5 === 4 ? 'dead' : 'ok') });
    const acks = new Map<number, number>();
    for (const e of makeEvents(10, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 4, flushIntervalMs: 1000, clock });
    pipeline.start();
    pipeline.start(); // idempotent
    await settle();
    assert.deepEqual(
      output.batches.map((b) => b.length),
      [4, 4],
      'two full batches at once; the last two wait for their age',
    );
    await clock.advance(1000);
    assert.deepEqual(
      output.batches.map((b) => b.length),
      [4, 4, 2],
    );
    assertAckedOnce(acks, 10);
    assert.equal(output.events.length, 8);
    assert.equal(output.dead.length, 2);
    const stats = pipeline.stats;
    assert.equal(stats.acked, 8);
    assert.equal(stats.dead, 2);
    assert.equal(stats.batches, 3);
    assert.equal(stats.inFlight, 0);
    assert.deepEqual(await pipeline.stop(), { drained: true, left: 0, closed: true });
  });

  test('retries with exponential backoff and jitter until success, never dropping', async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const sendTimes: number[] = [];
    const output = new MemoryOutput({
      decide: (_e, attempt) => (attempt < 4 ? { status: 'retry', error: '429 Too Many Requests' } : 'ok'),
    });
    const originalSend = output.send.bind(output);
    output.send = (batch) => {
      sendTimes.push(clock.now() - start);
      return originalSend(batch);
    };
    const acks = new Map<number, number>();
    for (const e of makeEvents(3, acks)) await queue.publish(e);
    const pipeline = new Pipeline({
      queue,
      output,
      batchSize: 10,
      flushIntervalMs: 0,
      backoffInitMs: 1000,
      backoffMaxMs: 3000,
      clock,
      random: () => 0.5,
    });
    pipeline.start();
    await settle();
    assert.deepEqual(sendTimes, [0]);
    assert.equal(acks.size, 0);
    // Equal jitter with random 0.5: pause = 0.75 * min(max, init * 2^attempt).
    await clock.advance(749);
    assert.deepEqual(sendTimes, [0], 'no resend before the backoff');
    await clock.advance(1);
    assert.deepEqual(sendTimes, [0, 750]);
    await clock.advance(1500);
    assert.deepEqual(sendTimes, [0, 750, 2250]);
    await clock.advance(2250); // capped: 0.75 * 3000
    assert.deepEqual(sendTimes, [0, 750, 2250, 4500]);
    assertAckedOnce(acks, 3);
    assert.equal(pipeline.stats.retried, 9);
    assert.equal(pipeline.stats.acked, 3);
    assert.equal(pipeline.stats.sends, 4);
    assert.equal(pipeline.stats.batches, 1);
    await pipeline.stop();
  });

  test('re-sends only the events that came back retry', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new MemoryOutput({
      decide: (e, attempt) => ((e.doc?.n as number) % 2 === 1 && attempt === 1 ? 'retry' : 'ok'),
    });
    const acks = new Map<number, number>();
    for (const e of makeEvents(6, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 6, clock, random: () => 0 });
    pipeline.start();
    await settle();
    assert.equal(acks.size, 3);
    await clock.advance(500); // random 0: pause = init / 2
    assert.deepEqual(
      output.batches.map((b) => b.map((e) => e.doc?.n)),
      [
        [0, 1, 2, 3, 4, 5],
        [1, 3, 5],
      ],
    );
    assertAckedOnce(acks, 6);
    await pipeline.stop();
  });

  test('a rejected send or missing results count as retry for the events concerned', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new MemoryOutput();
    output.rejectNext(new Error('socket hang up'));
    const acks = new Map<number, number>();
    for (const e of makeEvents(3, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 3, clock, random: () => 0 });
    pipeline.start();
    await settle();
    assert.equal(pipeline.stats.sendErrors, 1);
    assert.equal(acks.size, 0);
    // Next send answers only for the first event: the other two must be retried, not acked.
    const originalSend = output.send.bind(output);
    output.send = async (batch) => {
      output.send = originalSend;
      const r = await originalSend(batch);
      return { results: r.results.slice(0, 1) };
    };
    await clock.advance(500);
    assert.deepEqual([...acks.keys()], [0]);
    await clock.advance(1000);
    assertAckedOnce(acks, 3);
    await pipeline.stop();
  });

  test('stop drains everything queued through the file output, closes it, and returns the same promise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowship-pipeline-'));
    tmpDirs.push(dir);
    const queue = new MemoryQueue({ maxEvents: 1000 });
    const output = new FileOutput({ path: join(dir, 'out'), filename: 'drain' });
    const acks = new Map<number, number>();
    for (const e of makeEvents(250, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 16, flushIntervalMs: 60_000, workers: 2 });
    pipeline.start();
    const stopping = pipeline.stop({ timeoutMs: 30_000 });
    assert.equal(pipeline.stop(), stopping, 'same promise on repeat calls');
    assert.deepEqual(await stopping, { drained: true, left: 0, closed: true });
    await assert.rejects(queue.publish(makeEvents(1)[0]), { code: 'FLOWSHIP_QUEUE_CLOSED' });
    assertAckedOnce(acks, 250);

    const files = await readdir(join(dir, 'out'));
    assert.equal(files.length, 1);
    const lines = (await readFile(join(dir, 'out', files[0]), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 250);
    const seen = lines.map((l) => (JSON.parse(l) as { n: number }).n).sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      Array.from({ length: 250 }, (_, i) => i),
    );
    const retry = await output.send(makeEvents(1));
    assert.equal(retry.results[0].status, 'retry', 'the output is closed');
  });

  test('stop keeps retrying during the drain: nothing queued is lost', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new MemoryOutput();
    output.failNext(3);
    const acks = new Map<number, number>();
    for (const e of makeEvents(5, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 2, clock, random: () => 0 });
    const stopping = pipeline.stop(); // never started: stop starts the workers to drain
    await clock.advance(60_000);
    assert.deepEqual(await stopping, { drained: true, left: 0, closed: true });
    assertAckedOnce(acks, 5);
    assert.equal(output.closed, true);
  });

  test('stop reports what is left when the timeout hits, acknowledges none of it, and closes the output', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new MemoryOutput();
    output.hold();
    const acks = new Map<number, number>();
    for (const e of makeEvents(7, acks)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 4, clock });
    pipeline.start();
    await settle();
    assert.equal(output.inFlight, 1);
    assert.equal(pipeline.stats.inFlight, 4);
    const stopping = pipeline.stop({ timeoutMs: 5000 });
    await clock.advance(4999);
    assert.equal(await isSettled(stopping), false);
    await clock.advance(1);
    assert.deepEqual(await stopping, { drained: false, left: 7, closed: true });
    assert.equal(pipeline.stop({ timeoutMs: 1 }), stopping);
    assert.equal(output.closed, true);
    await settle();
    assert.equal(acks.size, 0, 'nothing acknowledged that the output did not accept');
    assert.equal(output.sendCount, 1, 'no new batch after the timeout');
  });

  test('stop is bounded by its timeout even when the output never finishes closing', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new StuckOutput();
    const acks = new Map<number, number>();
    for (const e of makeEvents(3, acks)) await queue.publish(e);
    const lines: string[] = [];
    const logger = createLogger({ sink: (l) => lines.push(l), clock });
    const pipeline = new Pipeline({ queue, output, batchSize: 3, clock, logger });
    pipeline.start();
    await settle();
    assertAckedOnce(acks, 3);
    await clock.advance(1000);
    // drained at once; the close then gets what is left of the 5 s
    const stopping = pipeline.stop({ timeoutMs: 5000 });
    await clock.advance(4999);
    assert.equal(output.closeCalls, 1);
    assert.equal(await isSettled(stopping), false);
    await clock.advance(1);
    assert.deepEqual(await stopping, { drained: true, left: 0, closed: false });
    assert.ok(lines.some((l) => l.includes('the output did not close within the stop timeout')));
  });

  test('after a drain timeout, an output stuck in close does not hold stop', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue({ maxEvents: 100, clock });
    const output = new StuckOutput();
    output.hold(); // a send blocked on a full pipe
    for (const e of makeEvents(4)) await queue.publish(e);
    const pipeline = new Pipeline({ queue, output, batchSize: 4, clock });
    pipeline.start();
    await settle();
    const stopping = pipeline.stop({ timeoutMs: 5000 });
    await clock.advance(4999);
    assert.equal(await isSettled(stopping), false);
    await clock.advance(1);
    assert.equal(await isSettled(stopping), true, 'stop ends at its timeout');
    assert.deepEqual(await stopping, { drained: false, left: 4, closed: false });
  });

  test('a close that fails is reported as not closed', async () => {
    const queue = new MemoryQueue({ maxEvents: 10 });
    const output = new MemoryOutput();
    output.close = () => Promise.reject(new Error('close failed'));
    const pipeline = new Pipeline({ queue, output });
    assert.deepEqual(await pipeline.stop({ timeoutMs: 1000 }), { drained: true, left: 0, closed: false });
  });

  test('publishes its and the queue metrics in a registry', async () => {
    const clock = new ManualClock();
    const registry = new MetricsRegistry();
    const queue = new MemoryQueue({ maxEvents: 3, clock });
    const output = new MemoryOutput({ decide: (e) => (e.doc?.n === 1 ? 'dead' : 'ok') });
    for (const e of makeEvents(3)) await queue.publish(e);
    assert.equal(queue.tryPublish(makeEvents(1)[0]), false);
    const pipeline = new Pipeline({ queue, output, batchSize: 3, clock, metrics: registry });
    pipeline.start();
    await settle();
    const snap = registry.snapshot();
    const value = (name: string): unknown => (snap[name].values[0] as { value: number }).value;
    assert.equal(value('flowship_pipeline_events_acked_total'), 2);
    assert.equal(value('flowship_pipeline_events_dead_total'), 1);
    assert.equal(value('flowship_pipeline_batches_total'), 1);
    assert.equal(value('flowship_pipeline_events_in_flight'), 0);
    assert.equal(value('flowship_queue_published_total'), 3);
    assert.equal(value('flowship_queue_dropped_total'), 1);
    assert.equal(value('flowship_queue_capacity_events'), 3);
    assert.match(registry.prometheus(), /^flowship_output_send_duration_seconds_count 1$/m);
    await pipeline.stop();
  });
});
