import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markerOf } from '../../../src/inputs/goflow2/identity.ts';
import { LineSplitter, type SplitRange } from '../../../src/inputs/goflow2/lines.ts';

function split(chunks: Array<string | Buffer>, max = 100, start = 0): SplitRange[] {
  const s = new LineSplitter(max);
  s.reset(start, Buffer.alloc(0));
  return chunks.flatMap((c) => s.push(typeof c === 'string' ? Buffer.from(c) : c));
}

describe('LineSplitter', () => {
  it('splits on \\n, keeps the unterminated remainder, strips \\r', () => {
    const s = new LineSplitter(100);
    s.reset(0, Buffer.alloc(0));
    const out = s.push(Buffer.from('a\r\nbb\ncc'));
    assert.deepEqual(
      out.map((r) => (r.kind === 'line' ? [r.text, r.start, r.end] : r.kind)),
      [
        ['a', 0, 3],
        ['bb', 3, 6],
      ],
    );
    assert.equal(s.lineStart, 6);
    assert.equal(s.held, 2);
    const more = s.push(Buffer.from('c\n'));
    assert.equal(more.length, 1);
    assert.equal(more[0].kind === 'line' && more[0].text, 'ccc');
    assert.equal(more[0].start, 6);
    assert.equal(s.held, 0);
  });

  it('a line split across many chunks is whole', () => {
    const out = split(['{"a":', '1,"b"', ':2}', '\n']);
    assert.equal(out.length, 1);
    assert.equal(out[0].kind === 'line' && out[0].text, '{"a":1,"b":2}');
  });

  it('empty lines become empty ranges (done, nothing shipped)', () => {
    const out = split(['x\n\n\r\ny\n']);
    assert.deepEqual(
      out.map((r) => [r.kind, r.start, r.end]),
      [
        ['line', 0, 2],
        ['empty', 2, 3],
        ['empty', 3, 5],
        ['line', 5, 7],
      ],
    );
  });

  it('strips a UTF-8 BOM at offset 0 only', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const out = split([Buffer.concat([bom, Buffer.from('a\n'), bom, Buffer.from('b\n')])]);
    const first = out[0];
    assert.ok(first.kind === 'line');
    assert.equal(first.text, 'a');
    assert.equal(first.start, 0);
    assert.equal(first.textOffset, 3);
    const second = out[1];
    assert.ok(second.kind === 'line');
    assert.equal(second.text, '\ufeffb');
  });

  it('drops and counts a leading NUL run, even longer than the limit', () => {
    const nul = Buffer.alloc(500);
    const out = split([nul.subarray(0, 200), nul.subarray(200), Buffer.from('{"x":1}\n')], 10);
    assert.equal(out.length, 1);
    const r = out[0];
    assert.ok(r.kind === 'line');
    assert.equal(r.text, '{"x":1}');
    assert.equal(r.nulBytes, 500);
    assert.equal(r.start, 0);
    assert.equal(r.textOffset, 500);
  });

  it('skips a line over the limit whole, keeps its neighbours, and counts its length', () => {
    const max = 10;
    const exact = 'a'.repeat(max);
    const over = 'b'.repeat(max + 1);
    const huge = 'c'.repeat(1000);
    const out = split([`${exact}\n${over}\n`, huge.slice(0, 500), huge.slice(500), '\nok\n'], max);
    assert.deepEqual(
      out.map((r) => (r.kind === 'too_long' ? ['too_long', r.length] : r.kind === 'line' ? r.text : r.kind)),
      [exact, ['too_long', max + 1], ['too_long', 1000], 'ok'],
    );
  });

  it('a \\r before the \\n does not count toward the limit', () => {
    const out = split([`${'a'.repeat(10)}\r\n`], 10);
    assert.equal(out[0].kind, 'line');
  });

  it('replaces invalid UTF-8 and flags it', () => {
    const out = split([Buffer.from([0x61, 0xff, 0x62, 0x0a])]);
    const r = out[0];
    assert.ok(r.kind === 'line');
    assert.equal(r.text, 'a\ufffdb');
    assert.equal(r.invalidUtf8, true);
    assert.equal(r.bytes, 3);
  });

  it('each range carries the 32 bytes before its end, across chunks and lines', () => {
    const text = `${'x'.repeat(40)}\nab\n${'y'.repeat(5)}\n`;
    const bytes = Buffer.from(text);
    const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 44), bytes.subarray(44)];
    const out = split(chunks);
    for (const r of out) {
      const expected = bytes.subarray(Math.max(0, r.end - 32), r.end);
      assert.ok(r.tail.equals(expected), `tail at ${r.end}`);
      assert.equal(markerOf(r.tail), markerOf(expected));
    }
  });

  it('resumes at a non-zero offset with the bytes before it', () => {
    const s = new LineSplitter(100);
    s.reset(1000, Buffer.from('prev\n'));
    const [r] = s.push(Buffer.from('z\n'));
    assert.equal(r.start, 1000);
    assert.equal(r.end, 1002);
    assert.ok(r.tail.equals(Buffer.from('prev\nz\n')));
    // no BOM stripping away from offset 0
    s.reset(5, Buffer.alloc(0));
    const [b] = s.push(Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0a]));
    assert.ok(b.kind === 'line' && b.bytes === 4);
  });
});
