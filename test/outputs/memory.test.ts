import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryOutput } from '../../src/outputs/memory.ts';
import { isSettled, makeEvents } from '../pipeline/helpers.ts';

describe('MemoryOutput', () => {
  test('records delivered events and counts attempts per event', async () => {
    const out = new MemoryOutput({
      decide: (e, attempt) => (e.doc?.n === 1 && attempt === 1 ? 'retry' : 'ok'),
    });
    const events = makeEvents(3);
    const r1 = await out.send(events);
    assert.deepEqual(
      r1.results.map((r) => r.status),
      ['ok', 'retry', 'ok'],
    );
    await out.send([events[1]]);
    assert.deepEqual(out.docs, [{ n: 0 }, { n: 2 }, { n: 1 }]);
    assert.equal(out.attempts(events[1]), 2);
    assert.equal(out.sendCount, 2);
  });

  test('failNext, rejectNext, hold and release', async () => {
    const out = new MemoryOutput();
    out.failNext(1, 'dead', 'mapping conflict');
    assert.deepEqual((await out.send(makeEvents(1))).results, [
      { status: 'dead', error: 'mapping conflict' },
    ]);
    out.rejectNext(new Error('boom'));
    await assert.rejects(out.send(makeEvents(1)), /boom/);

    out.hold();
    const held = out.send(makeEvents(2));
    assert.equal(await isSettled(held), false);
    assert.equal(out.inFlight, 1);
    out.release();
    assert.equal((await held).results.length, 2);
    assert.equal(out.inFlight, 0);

    out.hold();
    const stuck = out.send(makeEvents(1));
    const closing = out.close();
    assert.equal(out.close(), closing);
    await closing;
    assert.deepEqual((await stuck).results, [{ status: 'retry', error: 'output closed' }]);
  });
});
