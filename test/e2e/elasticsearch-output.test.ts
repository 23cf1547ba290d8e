/**
 * The Elasticsearch output against a real Elasticsearch (the integ-test-zip from Maven Central,
 * test/helpers/elasticsearch.ts), on 9.x and on 8.19: `flowship setup` installs the templates
 * (idempotently), `flowship test output` reports them, and `flowship run` ships NetFlow flows
 * received over UDP and GoFlow2 lines tailed from a file into their data streams with the
 * mapped types; a document Elasticsearch rejects goes to the dead-letter file and the rest go on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ELASTICSEARCH_8_VERSION, ELASTICSEARCH_VERSION } from '../../scripts/ensure-elasticsearch.ts';
import { type RunningElasticsearch, startElasticsearch } from '../helpers/elasticsearch.ts';
import { countDocs, duplicateValues, fieldTypes, numberedGoflow2Line } from '../helpers/es-checks.ts';
import { netflowV5Datagram } from '../helpers/netflow-v5.ts';
import { eventually, FLOWSHIP_BIN, freeUdpPort, type Spawned, startFlowship } from '../helpers/process.ts';

const FLOWS = 300;
const LINES = 200;
/** Line number (1-based) of the line whose document Elasticsearch cannot take. */
const BAD_LINE = 101;

function flowship(...args: string[]) {
  return spawnSync(process.execPath, [FLOWSHIP_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

for (const version of [ELASTICSEARCH_VERSION, ELASTICSEARCH_8_VERSION]) {
  describe(`Elasticsearch output against Elasticsearch ${version}`, { timeout: 300_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-es-'));
    let es: RunningElasticsearch;
    let run: Spawned | undefined;
    let cfg: string;
    let port: number;

    before(async () => {
      es = await startElasticsearch({ version });
      port = await freeUdpPort();
      mkdirSync(join(dir, 'logs'));
      cfg = join(dir, 'flowship.yml');
      writeFileSync(
        cfg,
        [
          'flowship.inputs:',
          `  - {type: netflow, id: nf, host: 127.0.0.1, port: ${port}}`,
          `  - {type: goflow2, id: gf, paths: ["${join(dir, 'logs')}/*.log"], prospector.scanner.check_interval: 200ms, backoff: {init: 50ms, max: 200ms}}`,
          'output.elasticsearch:',
          `  hosts: ["${es.url}"]`,
          '  flush_interval: 200ms',
          '  backoff: {init: 100ms, max: 1s}',
          `path.data: ${join(dir, 'data')}`,
          '',
        ].join('\n'),
      );
    });

    after(async () => {
      await run?.stop('SIGKILL');
      await es?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('setup installs both index templates, and again changes nothing', () => {
      const first = flowship('setup', '-c', cfg);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /index template logs-netflow\.log: created/);
      assert.match(first.stdout, /index template logs-goflow2\.sflow: created/);
      const second = flowship('setup', '-c', cfg);
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /index template logs-netflow\.log: unchanged/);
      assert.match(second.stdout, /index template logs-goflow2\.sflow: unchanged/);
    });

    it('test output reports the version and the templates', () => {
      const r = flowship('test', 'output', '-c', cfg);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`version\\.\\.\\. ${version.replaceAll('.', '\\.')} OK`));
      assert.match(r.stdout, /index template logs-netflow\.log\.\.\. current/);
      assert.match(r.stdout, /index template logs-goflow2\.sflow\.\.\. current/);
    });

    it('run ships flows and lines into their data streams with the mapped types; a rejected document is dead-lettered', async () => {
      // line BAD_LINE is JSON but not an object: its failure document keeps a non-object
      // `goflow2`, which the template's object mapping cannot take
      let text = '';
      let badOffset = 0;
      for (let k = 1; k <= LINES; k++) {
        if (k === BAD_LINE) badOffset = Buffer.byteLength(text);
        text += k === BAD_LINE ? '[1,2,3]\n' : numberedGoflow2Line(k);
      }
      writeFileSync(join(dir, 'logs', 'sflow.log'), text);

      run = startFlowship(['run', '-c', cfg]);
      await run.waitFor(/flowship started/);
      const socket = createSocket('udp4');
      for (let first = 0; first < FLOWS; first += 30) {
        socket.send(netflowV5Datagram(first, 30), port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 5));
      }
      socket.close();

      await eventually(
        async () => ((await countDocs(es, 'logs-netflow.log-default')) === FLOWS ? true : undefined),
        60_000,
        `${FLOWS} netflow documents`,
      );
      await eventually(
        async () => ((await countDocs(es, 'logs-goflow2.sflow-default')) === LINES - 1 ? true : undefined),
        60_000,
        `${LINES - 1} goflow2 documents`,
      );
      assert.deepEqual(await duplicateValues(es, 'logs-netflow.log-default', 'source.ip'), []);
      assert.deepEqual(await duplicateValues(es, 'logs-goflow2.sflow-default', 'source.ip'), []);

      const netflowTypes = await fieldTypes(es, 'logs-netflow.log-default', [
        '@timestamp',
        'source.ip',
        'destination.port',
        'network.bytes',
        'network.transport',
        'observer.ip',
        'event.start',
        'netflow.exporter.version',
        'netflow.source_ipv4_address',
        'netflow.octet_delta_count',
      ]);
      assert.deepEqual(netflowTypes, {
        '@timestamp': 'date',
        'source.ip': 'ip',
        'destination.port': 'long',
        'network.bytes': 'long',
        'network.transport': 'keyword',
        'observer.ip': 'ip',
        'event.start': 'date',
        'netflow.exporter.version': netflowTypes['netflow.exporter.version'] ?? 'missing',
        'netflow.source_ipv4_address': 'ip',
        'netflow.octet_delta_count': 'long',
      });
      assert.ok(
        ['long', 'integer', 'short'].includes(netflowTypes['netflow.exporter.version']),
        `netflow.exporter.version is ${netflowTypes['netflow.exporter.version']}`,
      );
      const goflow2Types = await fieldTypes(es, 'logs-goflow2.sflow-default', [
        '@timestamp',
        'source.ip',
        'destination.ip',
        'destination.port',
        'network.bytes',
        'network.transport',
        'observer.ip',
      ]);
      assert.deepEqual(goflow2Types, {
        '@timestamp': 'date',
        'source.ip': 'ip',
        'destination.ip': 'ip',
        'destination.port': 'long',
        'network.bytes': 'long',
        'network.transport': 'keyword',
        'observer.ip': 'ip',
      });

      // the rejected document is in the dead-letter file, with Elasticsearch's reason
      const deadLetters = await eventually(() => {
        try {
          const lines = readFileSync(join(dir, 'data', 'dead-letter', 'elasticsearch.ndjson'), 'utf8')
            .split('\n')
            .filter((l) => l !== '');
          return lines.length > 0 ? lines : undefined;
        } catch {
          return undefined;
        }
      });
      assert.equal(deadLetters.length, 1);
      const letter = JSON.parse(deadLetters[0]);
      assert.equal(letter.index, 'logs-goflow2.sflow-default');
      assert.equal(letter.status, 400);
      assert.match(letter.error, /goflow2/);
      assert.equal(letter.document.log.offset, badOffset);

      // a clean stop drains; nothing is left to ship twice on the next start
      assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
      run = undefined;
    });
  });
}
