/**
 * The optional monitoring endpoint (`http: {enabled, host, port}`, as Beats' HTTP endpoint):
 *
 *   GET /stats     the metrics snapshot as JSON (`?pretty` indents it)
 *   GET /metrics   Prometheus text exposition format 0.0.4
 *
 * Anything else is 404 (405 for another method on those paths). Read-only, no secrets: the
 * registry holds numbers and label values only. Bind it to localhost unless it must be scraped
 * from elsewhere.
 */
import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics.ts';

export interface MonitoringServerOptions {
  /** The metrics to serve. */
  registry: MetricsRegistry;
  /** Interface to bind; default `localhost`. */
  host?: string;
  /** Port; default 5066 (Beats' default). 0 picks a free one (see `address`). */
  port?: number;
  /** Where listen and request errors are reported. */
  logger?: Logger;
}

export class MonitoringServer {
  readonly #registry: MetricsRegistry;
  readonly #host: string;
  readonly #port: number;
  readonly #logger: Logger | undefined;
  readonly #server: Server;
  #listening: Promise<AddressInfo> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MonitoringServerOptions) {
    const { registry, host = 'localhost', port = 5066, logger } = options;
    this.#registry = registry;
    this.#host = host;
    this.#port = port;
    this.#logger = logger;
    this.#server = createServer((req, res) => this.#handle(req, res));
    // Scrapers poll; idle keep-alive sockets should not linger, and slow clients get cut off.
    this.#server.keepAliveTimeout = 5_000;
    this.#server.requestTimeout = 10_000;
    this.#server.headersTimeout = 5_000;
  }

  /** The bound address once listening. */
  get address(): AddressInfo | undefined {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a : undefined;
  }

  /** Starts listening; resolves with the bound address. Idempotent (same promise). */
  listen(): Promise<AddressInfo> {
    if (this.#closing !== undefined && this.#listening === undefined) {
      return Promise.reject(new Error('monitoring HTTP server is closed'));
    }
    this.#listening ??= new Promise<AddressInfo>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#logger?.error('monitoring HTTP server failed to listen', {
          host: this.#host,
          port: this.#port,
          error: err,
        });
        reject(err);
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err) =>
          this.#logger?.error('monitoring HTTP server error', { error: err }),
        );
        this.#logger?.info('monitoring HTTP server listening', { address: this.address });
        resolve(this.address!);
      });
    });
    return this.#listening;
  }

  /** Stops listening and drops open connections. Idempotent (same promise). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A listen in progress completes first, so that it cannot open the port after close.
      await this.#listening?.catch(() => {});
      if (!this.#server.listening) return;
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
    })();
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    // Nothing a client sends may throw out of here: an uncaught exception in a request handler
    // ends the process.
    try {
      this.#route(req, res);
    } catch (err) {
      this.#logger
        ?.rateLimited('monitoring-http', 60_000)
        .error('monitoring HTTP request failed', { error: err });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    // `//`, `///` or `//[` parse as a scheme-relative URL with a bad host: URL.parse gives null
    // where `new URL` throws.
    const url = URL.parse(req.url ?? '/', 'http://localhost');
    if (url === null) {
      send(res, 400, 'text/plain; charset=utf-8', 'bad request target\n');
      return;
    }
    const route = url.pathname.replace(/\/+$/, '') || '/';
    if (route !== '/stats' && route !== '/metrics') {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (route === '/stats') {
      const pretty = url.searchParams.has('pretty');
      const body = `${JSON.stringify(this.#registry.snapshot(), null, pretty ? 2 : undefined)}\n`;
      send(res, 200, 'application/json; charset=utf-8', body, req.method === 'HEAD');
    } else {
      send(res, 200, PROMETHEUS_CONTENT_TYPE, this.#registry.prometheus(), req.method === 'HEAD');
    }
  }
}

/** Creates a monitoring server and waits until it listens. */
export async function startMonitoringServer(options: MonitoringServerOptions): Promise<MonitoringServer> {
  const server = new MonitoringServer(options);
  await server.listen();
  return server;
}

function send(res: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(headOnly ? undefined : body);
}
