// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the configuration syntax under test
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, MINIMAL, netflowInput, problems } from './helpers.ts';

describe('loadConfig: -E overrides', () => {
  it('sets scalars, lists and maps, parsed as YAML', () => {
    const config = load(MINIMAL, {
      overrides: [
        'flowship.inputs.0.port=9995',
        'flowship.inputs.0.protocols=[v9, ipfix]',
        'flowship.inputs.0.fields={site: dc1}',
        'output.console.pretty=true',
        'logging.level=debug',
        'http.enabled=true',
      ],
    });
    const input = netflowInput(config);
    assert.equal(input.port, 9995);
    assert.deepEqual(input.protocols, ['v9', 'ipfix']);
    assert.deepEqual(input.fields, { site: 'dc1' });
    assert.deepEqual(config.output, { type: 'console', pretty: true });
    assert.equal(config.logging.level, 'debug');
    assert.equal(config.http.enabled, true);
  });

  it('switches outputs with enabled, as in Filebeat', () => {
    const config = load('flowship.inputs: [{type: netflow}]\noutput.file.path: /x\n', {
      overrides: ['output.file.enabled=false', 'output.elasticsearch.hosts=["http://127.0.0.1:9200"]'],
    });
    assert.ok(config.output.type === 'elasticsearch');
    assert.deepEqual(config.output.hosts, ['http://127.0.0.1:9200']);
  });

  it('replaces a value, merges a map, creates new keys and appends to a list', () => {
    const config = load('flowship.inputs: [{type: netflow, tags: [a, b]}]\noutput.console:\n', {
      overrides: [
        'flowship.inputs.0.tags=[c]',
        'flowship.inputs.0.pending_data={max_age: 5s}',
        'flowship.inputs.0.pending_data.max_bytes=2MiB',
        'flowship.inputs.1={type: netflow, id: second, port: 2056}',
        'output.file.path=/tmp/x',
        'output.console.enabled=false',
        'path.data=/var/lib/flowship',
      ],
    });
    const first = netflowInput(config, 0);
    const second = netflowInput(config, 1);
    assert.deepEqual(first.tags, ['c']);
    assert.deepEqual(first.pending_data, {
      max_age: 5000,
      max_sets_per_template: 64,
      max_sets_per_exporter: 4096,
      max_bytes_per_exporter: 4 * 1024 * 1024,
      max_bytes: 2 * 1024 * 1024,
    });
    assert.equal(second.id, 'second');
    assert.equal(second.port, 2056);
    assert.ok(config.output.type === 'file');
    assert.equal(config.output.path, '/tmp/x');
    assert.equal(config.path.data, '/var/lib/flowship');
  });

  it('creates a list from an index where there was nothing', () => {
    const config = load('output.console:\n', { overrides: ['flowship.inputs.0.type=netflow'] });
    assert.equal(netflowInput(config, 0).type, 'netflow');
  });

  it('expands ${VAR} in override values', () => {
    const config = load(MINIMAL, { overrides: ['flowship.inputs.0.port=${PORT}'], env: { PORT: '9999' } });
    assert.equal(netflowInput(config, 0).port, 9999);
  });

  it('names the -E key in its problems', () => {
    assert.deepEqual(
      problems(MINIMAL, {
        overrides: [
          'flowship.inputs.0.port=abc',
          'flowship.inputs.3.port=1',
          'flowship.inputs.0.prot=1',
          'output.console.pretty=[unclosed',
          'logging.level',
          'output.console={pretty: maybe}',
        ],
      }),
      [
        '-E flowship.inputs.0.port: flowship.inputs.0.port: expected a number, got a string',
        '-E flowship.inputs.3.port: flowship.inputs: index 3 is out of range: the list has 1 item(s)',
        "-E flowship.inputs.0.prot: flowship.inputs.0.prot: unknown key, did you mean 'port'?",
        '-E output.console.pretty: output.console.pretty: the value is not valid YAML: Flow sequence must end with a ]',
        '-E logging.level: expected -E key=value',
        '-E output.console: output.console.pretty: expected true or false, got a string',
      ],
    );
  });
});
