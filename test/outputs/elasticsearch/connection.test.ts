/**
 * The bytes flowship puts on the wire to Elasticsearch, against a local `node:http` server that
 * records every request and answers as Elasticsearch does (the way elasticsearch-js tests its
 * helpers, test/utils/buildServer.ts): credentials in `Authorization`, bulk headers and query
 * string, gzip, host URLs, the version probe; then the output's verdicts for the answers a
 * cluster gives (413, request-level failures, per-item statuses) and the dead-letter file.
 *
 * The real cluster, with TLS and real authentication, is in test/e2e/elasticsearch-security.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../../src/config/load.ts';
import type { ElasticsearchOutputConfig } from '../../../src/config/schema.ts';
import { Logger } from '../../../src/monitoring/logger.ts';
import {
  Connection,
  checkServerVersion,
  clientOptions,
  connectionErrorText,
  displayUrl,
  hostUrl,
} from '../../../src/outputs/elasticsearch/connection.ts';
import { DeadLetterFile } from '../../../src/outputs/elasticsearch/dead-letter.ts';
import { ElasticsearchOutput } from '../../../src/outputs/elasticsearch/output.ts';
import type { Event } from '../../../src/pipeline/event.ts';
import { FlowshipError } from '../../../src/util/errors.ts';

/** One request as the server saw it; `body` is gunzipped when it came gzipped (`raw` is as sent). */
interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: string;
}

interface Answer {
  status: number;
  body?: unknown;
}

/** A route: an answer, or undefined to fall through to the defaults. */
type Route = (req: Recorded) => Answer | undefined;

interface FakeElasticsearch {
  readonly url: string;
  readonly port: number;
  readonly requests: Recorded[];
  /** Requests to `POST /_bulk`. */
  bulks(): Recorded[];
  route: Route | undefined;
  close(): Promise<void>;
}

const VERSION = '9.1.4';

/** The documents of a bulk body: every second line. */
function bulkDocuments(body: string): string[] {
  return body
    .split('\n')
    .filter((line) => line !== '')
    .filter((_, i) => i % 2 === 1);
}

/** `{"items":[{"create":{"status":201}},...]}` for every document of the body. */
function allCreated(body: string): Answer {
  return {
    status: 200,
    body: { errors: false, items: bulkDocuments(body).map(() => ({ create: { status: 201 } })) },
  };
}

/**
 * Answers like the integ-test-zip distribution: `GET /` 405 (no root endpoint), the version
 * from `GET /_nodes/_local`, every bulk item created; `route` overrides per test.
 */
async function fakeElasticsearch(): Promise<FakeElasticsearch> {
  const requests: Recorded[] = [];
  const fake: FakeElasticsearch = {
    url: '',
    port: 0,
    requests,
    bulks: () => requests.filter((r) => r.method === 'POST' && r.path === '/_bulk'),
    route: undefined,
    close: async () => {},
  };
  const answer = (res: ServerResponse, { status, body }: Answer) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const recorded: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        raw,
        body: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'),
      };
      requests.push(recorded);
      const routed = fake.route?.(recorded);
      if (routed !== undefined) return answer(res, routed);
      if (recorded.method === 'GET' && recorded.path === '/') {
        return answer(res, {
          status: 405,
          body: { error: 'Incorrect HTTP method for uri [/] and method [GET], allowed: [HEAD]', status: 405 },
        });
      }
      if (recorded.method === 'GET' && recorded.path === '/_nodes/_local') {
        return answer(res, {
          status: 200,
          body: { cluster_name: 'fake', nodes: { n1: { version: VERSION } } },
        });
      }
      if (recorded.method === 'POST' && recorded.path === '/_bulk')
        return answer(res, allCreated(recorded.body));
      answer(res, { status: 404, body: { error: { type: 'not_found' }, status: 404 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** `output.elasticsearch` as the configuration loader makes it from YAML lines under it. */
function esConfig(...lines: string[]): ElasticsearchOutputConfig {
  const config = loadConfig({
    file: 'flowship.yml',
    cwd: '/srv/flowship',
    env: {},
    text: [
      'flowship.inputs:',
      '  - type: netflow',
      'output.elasticsearch:',
      ...lines.map((l) => `  ${l}`),
      '',
    ].join('\n'),
  });
  assert.equal(config.output.type, 'elasticsearch');
  return config.output as ElasticsearchOutputConfig;
}

function connect(fake: FakeElasticsearch, ...lines: string[]): Connection {
  return new Connection(clientOptions(esConfig(`hosts: ["${fake.url}"]`, ...lines)));
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** `n` goflow2 events with ids `e0`, `e1`, ... (each document says which one it is). */
function events(n: number, from = 0): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    json: `{"n":${from + i},"message":"flow ${from + i}"}`,
    dataset: 'goflow2.sflow',
    id: `e${from + i}`,
  }));
}

/** A logger whose lines are kept, to assert what was (and was not) logged. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ sink: (line) => lines.push(line), level: 'debug' }), lines };
}

describe('hostUrl', () => {
  it("adds Filebeat's defaults (http, port 9200) and keeps what is given", () => {
    const cases: Array<[string, string]> = [
      ['localhost:9200', 'http://localhost:9200'],
      ['localhost', 'http://localhost:9200'],
      ['https://h', 'https://h:9200'],
      ['h:9201', 'http://h:9201'],
      ['[::1]:9200', 'http://[::1]:9200'],
      ['[::1]', 'http://[::1]:9200'],
      ['https://[::1]:9243', 'https://[::1]:9243'],
      ['HTTPS://Es.Example:9243', 'https://es.example:9243'],
      ['https://h:9200/prefix/', 'https://h:9200/prefix'],
    ];
    for (const [host, url] of cases) assert.equal(hostUrl(host), url, host);
  });

  it('keeps an explicit default port of the scheme (443 behind a proxy, 80)', () => {
    // the URL parser drops a scheme's default port; it was given, so it is not replaced by 9200
    assert.equal(hostUrl('https://es.example:443'), 'https://es.example');
    assert.equal(hostUrl('http://es.example:80'), 'http://es.example');
    assert.equal(hostUrl('es.example:80'), 'http://es.example');
  });
});

describe('what is shown of a host and of a failed connection', () => {
  it('a host is shown without its user:password', () => {
    assert.equal(displayUrl('https://elastic:s3cret@es.example:9243'), 'https://es.example:9243');
    assert.equal(displayUrl('es.example'), 'http://es.example:9200');
  });

  it('a certificate problem names the settings to change, without Node hints', () => {
    const text = connectionErrorText(
      new Error(
        'unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
      ),
    );
    assert.match(
      text,
      /^TLS: unable to verify the first certificate \(set output\.elasticsearch\.ssl\.certificate_authorities/,
    );
    assert.doesNotMatch(text, /use-system-ca/);
  });

  it('plain HTTP to an HTTPS port suggests https://', () => {
    assert.match(
      connectionErrorText(new Error('other side closed')),
      /write https:\/\/ in output\.elasticsearch\.hosts/,
    );
    assert.equal(
      connectionErrorText(new Error('connect ECONNREFUSED 127.0.0.1:9200')),
      'connect ECONNREFUSED 127.0.0.1:9200',
    );
  });
});

describe('clientOptions', () => {
  it('TLS: verification on by default, CAs read from their files, `certificate` skips only the host name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-ca-'));
    try {
      const ca = join(dir, 'ca.crt');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
      const full = clientOptions(
        esConfig('hosts: ["https://es:9200"]', `ssl.certificate_authorities: ["${ca}"]`),
      );
      assert.equal(full.tls?.rejectUnauthorized, true);
      assert.deepEqual(full.tls?.ca, [readFileSync(ca, 'utf8')]);
      assert.equal(full.tls?.checkServerIdentity, undefined, 'full: the default host name check');

      const certificate = clientOptions(
        esConfig('hosts: ["https://es:9200"]', 'ssl.verification_mode: certificate'),
      );
      assert.equal(certificate.tls?.rejectUnauthorized, true, 'the chain is still verified');
      assert.equal(typeof certificate.tls?.checkServerIdentity, 'function');

      const none = clientOptions(esConfig('hosts: ["https://es:9200"]', 'ssl.verification_mode: none'));
      assert.equal(none.tls?.rejectUnauthorized, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a CA file that cannot be read is a configuration error naming the file', () => {
    assert.throws(
      () =>
        clientOptions(
          esConfig('hosts: ["https://es:9200"]', 'ssl.certificate_authorities: ["/nonexistent/ca.crt"]'),
        ),
      (err: unknown) =>
        err instanceof FlowshipError &&
        err.code === 'FLOWSHIP_CONFIG' &&
        /ssl\.certificate_authorities: cannot read \/nonexistent\/ca\.crt/.test(err.message),
    );
  });

  it('the client never retries by itself and does not compress (the output gzips)', () => {
    const options = clientOptions(esConfig('hosts: ["es"]', 'timeout: 7s'));
    assert.equal(options.maxRetries, 0);
    assert.equal(options.compression, false);
    assert.equal(options.requestTimeout, 7000);
    assert.deepEqual(options.nodes, ['http://es:9200']);
  });

  it('cloud.id names the https endpoint of the deployment', async () => {
    // `<name>:base64(<host>$<es uuid>$<kibana uuid>)`, as Elastic Cloud shows it
    const id = `flows:${base64('eu-west-1.aws.found.io:443$abc123$def456')}`;
    const connection = new Connection(
      clientOptions(esConfig(`cloud.id: "${id}"`, 'cloud.auth: "elastic:pw"')),
    );
    try {
      const urls = connection.client.connectionPool.connections.map((c) => c.url.href);
      assert.deepEqual(urls, ['https://abc123.eu-west-1.aws.found.io/']);
    } finally {
      await connection.close();
    }
  });
});

describe('credentials on the wire', () => {
  let fake: FakeElasticsearch;
  before(async () => {
    fake = await fakeElasticsearch();
  });
  after(() => fake.close());
  afterEach(() => {
    fake.requests.length = 0;
    fake.route = undefined;
  });

  /** The Authorization header of a probe made with these settings. */
  async function authorization(...lines: string[]): Promise<string | undefined> {
    const connection = connect(fake, ...lines);
    try {
      await connection.probe();
    } finally {
      await connection.close();
    }
    const seen = new Set(fake.requests.map((r) => r.headers.authorization));
    assert.equal(seen.size, 1, 'every request carries the same credentials');
    fake.requests.length = 0;
    return [...seen][0];
  }

  it("api_key in Filebeat's form id:key is sent as ApiKey base64(id:key)", async () => {
    assert.equal(
      await authorization('api_key: "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"'),
      `ApiKey ${base64('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw')}`,
    );
  });

  it('an api_key already encoded is sent as it is', async () => {
    const encoded = base64('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw');
    assert.equal(await authorization(`api_key: "${encoded}"`), `ApiKey ${encoded}`);
  });

  it('username and password are sent as Basic', async () => {
    assert.equal(
      await authorization('username: flowship', 'password: "s3cr:et with spaces"'),
      `Basic ${base64('flowship:s3cr:et with spaces')}`,
    );
  });

  it('cloud.auth user:password is sent as Basic too', async () => {
    assert.equal(
      await authorization('cloud.auth: "elastic:cl0ud:pw"'),
      `Basic ${base64('elastic:cl0ud:pw')}`,
    );
  });

  it('no credentials: no Authorization header', async () => {
    assert.equal(await authorization(), undefined);
  });
});

describe('the version probe', () => {
  let fake: FakeElasticsearch;
  before(async () => {
    fake = await fakeElasticsearch();
  });
  after(() => fake.close());
  afterEach(() => {
    fake.requests.length = 0;
    fake.route = undefined;
  });

  it('takes the version from GET / when the cluster has the root endpoint', async () => {
    fake.route = (req) =>
      req.path === '/'
        ? {
            status: 200,
            body: { cluster_name: 'prod', version: { number: '8.19.3' }, tagline: 'You Know, for Search' },
          }
        : undefined;
    const connection = connect(fake);
    try {
      assert.deepEqual(await connection.probe(), { version: '8.19.3', major: 8, clusterName: 'prod' });
    } finally {
      await connection.close();
    }
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /'],
    );
  });

  it('falls back to GET /_nodes/_local when GET / answers 405 (the stripped distribution)', async () => {
    const connection = connect(fake);
    try {
      assert.deepEqual(await connection.probe(), { version: VERSION, major: 9, clusterName: 'fake' });
    } finally {
      await connection.close();
    }
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /', 'GET /_nodes/_local'],
    );
    assert.equal(fake.requests[1].query.get('filter_path'), 'cluster_name,nodes.*.version');
    // plain media types: the server's own version, which 8.x and 9.x both accept
    for (const r of fake.requests) {
      assert.equal(r.headers.accept, 'application/json');
      assert.doesNotMatch(String(r.headers['content-type'] ?? ''), /compatible-with/);
    }
  });

  it('a 401 is an authentication failure with the reason, without the password', async () => {
    fake.route = () => ({
      status: 401,
      body: {
        error: {
          type: 'security_exception',
          reason: 'unable to authenticate user [flowship] for REST request [/]',
        },
        status: 401,
      },
    });
    const connection = connect(fake, 'username: flowship', 'password: "Pw-4a9c-DoNotLeak"');
    try {
      await assert.rejects(connection.probe(), (err: unknown) => {
        assert.ok(err instanceof FlowshipError);
        assert.equal(err.code, 'FLOWSHIP_OUTPUT');
        assert.match(err.message, /401 \(authentication failed\): unable to authenticate user \[flowship\]/);
        assert.doesNotMatch(err.message, /Pw-4a9c-DoNotLeak/);
        return true;
      });
    } finally {
      await connection.close();
    }
  });

  it('says what both endpoints answered when neither gives a version', async () => {
    fake.route = (req) => (req.path === '/_nodes/_local' ? { status: 404, body: {} } : undefined);
    const connection = connect(fake);
    try {
      await assert.rejects(connection.probe(), /GET \/ answered 405, GET \/_nodes\/_local answered 404/);
    } finally {
      await connection.close();
    }
  });

  it('a 7.x cluster is refused with a message naming its version; 8.x and 9.x pass', () => {
    assert.throws(
      () => checkServerVersion({ version: '7.17.25', major: 7 }),
      (err: unknown) =>
        err instanceof FlowshipError &&
        err.code === 'FLOWSHIP_OUTPUT' &&
        /Elasticsearch 7\.17\.25 is not supported/.test(err.message) &&
        /8\.x and 9\.x/.test(err.message),
    );
    assert.throws(() => checkServerVersion({ version: '10.0.0', major: 10 }), /10\.0\.0 is not supported/);
    checkServerVersion({ version: '8.19.3', major: 8 });
    checkServerVersion({ version: '9.1.4', major: 9 });
  });

  it('the output refuses a 7.x cluster: every event retries, and the log names the version', async () => {
    fake.route = (req) =>
      req.path === '/_nodes/_local'
        ? { status: 200, body: { nodes: { n1: { version: '7.17.25' } } } }
        : undefined;
    const { logger, lines } = capturingLogger();
    const output = new ElasticsearchOutput({ connection: connect(fake), logger });
    try {
      const result = await output.send(events(3));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['retry', 'retry', 'retry'],
      );
      assert.match(result.results[0].error ?? '', /Elasticsearch 7\.17\.25 is not supported/);
      assert.equal(fake.bulks().length, 0, 'no bulk request to an unsupported cluster');
      assert.ok(
        lines.some((l) => /7\.17\.25 is not supported/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await output.close();
    }
  });
});

describe('bulk requests on the wire', () => {
  let fake: FakeElasticsearch;
  before(async () => {
    fake = await fakeElasticsearch();
  });
  after(() => fake.close());
  afterEach(() => {
    fake.requests.length = 0;
    fake.route = undefined;
  });

  const expectedBody =
    '{"create":{"_index":"logs-goflow2.sflow-default","_id":"e0"}}\n{"n":0,"message":"flow 0"}\n' +
    '{"create":{"_index":"logs-goflow2.sflow-default","_id":"e1"}}\n{"n":1,"message":"flow 1"}\n';

  async function sendTwo(options: Partial<ConstructorParameters<typeof ElasticsearchOutput>[0]> = {}) {
    const output = new ElasticsearchOutput({ connection: connect(fake), ...options });
    try {
      const result = await output.send(events(2));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['ok', 'ok'],
      );
    } finally {
      await output.close();
    }
    const bulks = fake.bulks();
    assert.equal(bulks.length, 1);
    return bulks[0];
  }

  it('NDJSON, plain JSON accept, pipeline=_none, filter_path, gzip at the default level', async () => {
    const bulk = await sendTwo();
    assert.equal(bulk.headers['content-type'], 'application/x-ndjson');
    assert.equal(bulk.headers.accept, 'application/json');
    assert.doesNotMatch(JSON.stringify(bulk.headers), /compatible-with/);
    assert.equal(bulk.query.get('pipeline'), '_none');
    assert.equal(bulk.query.get('filter_path'), 'errors,items.*.status,items.*.error');
    assert.equal(bulk.headers['content-encoding'], 'gzip');
    assert.deepEqual([...bulk.raw.subarray(0, 2)], [0x1f, 0x8b], 'a gzip stream');
    assert.equal(bulk.body, expectedBody);
    assert.equal(Number(bulk.headers['content-length'] ?? bulk.raw.length), bulk.raw.length);
  });

  it('compression_level 9 gzips too; 0 sends the NDJSON as it is', async () => {
    const gz = await sendTwo({ compressionLevel: 9 });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.raw).toString('utf8'), expectedBody);
    fake.requests.length = 0;

    const plain = await sendTwo({ compressionLevel: 0 });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.raw.toString('utf8'), expectedBody);
    assert.equal(plain.headers['content-type'], 'application/x-ndjson');
  });

  it('a configured pipeline and a plain index replace the defaults', async () => {
    const bulk = await sendTwo({ pipeline: 'my-flows', index: 'flows', compressionLevel: 0 });
    assert.equal(bulk.query.get('pipeline'), 'my-flows');
    assert.match(bulk.body, /^\{"create":\{"_index":"flows","_id":"e0"\}\}\n/);
  });

  it('the configured credentials go with the bulk request as well', async () => {
    const output = new ElasticsearchOutput({
      connection: connect(fake, 'api_key: "id-1:key-1"'),
      compressionLevel: 0,
    });
    try {
      await output.send(events(1));
    } finally {
      await output.close();
    }
    assert.equal(fake.bulks()[0].headers.authorization, `ApiKey ${base64('id-1:key-1')}`);
  });
});

describe('ElasticsearchOutput verdicts', () => {
  let fake: FakeElasticsearch;
  let dir: string;
  before(async () => {
    fake = await fakeElasticsearch();
    dir = mkdtempSync(join(tmpdir(), 'flowship-es-output-'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    fake.requests.length = 0;
    fake.route = undefined;
  });

  it('a 413 splits the batch in halves until each part fits', async () => {
    const K = 3;
    fake.route = (req) =>
      req.path === '/_bulk' && bulkDocuments(req.body).length > K
        ? { status: 413, body: { error: 'request entity too large' } }
        : undefined;
    const output = new ElasticsearchOutput({ connection: connect(fake) });
    try {
      const result = await output.send(events(10));
      assert.deepEqual(
        result.results.map((r) => r.status),
        Array(10).fill('ok'),
      );
      // 10 → 5 + 5 → (3 + 2) + (3 + 2), in order
      assert.deepEqual(
        fake.bulks().map((r) => bulkDocuments(r.body).length),
        [10, 5, 3, 2, 5, 3, 2],
      );
      const sent = fake
        .bulks()
        .filter((r) => bulkDocuments(r.body).length <= K)
        .flatMap((r) => bulkDocuments(r.body).map((d) => JSON.parse(d).n));
      assert.deepEqual(sent, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(output.stats.created, 10);
      assert.equal(output.stats.requests, 7);
    } finally {
      await output.close();
    }
  });

  it('a single document too large (413 alone) is dead and dead-lettered; the others go on', async () => {
    const path = join(dir, 'dead-413.ndjson');
    fake.route = (req) =>
      req.path === '/_bulk' && req.body.length > 2000
        ? { status: 413, body: { error: 'too large' } }
        : undefined;
    const batch = events(4);
    batch[2] = { json: `{"n":2,"message":"${'x'.repeat(3000)}"}`, dataset: 'goflow2.sflow', id: 'big' };
    const output = new ElasticsearchOutput({
      connection: connect(fake),
      deadLetter: new DeadLetterFile({ path, maxBytes: 1 << 20 }),
    });
    try {
      const result = await output.send(batch);
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['ok', 'ok', 'dead', 'ok'],
      );
      assert.match(result.results[2].error ?? '', /larger than the cluster accepts/);
      assert.equal(output.stats.dead, 1);
      assert.equal(output.stats.created, 3);
    } finally {
      await output.close();
    }
    const letters = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(letters.length, 1);
    assert.equal(letters[0].id, 'big');
    assert.equal(letters[0].status, 413);
    assert.equal(letters[0].document.n, 2);
  });

  for (const [status, body] of [
    [500, { error: { type: 'internal_server_error', reason: 'boom' }, status: 500 }],
    [429, { error: { type: 'es_rejected_execution_exception', reason: 'queue full' }, status: 429 }],
    [401, { error: { type: 'security_exception', reason: 'unable to authenticate user [u]' }, status: 401 }],
    [
      403,
      {
        error: { type: 'security_exception', reason: 'action [indices:data/write/bulk] is unauthorized' },
        status: 403,
      },
    ],
    [502, 'Bad Gateway'],
  ] as const) {
    it(`a request-level ${status} makes every event retry, and nothing is dead`, async () => {
      fake.route = (req) => (req.path === '/_bulk' ? { status, body } : undefined);
      const { logger, lines } = capturingLogger();
      const path = join(dir, `dead-${status}.ndjson`);
      const output = new ElasticsearchOutput({
        connection: connect(fake, 'username: u', 'password: "Pw-request-level-77"'),
        deadLetter: new DeadLetterFile({ path, maxBytes: 1 << 20 }),
        logger,
      });
      try {
        const result = await output.send(events(4));
        assert.deepEqual(
          result.results.map((r) => r.status),
          Array(4).fill('retry'),
        );
        assert.match(result.results[0].error ?? '', new RegExp(String(status)));
        assert.equal(output.stats.requestFailures, 1);
        assert.equal(output.stats.retried, 4);
        assert.equal(output.stats.dead, 0);
        if (status === 401) assert.match(result.results[0].error ?? '', /authentication failed/);
        // after an auth failure the version is probed again (the credentials may have been
        // rotated); an overloaded cluster (429, 5xx) is not asked more than the bulk itself
        fake.requests.length = 0;
        fake.route = undefined;
        const again = await output.send(events(1));
        assert.equal(again.results[0].status, 'ok');
        assert.equal(
          fake.requests.some((r) => r.path === '/_nodes/_local'),
          status === 401 || status === 403,
          'probed again after an auth failure only',
        );
      } finally {
        await output.close();
      }
      assert.throws(() => statSync(path), /ENOENT/, 'no dead-letter file');
      assert.ok(!lines.some((l) => l.includes('Pw-request-level-77')), lines.join('\n'));
    });
  }

  it('connection refused before the probe: every event retries', async () => {
    const gone = await fakeElasticsearch();
    await gone.close();
    const output = new ElasticsearchOutput({ connection: connect(gone) });
    try {
      const result = await output.send(events(3));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['retry', 'retry', 'retry'],
      );
      assert.match(result.results[0].error ?? '', /ECONNREFUSED|connect/i);
      assert.equal(output.stats.requestFailures, 1);
    } finally {
      await output.close();
    }
  });

  it('connection refused on the bulk itself (the node went away after the probe): every event retries', async () => {
    const leaving = await fakeElasticsearch();
    const output = new ElasticsearchOutput({ connection: connect(leaving) });
    try {
      await output.server();
      await leaving.close();
      const result = await output.send(events(3));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['retry', 'retry', 'retry'],
      );
      assert.equal(output.stats.requests, 1, 'the bulk was attempted');
      assert.equal(output.stats.requestFailures, 1);
      assert.equal(output.stats.created, 0);
    } finally {
      await output.close();
    }
  });

  it('per item: 201 and 409 ok, 400 dead (dead-lettered with its error), 429 and 503 retry', async () => {
    const path = join(dir, 'dead-items', 'elasticsearch.ndjson');
    fake.route = (req) =>
      req.path === '/_bulk'
        ? {
            status: 200,
            body: {
              errors: true,
              items: [
                { create: { status: 201 } },
                {
                  create: {
                    status: 409,
                    error: { type: 'version_conflict_engine_exception', reason: '[e1]: version conflict' },
                  },
                },
                {
                  create: {
                    status: 400,
                    error: {
                      type: 'document_parsing_exception',
                      reason:
                        "[1:30] failed to parse field [source.ip] of type [ip] in document with id 'e2'",
                      caused_by: {
                        type: 'illegal_argument_exception',
                        reason: "'nope' is not an IP string literal.",
                      },
                    },
                  },
                },
                {
                  create: {
                    status: 429,
                    error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' },
                  },
                },
                {
                  create: {
                    status: 503,
                    error: { type: 'unavailable_shards_exception', reason: 'primary not active' },
                  },
                },
              ],
            },
          }
        : undefined;
    const { logger, lines } = capturingLogger();
    const output = new ElasticsearchOutput({
      connection: connect(fake),
      deadLetter: new DeadLetterFile({ path, maxBytes: 1 << 20, now: () => Date.UTC(2026, 0, 2, 3, 4, 5) }),
      logger,
    });
    try {
      const result = await output.send(events(5));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['ok', 'ok', 'dead', 'retry', 'retry'],
      );
      assert.deepEqual(
        { ...output.stats, bytesSent: 0 },
        { created: 1, duplicates: 1, retried: 2, dead: 1, requests: 1, requestFailures: 0, bytesSent: 0 },
      );
      assert.match(result.results[3].error ?? '', /es_rejected_execution_exception/);
    } finally {
      await output.close();
    }
    const letters = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(letters.length, 1);
    assert.deepEqual(JSON.parse(letters[0]), {
      '@timestamp': '2026-01-02T03:04:05.000Z',
      index: 'logs-goflow2.sflow-default',
      id: 'e2',
      status: 400,
      error:
        "document_parsing_exception: [1:30] failed to parse field [source.ip] of type [ip] in document with id 'e2' (caused by illegal_argument_exception: 'nope' is not an IP string literal.)",
      document: { n: 2, message: 'flow 2' },
    });
    assert.equal(statSync(path).mode & 0o777, 0o600, 'rejected documents are readable by the owner only');
    assert.ok(
      lines.some((l) => /rejected a document/.test(l) && l.includes(path)),
      lines.join('\n'),
    );
  });
});

describe('ElasticsearchOutput: what must neither crash nor lose', () => {
  let fake: FakeElasticsearch;
  let dir: string;
  before(async () => {
    fake = await fakeElasticsearch();
    dir = mkdtempSync(join(tmpdir(), 'flowship-es-robust-'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const bulkReply = (body: unknown) => (req: { path: string }) =>
    req.path === '/_bulk' ? { status: 200, body } : undefined;

  it('a malformed bulk response (null items, a null body) is retry, and the process lives on', async () => {
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on('unhandledRejection', onRejection);
    const output = new ElasticsearchOutput({ connection: connect(fake) });
    try {
      fake.route = bulkReply({ errors: true, items: [null, { create: null }, { create: { status: 201 } }] });
      const first = await output.send(events(3));
      assert.deepEqual(
        first.results.map((r) => r.status),
        ['retry', 'retry', 'ok'],
      );
      fake.route = bulkReply(null);
      const second = await output.send(events(2));
      assert.deepEqual(
        second.results.map((r) => r.status),
        ['retry', 'retry'],
      );
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
      fake.route = undefined;
      await output.close();
    }
  });

  it('an event that cannot be serialised is dead on its own; the others are sent', async () => {
    const output = new ElasticsearchOutput({ connection: connect(fake) });
    try {
      fake.route = bulkReply({
        errors: false,
        items: [{ create: { status: 201 } }, { create: { status: 201 } }],
      });
      const batch = events(3);
      batch[1] = { doc: { big: 1n }, dataset: 'netflow.log', id: 'bad' };
      const result = await output.send(batch);
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['ok', 'dead', 'ok'],
      );
      assert.match(result.results[1].error ?? '', /cannot serialise/);
    } finally {
      fake.route = undefined;
      await output.close();
    }
  });

  it('a rejected document whose dead letter cannot be written is retry, not acknowledged', async () => {
    const output = new ElasticsearchOutput({
      connection: connect(fake),
      // /dev/full: every write fails with ENOSPC
      deadLetter: new DeadLetterFile({ path: '/dev/full', maxBytes: 1 << 20 }),
    });
    try {
      fake.route = bulkReply({
        errors: true,
        items: [
          { create: { status: 201 } },
          { create: { status: 400, error: { type: 'document_parsing_exception', reason: 'bad' } } },
        ],
      });
      const result = await output.send(events(2));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['ok', 'retry'],
      );
      assert.equal(output.stats.dead, 0);
    } finally {
      fake.route = undefined;
      await output.close();
    }
  });

  it('a per-item 403 or a missing plain index is a setup problem: retry, not dead', async () => {
    const path = join(dir, 'setup-problems.ndjson');
    const output = new ElasticsearchOutput({
      connection: connect(fake),
      deadLetter: new DeadLetterFile({ path, maxBytes: 1 << 20 }),
    });
    try {
      fake.route = bulkReply({
        errors: true,
        items: [
          { create: { status: 403, error: { type: 'security_exception', reason: 'action unauthorized' } } },
          { create: { status: 404, error: { type: 'index_not_found_exception', reason: 'no such index' } } },
        ],
      });
      const result = await output.send(events(2));
      assert.deepEqual(
        result.results.map((r) => r.status),
        ['retry', 'retry'],
      );
      assert.throws(() => statSync(path), /ENOENT/, 'nothing dead-lettered');
    } finally {
      fake.route = undefined;
      await output.close();
    }
  });

  it('when preparing the cluster (the templates) fails, nothing is sent until it succeeds', async () => {
    let failures = 1;
    const output = new ElasticsearchOutput({
      connection: connect(fake),
      onConnect: async () => {
        if (failures-- > 0) throw new Error('template install refused');
      },
    });
    try {
      fake.requests.length = 0;
      const first = await output.send(events(1));
      assert.equal(first.results[0].status, 'retry');
      assert.match(first.results[0].error ?? '', /template install refused/);
      assert.ok(!fake.requests.some((r) => r.path === '/_bulk'), 'no bulk before the templates');
      const second = await output.send(events(1));
      assert.equal(second.results[0].status, 'ok');
    } finally {
      await output.close();
    }
  });
});

describe('DeadLetterFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowship-dead-letter-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const letter = (n: number) => ({
    index: 'logs-netflow.log-default',
    id: `id-${n}`,
    status: 400,
    error: 'mapper_parsing_exception: boom',
    json: `{"n":${n},"pad":"${'p'.repeat(100)}"}`,
  });
  const lineBytes = (n: number) =>
    Buffer.byteLength(
      `{"@timestamp":"2026-01-01T00:00:00.000Z","index":"logs-netflow.log-default","id":"id-${n}","status":400,"error":"mapper_parsing_exception: boom","document":{"n":${n},"pad":"${'p'.repeat(100)}"}}\n`,
    );

  it('stops writing at maxBytes and counts what it dropped; the file never grows past it', async () => {
    const path = join(dir, 'full.ndjson');
    const one = lineBytes(1);
    const { logger, lines } = capturingLogger();
    const file = new DeadLetterFile({
      path,
      maxBytes: 2 * one + 10,
      now: () => Date.UTC(2026, 0, 1),
      logger,
    });
    await file.write([letter(1), letter(2), letter(3)]);
    await file.write([letter(4)]);
    assert.deepEqual(file.stats, { written: 2, dropped: 2, writeErrors: 0 });
    await file.close();
    const text = readFileSync(path, 'utf8');
    assert.ok(Buffer.byteLength(text) <= 2 * one + 10);
    assert.deepEqual(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
      ['id-1', 'id-2'],
    );
    assert.equal(
      lines.filter((l) => /dead-letter file is full/.test(l)).length,
      1,
      'the warning is rate-limited',
    );
  });

  it('counts the bytes already in the file when it opens it again', async () => {
    const path = join(dir, 'existing.ndjson');
    const one = lineBytes(1);
    writeFileSync(path, 'x'.repeat(one));
    const file = new DeadLetterFile({ path, maxBytes: 2 * one, now: () => Date.UTC(2026, 0, 1) });
    await file.write([letter(1), letter(2)]);
    await file.close();
    assert.deepEqual(file.stats, { written: 1, dropped: 1, writeErrors: 0 });
    assert.equal(statSync(path).size, 2 * one);
  });
});
