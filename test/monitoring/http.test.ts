import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MonitoringServer, startMonitoringServer } from '../../src/monitoring/http.ts';
import { MetricsRegistry } from '../../src/monitoring/metrics.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `raw` bytes over a plain TCP connection and resolves with everything the server answered. */
function rawRequest(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end(raw));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('MonitoringServer', () => {
  const registry = new MetricsRegistry();
  registry
    .counter({ name: 'flowship_events_total', help: 'Events.', labelNames: ['input'] })
    .labels({ input: 'netflow' })
    .inc(42);
  let server: MonitoringServer;
  let port: number;

  before(async () => {
    server = await startMonitoringServer({ registry, host: '127.0.0.1', port: 0 });
    port = server.address!.port;
  });
  after(() => server.close());

  test('GET /stats serves the JSON snapshot', async () => {
    const res = await call(port, 'GET', '/stats');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    const body = JSON.parse(res.body);
    assert.deepEqual(body.flowship_events_total.values, [{ labels: { input: 'netflow' }, value: 42 }]);
    const pretty = await call(port, 'GET', '/stats?pretty');
    assert.ok(pretty.body.includes('\n  "flowship_events_total": {'));
  });

  test('GET /metrics serves Prometheus text 0.0.4', async () => {
    const res = await call(port, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(res.body, /^# TYPE flowship_events_total counter$/m);
    assert.match(res.body, /^flowship_events_total\{input="netflow"\} 42$/m);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    const head = await call(port, 'HEAD', '/metrics');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('anything else is 404; other methods on known paths are 405', async () => {
    assert.equal((await call(port, 'GET', '/')).status, 404);
    assert.equal((await call(port, 'GET', '/stats/extra')).status, 404);
    assert.equal((await call(port, 'GET', '/metricsx')).status, 404);
    const post = await call(port, 'POST', '/stats');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('a request target that is no valid URL path is 400, and the server keeps serving', async () => {
    // `new URL('//', base)` throws ERR_INVALID_URL; in the request handler that ended the process.
    for (const target of ['//', '///', '//[']) {
      const answer = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, `GET ${target}`);
    }
    const res = await call(port, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.body, /^flowship_events_total\{input="netflow"\} 42$/m);
  });

  test('close is idempotent and frees the port', async () => {
    const s = new MonitoringServer({ registry, host: '127.0.0.1', port: 0 });
    assert.equal(s.listen(), s.listen());
    const { port: p } = await s.listen();
    assert.equal((await call(p, 'GET', '/metrics')).status, 200);
    const closing = s.close();
    assert.equal(s.close(), closing);
    await closing;
    await assert.rejects(call(p, 'GET', '/metrics'), { code: 'ECONNREFUSED' });
    await new MonitoringServer({ registry }).close(); // never listened
  });

  test('a busy port rejects listen instead of crashing', async () => {
    const s = new MonitoringServer({ registry, host: '127.0.0.1', port });
    await assert.rejects(s.listen(), { code: 'EADDRINUSE' });
    await s.close();
  });
});
