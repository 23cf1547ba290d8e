/**
 * The connection to Elasticsearch: the `@elastic/elasticsearch` client built from
 * `output.elasticsearch`, one request helper that every call goes through, and the server
 * version probe.
 *
 * Every request sends plain `application/json` (`application/x-ndjson` for bulk) instead of the
 * client's `compatible-with=<client major>` media types: a plain media type means "the server's
 * own version", which 8.x and 9.x clusters both accept, so one client serves both.
 *
 * The client never retries by itself (`maxRetries: 0`): the pipeline owns retries, with backoff,
 * and must know the fate of every request. Secrets live in the client's options only: nothing
 * here logs them, and the client redacts them from its errors.
 */
import { readFileSync } from 'node:fs';
import { Client, type ClientOptions, errors } from '@elastic/elasticsearch';
import type { ElasticsearchOutputConfig } from '../../config/schema.ts';
import { FlowshipError } from '../../util/errors.ts';

/** What the probe found. */
export interface ServerInfo {
  /** `9.5.3` */
  version: string;
  major: number;
  /** The cluster's name where the answer had it. */
  clusterName?: string;
}

/** The response of a request: status and parsed body (text when it is not JSON). */
export interface Reply<T = unknown> {
  status: number;
  body: T;
}

export interface RequestOptions {
  /** Query string parameters. */
  query?: Record<string, string>;
  /** NDJSON body (bulk): a string, or bytes already gzipped (`gzipped: true`). */
  ndjson?: string | Buffer;
  gzipped?: boolean;
  /** JSON body. */
  json?: unknown;
  /** Per-request timeout in ms; default the client's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** `localhost:9200` → `http://localhost:9200`; Filebeat's defaults (http, port 9200). */
export function hostUrl(host: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`;
  const url = new URL(withScheme);
  // `url.port` is '' for a scheme's default port too (`https://h:443`): look at what was written
  const explicitPort = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):\d+/i.test(withScheme);
  if (url.port === '' && !explicitPort) url.port = '9200';
  return url.toString().replace(/\/$/, '');
}

/** A host as it may be shown: `hostUrl`, without a `user:password@` part. */
export function displayUrl(host: string): string {
  const url = new URL(hostUrl(host));
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}

/**
 * A failed connection in words an operator can act on: the client's message, plus what to set
 * when it is a certificate problem or plain HTTP spoken to an HTTPS port.
 */
export function connectionErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/certificate|self[- ]signed|altnames|CERT_|unable to verify/i.test(message)) {
    return `TLS: ${message.replace(/; if the root CA is installed locally.*$/, '')} (set output.elasticsearch.ssl.certificate_authorities to the CA that signed the server's certificate; ssl.verification_mode: certificate skips the host name check)`;
  }
  if (/other side closed|socket hang up|ECONNRESET/i.test(message)) {
    return `${message} (if the server speaks HTTPS, write https:// in output.elasticsearch.hosts)`;
  }
  return message;
}

/** The client's options from the configuration (files such as the CAs are read here). */
export function clientOptions(config: ElasticsearchOutputConfig): ClientOptions {
  const options: ClientOptions = {
    maxRetries: 0,
    requestTimeout: config.timeout,
    compression: false, // the output gzips bulk bodies itself, at its configured level, off the event loop
    name: 'flowship',
    redaction: { type: 'replace' },
  };
  if (config.cloud.id !== undefined) options.cloud = { id: config.cloud.id };
  else options.nodes = (config.hosts ?? []).map(hostUrl);

  if (config.api_key !== undefined) {
    // Filebeat's form is `id:api_key`; the encoded form (base64 of it) is taken as it is
    const colon = config.api_key.indexOf(':');
    options.auth =
      colon > 0
        ? { apiKey: { id: config.api_key.slice(0, colon), api_key: config.api_key.slice(colon + 1) } }
        : { apiKey: config.api_key };
  } else if (config.username !== undefined) {
    options.auth = { username: config.username, password: config.password ?? '' };
  } else if (config.cloud.auth !== undefined) {
    const colon = config.cloud.auth.indexOf(':');
    options.auth = {
      username: config.cloud.auth.slice(0, Math.max(colon, 0)),
      password: config.cloud.auth.slice(colon + 1),
    };
  }

  const ssl = config.ssl;
  const ca = ssl.certificate_authorities.map((file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new FlowshipError(
        'FLOWSHIP_CONFIG',
        `output.elasticsearch.ssl.certificate_authorities: cannot read ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
  options.tls = {
    ...(ca.length > 0 ? { ca } : {}),
    rejectUnauthorized: ssl.verification_mode !== 'none',
    // `certificate`: the chain is verified, the host name is not (Filebeat's meaning)
    ...(ssl.verification_mode === 'certificate' ? { checkServerIdentity: () => undefined } : {}),
  };
  return options;
}

/** The client plus the one way flowship talks through it. */
export class Connection {
  readonly client: Client;

  constructor(options: ClientOptions) {
    this.client = new Client(options);
  }

  /**
   * One HTTP request; resolves with any HTTP status (the caller decides what a 4xx means) and
   * rejects only when no response came (connection refused, timeout, TLS failure).
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let params: Record<string, unknown>;
    if (options.ndjson !== undefined) {
      headers['content-type'] = 'application/x-ndjson';
      if (options.gzipped === true) headers['content-encoding'] = 'gzip';
      params = { method, path, querystring: options.query, bulkBody: options.ndjson };
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      params = { method, path, querystring: options.query, body: options.json };
    } else {
      // without it the transport adds its `compatible-with=<client major>` type to bodiless requests
      headers['content-type'] = 'application/json';
      params = { method, path, querystring: options.query };
    }
    try {
      const result = await this.client.transport.request(params as never, {
        headers,
        meta: true,
        maxRetries: 0,
        ignore: [400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503, 504],
        ...(options.timeoutMs === undefined ? {} : { requestTimeout: options.timeoutMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { status: result.statusCode ?? 0, body: result.body as T };
    } catch (err) {
      // a status outside `ignore` still came with a response: hand it back like the others
      if (err instanceof errors.ResponseError) {
        return { status: err.statusCode ?? 0, body: err.body as T };
      }
      throw err;
    }
  }

  /**
   * The server's version: `GET /`, or, where the root endpoint is missing (the stripped
   * distributions), the local node's version from `GET /_nodes/_local`.
   */
  async probe(timeoutMs?: number): Promise<ServerInfo> {
    const root = await this.request<{ version?: { number?: string }; cluster_name?: string }>('GET', '/', {
      timeoutMs,
    });
    let version: string | undefined;
    let clusterName: string | undefined;
    if (root.status === 200 && typeof root.body?.version?.number === 'string') {
      version = root.body.version.number;
      clusterName = root.body.cluster_name;
    } else if (root.status === 401 || root.status === 403) {
      throw new FlowshipError('FLOWSHIP_OUTPUT', probeAuthMessage(root));
    } else {
      const nodes = await this.request<{
        cluster_name?: string;
        nodes?: Record<string, { version?: string }>;
      }>('GET', '/_nodes/_local', { query: { filter_path: 'cluster_name,nodes.*.version' }, timeoutMs });
      if (nodes.status === 401 || nodes.status === 403)
        throw new FlowshipError('FLOWSHIP_OUTPUT', probeAuthMessage(nodes));
      version = Object.values(nodes.body?.nodes ?? {})[0]?.version;
      clusterName = nodes.body?.cluster_name;
      if (nodes.status !== 200 || version === undefined) {
        throw new FlowshipError(
          'FLOWSHIP_OUTPUT',
          `cannot read the Elasticsearch version: GET / answered ${root.status}, GET /_nodes/_local answered ${nodes.status}`,
        );
      }
    }
    const major = Number.parseInt(version, 10);
    return clusterName === undefined ? { version, major } : { version, major, clusterName };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** The supported majors; anything else is refused at start with this message. */
export function checkServerVersion(info: ServerInfo): void {
  if (info.major !== 8 && info.major !== 9) {
    throw new FlowshipError(
      'FLOWSHIP_OUTPUT',
      `Elasticsearch ${info.version} is not supported: flowship works with Elasticsearch 8.x and 9.x clusters`,
    );
  }
}

/** A refused version probe: a 403 names the privilege it takes, as Beats require it too. */
function probeAuthMessage(reply: Reply): string {
  const text = authMessage(reply);
  return reply.status === 403
    ? `${text} (reading the cluster's version takes the \`monitor\` cluster privilege)`
    : text;
}

/** A 401/403 in words, with the server's reason but never a credential. */
export function authMessage(reply: Reply): string {
  const reason = (reply.body as { error?: { reason?: string } } | undefined)?.error?.reason;
  const what = reply.status === 401 ? 'authentication failed' : 'permission denied';
  return `Elasticsearch answered ${reply.status} (${what})${reason === undefined ? '' : `: ${reason}`}`;
}
