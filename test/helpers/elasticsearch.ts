/**
 * Starts a real, single-node Elasticsearch for tests of the output: the integ-test-zip
 * distribution from Maven Central (scripts/ensure-elasticsearch.ts fetches and unpacks it once),
 * on 127.0.0.1, in its own temporary directory, and stops it again.
 *
 *   const es = await startElasticsearch({ security: 'tls' });
 *   try { await es.request('PUT', '/my-index'); ... } finally { await es.dispose(); }
 *
 * Layout: the unpacked distribution is shared and never written to; each node gets a temporary
 * directory (`$TMPDIR/flowship-es-XXXXXX`) holding its own `config/` (ES_PATH_CONF: Elasticsearch
 * writes its keystore there, and the security files and certificates go there), `data/`, `logs/`
 * and `tmp/` (ES_TMPDIR). As root, the directory belongs to the user `flowship-es` and the node
 * runs as that user (Elasticsearch refuses to run as root).
 *
 * Process: `setpriv [--reuid/--regid flowship-es] --pdeathsig=SIGKILL -- bin/elasticsearch`. The
 * launcher JVM runs the server JVM as its child; the server shuts down when the launcher dies
 * (it watches its stdin), and the launcher gets SIGKILL when the test process dies, even by
 * SIGKILL, so no node outlives its test. A normal exit also SIGKILLs every node still running and
 * removes its directory.
 *
 * Ports: the first start binds ephemeral ports (`http.port=0`) and reads them back from
 * `logs/http.ports` (`node.portsfile`), so parallel test processes never race for a port;
 * `restart()` binds the same ports again.
 *
 * Security: 'off' (`xpack.security.enabled=false`); 'basic' (security on, plain HTTP, user
 * `elastic` in the file realm); 'tls' (as 'basic' over HTTPS with a certificate for 127.0.0.1 and
 * localhost, signed by a CA made for the node with openssl: {@link RunningElasticsearch.caPath}).
 * The `elastic` user lives in the file realm (`config/users`, with the reserved realm switched
 * off): the integ-test-zip lacks the analysis-common module that the `.security` index's mapping
 * needs, so nothing stored in that index works there: no native users or roles, no API keys
 * (see {@link RunningElasticsearch.createApiKey}). More users and roles go into the file realm
 * with {@link ElasticsearchOptions.users} and {@link ElasticsearchOptions.roles}. The password
 * hashes use Elasticsearch's `{PBKDF2}<cost>$<salt>$<key>` format (its Hasher class: PBKDF2 with
 * HMAC-SHA512, 32-byte salt and key), which Node's crypto computes, so no JVM tool has to run.
 *
 * What the integ-test-zip holds: the server plus the modules apm, transport-netty4, x-pack-core and
 * x-pack-security. There is no `GET /` (readiness is `GET /_cluster/health?wait_for_status=yellow`;
 * the version comes from `GET /_nodes/_local`), no ingest processors, no `_data_stream` API (but
 * composable templates with `data_stream: {}` and indexing into data streams work), no ILM, ML or
 * geoip, and settings of those modules make the node fail to start as unknown.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ClientOptions } from '@elastic/elasticsearch';
import {
  ELASTICSEARCH_VERSION,
  type ElasticsearchDistribution,
  ensureElasticsearch,
} from '../../scripts/ensure-elasticsearch.ts';

export type ElasticsearchSecurity = 'off' | 'basic' | 'tls';

export interface ElasticsearchUser {
  username: string;
  password: string;
  /** Built-in roles (`superuser`, `viewer`, ...) or ones from {@link ElasticsearchOptions.roles}. */
  roles: readonly string[];
}

export interface ElasticsearchOptions {
  /** Default {@link ELASTICSEARCH_VERSION} (9.5.3); ELASTICSEARCH_8_VERSION is the 8.x one. */
  version?: string;
  /** Default 'off'. See the file comment. */
  security?: ElasticsearchSecurity;
  /**
   * `path.data`. Default: `data/` in the node's temporary directory, removed by `dispose()`. A
   * directory given here is kept (handed to the ES user as root), e.g. to start a second node on
   * the data a first one left behind.
   */
  dataDir?: string;
  /** More file-realm users (security 'basic' or 'tls'), e.g. one whose role cannot write. */
  users?: readonly ElasticsearchUser[];
  /** File-realm roles (`config/roles.yml`): name → descriptor as in `PUT /_security/role/<name>`. */
  roles?: Record<string, unknown>;
  /** More node settings, passed as `-E<key>=<value>`. Only settings of the modules above exist. */
  settings?: Record<string, string | number | boolean>;
  /** `-Xms`/`-Xmx` (default `512m`). */
  heap?: string;
  /**
   * More JVM options. The default ones trade peak speed for a fast start (about a third less on
   * two cores): `-XX:-AlwaysPreTouch -XX:TieredStopAtLevel=1` (C1 only); for a benchmark, pass
   * `javaOptions: ['-XX:TieredStopAtLevel=4']`.
   */
  javaOptions?: readonly string[];
  /** How long a start waits for yellow health (default 120 s). */
  readyTimeoutMs?: number;
}

export interface RequestOptions {
  /**
   * Credentials: default the node's `elastic` user when security is on; `false` for none; or
   * another user or an API key (`encoded` form).
   */
  auth?: false | { username: string; password: string } | { apiKey: string };
  headers?: Record<string, string>;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface ElasticsearchResponse<T = any> {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the response is JSON, else the text ('' for none). */
  body: T;
}

export interface RunningElasticsearch {
  /** `http://127.0.0.1:<port>` or `https://...` ('tls'). Stays the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The version the node reports (`GET /_nodes/_local`). */
  readonly version: string;
  readonly security: ElasticsearchSecurity;
  /** `elastic` when security is on, with its (random) password; undefined when off. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** PEM file of the CA that signed the HTTP certificate ('tls' only). */
  readonly caPath: string | undefined;
  readonly dataDir: string;
  /** The node's temporary directory (config, logs, and data unless given). */
  readonly dir: string;
  /** The server JVM's pid (a new one after each restart). */
  readonly pid: number;
  /** How long the last start or restart took until yellow health, in ms. */
  readonly startupMs: number;
  /**
   * One HTTP request with the node's credentials (and CA). An object body is sent as JSON, a
   * string or bytes as they are (`application/x-ndjson` unless `headers` say otherwise, as for
   * `_bulk`). Never throws for an HTTP status; only when no response arrives.
   */
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options?: RequestOptions,
  ): Promise<ElasticsearchResponse<T>>;
  /**
   * `POST /_security/api_key`; resolves with the key's `encoded` form (for `Authorization:
   * ApiKey <encoded>`). Rejects with code ES_HARNESS_API_KEYS_UNSUPPORTED where the node cannot
   * store API keys: in the integ-test-zip the `.security` index cannot be created (its mapping
   * uses the `pattern_capture` filter of the missing analysis-common module).
   */
  createApiKey(name?: string, roleDescriptors?: Record<string, unknown>): Promise<string>;
  /** Options for `new Client(...)` of @elastic/elasticsearch: node, auth and CA. */
  clientOptions(): ClientOptions;
  /** The last lines Elasticsearch printed (its log). */
  output(lines?: number): string;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 30 s). Idempotent; `restart()` starts it again. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL to the server JVM: a crash, nothing flushed. `restart()` starts it again. */
  kill(): Promise<void>;
  /** Stops the node (if running) and starts it again on the same data, ports and settings. */
  restart(): Promise<void>;
  /** Stops the node and removes its temporary directory (a given `dataDir` is kept). Idempotent. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type ElasticsearchHarnessErrorCode =
  /** The node exited, or was not ready in time; the message ends with its last output. */
  | 'ES_HARNESS_START'
  /** The node cannot create API keys (integ-test-zip: no `.security` index). */
  | 'ES_HARNESS_API_KEYS_UNSUPPORTED'
  /** An unexpected answer from the node to the harness's own requests. */
  | 'ES_HARNESS_RESPONSE'
  /** `restart()` after `dispose()`. */
  | 'ES_HARNESS_DISPOSED';

export class ElasticsearchHarnessError extends Error {
  readonly code: ElasticsearchHarnessErrorCode;
  constructor(code: ElasticsearchHarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ElasticsearchHarnessError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Most of what Elasticsearch printed is kept: the error of a failed start is at the end. */
const OUTPUT_LIMIT = 256 * 1024;

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/** Running launchers, killed (and their directories removed) when the test process exits. */
const live = new Set<{ killNow(): void }>();
let exitHooked = false;
function track(entry: { killNow(): void }): void {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const e of live) e.killNow();
    });
  }
  live.add(entry);
}

/** `{PBKDF2}` hash as Elasticsearch's file realm reads it (see the file comment). */
function pbkdf2Hash(password: string): string {
  const cost = 10_000;
  const salt = randomBytes(32);
  const key = pbkdf2Sync(password, salt, cost, 32, 'sha512');
  return `{PBKDF2}${cost}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function openssl(args: readonly string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0)
    throw new Error(
      `openssl ${args.join(' ')} failed: ${run.error?.message ?? run.stderr.trim()}` +
        ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
          ? ' (install it with `sudo apt-get install openssl`)'
          : ''),
    );
}

/** A CA and an HTTP certificate for 127.0.0.1 and localhost signed by it, in `dir`. */
function makeCertificates(dir: string): { ca: string; key: string; certificate: string } {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-subj',
      '/CN=flowship test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  openssl(
    [
      'req',
      ...ec,
      '-subj',
      '/CN=127.0.0.1',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
      '-keyout',
      'http.key',
      '-out',
      'http.crt',
    ],
    dir,
  );
  return { ca: join(dir, 'ca.crt'), key: join(dir, 'http.key'), certificate: join(dir, 'http.crt') };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const entry of readdirSync(path, { recursive: true, encoding: 'utf8' }))
    chownSync(join(path, entry), uid, gid);
}

/** The ES user must be able to walk down to `path`: every directory above it searchable. */
function assertReachable(path: string, uid: number): void {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const s = statSync(dir);
    if (s.uid !== uid && (s.mode & 0o001) === 0)
      throw new ElasticsearchHarnessError(
        'ES_HARNESS_START',
        `${dir} is not searchable by others, so Elasticsearch (running as a separate user, since it refuses ` +
          `root) cannot reach ${path}. Point TMPDIR (or dataDir) somewhere else, e.g. TMPDIR=/tmp.`,
      );
    if (dir === dirname(dir)) return;
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // a zombie counts as gone: nothing can reap it once its parent (the launcher) has exited
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  exitStatus: string | undefined;
  serverPid: number | undefined;
  ending: Promise<void> | undefined;
}

function httpCall(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  ca: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false: one connection per request, so no pooled socket survives a node's restart
    const req = send(url, { method, headers, agent: false, ...(ca === undefined ? {} : { ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${url.pathname}: no response within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Starts Elasticsearch and resolves once its cluster health is yellow. Call `dispose()` (or use
 * `await using`) when done; see {@link RunningElasticsearch}.
 */
export async function startElasticsearch(options: ElasticsearchOptions = {}): Promise<RunningElasticsearch> {
  const {
    version = ELASTICSEARCH_VERSION,
    security = 'off',
    users = [],
    roles,
    settings = {},
    heap = '512m',
    javaOptions = [],
    readyTimeoutMs = 120_000,
  } = options;
  const distribution: ElasticsearchDistribution = await ensureElasticsearch(version);
  const user = distribution.user;

  const dir = mkdtempSync(join(tmpdir(), 'flowship-es-'));
  let disposing: Promise<void> | undefined;
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  const config = join(dir, 'config');
  const logs = join(dir, 'logs');
  const esTmp = join(dir, 'tmp');
  const dataDir = resolve(options.dataDir ?? join(dir, 'data'));
  const pidFile = join(dir, 'elasticsearch.pid');
  const portsFile = join(logs, 'http.ports');

  let username: string | undefined;
  let password: string | undefined;
  let caPath: string | undefined;
  let ca: string | undefined;
  const nodeSettings: Record<string, string | number | boolean> = {
    'discovery.type': 'single-node',
    'network.host': '127.0.0.1',
    'http.port': 0,
    'transport.port': 0,
    'path.data': dataDir,
    'path.logs': logs,
    // writes logs/http.ports once the node has started: the port to use, and a readiness signal
    'node.portsfile': true,
    // a nearly full disk on the test machine must not make shards unassignable
    'cluster.routing.allocation.disk.threshold_enabled': false,
    'xpack.security.enabled': security !== 'off',
  };

  try {
    cpSync(join(distribution.home, 'config'), config, { recursive: true });
    mkdirSync(logs);
    mkdirSync(esTmp);
    mkdirSync(dataDir, { recursive: true });
    if (security !== 'off') {
      username = 'elastic';
      password = randomBytes(12).toString('base64url');
      const all = [{ username, password, roles: ['superuser'] }, ...users];
      writeFileSync(
        join(config, 'users'),
        all.map((u) => `${u.username}:${pbkdf2Hash(u.password)}\n`).join(''),
      );
      const members = new Map<string, string[]>();
      for (const u of all)
        for (const role of u.roles) members.set(role, [...(members.get(role) ?? []), u.username]);
      writeFileSync(
        join(config, 'users_roles'),
        [...members].map(([role, names]) => `${role}:${names.join(',')}\n`).join(''),
      );
      // JSON is YAML
      if (roles !== undefined)
        writeFileSync(join(config, 'roles.yml'), `${JSON.stringify(roles, null, 2)}\n`);
      // the reserved realm would claim `elastic` (without a password: it has no .security index)
      nodeSettings['xpack.security.authc.reserved_realm.enabled'] = false;
      nodeSettings['xpack.security.http.ssl.enabled'] = security === 'tls';
      if (security === 'tls') {
        const certs = makeCertificates(join(config, 'certs'));
        caPath = certs.ca;
        ca = readFileSync(caPath, 'utf8');
        // relative to the config directory: the only place the node may read them from
        nodeSettings['xpack.security.http.ssl.key'] = 'certs/http.key';
        nodeSettings['xpack.security.http.ssl.certificate'] = 'certs/http.crt';
      }
    }
    Object.assign(nodeSettings, settings);
    if (user !== undefined) {
      chownTree(dir, user.uid, user.gid);
      if (!dataDir.startsWith(`${dir}/`)) chownTree(dataDir, user.uid, user.gid);
      assertReachable(dir, user.uid);
      assertReachable(dataDir, user.uid);
    }
  } catch (error) {
    removeDir();
    throw error;
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ES_PATH_CONF: config,
    ES_JAVA_HOME: distribution.javaHome,
    ES_JAVA_OPTS: [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:-AlwaysPreTouch',
      '-XX:TieredStopAtLevel=1',
      // no /tmp/hsperfdata_<user>
      '-XX:-UsePerfData',
      ...javaOptions,
    ].join(' '),
    CLI_JAVA_OPTS: '-XX:-UsePerfData',
    ES_TMPDIR: esTmp,
  };
  // Elasticsearch warns that it ignores JAVA_HOME (ES_JAVA_HOME wins)
  delete env.JAVA_HOME;

  const scheme = security === 'tls' ? 'https' : 'http';
  let port = 0;
  let transportPort = 0;
  let run: Run | undefined;
  let startupMs = 0;
  let output = '';
  const tail = (lines = 60) => output.split('\n').slice(-lines).join('\n');

  const killNow = () => {
    if (run !== undefined && run.exitStatus === undefined) {
      if (run.serverPid !== undefined)
        try {
          process.kill(run.serverPid, 'SIGKILL');
        } catch {}
      run.child.kill('SIGKILL');
    }
    if (disposing === undefined)
      try {
        removeDir();
      } catch {}
  };
  const tracked = { killNow };
  track(tracked);

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    requestOptions: RequestOptions = {},
  ): Promise<ElasticsearchResponse<T>> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      const raw = typeof body === 'string' || body instanceof Uint8Array;
      payload = raw ? Buffer.from(body as string | Uint8Array) : Buffer.from(JSON.stringify(body));
      headers['content-type'] = raw ? 'application/x-ndjson' : 'application/json';
    }
    const auth = requestOptions.auth ?? (username === undefined ? false : { username, password: password! });
    if (auth !== false)
      headers.authorization =
        'apiKey' in auth
          ? `ApiKey ${auth.apiKey}`
          : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    Object.assign(headers, requestOptions.headers);
    const url = new URL(path, `${scheme}://127.0.0.1:${port}`);
    const res = await httpCall(url, method, headers, payload, ca, requestOptions.timeoutMs ?? 30_000);
    const json = /\bjson\b/.test(String(res.headers['content-type'])) && res.text !== '';
    return { status: res.status, headers: res.headers, body: (json ? JSON.parse(res.text) : res.text) as T };
  };

  const launch = async (): Promise<void> => {
    rmSync(portsFile, { force: true });
    rmSync(pidFile, { force: true });
    const args = [
      join(distribution.home, 'bin', 'elasticsearch'),
      '-p',
      pidFile,
      ...Object.entries({ ...nodeSettings, 'http.port': port, 'transport.port': transportPort }).map(
        ([key, value]) => `-E${key}=${value}`,
      ),
    ];
    const setpriv =
      user === undefined
        ? ['--pdeathsig=SIGKILL']
        : [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--pdeathsig=SIGKILL'];
    const started = Date.now();
    const child =
      SETPRIV !== undefined
        ? spawn(SETPRIV, [...setpriv, '--', ...args], { cwd: logs, env, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(args[0], args.slice(1), {
            cwd: logs,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
            ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
          });
    const append = (d: Buffer) => {
      output += d;
      if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    // a node left running does not keep the test process alive: at its exit, the node is killed
    child.unref();
    (child.stdout as unknown as { unref(): void }).unref();
    (child.stderr as unknown as { unref(): void }).unref();
    let spawnError: Error | undefined;
    const current: Run = {
      child,
      exitStatus: undefined,
      serverPid: undefined,
      ending: undefined,
      exited: new Promise<void>((resolveExit) => {
        child.once('error', (error) => {
          spawnError = error;
          current.exitStatus ??= `cannot run: ${error.message}`;
          resolveExit();
        });
        child.once('exit', (code, signal) => {
          current.exitStatus = signal ?? `exit ${code}`;
          resolveExit();
        });
      }),
    };
    run = current;

    const failure = (what: string) =>
      new ElasticsearchHarnessError(
        'ES_HARNESS_START',
        `Elasticsearch ${version} ${what}; its last output:\n${tail()}`,
        { cause: spawnError },
      );
    const deadline = started + readyTimeoutMs;
    for (;;) {
      if (current.exitStatus !== undefined) throw failure(`exited while starting (${current.exitStatus})`);
      if (port === 0 && existsSync(portsFile)) {
        const first = readFileSync(portsFile, 'utf8').split('\n')[0];
        port = Number(first.slice(first.lastIndexOf(':') + 1));
      }
      if (port !== 0 && existsSync(portsFile)) {
        try {
          const health = await call('GET', '/_cluster/health?wait_for_status=yellow&timeout=2s', undefined, {
            timeoutMs: 10_000,
          });
          if (health.status === 200) break;
        } catch {
          // not serving yet
        }
      }
      if (Date.now() > deadline) {
        await stopRun(current, 5_000);
        throw failure(`was not ready (yellow health) within ${readyTimeoutMs} ms`);
      }
      await sleep(100);
    }
    startupMs = Date.now() - started;
    current.serverPid = Number(readFileSync(pidFile, 'utf8').trim());
    if (transportPort === 0) {
      const first = readFileSync(join(logs, 'transport.ports'), 'utf8').split('\n')[0];
      transportPort = Number(first.slice(first.lastIndexOf(':') + 1));
    }
  };

  const stopRun = (current: Run, timeoutMs: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') =>
    (current.ending ??= (async () => {
      const serverPid = current.serverPid ?? Number.parseInt(readFileIfExists(pidFile), 10);
      if (current.exitStatus === undefined) {
        // SIGTERM: the launcher stops the server and waits for it. SIGKILL: the server dies at
        // once, and the launcher exits as it notices.
        if (signal === 'SIGKILL' && serverPid > 0) killQuietly(serverPid, 'SIGKILL');
        else current.child.kill(signal);
        const timer = setTimeout(() => {
          if (serverPid > 0) killQuietly(serverPid, 'SIGKILL');
          current.child.kill('SIGKILL');
        }, timeoutMs);
        await current.exited;
        clearTimeout(timer);
      }
      // the launcher is gone; wait for the server too, which holds the data directory's lock
      for (const end = Date.now() + timeoutMs; serverPid > 0 && !processGone(serverPid); ) {
        if (Date.now() > end) killQuietly(serverPid, 'SIGKILL');
        await sleep(50);
      }
    })());

  try {
    await launch();
  } catch (error) {
    live.delete(tracked);
    removeDir();
    throw error;
  }

  const nodes = await call<{ nodes?: Record<string, { version: string }> }>(
    'GET',
    '/_nodes/_local?filter_path=nodes.*.version',
  );
  const reported = Object.values(nodes.body.nodes ?? {})[0]?.version;
  if (reported !== version) {
    await stopRun(run!, 10_000);
    live.delete(tracked);
    removeDir();
    throw new ElasticsearchHarnessError(
      'ES_HARNESS_RESPONSE',
      `started Elasticsearch ${version}, but GET /_nodes/_local says ${JSON.stringify(nodes.body)} (HTTP ${nodes.status})`,
    );
  }

  const es: RunningElasticsearch = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    version: reported,
    security,
    username,
    password,
    caPath,
    dataDir,
    dir,
    get pid() {
      return run!.serverPid!;
    },
    get startupMs() {
      return startupMs;
    },
    request: call,
    async createApiKey(name = 'flowship-test', roleDescriptors) {
      const res = await call<any>('POST', '/_security/api_key', {
        name,
        ...(roleDescriptors === undefined ? {} : { role_descriptors: roleDescriptors }),
      });
      if (res.status === 200 && typeof res.body?.encoded === 'string') return res.body.encoded as string;
      const reason = JSON.stringify(res.body);
      if (/pattern_capture/.test(reason))
        throw new ElasticsearchHarnessError(
          'ES_HARNESS_API_KEYS_UNSUPPORTED',
          `Elasticsearch ${version} (integ-test-zip) cannot store API keys: the .security index needs the ` +
            `analysis-common module, which this distribution lacks (${reason})`,
        );
      throw new ElasticsearchHarnessError(
        'ES_HARNESS_RESPONSE',
        `POST /_security/api_key: HTTP ${res.status} ${reason}`,
      );
    },
    clientOptions() {
      return {
        node: es.url,
        ...(username === undefined ? {} : { auth: { username, password: password! } }),
        ...(ca === undefined ? {} : { tls: { ca } }),
      };
    },
    output: tail,
    stop: (timeoutMs = 30_000) => stopRun(run!, timeoutMs),
    kill: () => stopRun(run!, 30_000, 'SIGKILL'),
    async restart() {
      if (disposing !== undefined)
        throw new ElasticsearchHarnessError('ES_HARNESS_DISPOSED', 'restart() after dispose()');
      await stopRun(run!, 30_000);
      await launch();
    },
    dispose: () =>
      (disposing ??= (async () => {
        await stopRun(run!, 30_000);
        live.delete(tracked);
        removeDir();
      })()),
    [Symbol.asyncDispose]: () => es.dispose(),
  };
  return es;
}

function readFileIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {}
}
