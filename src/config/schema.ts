/**
 * Every configuration option flowship has: its type, its limits and its default, in one place.
 *
 * The schema validates the tree that load.ts builds (dotted keys already nested, `${VAR}` already
 * expanded, `-E` overrides already applied) and resolves it: defaults filled in, durations in
 * milliseconds, sizes in bytes, the output reduced to the one that is enabled. Option names and
 * defaults follow Filebeat and the Elastic netflow integration (NETFLOW.md 5, OUTPUT.md).
 *
 * Conventions, as in Filebeat: a key with no value (`key:`) is not set, so its default applies; a
 * single value where a list is expected is a one-item list; numbers and booleans are accepted
 * where a string is expected, and numeric strings where a number is; a duration written as a
 * plain number is in seconds. Inputs and outputs may carry `enabled: false`: they are then left
 * out (and, as in Filebeat, not validated further). Unknown keys are errors.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { validateNetworkEntry } from '../ecs/locality.ts';
import { compileFileRegex } from '../inputs/goflow2/options.ts';
import { parseDuration, parseSize } from './durations.ts';
import { closest } from './suggest.ts';

type Loose = Record<string, unknown>;

function isMap(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a value's type is named in messages: YAML words, and never the value itself. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/** `key:` with no value (YAML null) is "not set". */
const notSet = (value: unknown) => (value === null ? undefined : value);

/** An option with a default, written as a user would write it (`'5m'`, `'10KiB'`) and parsed. */
function withDefault<T extends z.ZodType>(schema: T, fallback: unknown) {
  return z.preprocess(notSet, schema.prefault(fallback as never));
}

function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess(notSet, schema.optional());
}

function required<T extends z.ZodType>(schema: T) {
  return z.preprocess(notSet, schema);
}

/** A string; numbers and booleans are taken as their text. `check` returns what is wrong, if anything. */
function text(check?: (value: string) => string | undefined) {
  const base = z.string();
  return z.preprocess(
    (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
    check === undefined
      ? base
      : base.superRefine((value, ctx) => {
          const problem = check(value);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }),
  );
}

/** A credential. Its messages, like every message, never include the value. */
const secret = () => text(notEmpty);

function notEmpty(value: string): string | undefined {
  return value.trim() === '' ? 'must not be empty' : undefined;
}

/** Empty is a value of its own (every address, for a bind host); only spaces are a mistake. */
function notBlank(value: string): string | undefined {
  return value !== '' && value.trim() === '' ? 'must not be blank' : undefined;
}

/** A number written as text (`"2055"`, `1e3`, `0x1F`, `02055`, which is decimal here), or undefined. */
function numeric(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function int(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.preprocess((value) => numeric(value) ?? value, z.number().int().min(min).max(max));
}

/** YAML 1.1 (Go's YAML, so Filebeat) also reads these words as booleans. */
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['yes', true],
  ['on', true],
  ['false', false],
  ['no', false],
  ['off', false],
]);

function bool() {
  return z.preprocess(
    (value) => (typeof value === 'string' ? (BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? value) : value),
    z.boolean(),
  );
}

/** A list; a single value stands for a list of one, as in Filebeat. */
function list<T extends z.ZodType>(item: T, min = 0) {
  return z.preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z.array(item).min(min),
  );
}

/** A map of the given keys; any other key is an error that suggests the closest known key. */
function section<S extends z.ZodRawShape>(
  shape: S,
  options: {
    refine?: (value: Loose, ctx: z.RefinementCtx) => void;
    hints?: Readonly<Record<string, string>>;
  } = {},
) {
  const known = Object.keys(shape);
  return z
    .looseObject(shape)
    .superRefine(
      (value, ctx) => {
        for (const key of Object.keys(value)) {
          if (!Object.hasOwn(shape, key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: unknownKeyMessage(key, known, options.hints),
              params: { at: 'key' },
            });
          }
        }
        options.refine?.(value, ctx);
      },
      // Run even when some values are invalid, so that every problem is reported at once.
      { when: (payload) => isMap(payload.value) },
    )
    .transform((value) => {
      const picked: Loose = {};
      for (const key of known) if (value[key] !== undefined) picked[key] = value[key];
      return picked as z.output<z.ZodObject<S>>;
    });
}

function unknownKeyMessage(
  key: string,
  known: readonly string[],
  hints: Readonly<Record<string, string>> | undefined,
): string {
  const hint =
    (hints !== undefined && Object.hasOwn(hints, key) ? hints[key] : undefined) ?? closest(key, known);
  if (hint !== undefined) return `unknown key, did you mean '${hint}'?`;
  return known.length <= 8 ? `unknown key (valid keys: ${known.join(', ')})` : 'unknown key';
}

/** A Go duration (`500ms`, `30s`, `1h30m`) or a number of seconds; resolves to milliseconds. */
function duration(options: { positive?: boolean } = {}) {
  return z.unknown().transform((value, ctx) => {
    let ms: number | undefined;
    const seconds = typeof value === 'number' ? value : numeric(value);
    if (seconds !== undefined) ms = seconds * 1000;
    else if (typeof value === 'string') ms = parseDuration(value);
    if (ms === undefined || !Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message:
          typeof value === 'string'
            ? `invalid duration '${value}': use a Go duration such as 500ms, 30s, 5m or 1h30m`
            : `expected a duration such as 30s, got ${describeType(value)}`,
      });
      return z.NEVER;
    }
    if (ms < 0 || (options.positive === true && ms === 0)) {
      ctx.addIssue({
        code: 'custom',
        message: options.positive ? 'must be greater than 0' : 'must not be negative',
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A byte size (`10KiB`, `16MiB`, `64KB`) or a number of bytes; resolves to bytes. */
function size(options: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  return z.unknown().transform((value, ctx) => {
    const bytes =
      typeof value === 'number'
        ? Number.isSafeInteger(value)
          ? value
          : undefined
        : typeof value === 'string'
          ? parseSize(value)
          : undefined;
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          typeof value === 'string'
            ? `invalid size '${value}': use bytes or a size such as 10KiB or 16MiB`
            : `expected a size such as 10KiB, got ${describeType(value)}`,
      });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({
        code: 'custom',
        message: bytes < min ? `must be at least ${min} bytes` : `must be at most ${max} bytes`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}

/** A file mode: `0600` (octal, as Go's YAML and so Filebeat read it), `'0600'`, `0o600` or 384. */
function fileMode() {
  return z.unknown().transform((value, ctx) => {
    let mode: number | undefined;
    if (typeof value === 'number' && Number.isInteger(value)) mode = value;
    else if (typeof value === 'string' && /^\s*(0o?)?[0-7]{1,4}\s*$/i.test(value)) {
      mode = Number.parseInt(value.trim().replace(/^0o/i, ''), 8);
    }
    if (mode === undefined || mode < 0 || mode > 0o777) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a file mode such as 0600 (octal, with the leading 0), got ${
          mode === undefined ? describeType(value) : `${mode} (decimal)`
        }`,
      });
      return z.NEVER;
    }
    return mode;
  });
}

/** `enabled: false` (Filebeat's switch for inputs and outputs). */
function isDisabled(value: unknown): boolean {
  if (!isMap(value)) return false;
  const enabled = value.enabled;
  return (
    enabled === false ||
    (typeof enabled === 'string' && BOOLEAN_WORDS.get(enabled.trim().toLowerCase()) === false)
  );
}

function omit<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Inputs

export const NETFLOW_PROTOCOLS = ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix'] as const;
const NETFLOW_DEFAULT_PORT = 2055;

/** Ids name files under path.data (registry, template cache), so they must be safe file names. */
function checkId(id: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)
    ? undefined
    : 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (it names files under path.data)';
}

/** The data stream namespace: `logs-netflow.log-<namespace>`, with Elasticsearch's naming rules. */
function checkNamespace(namespace: string): string | undefined {
  if (namespace.length === 0 || namespace.length > 100) return 'must be 1 to 100 characters long';
  if (namespace !== namespace.toLowerCase()) return 'must be lowercase';
  if (/[\\/*?"<>|,#:\s-]/.test(namespace)) return 'must not contain \\ / * ? " < > | , # : - or spaces';
  return undefined;
}

/** Filebeat's `host: "ip:port"`, `"[v6]:port"` and `":port"` forms; undefined port when absent. */
function splitHostPort(host: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(host);
  if (bracketed !== null) {
    return { host: bracketed[1], port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  }
  const withPort = /^([^:]*):(\d+)$/.exec(host);
  if (withPort !== null) return { host: withPort[1], port: Number(withPort[2]) };
  return { host };
}

function checkBindAddress(value: Loose, ctx: z.RefinementCtx): void {
  if (typeof value.host !== 'string') return;
  const { port } = splitHostPort(value.host);
  if (port === undefined) return;
  if (port > 65535)
    ctx.addIssue({ code: 'custom', path: ['host'], message: 'the port in host must be 0 to 65535' });
  if (value.port !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['port'],
      message: 'host already has a port (host: "ip:port"); set the port in one place only',
    });
  }
}

const netflowInput = section(
  {
    type: z.literal('netflow'),
    enabled: withDefault(bool(), true),
    id: withDefault(text(checkId), 'netflow'),
    /** `""` (as Go's `":2055"`) is every address; see the transform below. */
    host: withDefault(text(notBlank), 'localhost'),
    port: optional(int(0, 65535)),
    network: withDefault(z.enum(['udp', 'udp4', 'udp6']), 'udp'),
    protocols: withDefault(list(z.enum(NETFLOW_PROTOCOLS), 1), [...NETFLOW_PROTOCOLS]),
    max_message_size: withDefault(size({ min: 1, max: 65536 }), '10KiB'),
    /** SO_RCVBUF is a C int: Node refuses 2 GiB and more (ERR_SOCKET_BUFFER_SIZE). */
    read_buffer: optional(size({ min: 1, max: 2 ** 31 - 1 })),
    timeout: withDefault(duration(), '5m'),
    /** 0 = templates and sessions never expire. */
    expiration_timeout: withDefault(duration(), '30m'),
    queue_size: withDefault(int(1), 8192),
    workers: withDefault(int(1, 1024), 1),
    /** Resolved relative to the configuration file's directory (resolvePaths). */
    custom_definitions: withDefault(list(text(notEmpty)), []),
    detect_sequence_reset: withDefault(bool(), true),
    share_templates: withDefault(bool(), false),
    internal_networks: withDefault(list(text(validateNetworkEntry)), ['private']),
    /** Datagrams from other addresses are dropped (counted) before decoding; absent = any. */
    allowed_exporters: optional(list(text((entry) => validateNetworkEntry(entry, 'allowed_exporters')))),
    /** Bounds on what senders can make the decoder hold (NETFLOW.md R8; each counted when reached). */
    limits: withDefault(
      section({
        max_sessions: withDefault(int(1), 65_536),
        max_templates_per_session: withDefault(int(1), 4_096),
        max_template_fields: withDefault(int(1), 1_000_000),
        /** Exporter label sets of the per-exporter metrics; the rest count under `other`. */
        max_exporters: withDefault(int(1, 10_000), 100),
      }),
      {},
    ),
    tags: withDefault(list(text(notEmpty)), ['netflow', 'forwarded']),
    compatibility: withDefault(z.enum(['extended', 'filebeat']), 'extended'),
    pending_data: withDefault(
      section({
        max_age: withDefault(duration({ positive: true }), '60s'),
        max_sets_per_template: withDefault(int(1), 64),
        max_sets_per_exporter: withDefault(int(1), 4096),
        max_bytes_per_exporter: withDefault(size({ min: 1 }), '4MiB'),
        max_bytes: withDefault(size({ min: 1 }), '16MiB'),
      }),
      {},
    ),
    template_cache: withDefault(
      section({
        enabled: withDefault(bool(), true),
        flush_interval: withDefault(duration({ positive: true }), '10s'),
      }),
      {},
    ),
    enrich: withDefault(
      section({
        absolute_times: withDefault(bool(), true),
        sampling_rate: withDefault(bool(), true),
        scale_counters: withDefault(bool(), false),
        options: withDefault(bool(), true),
      }),
      {},
    ),
    // Common input options.
    namespace: withDefault(text(checkNamespace), 'default'),
    fields: withDefault(z.record(z.string(), z.unknown()), {}),
    fields_under_root: withDefault(bool(), false),
    keep_null: withDefault(bool(), false),
    index: optional(text(notEmpty)),
    /** Accepted for Filebeat compatibility and ignored. */
    processors: optional(list(z.unknown())),
  },
  { refine: checkBindAddress },
).transform((input) => {
  const split = splitHostPort(input.host);
  // Go's ":2055" listens on every address: with `udp` on one dual-stack `::` socket (the
  // receiver binds 0.0.0.0 instead on a host without IPv6), with udp4 on 0.0.0.0, with udp6 on
  // `::` for IPv6 alone. The receiver treats `host: 0.0.0.0` and `host: "::"` the same way.
  const host = split.host !== '' ? split.host : input.network === 'udp4' ? '0.0.0.0' : '::';
  const port = split.port ?? input.port ?? NETFLOW_DEFAULT_PORT;
  const { type, id, ...settings } = omit(input, 'enabled', 'processors', 'host', 'port');
  return { type, id, host, port, ...settings };
});

/**
 * A regular expression as Filebeat writes them (RE2, searched unanchored in the full path): a
 * leading `(?i)` becomes the `i` flag; RE2-only syntax and anything JavaScript cannot compile is
 * reported (the tailer compiles them the same way).
 */
function regex() {
  return text((value) => {
    const compiled = compileFileRegex(value);
    return compiled instanceof RegExp ? undefined : compiled.problem;
  });
}

function checkTailer(value: Loose, ctx: z.RefinementCtx): void {
  const close = isMap(value.close) ? value.close : {};
  const state = isMap(close.on_state_change) ? close.on_state_change : {};
  const scanner = isMap(value.prospector) && isMap(value.prospector.scanner) ? value.prospector.scanner : {};
  const backoff = isMap(value.backoff) ? value.backoff : {};
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const ignoreOlder = num(value.ignore_older);
  const inactive = num(state.inactive);
  const checkInterval = num(scanner.check_interval);
  if (ignoreOlder !== undefined && ignoreOlder > 0 && inactive !== undefined && ignoreOlder <= inactive) {
    ctx.addIssue({
      code: 'custom',
      path: ['ignore_older'],
      message:
        'must be longer than close.on_state_change.inactive (a file still being read would be skipped)',
    });
  }
  const cleanInactive = num(value.clean_inactive);
  if (cleanInactive !== undefined && cleanInactive > 0) {
    if (
      ignoreOlder === undefined ||
      ignoreOlder === 0 ||
      cleanInactive <= ignoreOlder + (checkInterval ?? 0)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['clean_inactive'],
        message:
          'needs ignore_older and must be longer than ignore_older + prospector.scanner.check_interval',
      });
    }
  }
  const fingerprint = isMap(scanner.fingerprint) ? scanner.fingerprint : {};
  if (fingerprint.enabled === false && (value.file_identity ?? 'fingerprint') === 'fingerprint') {
    ctx.addIssue({
      code: 'custom',
      path: ['file_identity'],
      message: 'fingerprint needs prospector.scanner.fingerprint.enabled (or use file_identity: native)',
    });
  }
  const init = num(backoff.init);
  const max = num(backoff.max);
  if (init !== undefined && max !== undefined && init > max) {
    ctx.addIssue({
      code: 'custom',
      path: ['backoff', 'init'],
      message: 'must not be greater than backoff.max',
    });
  }
  if (max !== undefined && checkInterval !== undefined && max > checkInterval) {
    ctx.addIssue({
      code: 'custom',
      path: ['backoff', 'max'],
      message: 'must not be greater than prospector.scanner.check_interval',
    });
  }
}

/** The goflow2 input: tails GoFlow2 JSON lines (TAILER.md §2, GOFLOW2.md §3), or reads stdin. */
const goflow2Input = section(
  {
    type: z.literal('goflow2'),
    enabled: withDefault(bool(), true),
    /** Keys the registry and document ids: changing it re-reads every file. */
    id: required(text(checkId)),
    /** Read JSON lines from standard input (`goflow2 ... | flowship run`) instead of files. */
    stdin: withDefault(bool(), false),
    paths: withDefault(list(text(notEmpty), 1), ['/var/log/sflow/goflow2/*.log']),
    exclude_files: withDefault(list(regex()), ['\\.gz$']),
    include_files: withDefault(list(regex()), []),
    exclude: withDefault(list(text(notEmpty)), []),
    /** 0 = off. */
    ignore_older: withDefault(duration(), '72h'),
    close: withDefault(
      section({
        on_state_change: withDefault(
          section({
            inactive: withDefault(duration({ positive: true }), '5m'),
            removed: withDefault(bool(), false),
            renamed: withDefault(bool(), false),
            check_interval: withDefault(duration({ positive: true }), '5s'),
          }),
          {},
        ),
        reader: withDefault(section({ on_eof: withDefault(bool(), false) }), {}),
      }),
      {},
    ),
    clean_removed: withDefault(bool(), true),
    /** 0 = off. */
    clean_inactive: withDefault(duration(), 0),
    prospector: withDefault(
      section({
        scanner: withDefault(
          section({
            check_interval: withDefault(duration({ positive: true }), '10s'),
            symlinks: withDefault(bool(), false),
            fingerprint: withDefault(
              section({
                enabled: withDefault(bool(), true),
                offset: withDefault(size(), 0),
                length: withDefault(size({ min: 64, max: 1024 * 1024 }), 1024),
              }),
              {},
            ),
          }),
          {},
        ),
      }),
      {},
    ),
    file_identity: withDefault(z.enum(['fingerprint', 'native']), 'fingerprint'),
    /** 0 = unlimited. */
    harvester_limit: withDefault(int(0), 0),
    message_max_bytes: withDefault(size({ min: 1 }), '10MiB'),
    buffer_size: withDefault(size({ min: 1024, max: 64 * 1024 * 1024 }), '64KiB'),
    backoff: withDefault(
      section({
        init: withDefault(duration({ positive: true }), '2s'),
        max: withDefault(duration({ positive: true }), '10s'),
      }),
      {},
    ),
    wakeup: withDefault(bool(), true),
    flowship: withDefault(
      section({
        registry: withDefault(section({ flush: withDefault(duration(), '1s') }), {}),
      }),
      {},
    ),
    tags: withDefault(list(text(notEmpty)), ['sflow', 'forwarded']),
    preserve_original_event: withDefault(bool(), false),
    /** `local` or an IANA zone name, for event.timezone (Filebeat's add_locale). */
    timezone: withDefault(text(notEmpty), 'local'),
    timezone_format: withDefault(z.enum(['offset', 'abbreviation', 'none']), 'offset'),
    /** Split `{A}{B}` lines written by GoFlow2's concurrent writers (false: one error document). */
    split_concatenated_json: withDefault(bool(), true),
    // Common input options.
    namespace: withDefault(text(checkNamespace), 'default'),
    fields: withDefault(z.record(z.string(), z.unknown()), {}),
    fields_under_root: withDefault(bool(), false),
    keep_null: withDefault(bool(), false),
    index: optional(text(notEmpty)),
    /** Accepted for Filebeat compatibility and ignored. */
    processors: optional(list(z.unknown())),
  },
  { refine: checkTailer },
).transform((input) => omit(input, 'enabled', 'processors'));

/** Discriminated by `type`. */
const input = z.discriminatedUnion('type', [netflowInput, goflow2Input]);

function checkInputs(items: unknown, ctx: z.RefinementCtx): void {
  if (!Array.isArray(items)) return;
  if (items.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'configure at least one input' });
    return;
  }
  const stdin = items.flatMap((item, index) =>
    isMap(item) && item.type === 'goflow2' && item.stdin === true ? [index] : [],
  );
  for (const index of stdin.slice(1)) {
    ctx.addIssue({
      code: 'custom',
      path: [index, 'stdin'],
      message: `standard input is already read by flowship.inputs.${stdin[0]}; only one input can read it`,
    });
  }
  const ids = new Map<string, number>();
  const addresses = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    if (!isMap(item)) continue;
    if (typeof item.id === 'string') {
      const first = ids.get(item.id);
      if (first === undefined) ids.set(item.id, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'id'],
          message: `duplicate input id '${item.id}' (also the id of flowship.inputs.${first}); give each input a unique id`,
        });
      }
    }
    // Two sockets on one address would each get part of the traffic, or fail to bind.
    if (typeof item.host === 'string' && typeof item.port === 'number' && item.port !== 0) {
      const address = `${item.host} port ${item.port}`;
      const first = addresses.get(address);
      if (first === undefined) addresses.set(address, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'port'],
          message: `flowship.inputs.${first} already listens on ${address}`,
        });
      }
    }
  }
  if (items.every((item) => item === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'every input is disabled; enable at least one' });
  }
}

const inputs = list(z.preprocess((value) => (isDisabled(value) ? undefined : value), input.optional()))
  .superRefine(checkInputs, { when: (payload) => Array.isArray(payload.value) })
  .transform((items) => items.filter((item) => item !== undefined));

// ---------------------------------------------------------------------------------------------
// Outputs

/** An `output.<type>` section; `enabled` is consumed here and `type` says which one it was. */
function outputSection<const K extends string, S extends z.ZodRawShape>(
  type: K,
  shape: S,
  refine?: (value: Loose, ctx: z.RefinementCtx) => void,
) {
  return section({ ...shape, enabled: withDefault(bool(), true) }, { refine }).transform((value) => {
    const { enabled: _, ...settings } = value as Loose;
    return { type, ...(settings as z.output<z.ZodObject<S>>) };
  });
}

function checkElasticsearch(value: Loose, ctx: z.RefinementCtx): void {
  const cloud = isMap(value.cloud) ? value.cloud : {};
  if (cloud.id === undefined) {
    if (value.hosts === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hosts'], message: 'is required (or set cloud.id)' });
    } else if (Array.isArray(value.hosts) && value.hosts.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts'],
        message: 'must list at least one host (or set cloud.id)',
      });
    }
  }
  if (value.api_key !== undefined && (value.username !== undefined || value.password !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'cannot be combined with username/password' });
  }
  if (typeof cloud.auth === 'string' && !cloud.auth.includes(':')) {
    ctx.addIssue({ code: 'custom', path: ['cloud', 'auth'], message: 'must be username:password' });
  }
  if (value.api_key !== undefined && cloud.auth !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'cannot be combined with cloud.auth' });
  }
}

function checkBackoff(value: Loose, ctx: z.RefinementCtx): void {
  if (typeof value.init === 'number' && typeof value.max === 'number' && value.init > value.max) {
    ctx.addIssue({ code: 'custom', path: ['init'], message: 'must not be greater than backoff.max' });
  }
}

const elasticsearchOutput = outputSection(
  'elasticsearch',
  {
    /** Required unless cloud.id is set. */
    hosts: optional(list(text(notEmpty))),
    api_key: optional(secret()),
    username: optional(text(notEmpty)),
    password: optional(secret()),
    cloud: withDefault(section({ id: optional(text(notEmpty)), auth: optional(secret()) }), {}),
    ssl: withDefault(
      section({
        certificate_authorities: withDefault(list(text(notEmpty)), []),
        verification_mode: withDefault(z.enum(['full', 'strict', 'certificate', 'none']), 'full'),
      }),
      {},
    ),
    /** A plain index instead of the data streams. */
    index: optional(text(notEmpty)),
    /** Ingest pipeline; unset means none (`pipeline=_none`: flowship's documents are final). */
    pipeline: optional(text(notEmpty)),
    bulk_max_size: withDefault(int(1), 1600),
    flush_interval: withDefault(duration(), '1s'),
    workers: withDefault(int(1, 1024), 1),
    compression_level: withDefault(int(0, 9), 1),
    timeout: withDefault(duration({ positive: true }), '90s'),
    backoff: withDefault(
      section(
        {
          init: withDefault(duration({ positive: true }), '1s'),
          max: withDefault(duration({ positive: true }), '60s'),
        },
        { refine: checkBackoff },
      ),
      {},
    ),
    /**
     * Documents Elasticsearch rejects for good: NDJSON with the error. `path` defaults to
     * `<path.data>/dead-letter/elasticsearch.ndjson`; beyond `max_size` they are counted and logged only.
     */
    dead_letter: withDefault(
      section({
        enabled: withDefault(bool(), true),
        path: optional(text(notEmpty)),
        max_size: withDefault(size({ min: 1024 }), '256MiB'),
      }),
      {},
    ),
    /** As Beats' `setup.template.enabled`: install missing or older index templates on first contact. */
    setup_templates: withDefault(bool(), true),
  },
  checkElasticsearch,
);

const fileOutput = outputSection('file', {
  /** Directory, resolved relative to the working directory (resolvePaths). */
  path: withDefault(text(notEmpty), './data/events'),
  filename: withDefault(
    text((name) => (/^[^/\\]+$/.test(name) ? undefined : 'must be a file name, without a directory')),
    'flowship',
  ),
  rotate_every_kb: withDefault(int(1), 10240),
  number_of_files: withDefault(int(2, 1024), 7),
  permissions: withDefault(fileMode(), 0o600),
  rotate_on_startup: withDefault(bool(), true),
});

const consoleOutput = outputSection('console', {
  pretty: withDefault(bool(), false),
});

export const OUTPUT_TYPES = ['elasticsearch', 'file', 'console'] as const;

/** `output.console:` with nothing under it selects the console with its defaults. */
function outputEntry<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) => (value === null ? {} : isDisabled(value) ? undefined : value),
    schema.optional(),
  );
}

function checkOneOutput(value: Loose, ctx: z.RefinementCtx): void {
  const enabled = OUTPUT_TYPES.filter((type) => value[type] !== undefined);
  if (enabled.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `no output configured: enable exactly one of ${OUTPUT_TYPES.map((t) => `output.${t}`).join(', ')}`,
    });
  } else if (enabled.length > 1) {
    ctx.addIssue({
      code: 'custom',
      message: `only one output may be enabled, found ${enabled.map((t) => `output.${t}`).join(' and ')} (remove one or set enabled: false)`,
    });
  }
}

const output = section(
  {
    elasticsearch: outputEntry(elasticsearchOutput),
    file: outputEntry(fileOutput),
    console: outputEntry(consoleOutput),
  },
  { refine: checkOneOutput },
  // The refinement guarantees exactly one.
).transform((outputs) => (outputs.elasticsearch ?? outputs.file ?? outputs.console)!);

// ---------------------------------------------------------------------------------------------
// The disk queue

function checkDiskQueue(value: Loose, ctx: z.RefinementCtx): void {
  if (value.max_size === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['max_size'],
      message: 'is required (the most bytes the queue may hold)',
    });
  } else if (
    typeof value.max_size === 'number' &&
    typeof value.segment_size === 'number' &&
    value.segment_size > value.max_size / 2
  ) {
    ctx.addIssue({ code: 'custom', path: ['segment_size'], message: 'must be at most half of max_size' });
  }
}

/**
 * `queue.disk`: the netflow input writes through it (OUTPUT.md, "The queue"). `enabled: false`
 * leaves it out, as if the section were absent; `path` defaults to `<path.data>/diskqueue`
 * (resolvePaths).
 */
const diskQueue = z.preprocess(
  (value) => (isDisabled(value) ? undefined : notSet(value)),
  section(
    {
      enabled: withDefault(bool(), true),
      /** Directory; resolved relative to the working directory (resolvePaths). */
      path: optional(text(notEmpty)),
      max_size: optional(size({ min: 1024 * 1024 })),
      /** Default: min(64MiB, max_size / 4). */
      segment_size: optional(size({ min: 4096 })),
    },
    { refine: checkDiskQueue },
  )
    .transform(({ enabled: _, ...disk }) => ({ ...disk, max_size: disk.max_size! }))
    .optional(),
);

// ---------------------------------------------------------------------------------------------
// The whole configuration

export const configSchema = section(
  {
    flowship: withDefault(section({ inputs: required(inputs) }), {}),
    output: withDefault(output, {}),
    path: withDefault(
      section({
        /** Registry, disk queue, template cache; resolved relative to the working directory. */
        data: withDefault(text(notEmpty), './data'),
      }),
      {},
    ),
    /** /stats (JSON) and /metrics (Prometheus). */
    http: withDefault(
      section({
        enabled: withDefault(bool(), false),
        host: withDefault(text(notEmpty), 'localhost'),
        port: withDefault(int(0, 65535), 5066),
      }),
      {},
    ),
    queue: withDefault(
      section({
        mem: withDefault(
          section({
            events: withDefault(int(1), 4096),
            flush: withDefault(
              section({
                min_events: withDefault(int(0), 1600),
                timeout: withDefault(duration(), '1s'),
              }),
              {},
            ),
          }).transform((mem) => ({
            ...mem,
            // As in Filebeat, a batch never waits for more events than the queue holds.
            flush: { ...mem.flush, min_events: Math.min(mem.flush.min_events, mem.events) },
          })),
          {},
        ),
        disk: diskQueue,
      }),
      {},
    ),
    logging: withDefault(
      section({
        level: withDefault(z.enum(['error', 'warning', 'info', 'debug']), 'info'),
        to_stderr: withDefault(bool(), true),
        json: withDefault(bool(), false),
      }),
      {},
    ),
  },
  { hints: { filebeat: 'flowship', inputs: 'flowship.inputs' } },
);

export type Config = z.output<typeof configSchema>;
export type InputConfig = Config['flowship']['inputs'][number];
export type NetflowInputConfig = Extract<InputConfig, { type: 'netflow' }>;
export type Goflow2InputConfig = Extract<InputConfig, { type: 'goflow2' }>;
export type NetflowProtocol = (typeof NETFLOW_PROTOCOLS)[number];
export type OutputConfig = Config['output'];
export type ElasticsearchOutputConfig = Extract<OutputConfig, { type: 'elasticsearch' }>;
export type FileOutputConfig = Extract<OutputConfig, { type: 'file' }>;
export type ConsoleOutputConfig = Extract<OutputConfig, { type: 'console' }>;
export type PathConfig = Config['path'];
export type HttpConfig = Config['http'];
export type MemQueueConfig = Config['queue']['mem'];
/** `path` is always set once resolvePaths has run. */
export type DiskQueueConfig = NonNullable<Config['queue']['disk']>;
export type LoggingConfig = Config['logging'];
export type LogLevel = LoggingConfig['level'];

/**
 * Paths in `tree` (the unvalidated configuration) that are switched off with `enabled: false`:
 * problems below them (a missing variable, say) do not count, as in Filebeat.
 */
export function disabledPaths(tree: unknown): (string | number)[][] {
  const paths: (string | number)[][] = [];
  if (!isMap(tree)) return paths;
  if (isMap(tree.output)) {
    for (const type of Object.keys(tree.output))
      if (isDisabled(tree.output[type])) paths.push(['output', type]);
  }
  if (isMap(tree.queue) && isDisabled(tree.queue.disk)) paths.push(['queue', 'disk']);
  const inputList = isMap(tree.flowship) ? tree.flowship.inputs : undefined;
  if (Array.isArray(inputList)) {
    for (const [index, item] of inputList.entries())
      if (isDisabled(item)) paths.push(['flowship', 'inputs', index]);
  }
  return paths;
}

/** Makes the configured paths absolute: data paths against `cwd`, input files against `configDir`. */
export function resolvePaths(config: Config, dirs: { cwd: string; configDir: string }): Config {
  const out = config.output;
  const data = resolve(dirs.cwd, config.path.data);
  const disk = config.queue.disk;
  return {
    ...config,
    path: { ...config.path, data },
    queue:
      disk === undefined
        ? config.queue
        : {
            ...config.queue,
            disk: { ...disk, path: resolve(dirs.cwd, disk.path ?? join(data, 'diskqueue')) },
          },
    flowship: {
      ...config.flowship,
      inputs: config.flowship.inputs.map((input) =>
        input.type === 'netflow'
          ? {
              ...input,
              custom_definitions: input.custom_definitions.map((file) => resolve(dirs.configDir, file)),
            }
          : input,
      ),
    },
    output:
      out.type === 'file'
        ? { ...out, path: resolve(dirs.cwd, out.path) }
        : out.type === 'elasticsearch'
          ? {
              ...out,
              dead_letter: {
                ...out.dead_letter,
                path: resolve(
                  dirs.cwd,
                  out.dead_letter.path ?? join(data, 'dead-letter', 'elasticsearch.ndjson'),
                ),
              },
            }
          : out,
  };
}
