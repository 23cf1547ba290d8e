/**
 * Authentication, TLS and secrets of the Elasticsearch output against a real Elasticsearch 9.x
 * with security on and HTTPS (test/helpers/elasticsearch.ts, `security: 'tls'`: a certificate
 * for 127.0.0.1 and localhost signed by a CA of its own), through the real executable:
 *
 * - `flowship test output` with the CA, without it, with verification off, and with a host name
 *   the certificate does not hold (`full` refuses it, `certificate` accepts it);
 * - a wrong password is reported as an authentication failure (401), never with the password;
 * - `flowship run` ships GoFlow2 lines over TLS with basic auth and logs no secret;
 * - `flowship run` with a wrong password keeps every line: it retries without exiting or
 *   dropping, stops on SIGTERM after its drain timeout (30 s, fixed in src/cli/run.ts, so that
 *   test takes about that long), and a start with the right password ships all of them.
 *
 * API keys cannot be tested here: the integ-test-zip cannot store them (see the harness); the
 * bytes of the ApiKey header are checked in test/outputs/elasticsearch/connection.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningElasticsearch, startElasticsearch } from '../helpers/elasticsearch.ts';
import { countDocs, numberedGoflow2Line } from '../helpers/es-checks.ts';
import { freeTcpPort } from '../helpers/goflow2.ts';
import { eventually, FLOWSHIP_BIN, type Spawned, startFlowship } from '../helpers/process.ts';

/** The file-realm user flowship logs in as: a password that cannot occur in a log by chance. */
const USER = 'flowship_writer';
const PASSWORD = 'Fl0wship-Secret-7c1e9a-Pw';
/** A wrong password, as distinctive. */
const WRONG_PASSWORD = 'Wr0ng-Secret-3b8d52-Pw';
const LINES = 40;

/** Every form a secret could leak in: as is, and inside a Basic Authorization header. */
function leaks(text: string, user: string, password: string): string[] {
  const forms = [password, Buffer.from(`${user}:${password}`).toString('base64')];
  return forms.filter((form) => text.includes(form));
}

function flowship(...args: string[]) {
  return spawnSync(process.execPath, [FLOWSHIP_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Whether this host can reach 127.0.0.1 as the IPv4-mapped IPv6 address ::ffff:127.0.0.1. */
async function canReachMappedLoopback(): Promise<boolean> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '::ffff:127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(2000, () => {
        socket.destroy();
        resolve(false);
      });
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('Elasticsearch output security (TLS and basic auth)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-es-security-'));
  let es: RunningElasticsearch;
  let run: Spawned | undefined;
  let configs = 0;

  /**
   * A configuration file whose `output.elasticsearch` holds `output` (YAML lines under it), with
   * one goflow2 input tailing `logs/*.log` (a directory with nothing in it by default).
   */
  function config(output: readonly string[], more: readonly string[] = [], logs = join(dir, 'none')): string {
    const file = join(dir, `flowship-${++configs}.yml`);
    writeFileSync(
      file,
      [
        'flowship.inputs:',
        `  - {type: goflow2, id: gf, paths: ["${logs}/*.log"], prospector.scanner.check_interval: 200ms, backoff: {init: 50ms, max: 200ms}}`,
        'output.elasticsearch:',
        ...output.map((line) => `  ${line}`),
        `path.data: ${join(dir, `data-${configs}`)}`,
        ...more,
        '',
      ].join('\n'),
    );
    return file;
  }

  const credentials = (password = PASSWORD) => [`username: ${USER}`, `password: "${password}"`];
  const withCa = () => [`ssl.certificate_authorities: ["${es.caPath}"]`];

  before(async () => {
    es = await startElasticsearch({
      security: 'tls',
      users: [{ username: USER, password: PASSWORD, roles: ['superuser'] }],
    });
    assert.match(es.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await run?.stop('SIGKILL');
    await es?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('test output over TLS with the CA and basic auth: version, verification full, auth basic', () => {
    for (const host of [es.url, `https://localhost:${es.port}`]) {
      const r = flowship(
        'test',
        'output',
        '-c',
        config([`hosts: ["${host}"]`, ...credentials(), ...withCa()]),
      );
      assert.equal(r.status, 0, `${host}\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /connection\.\.\. OK/);
      assert.match(r.stdout, /TLS\.\.\. OK \(verification: full, 1 CA file\)/);
      assert.match(r.stdout, new RegExp(`auth\\.\\.\\. basic \\(user ${USER}\\)`));
      assert.match(r.stdout, new RegExp(`version\\.\\.\\. ${es.version.replaceAll('.', '\\.')} OK`));
      assert.deepEqual(leaks(r.stdout + r.stderr, USER, PASSWORD), []);
    }
  });

  it('without the CA, verification (on by default) refuses the certificate; verification_mode none connects with a warning', () => {
    const refused = flowship('test', 'output', '-c', config([`hosts: ["${es.url}"]`, ...credentials()]));
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /connection\.\.\. ERROR .*certificate/i);
    assert.doesNotMatch(refused.stdout, /connection\.\.\. OK/);

    const none = flowship(
      'test',
      'output',
      '-c',
      config([`hosts: ["${es.url}"]`, ...credentials(), 'ssl.verification_mode: none']),
    );
    assert.equal(none.status, 0, none.stdout + none.stderr);
    assert.match(none.stdout, /connection\.\.\. OK/);
    assert.match(none.stdout, /TLS\.\.\. WARN verification off \(verification: none\)/);
    assert.match(none.stdout, new RegExp(`version\\.\\.\\. ${es.version.replaceAll('.', '\\.')} OK`));
  });

  it('verification_mode certificate still verifies the chain: without the CA it refuses', () => {
    const r = flowship(
      'test',
      'output',
      '-c',
      config([`hosts: ["${es.url}"]`, ...credentials(), 'ssl.verification_mode: certificate']),
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /connection\.\.\. ERROR .*certificate/i);
  });

  it('a host name the certificate does not hold: full and strict refuse it, certificate accepts it', async (t) => {
    // the certificate holds IP 127.0.0.1 and DNS localhost; ::ffff:127.0.0.1 reaches the same
    // socket under another name, wherever IPv6 sockets are available
    if (!(await canReachMappedLoopback())) {
      t.skip('this host cannot connect to ::ffff:127.0.0.1');
      return;
    }
    const host = `https://[::ffff:127.0.0.1]:${es.port}`;
    for (const mode of ['full', 'strict']) {
      const r = flowship(
        'test',
        'output',
        '-c',
        config([`hosts: ["${host}"]`, ...credentials(), ...withCa(), `ssl.verification_mode: ${mode}`]),
      );
      assert.equal(r.status, 1, `${mode}\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /connection\.\.\. ERROR .*does not match certificate's altnames/, mode);
    }
    const r = flowship(
      'test',
      'output',
      '-c',
      config([`hosts: ["${host}"]`, ...credentials(), ...withCa(), 'ssl.verification_mode: certificate']),
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /TLS\.\.\. OK \(verification: certificate, 1 CA file\)/);
    assert.match(r.stdout, new RegExp(`version\\.\\.\\. ${es.version.replaceAll('.', '\\.')} OK`));
  });

  it('a wrong password: authentication failed (401), and the password is printed nowhere', () => {
    const r = flowship(
      'test',
      'output',
      '-c',
      config([`hosts: ["${es.url}"]`, ...credentials(WRONG_PASSWORD), ...withCa()]),
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /connection\.\.\. ERROR .*401 \(authentication failed\)/);
    assert.match(r.stdout, new RegExp(`unable to authenticate user \\[${USER}\\]`));
    assert.deepEqual(leaks(r.stdout, USER, WRONG_PASSWORD), [], r.stdout);
    assert.deepEqual(leaks(r.stderr, USER, WRONG_PASSWORD), [], r.stderr);
  });

  it('run ships GoFlow2 lines over TLS with basic auth, and logs no secret', async () => {
    const logs = join(dir, 'logs-ok');
    mkdirSync(logs);
    let text = '';
    for (let k = 1; k <= LINES; k++) text += numberedGoflow2Line(k);
    writeFileSync(join(logs, 'sflow.log'), text);
    const cfg = config(
      [
        `hosts: ["${es.url}"]`,
        ...credentials(),
        ...withCa(),
        'flush_interval: 200ms',
        'backoff: {init: 100ms, max: 1s}',
      ],
      ['logging.level: debug'],
      logs,
    );

    run = startFlowship(['run', '-c', cfg]);
    await run.waitFor(/flowship started/);
    await eventually(
      async () => ((await countDocs(es, 'logs-goflow2.sflow-default')) === LINES ? true : undefined),
      60_000,
      `${LINES} goflow2 documents`,
    );
    assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
    assert.match(run.stderr(), /connected to Elasticsearch/);
    assert.deepEqual(leaks(run.stdout() + run.stderr(), USER, PASSWORD), [], run.stderr());
    run = undefined;
  });

  it('run with a wrong password keeps retrying without exiting or dropping; a start with the right one ships every line', {
    timeout: 150_000,
  }, async () => {
    const logs = join(dir, 'logs-retry');
    mkdirSync(logs);
    let text = '';
    for (let k = 1001; k < 1001 + LINES; k++) text += numberedGoflow2Line(k);
    writeFileSync(join(logs, 'sflow.log'), text);
    const httpPort = await freeTcpPort();
    const data = join(dir, 'data-retry');
    const settings = (password: string) =>
      [
        'flowship.inputs:',
        `  - {type: goflow2, id: gf, namespace: authretry, paths: ["${logs}/*.log"], prospector.scanner.check_interval: 200ms, backoff: {init: 50ms, max: 200ms}}`,
        'output.elasticsearch:',
        `  hosts: ["${es.url}"]`,
        `  username: ${USER}`,
        `  password: "${password}"`,
        `  ssl.certificate_authorities: ["${es.caPath}"]`,
        '  flush_interval: 200ms',
        '  backoff: {init: 100ms, max: 500ms}',
        `path.data: ${data}`,
        `http: {enabled: true, host: 127.0.0.1, port: ${httpPort}}`,
        'logging.level: debug',
        '',
      ].join('\n');
    const cfg = join(dir, 'retry.yml');
    writeFileSync(cfg, settings(WRONG_PASSWORD));

    run = startFlowship(['run', '-c', cfg]);
    await run.waitFor(/flowship started/);
    await run.waitFor(/401 \(authentication failed\)/, 30_000);
    // retrying: the failed attempts keep adding up while the process stays up
    const failures = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find((l) => l.startsWith('flowship_elasticsearch_bulk_request_failures_total'));
      return Number(line?.split(' ').at(-1) ?? Number.NaN);
    };
    const first = await failures();
    await eventually(
      async () => ((await failures()) >= first + 3 ? true : undefined),
      20_000,
      'more failed attempts',
    );
    assert.equal(run.child.exitCode, null, 'still running');
    assert.equal(await countDocs(es, 'logs-goflow2.sflow-authretry'), 0);

    // SIGTERM: the drain cannot deliver, gives up after its timeout and leaves every line unacknowledged
    const stopping = Date.now();
    assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
    const stopMs = Date.now() - stopping;
    const stderr = run.stderr();
    run = undefined;
    assert.match(
      stderr,
      new RegExp(
        `ERROR \\[output\\.elasticsearch\\] cannot use Elasticsearch .*401 \\(authentication failed\\): unable to authenticate user \\[${USER}\\]`,
      ),
    );
    assert.match(stderr, new RegExp(`stopped before the queue was drained left=${LINES}\\b`));
    assert.ok(stopMs < 60_000, `stopped within the drain timeout and a margin (${stopMs} ms)`);
    assert.deepEqual(leaks(stderr, USER, WRONG_PASSWORD), [], stderr);
    assert.deepEqual(leaks(stderr, USER, PASSWORD), [], stderr);

    // nothing was dropped: with the right password, every line arrives (once)
    writeFileSync(cfg, settings(PASSWORD));
    run = startFlowship(['run', '-c', cfg]);
    await run.waitFor(/flowship started/);
    await eventually(
      async () => ((await countDocs(es, 'logs-goflow2.sflow-authretry')) === LINES ? true : undefined),
      60_000,
      `${LINES} goflow2 documents after the password was fixed`,
    );
    assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
    assert.deepEqual(leaks(run.stderr(), USER, PASSWORD), [], run.stderr());
    run = undefined;
    assert.equal(await countDocs(es, 'logs-goflow2.sflow-authretry'), LINES);
  });
});
