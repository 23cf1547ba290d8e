/**
 * The JSON reading under the GoFlow2 mapper: the string-aware scanner that splits `{A}{B}` and
 * finds duplicate keys, and the lossless parse (exact integers, remembered float literals).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFloatLiteral, isRawJson, parseJson, scanJson } from '../../src/ecs/goflow2-json.ts';

const texts = (text: string) => scanJson(text).spans.map((s) => text.slice(s.start, s.end));

describe('scanJson', () => {
  it('one object: one span, clean', () => {
    const scan = scanJson('{"a":1,"b":[1,{"c":"}"}]}');
    assert.equal(scan.clean, true);
    assert.deepEqual(
      scan.spans.map((s) => [s.start, s.end, s.object, s.duplicate]),
      [[0, 25, true, undefined]],
    );
  });

  it('back-to-back objects, with or without whitespace between; braces and quotes inside strings', () => {
    const line = '{"a":"}{"}{"b":"\\"}{\\\\"} \t{"c":{}}';
    assert.deepEqual(texts(line), ['{"a":"}{"}', '{"b":"\\"}{\\\\"}', '{"c":{}}']);
    assert.equal(scanJson(line).clean, true);
  });

  it("nesting beyond 1000 (Jackson's limit) stops the scan", () => {
    assert.equal(scanJson(`${'['.repeat(1000)}${']'.repeat(1000)}`).tooDeep, false);
    const deep = scanJson(`${'['.repeat(1001)}${']'.repeat(1001)}`);
    assert.deepEqual([deep.tooDeep, deep.clean], [true, false]);
  });

  it('not clean: unterminated string or object, stray or mismatched closer', () => {
    for (const text of ['{"a":1', '{"a":"1}', '{"a":1}}', '{"a":[1}', '[1,2}']) {
      assert.equal(scanJson(text).clean, false, text);
    }
  });

  it('top-level scalars and garbage are spans that are not objects', () => {
    const scan = scanJson('{"a":1} x');
    assert.deepEqual(
      scan.spans.map((s) => s.object),
      [true, false],
    );
    assert.deepEqual(texts('5 "s" [1]'), ['5', '"s"', '[1]']);
    assert.deepEqual(scanJson('  \t ').spans, []);
    assert.equal(scanJson('  \t ').clean, true);
  });

  it('duplicate keys: per object, at any depth, escapes decoded; values and other objects are not keys', () => {
    const dup = (text: string) => scanJson(text).spans[0]?.duplicate;
    assert.equal(dup('{"a":1,"a":2}'), 'a');
    assert.equal(dup('{"a":1,"\\u0061":2}'), 'a');
    assert.equal(dup('{"x":{"a":1,"b":2,"a":3}}'), 'a');
    assert.equal(dup('{"x":[{"a":1},{"a":2}],"a":"a"}'), undefined);
    assert.equal(dup('{"a":"b","b":"a"}'), undefined);
    assert.equal(dup('{"a":{"a":{"a":1}}}'), undefined);
    // each span reports its own
    const spans = scanJson('{"a":1}{"b":1,"b":2}').spans;
    assert.deepEqual(
      spans.map((s) => s.duplicate),
      [undefined, 'b'],
    );
  });

  it('property: any sequence of objects, joined by any JSON whitespace, splits back into them', () => {
    const ws = fc.stringMatching(/^[ \t\r\n]{0,3}$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.dictionary(fc.string(), fc.jsonValue()), ws), { minLength: 1 }),
        (parts) => {
          const objects = parts.map(([o]) => JSON.stringify(o));
          const line = parts.map(([, sep], i) => objects[i] + sep).join('');
          const scan = scanJson(line);
          assert.equal(scan.clean, true);
          assert.deepEqual(texts(line), objects);
          assert.ok(scan.spans.every((s) => s.object && s.duplicate === undefined));
        },
      ),
      { seed: 2026, numRuns: 500 },
    );
  });
});

describe('parseJson', () => {
  it('integers beyond ±(2^53-1) become exact raw JSON; safe ones stay numbers', () => {
    const v = parseJson(
      '{"max":9007199254740991,"over":9007199254740992,"min":-9007199254740991,"under":-9007199254740992,"ns":1722384059314999999,"huge":123456789012345678901234567890}',
    ) as Record<string, unknown>;
    assert.equal(v.max, 9007199254740991);
    assert.equal(v.min, -9007199254740991);
    for (const key of ['over', 'under', 'ns', 'huge']) assert.ok(isRawJson(v[key]), key);
    assert.equal(
      JSON.stringify(v),
      '{"max":9007199254740991,"over":9007199254740992,"min":-9007199254740991,"under":-9007199254740992,"ns":1722384059314999999,"huge":123456789012345678901234567890}',
    );
  });

  it('float literals are remembered by holder and key, also in arrays', () => {
    const v = parseJson('{"a":1.0,"b":1,"c":1e3,"d":[2,2.5E0]}') as Record<string, any>;
    assert.equal(isFloatLiteral(v, 'a'), true);
    assert.equal(isFloatLiteral(v, 'b'), false);
    assert.equal(isFloatLiteral(v, 'c'), true);
    assert.equal(v.c, 1000);
    assert.equal(isFloatLiteral(v.d, 0), false);
    assert.equal(isFloatLiteral(v.d, 1), true);
    // a float literal beyond 2^53 stays a (rounded) number, as Jackson's Double
    const big = parseJson('{"t":1722384059314899647.0}') as Record<string, unknown>;
    assert.equal(typeof big.t, 'number');
    assert.equal(isFloatLiteral(big, 't'), true);
  });

  it('the scan lists the literals a flat object needs put right; deeper ones leave it to the reviver', () => {
    const [flat] = scanJson(
      '{"ns":1722384059314999999,"s":"12345678901234567","f":1.5,"i":123456789012345,"x":-1e3}',
    ).spans;
    assert.deepEqual(flat.numbers, [
      ['ns', '1722384059314999999'],
      ['f', '1.5'],
      ['x', '-1e3'],
    ]);
    assert.equal(scanJson('{"a":[1722384059314999999]}').spans[0].numbers, undefined);
    assert.equal(scanJson('{"a":{"b":1.5}}').spans[0].numbers, undefined);
    assert.deepEqual(scanJson('{"a":{"b":1},"c":[2]}').spans[0].numbers, []);
    assert.equal(scanJson('[1]').spans[0].numbers, undefined);
  });

  it("property: with the scanned span, the result is the reviver's (values, raw integers, float marks)", () => {
    const number = fc.oneof(
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map((n) => JSON.rawJSON(n.toString())),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const value = fc.oneof(
      number,
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(number, { maxLength: 2 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (object) => {
        const text = JSON.stringify(object);
        const [span] = scanJson(text).spans;
        const fast = parseJson(text, span) as Record<string, unknown>;
        const slow = parseJson(text) as Record<string, unknown>;
        assert.equal(JSON.stringify(fast), JSON.stringify(slow));
        for (const key of Object.keys(slow)) {
          assert.equal(isRawJson(fast[key]), isRawJson(slow[key]), key);
          assert.equal(isFloatLiteral(fast, key), isFloatLiteral(slow, key), key);
        }
      }),
      { seed: 64, numRuns: 1000 },
    );
  });

  it('throws SyntaxError for invalid JSON and trailing data', () => {
    for (const text of ['{"a":', '{"a":1} x', '{"a":1}{"b":2}', '', '  ', '{a:1}', '{"a":01}']) {
      assert.throws(() => parseJson(text), SyntaxError, text);
    }
  });

  it('property: integers of any size survive parse and stringify digit for digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (n) => {
        const text = `{"n":${n},"l":[${n}]}`;
        assert.equal(JSON.stringify(parseJson(text)), text);
      }),
      { seed: 53, numRuns: 1000 },
    );
  });
});
