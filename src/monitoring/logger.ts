/**
 * A leveled logger writing one line per message (stderr by default), as text
 *
 *     2026-01-01T00:00:00.000Z INFO [netflow] template missing exporter=10.0.0.1:2055 domain=0
 *
 * or as JSON lines with ECS-style keys
 *
 *     {"@timestamp":"2026-01-01T00:00:00.000Z","log.level":"info","log.logger":"netflow","message":"...","exporter":"..."}
 *
 * Hot paths log through `rateLimited(key, intervalMs)`: the first occurrence is written, repeats
 * within the interval are only counted, and the next one written after the interval carries
 * `suppressed=<count>`. The rate-limit table is bounded (oldest keys are forgotten first).
 *
 * Secrets never print: a field whose name contains password, api_key (apiKey, api-key),
 * authorization or secret (case-insensitive, at any depth in the fields) is written as
 * `[REDACTED]`, and so is the password in `scheme://user:password@host` inside any string.
 */
import type { Clock } from '../pipeline/clock.ts';

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';

/** Structured context for a message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The logging methods, shared by `Logger` and its rate-limited views. */
export interface LevelMethods {
  error(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** Least severe level written; default `info`. */
  level?: LogLevel;
  /** `text` (default) or `json` lines. */
  format?: 'text' | 'json';
  /** Logger name printed as `[name]` / `log.logger`; default `flowship`. */
  name?: string;
  /** Receives each line without its trailing newline; default: written to stderr. */
  sink?: (line: string) => void;
  /** Time source for timestamps and rate limits; default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Extra field-name fragments to redact, on top of password, api_key, authorization, secret. */
  redact?: readonly string[];
  /** Keys remembered by `rateLimited`; default 1000. */
  maxRateLimitKeys?: number;
}

export const REDACTED = '[REDACTED]';

const SEVERITY: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };
const TEXT_LEVEL: Record<LogLevel, string> = {
  error: 'ERROR',
  warning: 'WARNING',
  info: 'INFO',
  debug: 'DEBUG',
};
const DEFAULT_REDACT = ['password', 'api_key', 'apikey', 'authorization', 'secret'];
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]*@/gi;
const MAX_DEPTH = 6;

interface RateState {
  last: number;
  suppressed: number;
}

/** What a logger and its children share: one sink, one clock, one rate-limit table. */
interface Shared {
  threshold: number;
  json: boolean;
  sink: (line: string) => void;
  clock: Pick<Clock, 'now'>;
  redact: readonly string[];
  rates: Map<string, RateState>;
  maxRateKeys: number;
  suppressedTotal: number;
}

export class Logger implements LevelMethods {
  /** The name printed with each line. */
  readonly name: string;
  readonly #shared: Shared;

  constructor(options: LoggerOptions = {}, shared?: Shared) {
    const {
      level = 'info',
      format = 'text',
      name = 'flowship',
      sink = (line: string) => {
        process.stderr.write(`${line}\n`);
      },
      clock = { now: () => Date.now() },
      redact = [],
      maxRateLimitKeys = 1000,
    } = options;
    this.name = name;
    this.#shared = shared ?? {
      threshold: SEVERITY[level],
      json: format === 'json',
      sink,
      clock,
      redact: [...DEFAULT_REDACT, ...redact.map(normaliseKey)],
      rates: new Map(),
      maxRateKeys: Math.max(1, maxRateLimitKeys),
      suppressedTotal: 0,
    };
  }

  /** A logger with another name sharing this one's sink, level, clock and rate limits. */
  child(name: string): Logger {
    return new Logger({ name }, this.#shared);
  }

  /** Whether messages at `level` are written. */
  isEnabled(level: LogLevel): boolean {
    return SEVERITY[level] <= this.#shared.threshold;
  }

  /** Messages suppressed by `rateLimited` so far, over all keys. */
  get suppressedTotal(): number {
    return this.#shared.suppressedTotal;
  }

  error(message: string, fields?: LogFields): void {
    this.#log('error', message, fields);
  }

  warning(message: string, fields?: LogFields): void {
    this.#log('warning', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.#log('info', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    this.#log('debug', message, fields);
  }

  /**
   * Logging methods that write the first message for `key`, then at most one per `intervalMs`;
   * the written message after a quiet spell carries `suppressed`: how many were held back.
   * Keys are per logger name. A level that is disabled neither writes nor counts.
   */
  rateLimited(key: string, intervalMs: number): LevelMethods {
    const gate = (level: LogLevel, message: string, fields?: LogFields): void => {
      if (!this.isEnabled(level)) return;
      const shared = this.#shared;
      const now = shared.clock.now();
      const k = `${this.name}\u0000${key}`;
      const state = shared.rates.get(k);
      if (state === undefined) {
        if (shared.rates.size >= shared.maxRateKeys) {
          const oldest = shared.rates.keys().next().value;
          if (oldest !== undefined) shared.rates.delete(oldest);
        }
        shared.rates.set(k, { last: now, suppressed: 0 });
        this.#log(level, message, fields);
        return;
      }
      if (now - state.last < intervalMs) {
        state.suppressed++;
        shared.suppressedTotal++;
        return;
      }
      const suppressed = state.suppressed;
      state.last = now;
      state.suppressed = 0;
      // Re-insert so the map's order is least-recently-written first (eviction order).
      shared.rates.delete(k);
      shared.rates.set(k, state);
      this.#log(level, message, suppressed > 0 ? { ...fields, suppressed } : fields);
    };
    return {
      error: (m, f) => gate('error', m, f),
      warning: (m, f) => gate('warning', m, f),
      info: (m, f) => gate('info', m, f),
      debug: (m, f) => gate('debug', m, f),
    };
  }

  #log(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (!this.isEnabled(level)) return;
    const shared = this.#shared;
    const timestamp = new Date(shared.clock.now()).toISOString();
    const clean =
      fields === undefined ? undefined : (sanitise(fields, shared.redact, 0) as Record<string, unknown>);
    const text = redactUrls(message);
    let line: string;
    if (shared.json) {
      const record: Record<string, unknown> = {
        '@timestamp': timestamp,
        'log.level': level,
        'log.logger': this.name,
        message: text,
      };
      if (clean !== undefined) {
        for (const [k, v] of Object.entries(clean)) if (!(k in record) && v !== undefined) record[k] = v;
      }
      line = JSON.stringify(record);
    } else {
      line = `${timestamp} ${TEXT_LEVEL[level]} [${this.name}] ${text.replace(/\r?\n/g, '\\n')}`;
      if (clean !== undefined) {
        for (const [k, v] of Object.entries(clean)) if (v !== undefined) line += ` ${k}=${textValue(v)}`;
      }
    }
    try {
      shared.sink(line);
    } catch {
      // Logging must never take the process down (EPIPE on a closed stderr, for example).
    }
  }
}

/** Creates a logger; see `LoggerOptions`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new Logger(options);
}

/** A logger that writes nothing, for components constructed without one. */
export const silentLogger: Logger = new Logger({ sink: () => {}, level: 'error' });

/** Lower-case, camelCase and separators folded to `_`: `apiKey`, `api-key`, `API_KEY` -> `api_key`. */
function normaliseKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[-.\s]/g, '_');
}

/** Whether a field of this name must not print its value. */
export function isSecretKey(key: string, extra: readonly string[] = []): boolean {
  const k = normaliseKey(key);
  return [...DEFAULT_REDACT, ...extra.map(normaliseKey)].some((r) => k.includes(r));
}

function redactUrls(s: string): string {
  return s.includes('://') ? s.replace(URL_PASSWORD, `$1${REDACTED}@`) : s;
}

/** A JSON-safe copy with secrets redacted, errors flattened and depth bounded. */
function sanitise(value: unknown, redact: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const out: Record<string, unknown> = { message: redactUrls(value.message), type: value.name };
    if (code !== undefined) out.code = String(code);
    return out;
  }
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((v) => sanitise(v, redact, depth + 1));
  // JSON.rawJSON values (exact big integers) stringify themselves.
  if ((JSON as { isRawJSON?: (v: unknown) => boolean }).isRawJSON?.(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const nk = normaliseKey(k);
    out[k] = redact.some((r) => nk.includes(r)) ? REDACTED : sanitise(v, redact, depth + 1);
  }
  return out;
}

/** `key=value` text: bare when unambiguous, JSON-quoted when it has spaces, quotes, `=` or is empty. */
function textValue(v: unknown): string {
  if (typeof v === 'string') return v === '' || /[\s"=\\]/.test(v) ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // A flattened Error prints as its message (with the code when it has one).
    if (typeof o.message === 'string' && typeof o.type === 'string' && Object.keys(o).length <= 3) {
      return textValue(o.code === undefined ? o.message : `${o.code}: ${o.message}`);
    }
    return JSON.stringify(v);
  }
  return String(v);
}
