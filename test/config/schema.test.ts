// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the configuration syntax under test
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileOutputConfig } from '../../src/config/schema.ts';
import { load, MINIMAL, netflowInput, problems } from './helpers.ts';

describe('loadConfig: defaults', () => {
  it('fills in every default of a netflow input', () => {
    const config = load(MINIMAL);
    assert.deepEqual(config.flowship.inputs, [
      {
        type: 'netflow',
        id: 'netflow',
        host: 'localhost',
        port: 2055,
        network: 'udp',
        protocols: ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix'],
        max_message_size: 10 * 1024,
        timeout: 5 * 60_000,
        expiration_timeout: 30 * 60_000,
        queue_size: 8192,
        workers: 1,
        custom_definitions: [],
        detect_sequence_reset: true,
        share_templates: false,
        internal_networks: ['private'],
        limits: {
          max_sessions: 65_536,
          max_templates_per_session: 4_096,
          max_template_fields: 1_000_000,
          max_exporters: 100,
        },
        tags: ['netflow', 'forwarded'],
        compatibility: 'extended',
        pending_data: {
          max_age: 60_000,
          max_sets_per_template: 64,
          max_bytes: 16 * 1024 * 1024,
          max_sets_per_exporter: 4096,
          max_bytes_per_exporter: 4 * 1024 * 1024,
        },
        template_cache: { enabled: true, flush_interval: 10_000 },
        enrich: { absolute_times: true, sampling_rate: true, scale_counters: false, options: true },
        namespace: 'default',
        fields: {},
        fields_under_root: false,
        keep_null: false,
      },
    ]);
  });

  it('fills in the top-level defaults and resolves path.data against the working directory', () => {
    const config = load(MINIMAL);
    assert.deepEqual(config.output, { type: 'console', pretty: false });
    assert.deepEqual(config.path, { data: '/srv/flowship/data' });
    assert.deepEqual(config.http, { enabled: false, host: 'localhost', port: 5066 });
    assert.deepEqual(config.queue, { mem: { events: 4096, flush: { min_events: 1600, timeout: 1000 } } });
    assert.deepEqual(config.logging, { level: 'info', to_stderr: true, json: false });
  });

  it('fills in the file output defaults', () => {
    const config = load('flowship.inputs: [{type: netflow}]\noutput.file:\n');
    const expected: FileOutputConfig = {
      type: 'file',
      path: '/srv/flowship/data/events',
      filename: 'flowship',
      rotate_every_kb: 10240,
      number_of_files: 7,
      permissions: 0o600,
      rotate_on_startup: true,
    };
    assert.deepEqual(config.output, expected);
  });

  it('fills in the elasticsearch output defaults', () => {
    const config = load(
      'flowship.inputs: [{type: netflow}]\noutput.elasticsearch.hosts: ["https://es:9200"]\n',
    );
    assert.deepEqual(config.output, {
      type: 'elasticsearch',
      hosts: ['https://es:9200'],
      cloud: {},
      ssl: { certificate_authorities: [], verification_mode: 'full' },
      bulk_max_size: 1600,
      flush_interval: 1000,
      workers: 1,
      compression_level: 1,
      timeout: 90_000,
      backoff: { init: 1000, max: 60_000 },
      dead_letter: {
        enabled: true,
        path: '/srv/flowship/data/dead-letter/elasticsearch.ndjson',
        max_size: 256 * 1024 * 1024,
      },
      setup_templates: true,
    });
  });

  it('treats a key without a value as not set', () => {
    const config = load(`${MINIMAL}http:\n  port:\nlogging.level: ~\n`);
    assert.equal(config.http.port, 5066);
    assert.equal(config.logging.level, 'info');
  });
});

describe('loadConfig: values', () => {
  it('parses durations (Go syntax or seconds) and sizes', () => {
    const config = load(
      'flowship.inputs:\n' +
        '  - type: netflow\n' +
        '    timeout: 1h30m\n' +
        '    expiration_timeout: 0\n' +
        '    max_message_size: 9000\n' +
        '    read_buffer: 16MiB\n' +
        '    pending_data: {max_age: 90, max_bytes: 1MB}\n' +
        '    template_cache.flush_interval: 500ms\n' +
        'output.console:\n',
    );
    const input = netflowInput(config);
    assert.equal(input.timeout, 5_400_000);
    assert.equal(input.expiration_timeout, 0);
    assert.equal(input.max_message_size, 9000);
    assert.equal(input.read_buffer, 16 * 1024 * 1024);
    assert.equal(input.pending_data.max_age, 90_000);
    assert.equal(input.pending_data.max_bytes, 1_000_000);
    assert.equal(input.template_cache.flush_interval, 500);
  });

  it('allowed_exporters takes CIDRs and named ranges, and names itself in an error; limits take integers', () => {
    const input = netflowInput(
      load(
        'flowship.inputs:\n  - type: netflow\n    allowed_exporters: [192.0.2.0/24, "2001:db8::/32", private]\n' +
          '    limits: {max_sessions: 10, max_exporters: 5}\noutput.console:\n',
      ),
    );
    assert.deepEqual(input.allowed_exporters, ['192.0.2.0/24', '2001:db8::/32', 'private']);
    assert.equal(input.limits.max_sessions, 10);
    assert.equal(input.limits.max_exporters, 5);
    assert.equal(input.limits.max_templates_per_session, 4_096);
    const found = problems(
      'flowship.inputs:\n  - type: netflow\n    allowed_exporters: [192.0.2.1]\n    limits.max_sessions: 0\noutput.console:\n',
    );
    assert.ok(
      found.some((p) =>
        /allowed_exporters.*invalid allowed_exporters entry "192\.0\.2\.1".*192\.0\.2\.1\/32/.test(p),
      ),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => /limits\.max_sessions/.test(p)),
      found.join('\n'),
    );
  });

  it('rejects invalid durations and sizes, naming the value', () => {
    const found = problems(
      'flowship.inputs:\n  - type: netflow\n    timeout: 5 minutes\n    max_message_size: 10 parsecs\n    expiration_timeout: -1s\n    read_buffer: [1]\noutput.console:\n',
    );
    assert.deepEqual(found, [
      "flowship.yml:3:14: flowship.inputs.0.timeout: invalid duration '5 minutes': use a Go duration such as 500ms, 30s, 5m or 1h30m",
      "flowship.yml:4:23: flowship.inputs.0.max_message_size: invalid size '10 parsecs': use bytes or a size such as 10KiB or 16MiB",
      'flowship.yml:5:25: flowship.inputs.0.expiration_timeout: must not be negative',
      'flowship.yml:6:18: flowship.inputs.0.read_buffer: expected a size such as 10KiB, got a list',
    ]);
  });

  it('caps read_buffer below 2 GiB, which Node refuses for SO_RCVBUF (ERR_SOCKET_BUFFER_SIZE)', () => {
    const readBuffer = (value: string) =>
      netflowInput(load(`flowship.inputs: [{type: netflow, read_buffer: ${value}}]\noutput.console:\n`), 0)
        .read_buffer;
    assert.equal(readBuffer('2147483647'), 2 ** 31 - 1);
    assert.deepEqual(problems('flowship.inputs: [{type: netflow, read_buffer: 2GiB}]\noutput.console:\n'), [
      'flowship.yml:1:48: flowship.inputs.0.read_buffer: must be at most 2147483647 bytes',
    ]);
  });

  it('reads file permissions written as YAML 1.1 octal, 0o octal, strings and plain numbers', () => {
    const permissions = (value: string) =>
      (
        load(`flowship.inputs: [{type: netflow}]\noutput.file.permissions: ${value}\n`)
          .output as FileOutputConfig
      ).permissions;
    assert.equal(permissions('0600'), 0o600);
    assert.equal(permissions('0o640'), 0o640);
    assert.equal(permissions('"0644"'), 0o644);
    assert.equal(permissions("'600'"), 0o600);
    assert.equal(permissions('384'), 0o600);
    assert.match(
      problems('flowship.inputs: [{type: netflow}]\noutput.file.permissions: 600\n')[0],
      /got 600 \(decimal\)/,
    );
  });

  it('accepts Filebeat\'s host: "ip:port" when port is absent', () => {
    const input = (yaml: string) => netflowInput(load(`flowship.inputs:\n  - ${yaml}\noutput.console:\n`), 0);
    assert.deepEqual(
      [input('{type: netflow, host: "1.2.3.4:9995"}')].map(({ host, port }) => ({ host, port })),
      [{ host: '1.2.3.4', port: 9995 }],
    );
    assert.equal(input('{type: netflow, host: "[::1]:9996"}').host, '::1');
    assert.equal(input('{type: netflow, host: "[::1]:9996"}').port, 9996);
    // Go's ":2056" with udp: every address, IPv6 and IPv4 (dual stack on `::`)
    assert.equal(input('{type: netflow, host: ":2056"}').host, '::');
    assert.equal(input('{type: netflow, host: ":2056", network: udp4}').host, '0.0.0.0');
    assert.deepEqual(
      [input('{type: netflow, host: ""}')].map(({ host, port }) => ({ host, port })),
      [{ host: '::', port: 2055 }],
    );
    assert.equal(input('{type: netflow, host: "", network: udp4}').host, '0.0.0.0');
    assert.deepEqual(problems('flowship.inputs:\n  - {type: netflow, host: "  "}\noutput.console:\n'), [
      'flowship.yml:2:27: flowship.inputs.0.host: must not be blank',
    ]);
    assert.equal(input('{type: netflow, host: ":2056", network: udp6}').host, '::');
    assert.equal(input('{type: netflow, host: "::1", port: 2057}').host, '::1');
    assert.equal(input('{type: netflow, host: "::1", port: 2057}').port, 2057);
    assert.deepEqual(
      problems('flowship.inputs:\n  - {type: netflow, host: "1.2.3.4:9995", port: 2055}\noutput.console:\n'),
      [
        'flowship.yml:2:49: flowship.inputs.0.port: host already has a port (host: "ip:port"); set the port in one place only',
      ],
    );
  });

  it('accepts Filebeat conveniences: one value for a list, numbers as text, YAML 1.1 booleans', () => {
    const config = load(
      'flowship.inputs:\n' +
        '  - {type: netflow, protocols: v9, tags: forwarded, port: "2056", share_templates: "true"}\n' +
        'output.elasticsearch: {hosts: "http://es:9200", username: elastic, password: 123456}\n' +
        'http.enabled: yes\n' +
        'logging.to_stderr: Off\n',
    );
    assert.equal(config.http.enabled, true);
    assert.equal(config.logging.to_stderr, false);
    const input = netflowInput(config);
    assert.deepEqual(input.protocols, ['v9']);
    assert.deepEqual(input.tags, ['forwarded']);
    assert.equal(input.port, 2056);
    assert.equal(input.share_templates, true);
    assert.ok(config.output.type === 'elasticsearch');
    assert.deepEqual(config.output.hosts, ['http://es:9200']);
    assert.equal(config.output.password, '123456');
  });

  it('clamps queue.mem.flush.min_events to queue.mem.events, as Filebeat does', () => {
    assert.equal(load(`${MINIMAL}queue.mem.events: 100\n`).queue.mem.flush.min_events, 100);
  });

  it('reads queue.disk: sizes in bytes, the path under path.data by default, enabled: false leaves it out', () => {
    assert.equal(load(MINIMAL).queue.disk, undefined);
    assert.deepEqual(load(`${MINIMAL}queue.disk.max_size: 10GB\n`).queue.disk, {
      path: '/srv/flowship/data/diskqueue',
      max_size: 10_000_000_000,
    });
    assert.deepEqual(
      load(
        `${MINIMAL}path.data: /var/lib/flowship\nqueue.disk: {max_size: 512MiB, segment_size: 16MiB, path: spool}\n`,
      ).queue.disk,
      { path: '/srv/flowship/spool', max_size: 512 * 1024 * 1024, segment_size: 16 * 1024 * 1024 },
    );
    assert.equal(
      load(`${MINIMAL}queue.disk: {max_size: 104857600}\n`).queue.disk?.max_size,
      100 * 1024 * 1024,
    );
    assert.equal(
      load(`${MINIMAL}path.data: /var/lib/flowship\nqueue.disk.max_size: 100MB\n`).queue.disk?.path,
      '/var/lib/flowship/diskqueue',
    );
    assert.equal(load(`${MINIMAL}queue.disk: {enabled: false}\n`).queue.disk, undefined);
  });

  it('checks queue.disk: max_size is required, sizes are sizes, a segment fits twice', () => {
    assert.deepEqual(problems(`${MINIMAL}queue.disk: {path: /tmp/q}\n`), [
      'flowship.yml:4:1: queue.disk.max_size: is required (the most bytes the queue may hold)',
    ]);
    const [size] = problems(`${MINIMAL}queue.disk.max_size: lots\n`);
    assert.match(size, /queue\.disk\.max_size: invalid size 'lots'/);
    const [small] = problems(`${MINIMAL}queue.disk.max_size: 1KiB\n`);
    assert.match(small, /queue\.disk\.max_size: must be at least 1048576 bytes/);
    const [segment] = problems(`${MINIMAL}queue.disk: {max_size: 10MiB, segment_size: 8MiB}\n`);
    assert.match(segment, /queue\.disk\.segment_size: must be at most half of max_size/);
    const [unknown] = problems(`${MINIMAL}queue.disk: {max_size: 10MiB, max_bytes: 1}\n`);
    assert.match(unknown, /queue\.disk\.max_bytes: unknown key/);
  });

  it('validates internal_networks entries with the locality rules', () => {
    const config = load(
      'flowship.inputs: [{type: netflow, internal_networks: [private, 100.64.0.0/10, "2001:db8::/32", loopback]}]\noutput.console:\n',
    );
    assert.deepEqual(netflowInput(config, 0).internal_networks, [
      'private',
      '100.64.0.0/10',
      '2001:db8::/32',
      'loopback',
    ]);
    const [problem] = problems(
      'flowship.inputs: [{type: netflow, internal_networks: [private, 10.0.0.0/33]}]\noutput.console:\n',
    );
    assert.match(
      problem,
      /^flowship\.yml:1:64: flowship\.inputs\.0\.internal_networks\.1: .*10\.0\.0\.0\/33/,
    );
  });

  it('checks the namespace, ids and enums', () => {
    assert.deepEqual(
      problems(
        'flowship.inputs:\n  - {type: netflow, id: ../x, namespace: Prod-1, network: tcp, compatibility: logstash}\noutput.console:\n',
      ),
      [
        'flowship.yml:2:25: flowship.inputs.0.id: must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (it names files under path.data)',
        'flowship.yml:2:42: flowship.inputs.0.namespace: must be lowercase',
        "flowship.yml:2:59: flowship.inputs.0.network: 'tcp' is not one of udp, udp4, udp6",
        "flowship.yml:2:79: flowship.inputs.0.compatibility: 'logstash' is not one of extended, filebeat",
      ],
    );
  });
});

describe('loadConfig: numbers written as text', () => {
  it('keeps a non-canonical number as written for a string setting, and parses it for a number', () => {
    const config = load(
      'flowship.inputs: [{type: netflow, id: 007, port: 0x7d0, queue_size: 1e3, timeout: 1.50, tags: [0123, True]}]\n' +
        'output.elasticsearch: {hosts: [http://es:9200], username: elastic, password: 0123}\n',
    );
    const input = netflowInput(config);
    assert.equal(input.id, '007');
    assert.equal(input.port, 2000);
    assert.equal(input.queue_size, 1000);
    assert.equal(input.timeout, 1500);
    assert.deepEqual(input.tags, ['0123', 'True']);
    assert.ok(config.output.type === 'elasticsearch');
    assert.equal(config.output.password, '0123');
  });
});
