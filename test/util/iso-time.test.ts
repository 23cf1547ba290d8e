/**
 * The ISO 8601 text of dates (src/util/iso-time.ts) against `Date#toISOString()`, over the whole
 * four-digit-year range and across the cache of recent seconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoMillis, isoMillisJson, parseIsoMillis } from '../../src/util/iso-time.ts';

const FIRST = new Date('0000-01-01T00:00:00.000Z').getTime();
const LAST = new Date('9999-12-31T23:59:59.999Z').getTime();

/** mulberry32: fixed seed, the same values every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

describe('isoMillis', () => {
  it('is toISOString() from year 0000 to 9999, leap days and the ends included', () => {
    const next = random(0x150);
    const samples = [FIRST, LAST, 0, -1, 1, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(1900, 2, 1)];
    for (let i = 0; i < 100_000; i++) samples.push(Math.floor(FIRST + next() * (LAST - FIRST)));
    for (const ms of samples) assert.equal(isoMillis(ms), new Date(ms).toISOString(), String(ms));
  });

  it('the milliseconds of recent seconds, alternating between three seconds', () => {
    const base = Date.UTC(2024, 5, 30, 23, 59, 58);
    for (let i = 0; i < 3000; i++) {
      const ms = base + (i % 3) * 1000 + (i % 1000);
      assert.equal(isoMillis(ms), new Date(ms).toISOString(), String(ms));
    }
  });

  it('beyond four-digit years and fractions: Date’s own text', () => {
    assert.equal(isoMillis(LAST + 1), '+010000-01-01T00:00:00.000Z');
    assert.equal(isoMillis(FIRST - 1), '-000001-12-31T23:59:59.999Z');
    assert.equal(isoMillis(1.5), '1970-01-01T00:00:00.001Z');
  });
});

describe('isoMillisJson', () => {
  it('is JSON.stringify of the Date: quoted text, or null when invalid', () => {
    for (const ms of [0, LAST, LAST + 1, FIRST - 1, 8.64e15, -8.64e15, 8.64e15 + 1, Number.NaN, 1.5]) {
      assert.equal(isoMillisJson(ms), JSON.stringify(new Date(ms)), String(ms));
    }
  });
});

describe('parseIsoMillis', () => {
  it('reads what isoMillis writes, from year 0000 to 9999', () => {
    const next = random(0x9a75e);
    const samples = [FIRST, LAST, 0, -1, 1_700_000_000_123, Date.UTC(2000, 1, 29, 12), Date.UTC(2100, 2, 1)];
    for (let i = 0; i < 100_000; i++) samples.push(Math.floor(FIRST + next() * (LAST - FIRST)));
    for (const ms of samples) assert.equal(parseIsoMillis(isoMillis(ms)), ms, isoMillis(ms));
  });

  it('nothing else: other forms, other lengths, impossible dates', () => {
    for (const text of [
      '2017-11-21T14:32:15Z',
      '2017-11-21T14:32:15.000',
      '2017-11-21 14:32:15.000Z',
      '2017-11-21T14:32:15.000+00:00',
      '+010000-01-01T00:00:00.000Z',
      'Tue Nov 21 2017 14:32:15Z',
      '2017-13-21T14:32:15.000Z',
      '2017-02-30T14:32:15.000Z',
      '2017-11-21T24:00:00.000Z',
      '2100-02-29T00:00:00.000Z',
      '2017-11-21T14:60:15.000Z',
      '2017-11-21T14:32:15.0a0Z',
      '2017-11-21T14:32:15.000z',
      '2017-11-21Tx0:00:00.000Z',
      '2017-11-21T+1:00:00.000Z',
      '2017-11-21T1٣:00:00.000Z',
      '2017-11-21T14:-1:15.000Z',
      '2017-11-21T14:32:/0.000Z',
      '',
    ]) {
      assert.equal(parseIsoMillis(text), undefined, text);
    }
  });
});
