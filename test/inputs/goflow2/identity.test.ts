import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  EMPTY_MARKER,
  fingerprintFile,
  fingerprintOf,
  lastLineEnd,
  markerOf,
  readMarkerBytes,
} from '../../../src/inputs/goflow2/identity.ts';
import { MemoryFs } from '../../../src/inputs/goflow2/memory-fs.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('fingerprint', () => {
  it('hashes up to the end of the first line reaching byte 64', () => {
    const first = `${'a'.repeat(70)}\n`;
    const bytes = Buffer.from(`${first}${'b'.repeat(2000)}\n`);
    const fp = fingerprintOf(bytes.subarray(0, 1024), 1024);
    assert.deepEqual(fp, { fp: sha(first), length: first.length });
  });
  it('short lines before byte 64 are included up to the first line that reaches it', () => {
    const text = `${'a'.repeat(20)}\n${'b'.repeat(60)}\nc\n`;
    const fp = fingerprintOf(Buffer.from(text), 1024);
    assert.equal(fp?.length, 82);
  });
  it('a file shorter than length without such a line has no identity yet', () => {
    assert.equal(fingerprintOf(Buffer.from(`${'a'.repeat(30)}\n`), 1024), undefined);
    assert.equal(fingerprintOf(Buffer.from('a'.repeat(500)), 1024), undefined, 'no newline yet');
    assert.equal(fingerprintOf(Buffer.alloc(0), 1024), undefined);
  });
  it('is capped at length: a first line longer than 1024 bytes', () => {
    const bytes = Buffer.from('x'.repeat(1024));
    assert.deepEqual(fingerprintOf(bytes, 1024), { fp: sha(bytes), length: 1024 });
  });
  it('a line ending exactly at byte 64 counts (its \\n is byte 63)', () => {
    const line = `${'a'.repeat(63)}\n`;
    assert.equal(fingerprintOf(Buffer.from(line), 1024)?.length, 64);
    assert.equal(fingerprintOf(Buffer.from(`${'a'.repeat(62)}\n`), 1024), undefined);
  });
  it('reads at the configured offset', async () => {
    const fs = new MemoryFs();
    const line = `${'z'.repeat(80)}\n`;
    fs.writeFile('/d/a.log', `HEADER\n${line}`);
    const h = await fs.open('/d/a.log');
    const fp = await fingerprintFile(h, { offset: 7, length: 1024 });
    assert.equal(fp?.fp, sha(line));
  });
});

describe('marker', () => {
  it('is 16 hex digits of SHA-256 over up to 32 bytes before the offset', async () => {
    const fs = new MemoryFs();
    const text = `${'a'.repeat(50)}\nbbb\n`;
    fs.writeFile('/d/a.log', text);
    const h = await fs.open('/d/a.log');
    const tail = await readMarkerBytes(h, 51);
    assert.equal(tail.toString(), text.slice(19, 51));
    assert.equal(markerOf(tail), sha(text.slice(19, 51)).slice(0, 16));
    assert.equal((await readMarkerBytes(h, 10)).toString(), text.slice(0, 10));
    assert.equal(EMPTY_MARKER, sha('').slice(0, 16));
  });
  it('lastLineEnd finds the last complete line', async () => {
    const fs = new MemoryFs();
    fs.writeFile('/d/a.log', 'one\ntwo\npart');
    const h = await fs.open('/d/a.log');
    const r = await lastLineEnd(h, 12, 1000);
    assert.equal(r.offset, 8);
    assert.equal(r.tail.toString(), 'one\ntwo\n');
    fs.writeFile('/d/b.log', 'nonewline');
    assert.equal((await lastLineEnd(await fs.open('/d/b.log'), 9, 1000)).offset, 0);
  });
});

describe('fingerprint of empty lines', () => {
  it('a short file of empty lines only has no identity; a full range has one', () => {
    assert.equal(fingerprintOf(Buffer.from('\n'.repeat(100)), 1024), undefined);
    assert.equal(fingerprintOf(Buffer.from('\r\n'.repeat(100)), 1024), undefined);
    assert.equal(fingerprintOf(Buffer.from('\n'.repeat(1024)), 1024)?.length, 64);
    assert.equal(fingerprintOf(Buffer.from(`\n\n${'a'.repeat(70)}\n`), 1024)?.length, 73);
  });
});
