// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the configuration syntax under test
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandVariables } from '../../src/config/expand.ts';

const env = { HOST: 'es.example', PORT: '9200', EMPTY: '' };

describe('expandVariables', () => {
  it('replaces references, using defaults for unset variables', () => {
    const result = expandVariables('https://${HOST}:${PORT}/${PREFIX:flows}', env);
    assert.deepEqual(result, { value: 'https://es.example:9200/flows', whole: false, problems: [] });
  });

  it('treats a variable set to the empty string as set', () => {
    assert.equal(expandVariables('[${EMPTY:default}]', env).value, '[]');
  });

  it('expands references inside defaults, and defaults that hold colons', () => {
    assert.equal(expandVariables('${MISSING:${HOST}}', env).value, 'es.example');
    assert.equal(expandVariables('${MISSING:http://localhost:9200}', env).value, 'http://localhost:9200');
    assert.equal(expandVariables('${MISSING:}', env).value, '');
  });

  it('says whether the text was exactly one reference', () => {
    assert.equal(expandVariables('${PORT}', env).whole, true);
    assert.equal(expandVariables('${MISSING:[a, {b: c}]}', env).whole, true);
    assert.equal(expandVariables(' ${PORT}', env).whole, false);
    assert.equal(expandVariables('${HOST}:${PORT}', env).whole, false);
  });

  it('reports a missing variable with the offset of its reference', () => {
    const result = expandVariables('key=${HOST} ${ES_API_KEY}', env);
    assert.equal(result.value, 'key=es.example ');
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0].index, 12);
    assert.equal(result.problems[0].reference, '${ES_API_KEY}');
    assert.match(result.problems[0].message, /environment variable ES_API_KEY is not set/);
  });

  it('reports ${VAR:?message} with its message', () => {
    const [problem] = expandVariables('${TOKEN:?set TOKEN to the API token}', env).problems;
    assert.equal(problem.message, 'environment variable TOKEN is not set: set TOKEN to the API token');
  });

  it('keeps $${ as a literal ${', () => {
    const result = expandVariables('$${HOST} and ${HOST} and $${NOT_SET:x}', env);
    assert.deepEqual(result, {
      value: '${HOST} and es.example and ${NOT_SET:x}',
      whole: false,
      problems: [],
    });
  });

  it('reports an unterminated reference and an empty name', () => {
    assert.match(expandVariables('abc ${HOST', env).problems[0].message, /unterminated/);
    assert.match(expandVariables('${}', env).problems[0].message, /empty variable name/);
  });
});
