// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the configuration syntax under test
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { load, MINIMAL, netflowInput, problems } from './helpers.ts';

describe('loadConfig: files', () => {
  it('reads flowship.yml in the working directory by default, custom_definitions relative to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-config-'));
    try {
      writeFileSync(join(dir, 'flowship.yml'), MINIMAL);
      assert.equal(netflowInput(loadConfig({ cwd: dir, env: {} }), 0).port, 2055);
      writeFileSync(
        join(dir, 'other.yml'),
        'flowship.inputs: [{type: netflow, custom_definitions: [defs/cisco.yml, /etc/x.yml]}]\noutput.console:\n',
      );
      const config = loadConfig({ file: join(dir, 'other.yml'), cwd: '/', env: {} });
      assert.deepEqual(netflowInput(config, 0).custom_definitions, [
        join(dir, 'defs/cisco.yml'),
        '/etc/x.yml',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a file it cannot read', () => {
    assert.throws(
      () => loadConfig({ file: 'does-not-exist.yml', cwd: tmpdir() }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^does-not-exist\.yml: cannot read the configuration/.test(error.problems[0]),
    );
  });
});

describe('loadConfig: problems', () => {
  it('rejects unknown keys, suggesting the closest known key', () => {
    const text =
      'flowship.inputs:\n' +
      '  - type: netflow\n' +
      '    prot: 2055\n' +
      '    max_mesage_size: 9000\n' +
      '    paths: [/tmp]\n' +
      'output.kafka: {}\n' +
      'output.console: {}\n' +
      'loging.level: debug\n' +
      'filebeat.inputs: []\n';
    assert.deepEqual(problems(text), [
      "flowship.yml:3:5: flowship.inputs.0.prot: unknown key, did you mean 'port'?",
      "flowship.yml:4:5: flowship.inputs.0.max_mesage_size: unknown key, did you mean 'max_message_size'?",
      'flowship.yml:5:5: flowship.inputs.0.paths: unknown key',
      'flowship.yml:6:1: output.kafka: unknown key (valid keys: elasticsearch, file, console)',
      "flowship.yml:8:1: loging: unknown key, did you mean 'logging'?",
      "flowship.yml:9:1: filebeat: unknown key, did you mean 'flowship'?",
    ]);
  });

  it('rejects two outputs, naming both, and none', () => {
    assert.deepEqual(
      problems(
        'flowship.inputs: [{type: netflow}]\noutput.file: {}\noutput.elasticsearch:\n  hosts: [http://es:9200]\n',
      ),
      [
        'flowship.yml:2:1: output: only one output may be enabled, found output.elasticsearch and output.file (remove one or set enabled: false)',
      ],
    );
    assert.deepEqual(problems('flowship.inputs: [{type: netflow}]\n'), [
      'flowship.yml:1:1: output: no output configured: enable exactly one of output.elasticsearch, output.file, output.console',
    ]);
  });

  it('reports every problem at once, in file order, each at its line and column', () => {
    const text = [
      'flowship.inputs:', //                          1
      '  - type: netflow', //                         2
      '    port: 70000', //                           3
      '    protocols: [v9, v10]', //                  4
      '    workers: 0', //                            5
      '  - type: goflow2', //                         6
      '    paths: [/var/log/*.log]', //               7
      '  - host: localhost', //                       8
      'output.file:', //                              9
      '  number_of_files: 1', //                      10
      '  rotate_on_startup: perhaps', //              11
      'http.port: x', //                              12
      'logging.level: warn', //                       13
      '',
    ].join('\n');
    assert.deepEqual(problems(text), [
      'flowship.yml:3:11: flowship.inputs.0.port: must be at most 65535',
      "flowship.yml:4:21: flowship.inputs.0.protocols.1: 'v10' is not one of v1, v5, v6, v7, v8, v9, ipfix; did you mean 'v1'?",
      'flowship.yml:5:14: flowship.inputs.0.workers: must be at least 1',
      'flowship.yml:6:5: flowship.inputs.1.id: is required',
      'flowship.yml:8:5: flowship.inputs.2.type: is required (valid types: netflow, goflow2)',
      'flowship.yml:10:20: output.file.number_of_files: must be at least 2',
      'flowship.yml:11:22: output.file.rotate_on_startup: expected true or false, got a string',
      'flowship.yml:12:12: http.port: expected a number, got a string',
      "flowship.yml:13:16: logging.level: 'warn' is not one of error, warning, info, debug; did you mean 'warning'?",
    ]);
  });

  it('reports duplicate input ids, including two inputs that both take the default id', () => {
    const text =
      'flowship.inputs:\n' +
      '  - type: netflow\n' +
      '  - type: netflow\n' +
      '    port: 2056\n' +
      '  - {type: netflow, id: edge, port: 2057}\n' +
      '  - {type: netflow, id: edge, port: 2058}\n' +
      'output.console:\n';
    assert.deepEqual(problems(text), [
      "flowship.yml:3:5: flowship.inputs.1.id: duplicate input id 'netflow' (also the id of flowship.inputs.0); give each input a unique id",
      "flowship.yml:6:25: flowship.inputs.3.id: duplicate input id 'edge' (also the id of flowship.inputs.2); give each input a unique id",
    ]);
  });

  it('reports two inputs on the same address', () => {
    const text =
      'flowship.inputs:\n' +
      '  - {type: netflow, id: a, host: 0.0.0.0}\n' +
      '  - {type: netflow, id: b, host: "0.0.0.0:2055"}\n' +
      '  - {type: netflow, id: c, host: 0.0.0.0, port: 2056}\n' +
      'output.console:\n';
    assert.deepEqual(problems(text), [
      'flowship.yml:3:5: flowship.inputs.1.port: flowship.inputs.0 already listens on 0.0.0.0 port 2055',
    ]);
  });

  it('requires at least one enabled input', () => {
    assert.deepEqual(problems('output.console:\n'), ['flowship.yml:1:1: flowship.inputs: is required']);
    assert.deepEqual(problems('flowship.inputs: []\noutput.console:\n'), [
      'flowship.yml:1:18: flowship.inputs: configure at least one input',
    ]);
    assert.deepEqual(problems('flowship.inputs: [{type: netflow, enabled: false}]\noutput.console:\n'), [
      'flowship.yml:1:18: flowship.inputs: every input is disabled; enable at least one',
    ]);
  });

  it('leaves disabled inputs out, and does not validate them', () => {
    const config = load(
      'flowship.inputs:\n  - type: netflow\n    enabled: false\n    port: ${UNSET}\n    bogus: 1\n  - {type: netflow, id: live}\noutput.console:\n',
    );
    assert.deepEqual(
      config.flowship.inputs.map((input) => input.id),
      ['live'],
    );
  });

  it('checks the elasticsearch output', () => {
    const text =
      'flowship.inputs: [{type: netflow}]\n' +
      'output.elasticsearch:\n' +
      '  api_key: abc\n' +
      '  username: elastic\n' +
      '  ssl.verification_mode: off\n' +
      '  backoff: {init: 2m, max: 1m}\n';
    assert.deepEqual(problems(text), [
      'flowship.yml:2:1: output.elasticsearch.hosts: is required (or set cloud.id)',
      'flowship.yml:3:12: output.elasticsearch.api_key: cannot be combined with username/password',
      "flowship.yml:5:26: output.elasticsearch.ssl.verification_mode: 'off' is not one of full, strict, certificate, none",
      'flowship.yml:6:19: output.elasticsearch.backoff.init: must not be greater than backoff.max',
    ]);
    const cloud = load('flowship.inputs: [{type: netflow}]\noutput.elasticsearch:\n  cloud.id: "x:eHl6"\n');
    assert.ok(cloud.output.type === 'elasticsearch');
    assert.equal(cloud.output.cloud.id, 'x:eHl6');
  });

  it('never echoes a secret in a problem', () => {
    const secret = 'S3cr3t-Value-42';
    const found = problems(
      'flowship.inputs: [{type: netflow}]\n' +
        'output.elasticsearch:\n' +
        '  hosts: [https://es:9200]\n' +
        `  api_key: ${secret}\n` +
        `  password: ${secret}\n` +
        `  cloud.auth: "elastic:${secret}"\n` +
        `  api_kye: ${secret}\n` +
        `  username: [${secret}]\n` +
        `  ssl.verification_mode: *${secret}\n`,
      {
        overrides: [
          `output.elasticsearch.password=[${secret}`,
          `output.elasticsearch.api_key={${secret}: 1}`,
          `output.elasticsearch.cloud.auth=${secret}, ${secret}`,
          `output.elasticsearch.password:${secret}`,
        ],
      },
    );
    assert.ok(found.length >= 5, found.join('\n'));
    for (const problem of found) assert.ok(!problem.includes('S3cr3t'), problem);
  });

  it('rejects a configuration that is not a map, and YAML syntax errors with their position', () => {
    assert.deepEqual(problems('- a\n- b\n'), [
      'flowship.yml:1:1: the configuration must be a map of settings',
    ]);
    const [syntax] = problems('flowship.inputs:\n  - type: "netflow\noutput.console:\n');
    assert.match(syntax, /^flowship\.yml:\d+:\d+: Missing closing "quote/);
  });
});
