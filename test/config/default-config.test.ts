import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { netflowInput } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEXT = readFileSync(new URL('../../flowship.yml', import.meta.url), 'utf8');

describe('flowship.yml (the embedded default)', () => {
  it('loads: one netflow input on localhost:2055 with every protocol, the file output under ./data', () => {
    const config = loadConfig({ file: 'flowship.yml', cwd: ROOT, env: {} });
    assert.equal(config.flowship.inputs.length, 1);
    const input = netflowInput(config);
    assert.equal(input.type, 'netflow');
    assert.equal(input.id, 'netflow');
    assert.equal(input.host, 'localhost');
    assert.equal(input.port, 2055);
    assert.deepEqual(input.protocols, ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix']);
    assert.ok(config.output.type === 'file');
    assert.equal(config.output.path, `${ROOT}data/events`);
    assert.equal(config.path.data, `${ROOT}data`);
  });

  it('documents only valid options: its commented examples load when uncommented', () => {
    // Input options (4 spaces), file output options (2 spaces) and the top-level sections.
    const options = TEXT.replace(/^( {2}| {4})# ([a-z_.]+: )/gm, '$1$2').replace(
      /^# ((?:http|queue\.mem|logging): )/gm,
      '$1',
    );
    assert.notEqual(options, TEXT);
    const config = loadConfig({ text: options, file: 'flowship.yml', cwd: ROOT, env: {} });
    assert.equal(netflowInput(config, 0).read_buffer, 16 * 1024 * 1024);
    assert.equal(netflowInput(config, 0).index, 'my-index');

    // The elasticsearch example, instead of the file output (cloud.* would replace hosts).
    const start = TEXT.indexOf('# output.elasticsearch:');
    const end = TEXT.indexOf('\n\n', start);
    const example = TEXT.slice(start, end)
      .replace(/^# /gm, '')
      .replace(/^( {2})# ((?!cloud)[a-z_]+: )/gm, '$1$2');
    const elasticsearch = TEXT.slice(0, start) + example + TEXT.slice(end);
    const es = loadConfig({
      text: elasticsearch,
      file: 'flowship.yml',
      cwd: ROOT,
      env: { ES_API_KEY: 'key' },
      overrides: ['output.file.enabled=false'],
    });
    assert.ok(es.output.type === 'elasticsearch');
    assert.equal(es.output.pipeline, 'my-pipeline');
    assert.equal(es.output.api_key, 'key');
  });
});
