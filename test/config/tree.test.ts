// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the configuration syntax under test
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, MINIMAL, netflowInput, problems } from './helpers.ts';

describe('loadConfig: environment variables', () => {
  it('expands ${VAR} and ${VAR:default}, typing a value that is exactly one unquoted reference', () => {
    const config = load(
      'flowship.inputs:\n' +
        '  - type: netflow\n' +
        '    host: ${NETFLOW_HOST:0.0.0.0}\n' +
        '    port: ${NETFLOW_PORT}\n' +
        '    share_templates: ${SHARE:false}\n' +
        '    protocols: ${PROTOCOLS}\n' +
        '    tags: ["${SITE}-netflow", "$${literal}"]\n' +
        '    read_buffer: ${READ_BUFFER:}\n' +
        'output.elasticsearch:\n' +
        '  hosts: ["https://${ES_HOST}:9200"]\n' +
        '  api_key: ${ES_API_KEY}\n',
      {
        env: {
          NETFLOW_PORT: '9995',
          PROTOCOLS: '[v9, ipfix]',
          SITE: 'dc1',
          ES_HOST: 'es.example',
          ES_API_KEY: 'id:key#not-a-comment',
          SHARE: 'true',
        },
      },
    );
    const input = netflowInput(config);
    assert.equal(input.host, '0.0.0.0');
    assert.equal(input.port, 9995);
    assert.equal(input.share_templates, true);
    assert.deepEqual(input.protocols, ['v9', 'ipfix']);
    assert.deepEqual(input.tags, ['dc1-netflow', '${literal}']);
    assert.equal(input.read_buffer, undefined);
    assert.ok(config.output.type === 'elasticsearch');
    assert.deepEqual(config.output.hosts, ['https://es.example:9200']);
    assert.equal(config.output.api_key, 'id:key#not-a-comment');
  });

  it('gives a string setting exactly the text of its variable', () => {
    const config = load(
      'flowship.inputs: [{type: netflow}]\noutput.elasticsearch:\n  hosts: [http://es:9200]\n  username: ${USER}\n  password: ${PASSWORD}\n',
      { env: { USER: '1e3', PASSWORD: '0123' } },
    );
    assert.ok(config.output.type === 'elasticsearch');
    assert.equal(config.output.username, '1e3');
    assert.equal(config.output.password, '0123');
  });

  it('keeps a quoted reference a string', () => {
    const config = load(
      `flowship.inputs: [{type: netflow, id: '\${ID}'}]\noutput.console:\nlogging.level: "\${LEVEL}"\n`,
      {
        env: { LEVEL: 'debug', ID: '12' },
      },
    );
    assert.equal(config.logging.level, 'debug');
    assert.equal(netflowInput(config, 0).id, '12');
  });

  it('reports a missing variable at the position of its reference, once', () => {
    const text =
      'flowship.inputs:\n' +
      '  - type: netflow\n' +
      '    port: ${NETFLOW_PORT}\n' +
      'output.elasticsearch:\n' +
      '  hosts: ["https://${ES_HOST}:9200"]\n' +
      '  api_key: "key: ${ES_API_KEY}"\n';
    assert.deepEqual(problems(text), [
      'flowship.yml:3:11: flowship.inputs.0.port: environment variable NETFLOW_PORT is not set (give a default with ${NETFLOW_PORT:default})',
      'flowship.yml:5:20: output.elasticsearch.hosts.0: environment variable ES_HOST is not set (give a default with ${ES_HOST:default})',
      'flowship.yml:6:18: output.elasticsearch.api_key: environment variable ES_API_KEY is not set (give a default with ${ES_API_KEY:default})',
    ]);
  });

  it('does not expand keys or comments', () => {
    const config = load(
      `flowship.inputs:\n  - type: netflow # \${NOT_SET}\n    fields:\n      \${x}: y\noutput.console:\n`,
    );
    assert.deepEqual(netflowInput(config, 0).fields, { '${x}': 'y' });
  });
});

describe('loadConfig: dotted keys', () => {
  it('nests dotted keys at every level and merges them with nested maps', () => {
    const config = load(
      'flowship.inputs:\n' +
        '  - type: netflow\n' +
        '    pending_data.max_age: 30s\n' +
        '    pending_data:\n' +
        '      max_bytes: 1MiB\n' +
        'output.file.path: /var/lib/flowship/events\n' +
        'output:\n' +
        '  file:\n' +
        '    filename: flows\n' +
        'queue.mem:\n' +
        '  flush.timeout: 2s\n' +
        'queue.mem.events: 8192\n',
    );
    assert.equal(netflowInput(config, 0).pending_data.max_age, 30_000);
    assert.equal(netflowInput(config, 0).pending_data.max_bytes, 1024 * 1024);
    assert.ok(config.output.type === 'file');
    assert.equal(config.output.path, '/var/lib/flowship/events');
    assert.equal(config.output.filename, 'flows');
    assert.deepEqual(config.queue.mem, { events: 8192, flush: { min_events: 1600, timeout: 2000 } });
  });

  it('reports a setting given twice, with both places', () => {
    const text =
      'flowship.inputs: [{type: netflow}]\n' +
      'output.file.path: /a\n' +
      'output:\n' +
      '  file:\n' +
      '    path: /b\n' +
      'http.port: 1\n' +
      'http: 5\n';
    assert.deepEqual(problems(text), [
      'flowship.yml:5:5: output.file.path: already set at flowship.yml:2:1',
      'flowship.yml:7:1: http: already set at flowship.yml:6:1',
    ]);
  });

  it('reports a duplicate key as YAML does', () => {
    assert.deepEqual(problems(`${MINIMAL}http.port: 1\nhttp.port: 2\n`), [
      'flowship.yml:5:1: Map keys must be unique',
    ]);
  });
});
