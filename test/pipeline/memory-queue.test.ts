import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/pipeline/clock.ts';
import type { Event } from '../../src/pipeline/event.ts';
import { MemoryQueue } from '../../src/pipeline/memory-queue.ts';
import { isSettled, makeEvent, makeEvents } from './helpers.ts';

const ns = (batch: Event[]): unknown[] => batch.map((e) => e.doc?.n);

describe('MemoryQueue', () => {
  test('hands events out oldest first and keeps the gauges', async () => {
    const q = new MemoryQueue({ maxEvents: 10, clock: new ManualClock() });
    for (const e of makeEvents(4)) await q.publish(e);
    assert.equal(q.length, 4);
    assert.equal(q.published, 4);
    assert.deepEqual(ns(await q.getBatch(3, 0)), [0, 1, 2]);
    assert.equal(q.length, 1);
    assert.deepEqual(ns(await q.getBatch(3, 0)), [3]);
    assert.equal(q.length, 0);
  });

  test('publish waits while the queue is full and resumes when the consumer takes', async () => {
    const q = new MemoryQueue({ maxEvents: 2, clock: new ManualClock() });
    await q.publish(makeEvent(0));
    await q.publish(makeEvent(1));
    const third = q.publish(makeEvent(2));
    const fourth = q.publish(makeEvent(3));
    assert.equal(await isSettled(third), false, 'publish must wait while full');
    assert.equal(q.blocked, 2);
    assert.equal(q.length, 2);

    assert.deepEqual(ns(await q.getBatch(1, 0)), [0]);
    assert.equal(await isSettled(third), true, 'one slot freed: the first waiter gets in');
    assert.equal(await isSettled(fourth), false);
    assert.equal(q.length, 2);

    assert.deepEqual(ns(await q.getBatch(10, 0)), [1, 2]);
    await fourth;
    assert.deepEqual(ns(await q.getBatch(10, 0)), [3]);
    assert.equal(q.published, 4);
    assert.equal(q.dropped, 0);
  });

  test('tryPublish never waits: it refuses and counts a drop when full, and cannot overtake blocked publishers', async () => {
    const q = new MemoryQueue({ maxEvents: 2, clock: new ManualClock() });
    assert.equal(q.tryPublish(makeEvent(0)), true);
    assert.equal(q.tryPublish(makeEvent(1)), true);
    assert.equal(q.tryPublish(makeEvent(2)), false);
    assert.equal(q.tryPublish(makeEvent(3)), false);
    assert.equal(q.dropped, 2);
    assert.equal(q.published, 2);

    const blocked = q.publish(makeEvent(4));
    await q.getBatch(1, 0); // frees one slot, which goes to the blocked publisher
    await blocked;
    assert.equal(q.tryPublish(makeEvent(5)), false);
    assert.equal(q.dropped, 3);
    assert.deepEqual(ns(await q.getBatch(10, 0)), [1, 4]);
  });

  test('getBatch resolves as soon as max events are available', async () => {
    const clock = new ManualClock();
    const q = new MemoryQueue({ maxEvents: 100, clock });
    const batch = q.getBatch(3, 60_000);
    await q.publish(makeEvent(0));
    await q.publish(makeEvent(1));
    assert.equal(await isSettled(batch), false);
    await q.publish(makeEvent(2));
    assert.deepEqual(ns(await batch), [0, 1, 2]);
    assert.equal(clock.now(), new ManualClock().now(), 'no time passed');
  });

  test('getBatch resolves waitMs after the first event arrived, with what is there', async () => {
    const clock = new ManualClock();
    const q = new MemoryQueue({ maxEvents: 100, clock });
    const batch = q.getBatch(10, 1000);
    await clock.advance(5000); // an empty queue does not start the age timer
    assert.equal(await isSettled(batch), false);

    await q.publish(makeEvent(0));
    await clock.advance(400);
    await q.publish(makeEvent(1));
    await clock.advance(599);
    assert.equal(await isSettled(batch), false, 'the first event is 999 ms old');
    await clock.advance(1);
    assert.deepEqual(ns(await batch), [0, 1]);
  });

  test('age counts from when the oldest event was queued, not from the getBatch call', async () => {
    const clock = new ManualClock();
    const q = new MemoryQueue({ maxEvents: 100, clock });
    await q.publish(makeEvent(0));
    await clock.advance(700);
    const batch = q.getBatch(10, 1000);
    await clock.advance(299);
    assert.equal(await isSettled(batch), false);
    await clock.advance(1);
    assert.deepEqual(ns(await batch), [0]);

    await q.publish(makeEvent(1));
    await clock.advance(2000);
    assert.deepEqual(ns(await q.getBatch(10, 1000)), [1], 'already old enough: immediate');
  });

  test('close rejects blocked publishers, hands out what remains, then []', async () => {
    const q = new MemoryQueue({ maxEvents: 2, clock: new ManualClock() });
    await q.publish(makeEvent(0));
    await q.publish(makeEvent(1));
    const blocked = q.publish(makeEvent(2));
    q.close();
    q.close(); // idempotent
    await assert.rejects(blocked, { code: 'FLOWSHIP_QUEUE_CLOSED' });
    await assert.rejects(q.publish(makeEvent(3)), { code: 'FLOWSHIP_QUEUE_CLOSED' });
    assert.equal(q.tryPublish(makeEvent(4)), false);
    assert.equal(q.dropped, 1);
    assert.deepEqual(ns(await q.getBatch(10, 60_000)), [0, 1], 'closed: no waiting for age');
    assert.deepEqual(await q.getBatch(10, 60_000), []);
  });

  test('close releases a consumer waiting on an empty queue with []', async () => {
    const q = new MemoryQueue({ maxEvents: 2, clock: new ManualClock() });
    const batch = q.getBatch(10, 1000);
    assert.equal(await isSettled(batch), false);
    q.close();
    assert.deepEqual(await batch, []);
  });

  test('concurrent consumers are served in call order', async () => {
    const q = new MemoryQueue({ maxEvents: 10, clock: new ManualClock() });
    const a = q.getBatch(2, 60_000);
    const b = q.getBatch(2, 60_000);
    for (const e of makeEvents(4)) await q.publish(e);
    assert.deepEqual(ns(await a), [0, 1]);
    assert.deepEqual(ns(await b), [2, 3]);
  });

  test('rejects nonsense limits', async () => {
    assert.throws(() => new MemoryQueue({ maxEvents: 0 }), RangeError);
    await assert.rejects(new MemoryQueue().getBatch(0, 0), RangeError);
  });

  test('matches a plain array model under any interleaving (fast-check, fixed seed)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('try' as const) }),
      fc.record({ kind: fc.constant('take' as const), max: fc.integer({ min: 1, max: 7 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 80 }), async (cap, ops) => {
        const q = new MemoryQueue({ maxEvents: cap, clock: new ManualClock() });
        const model: number[] = [];
        let next = 0;
        let dropped = 0;
        for (const o of ops) {
          if (o.kind === 'try') {
            const ok = q.tryPublish(makeEvent(next));
            assert.equal(ok, model.length < cap);
            if (ok) model.push(next);
            else dropped++;
            next++;
          } else if (model.length > 0) {
            const got = ns(await q.getBatch(o.max, 0));
            assert.deepEqual(got, model.splice(0, o.max));
          }
          assert.equal(q.length, model.length);
          assert.equal(q.dropped, dropped);
        }
      }),
      { seed: 20260101, numRuns: 200 },
    );
  });
});
