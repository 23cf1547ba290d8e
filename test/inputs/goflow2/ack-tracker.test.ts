import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckTracker } from '../../../src/inputs/goflow2/ack-tracker.ts';
import { EMPTY_MARKER, markerOf } from '../../../src/inputs/goflow2/identity.ts';

const tail = (s: string) => Buffer.from(s);

describe('AckTracker', () => {
  it('the acked offset is the end of the longest prefix of done ranges', () => {
    const t = new AckTracker();
    const a = t.push(0, 10, tail('a'), 1);
    const b = t.push(10, 11, tail('b'), 0); // empty line: done at once
    const c = t.push(11, 20, tail('c'), 2);
    assert.equal(t.advance(), 0);
    assert.equal(t.acked, 0);
    assert.equal(t.ack(c), false);
    assert.equal(t.ack(c), true);
    assert.equal(t.advance(), 0, 'c waits for a');
    assert.equal(t.ack(a), true);
    assert.equal(t.advance(), 20);
    assert.equal(t.acked, 20);
    assert.equal(t.ackedMarker, markerOf(tail('c')));
    assert.equal(t.size, 0);
    assert.equal(t.inFlightBytes, 0);
    assert.equal(t.ack(b), false, 'already done');
  });

  it('acks of an older generation never move the new offset', () => {
    const t = new AckTracker();
    const old = t.push(0, 100, tail('o'), 1);
    assert.equal(t.reset(), 100);
    assert.equal(t.generation, 1);
    const fresh = t.push(0, 5, tail('n'), 1);
    assert.equal(t.ack(old), false);
    assert.equal(t.advance(), 0);
    assert.equal(t.acked, 0);
    assert.equal(t.ack(fresh), true);
    t.advance();
    assert.equal(t.acked, 5);
  });

  it('starts at a loaded offset with its marker, and skips forward only when idle', () => {
    const t = new AckTracker(300, 'abcdef0123456789');
    assert.equal(t.acked, 300);
    assert.equal(t.ackedMarker, 'abcdef0123456789');
    t.push(300, 310, tail('x'), 1);
    assert.equal(t.skipTo(900, tail('y')), false);
    const u = new AckTracker();
    assert.equal(u.ackedMarker, EMPTY_MARKER);
    assert.equal(u.skipTo(900, tail('y')), true);
    assert.equal(u.acked, 900);
    assert.equal(u.ackedMarker, markerOf(tail('y')));
  });

  it('compacts its queue without losing order', () => {
    const t = new AckTracker();
    const ranges = [];
    for (let i = 0; i < 5000; i++) ranges.push(t.push(i, i + 1, tail('t'), 1));
    for (let i = 0; i < 3000; i++) t.ack(ranges[i]);
    t.advance();
    assert.equal(t.acked, 3000);
    for (let i = 4999; i >= 3000; i--) t.ack(ranges[i]);
    t.advance();
    assert.equal(t.acked, 5000);
  });
});
