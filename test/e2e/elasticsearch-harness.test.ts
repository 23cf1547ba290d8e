/**
 * The real-Elasticsearch harness (test/helpers/elasticsearch.ts) itself: each supported version
 * and security mode starts, serves, keeps its data across a restart and a crash, and stops.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { ELASTICSEARCH_8_VERSION, ELASTICSEARCH_VERSION } from '../../scripts/ensure-elasticsearch.ts';
import { type RunningElasticsearch, startElasticsearch } from '../helpers/elasticsearch.ts';

const started: RunningElasticsearch[] = [];
after(() => Promise.all(started.map((es) => es.dispose())));

/** Running (a zombie, left until someone reaps it, counts as dead). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe(`Elasticsearch ${ELASTICSEARCH_VERSION}, security off`, () => {
  test('keeps an indexed document across a restart and a crash', async (t) => {
    const es = await startElasticsearch();
    started.push(es);
    t.diagnostic(`started in ${es.startupMs} ms at ${es.url}`);
    assert.equal(es.version, ELASTICSEARCH_VERSION);
    assert.match(es.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(es.username, undefined);

    const created = await es.request('PUT', '/harness', { settings: { number_of_replicas: 0 } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const indexed = await es.request('PUT', '/harness/_doc/1', { message: 'kept' });
    assert.equal(indexed.status, 201, JSON.stringify(indexed.body));

    const firstPid = es.pid;
    await es.restart();
    t.diagnostic(`restarted in ${es.startupMs} ms`);
    assert.notEqual(es.pid, firstPid);
    assert.equal(alive(firstPid), false);
    const afterRestart = await es.request('GET', '/harness/_doc/1');
    assert.equal(afterRestart.status, 200);
    assert.equal(afterRestart.body._source.message, 'kept');

    // a crash: each write is fsynced before it is acknowledged (translog durability `request`)
    const bulk = await es.request('POST', '/harness/_bulk', '{"index":{"_id":"2"}}\n{"message":"acked"}\n');
    assert.equal(bulk.status, 200);
    assert.equal(bulk.body.errors, false);
    const crashedPid = es.pid;
    await es.kill();
    assert.equal(alive(crashedPid), false);
    await es.restart();
    t.diagnostic(`restarted after SIGKILL in ${es.startupMs} ms`);
    const count = await es.request('GET', '/harness/_count');
    assert.equal(count.body.count, 2);

    const dir = es.dir;
    await es.dispose();
    await es.dispose();
    assert.equal(existsSync(dir), false);
    assert.equal(alive(es.pid), false);
  });
});

describe(`Elasticsearch ${ELASTICSEARCH_VERSION}, security tls`, () => {
  test('answers HTTPS with the CA and basic auth, 401 without auth', async (t) => {
    const es = await startElasticsearch({ security: 'tls' });
    started.push(es);
    t.diagnostic(`started in ${es.startupMs} ms at ${es.url}`);
    assert.match(es.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(es.caPath !== undefined && existsSync(es.caPath));

    const me = await es.request('GET', '/_security/_authenticate');
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'elastic');
    assert.ok(me.body.roles.includes('superuser'));

    const anonymous = await es.request('GET', '/_cluster/health', undefined, { auth: false });
    assert.equal(anonymous.status, 401);
    const wrong = await es.request('GET', '/_cluster/health', undefined, {
      auth: { username: 'elastic', password: 'wrong' },
    });
    assert.equal(wrong.status, 401);

    // the same request with fetch, which does not know the CA, fails the TLS handshake
    await assert.rejects(fetch(`${es.url}/_cluster/health`));

    // documented limitation of the integ-test-zip (no analysis-common module, so no .security index)
    try {
      const key = await es.createApiKey('harness');
      const withKey = await es.request('GET', '/_security/_authenticate', undefined, {
        auth: { apiKey: key },
      });
      assert.equal(withKey.status, 200);
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'ES_HARNESS_API_KEYS_UNSUPPORTED');
    }

    // the official client, configured from the harness
    const { Client } = await import('@elastic/elasticsearch');
    const client = new Client(es.clientOptions());
    try {
      const health = await client.cluster.health();
      assert.ok(health.status === 'green' || health.status === 'yellow');
    } finally {
      await client.close();
    }
  });
});

describe(`Elasticsearch ${ELASTICSEARCH_8_VERSION}, security off`, () => {
  test('reports its version', async (t) => {
    const es = await startElasticsearch({ version: ELASTICSEARCH_8_VERSION });
    started.push(es);
    t.diagnostic(`started in ${es.startupMs} ms at ${es.url}`);
    assert.equal(es.version, ELASTICSEARCH_8_VERSION);
    const nodes = await es.request('GET', '/_nodes/_local?filter_path=nodes.*.version');
    assert.deepEqual(Object.values(nodes.body.nodes), [{ version: ELASTICSEARCH_8_VERSION }]);
  });
});

describe('a node outlives no test process', () => {
  test('killing the test process with SIGKILL stops Elasticsearch', async () => {
    // a child process starts a node, prints its pid, and is then killed
    const script = `
      import { startElasticsearch } from ${JSON.stringify(new URL('../helpers/elasticsearch.ts', import.meta.url).href)};
      const es = await startElasticsearch();
      process.stdout.write(es.pid + ' ' + es.dir + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let line = '';
    child.stdout.on('data', (d) => (line += d));
    while (!line.includes('\n')) {
      if (child.exitCode !== null) assert.fail(`the child exited (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [pid, dir] = line.trim().split(' ');
    assert.ok(alive(Number(pid)));
    child.kill('SIGKILL');
    await once(child, 'exit');
    const deadline = Date.now() + 30_000;
    while (alive(Number(pid))) {
      assert.ok(Date.now() < deadline, `Elasticsearch ${pid} still runs after its test process died`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // nobody removed the directory (the test process was killed): clean up after it
    rmSync(dir, { recursive: true, force: true });
  });
});
