import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSecretKey, Logger, type LoggerOptions } from '../../src/monitoring/logger.ts';
import { ManualClock } from '../../src/pipeline/clock.ts';
import { FlowshipError } from '../../src/util/errors.ts';
import { rawJSON } from '../pipeline/helpers.ts';

function capture(options: LoggerOptions = {}): { log: Logger; lines: string[]; clock: ManualClock } {
  const lines: string[] = [];
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const log = new Logger({ clock, sink: (l) => lines.push(l), ...options });
  return { log, lines, clock };
}

describe('Logger', () => {
  test('text lines: timestamp, level, [logger], message, key=value', () => {
    const { log, lines } = capture({ name: 'netflow' });
    log.info('template missing', {
      exporter: '10.0.0.1:2055',
      domain: 0,
      note: 'two words',
      empty: '',
      skip: undefined,
    });
    log.warning('multi\nline');
    assert.deepEqual(lines, [
      '2026-01-01T00:00:00.000Z INFO [netflow] template missing exporter=10.0.0.1:2055 domain=0 note="two words" empty=""',
      '2026-01-01T00:00:00.000Z WARNING [netflow] multi\\nline',
    ]);
  });

  test('JSON lines with ECS-style keys; errors, big integers and dates serialised', () => {
    const { log, lines } = capture({ name: 'output', format: 'json', level: 'debug' });
    const err = new FlowshipError('FLOWSHIP_OUTPUT', 'connection refused');
    log.debug('bulk failed', { error: err, bytes: rawJSON('18446744073709551615'), n: 10n, at: new Date(0) });
    assert.equal(lines.length, 1);
    assert.equal(
      lines[0],
      '{"@timestamp":"2026-01-01T00:00:00.000Z","log.level":"debug","log.logger":"output","message":"bulk failed",' +
        '"error":{"message":"connection refused","type":"FlowshipError","code":"FLOWSHIP_OUTPUT"},' +
        '"bytes":18446744073709551615,"n":"10","at":"1970-01-01T00:00:00.000Z"}',
    );
    log.info('x', { message: 'cannot override', 'log.level': 'nope' });
    const rec = JSON.parse(lines[1]);
    assert.equal(rec.message, 'x');
    assert.equal(rec['log.level'], 'info');
  });

  test('errors print as their message (with code) in text', () => {
    const { log, lines } = capture();
    log.error('send failed', { error: new FlowshipError('FLOWSHIP_OUTPUT', 'boom') });
    assert.equal(
      lines[0],
      '2026-01-01T00:00:00.000Z ERROR [flowship] send failed error="FLOWSHIP_OUTPUT: boom"',
    );
  });

  test('levels below the threshold are not written', () => {
    const { log, lines } = capture({ level: 'warning' });
    log.debug('d');
    log.info('i');
    log.warning('w');
    log.error('e');
    assert.deepEqual(
      lines.map((l) => l.split(' ')[1]),
      ['WARNING', 'ERROR'],
    );
    assert.equal(log.isEnabled('info'), false);
  });

  test('rateLimited writes the first occurrence, then at most one per interval with the suppressed count', async () => {
    const { log, lines, clock } = capture({ name: 'netflow' });
    const hot = (): void => log.rateLimited('decode-error', 10_000).warning('bad packet', { exporter: 'x' });
    hot();
    for (let i = 0; i < 5; i++) {
      await clock.advance(1000);
      hot();
    }
    assert.equal(lines.length, 1);
    assert.equal(log.suppressedTotal, 5);
    await clock.advance(5000); // 10 s after the first written line
    hot();
    assert.equal(lines.length, 2);
    assert.match(lines[1], / bad packet exporter=x suppressed=5$/);
    await clock.advance(10_000);
    hot();
    assert.equal(lines.length, 3);
    assert.match(lines[2], / bad packet exporter=x$/, 'nothing suppressed since: no count');

    // Keys are independent, and per logger name.
    log.rateLimited('other-key', 10_000).warning('another');
    log.child('goflow2').rateLimited('decode-error', 10_000).warning('bad line');
    assert.equal(lines.length, 5);
  });

  test('rateLimited keeps a bounded table of keys', () => {
    const { log, lines } = capture({ maxRateLimitKeys: 2 });
    log.rateLimited('a', 60_000).info('a');
    log.rateLimited('b', 60_000).info('b');
    log.rateLimited('c', 60_000).info('c'); // evicts 'a'
    log.rateLimited('a', 60_000).info('a again');
    log.rateLimited('c', 60_000).info('c suppressed');
    assert.deepEqual(
      lines.map((l) => l.split(' ').slice(3).join(' ')),
      ['a', 'b', 'c', 'a again'],
    );
  });

  test('secrets never print: password, api_key, authorization, secret, at any depth, in any format', () => {
    for (const format of ['text', 'json'] as const) {
      const { log, lines } = capture({ format, redact: ['cookie'] });
      log.info('connecting to https://elastic:hunter2@es.example:9200', {
        password: 'hunter2',
        api_key: 'abc123:xyz',
        apiKey: 'camelSecret',
        Authorization: 'Bearer tok3n',
        'output.elasticsearch.password': 'dotted-pw',
        nested: { client_secret: 's3cr3t', list: [{ 'x-api-key': 'k3y' }] },
        host: 'https://user:pw0rd@es.example',
        Cookie: 'session=abc',
        user: 'elastic',
      });
      const line = lines[0];
      for (const secret of [
        'hunter2',
        'abc123',
        'camelSecret',
        'tok3n',
        'dotted-pw',
        's3cr3t',
        'k3y',
        'pw0rd',
        'session=abc',
      ]) {
        assert.ok(!line.includes(secret), `${format}: '${secret}' leaked in ${line}`);
      }
      assert.ok(line.includes('elastic'), 'non-secret fields are kept');
      assert.ok(line.includes('[REDACTED]'));
    }
    assert.equal(isSecretKey('ES_PASSWORD'), true);
    assert.equal(isSecretKey('hosts'), false);
  });

  test('a sink that throws never breaks the caller', () => {
    const log = new Logger({
      sink: () => {
        throw new Error('EPIPE');
      },
    });
    assert.doesNotThrow(() => log.error('x'));
  });
});
