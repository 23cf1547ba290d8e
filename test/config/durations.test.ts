import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSize } from '../../src/config/durations.ts';

describe('parseDuration', () => {
  it('reads Go durations into milliseconds', () => {
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('.5s'), 500);
    assert.equal(parseDuration('2h45m30s'), 9_930_000);
    assert.equal(parseDuration('100us'), 0.1);
    assert.equal(parseDuration('100µs'), 0.1);
    assert.equal(parseDuration('1000000ns'), 1);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration(' 5m '), 300_000);
    assert.equal(parseDuration('-1s'), -1000);
  });

  it('rejects what Go rejects', () => {
    for (const text of ['', '5', '1d', '5 m', 'm', '1h 30m', 'five minutes', '1.s.5', '--1s']) {
      assert.equal(parseDuration(text), undefined, text);
    }
  });
});

describe('parseSize', () => {
  it('reads sizes into bytes, decimal and binary units, any case', () => {
    assert.equal(parseSize('10KiB'), 10_240);
    assert.equal(parseSize('16MiB'), 16_777_216);
    assert.equal(parseSize('1GiB'), 2 ** 30);
    assert.equal(parseSize('10KB'), 10_000);
    assert.equal(parseSize('10kb'), 10_000);
    assert.equal(parseSize('1 MB'), 1_000_000);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('4096B'), 4096);
    assert.equal(parseSize('1.5KiB'), 1536);
    assert.equal(parseSize('64k'), 64_000);
  });

  it('rejects what is not a size', () => {
    for (const text of ['', 'KiB', '10 parsecs', '-1', '1,5MB', 'constructor', '10KiBs']) {
      assert.equal(parseSize(text), undefined, text);
    }
  });
});
