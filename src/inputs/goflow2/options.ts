/**
 * The tailer's options (TAILER.md §2), resolved once: durations in milliseconds, sizes in bytes,
 * defaults from one place. The configuration schema parses `72h`/`10MiB` and maps the YAML keys
 * onto these names:
 *
 *     YAML (TAILER.md §2)                              TailerOptions          default
 *     id                                               id                     required
 *     paths                                            paths                  [/var/log/sflow/goflow2/*.log]
 *     prospector.scanner.exclude_files                 excludeFiles           ['\.gz$']
 *     prospector.scanner.include_files                 includeFiles           []
 *     exclude                                          exclude                []
 *     ignore_older                                     ignoreOlderMs          72h (0 = off)
 *     close.on_state_change.inactive                   closeInactiveMs        5m
 *     close.on_state_change.removed                    closeRemoved           false
 *     close.on_state_change.renamed                    closeRenamed           false
 *     close.on_state_change.check_interval             closeCheckIntervalMs   5s
 *     close.reader.on_eof                              closeOnEof             false
 *     clean_removed                                    cleanRemoved           true
 *     clean_inactive                                   cleanInactiveMs        0 (off)
 *     prospector.scanner.check_interval                checkIntervalMs        10s
 *     prospector.scanner.symlinks                      symlinks               false
 *     prospector.scanner.fingerprint.{enabled,offset,length}  fingerprint     {true, 0, 1024}
 *     file_identity                                    fileIdentity           'fingerprint'
 *     harvester_limit                                  harvesterLimit         0 (unlimited)
 *     message_max_bytes                                messageMaxBytes        10 MiB
 *     buffer_size                                      bufferSize             64 KiB
 *     backoff.init / backoff.max                       backoffInitMs/MaxMs    2s / 10s
 *     wakeup                                           wakeup                 true
 *     flowship.registry.flush                          registryFlushMs        1s (0: after each ack batch)
 *     (§4.6 in-flight byte bound)                      maxInFlightBytes       64 MiB
 *     path.data                                        dataDir                required unless registryStore
 */
import { posix } from 'node:path';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import type { Clock } from '../../pipeline/clock.ts';
import type { AckHandle } from '../../pipeline/event.ts';
import { ConfigError } from '../../util/errors.ts';
import type { FsPort } from './fs-port.ts';
import type { RegistryStore } from './registry.ts';

/**
 * One complete line, handed to `onLine`.
 *
 * **Acknowledgement contract.** Before the promise returned by `onLine` settles, the consumer
 * calls `acks(parts)` once with the number of documents the line became, and gets one `AckHandle`
 * per document (attach each to its `Event`). The line's range counts as delivered when every
 * handle has been acked (a second `ack()` of one handle is ignored). `acks(0)` (or never calling
 * `acks` before `onLine` resolves) marks the range done at once: a line that yields no document.
 * If `onLine` rejects (the pipeline is closing), handles not yet obtained are never acked: the
 * range stays unacknowledged and the line is read again at the next start.
 */
export interface TailedLine {
  /** The line, UTF-8 decoded, without `\n`, `\r`, BOM or leading NULs. */
  readonly text: string;
  /** Byte length of what `text` was decoded from. */
  readonly bytes: number;
  /** The path the file was matched at (`log.file.path`). */
  readonly path: string;
  /** File offset of the line start (`log.offset`). */
  readonly offset: number;
  /** File offset of `text`'s first byte (after a BOM or a NUL run), for the offsets of parts. */
  readonly textOffset: number;
  /** File offset after the line's `\n`. */
  readonly end: number;
  /** `<input id>::<fingerprint>`: the registry entry. */
  readonly entryKey: string;
  /** The identity fingerprint (`log.file.fingerprint`, document ids). */
  readonly fingerprint: string;
  /** Decimal strings from `stat(…, {bigint: true})` (`log.file.device_id`, `log.file.inode`). */
  readonly dev: string;
  readonly ino: string;
  /** Bumped by a truncation or replacement of the file; only acks of the current one count. */
  readonly generation: number;
  /** Whether invalid UTF-8 was replaced by U+FFFD in `text` (already counted by the tailer). */
  readonly invalidUtf8: boolean;
  /** See the contract above: one handle per document; throws if called twice or too late. */
  acks(parts: number): AckHandle[];
}

export interface FingerprintOption {
  readonly enabled?: boolean;
  /** Where the identity bytes start. */
  readonly offset?: number;
  /** At most this many bytes are hashed; at least 64. */
  readonly length?: number;
}

export interface TailerOptions {
  readonly id: string;
  /** `path.data`; the registry is `${dataDir}/registry/goflow2/<id>.json`. */
  readonly dataDir?: string;
  /** Where the registry is kept instead of `dataDir` (tests). */
  readonly registryStore?: RegistryStore;
  /** Called for each line in file order per file, awaited: a slow consumer pauses the readers. */
  readonly onLine: (line: TailedLine) => Promise<void>;
  readonly paths?: readonly string[];
  /** JS regular expressions (a leading `(?i)` = the `i` flag), searched in the path and symlink target. */
  readonly excludeFiles?: readonly string[];
  readonly includeFiles?: readonly string[];
  /** Globs; without a slash they match the base name. */
  readonly exclude?: readonly string[];
  readonly ignoreOlderMs?: number;
  readonly closeInactiveMs?: number;
  readonly closeRemoved?: boolean;
  readonly closeRenamed?: boolean;
  readonly closeOnEof?: boolean;
  readonly closeCheckIntervalMs?: number;
  readonly cleanRemoved?: boolean;
  readonly cleanInactiveMs?: number;
  readonly checkIntervalMs?: number;
  readonly symlinks?: boolean;
  readonly fingerprint?: FingerprintOption;
  readonly fileIdentity?: 'fingerprint' | 'native';
  readonly harvesterLimit?: number;
  readonly messageMaxBytes?: number;
  readonly bufferSize?: number;
  readonly backoffInitMs?: number;
  readonly backoffMaxMs?: number;
  readonly wakeup?: boolean;
  readonly registryFlushMs?: number;
  readonly maxInFlightBytes?: number;
  readonly logger?: Logger;
  readonly metrics?: MetricsRegistry;
  readonly clock?: Clock;
  readonly fs?: FsPort;
}

/** Everything resolved: what the tailer reads on its hot paths. */
export interface ResolvedTailerOptions {
  readonly id: string;
  readonly paths: readonly string[];
  readonly excludeFiles: readonly RegExp[];
  readonly includeFiles: readonly RegExp[];
  readonly exclude: readonly string[];
  readonly ignoreOlderMs: number;
  readonly closeInactiveMs: number;
  readonly closeRemoved: boolean;
  readonly closeRenamed: boolean;
  readonly closeOnEof: boolean;
  readonly closeCheckIntervalMs: number;
  readonly cleanRemoved: boolean;
  readonly cleanInactiveMs: number;
  readonly checkIntervalMs: number;
  readonly symlinks: boolean;
  readonly fingerprint: { readonly enabled: boolean; readonly offset: number; readonly length: number };
  readonly fileIdentity: 'fingerprint' | 'native';
  readonly harvesterLimit: number;
  readonly messageMaxBytes: number;
  readonly bufferSize: number;
  readonly backoffInitMs: number;
  readonly backoffMaxMs: number;
  readonly wakeup: boolean;
  readonly registryFlushMs: number;
  readonly maxInFlightBytes: number;
}

export const TAILER_DEFAULTS = {
  paths: ['/var/log/sflow/goflow2/*.log'],
  excludeFiles: ['\\.gz$'],
  includeFiles: [] as string[],
  exclude: [] as string[],
  ignoreOlderMs: 72 * 3_600_000,
  closeInactiveMs: 5 * 60_000,
  closeRemoved: false,
  closeRenamed: false,
  closeOnEof: false,
  closeCheckIntervalMs: 5_000,
  cleanRemoved: true,
  cleanInactiveMs: 0,
  checkIntervalMs: 10_000,
  symlinks: false,
  fingerprint: { enabled: true, offset: 0, length: 1024 },
  fileIdentity: 'fingerprint',
  harvesterLimit: 0,
  messageMaxBytes: 10 * 1024 * 1024,
  bufferSize: 64 * 1024,
  backoffInitMs: 2_000,
  backoffMaxMs: 10_000,
  wakeup: true,
  registryFlushMs: 1_000,
  maxInFlightBytes: 64 * 1024 * 1024,
} as const;

/** RE2 syntax JavaScript lacks or reads differently (§2: a config error, not a silent mismatch). */
const RE2_ONLY: ReadonlyArray<[RegExp, string]> = [
  [/\(\?P?</, 'named groups are written (?<name>…) in JavaScript; (?P<name>…) is RE2'],
  [/\(\?[imsU-]+[:)]/, 'inline flags are RE2-only, except a leading (?i)'],
  [/\\[zACQE]/, '\\z, \\A, \\C, \\Q…\\E are RE2-only'],
  [/\[\[:[a-z]+:\]/, 'POSIX classes such as [[:alpha:]] are RE2-only'],
  [/\\[pP][A-Za-z]/, 'one-letter Unicode classes (\\pL) are RE2-only; write \\p{L}'],
];

/**
 * Compiles an `exclude_files`/`include_files` pattern: JavaScript syntax, searched unanchored; a
 * leading `(?i)` becomes the `i` flag. Returns the expression or the problem.
 */
export function compileFileRegex(source: string): RegExp | { problem: string } {
  let body = source;
  let flags = '';
  if (body.startsWith('(?i)')) {
    body = body.slice(4);
    flags = 'i';
  }
  for (const [re, why] of RE2_ONLY) {
    if (re.test(body)) return { problem: `'${source}': ${why}` };
  }
  try {
    return new RegExp(body, /\\p\{/.test(body) ? `${flags}u` : flags);
  } catch (err) {
    return { problem: `'${source}': ${(err as Error).message}` };
  }
}

/** Applies defaults and checks the constraints of §2; throws `ConfigError` listing every problem. */
export function resolveTailerOptions(options: TailerOptions): ResolvedTailerOptions {
  const d = TAILER_DEFAULTS;
  const problems: string[] = [];
  const regexes = (key: string, list: readonly string[]): RegExp[] =>
    list.flatMap((s) => {
      const r = compileFileRegex(s);
      if (r instanceof RegExp) return [r];
      problems.push(`${key}: ${r.problem}`);
      return [];
    });
  const fp = {
    enabled: options.fingerprint?.enabled ?? d.fingerprint.enabled,
    offset: options.fingerprint?.offset ?? d.fingerprint.offset,
    length: options.fingerprint?.length ?? d.fingerprint.length,
  };
  const r: ResolvedTailerOptions = {
    id: options.id,
    paths: (options.paths ?? d.paths).map((p) => posix.resolve(p)),
    excludeFiles: regexes('exclude_files', options.excludeFiles ?? d.excludeFiles),
    includeFiles: regexes('include_files', options.includeFiles ?? d.includeFiles),
    exclude: options.exclude ?? d.exclude,
    ignoreOlderMs: options.ignoreOlderMs ?? d.ignoreOlderMs,
    closeInactiveMs: options.closeInactiveMs ?? d.closeInactiveMs,
    closeRemoved: options.closeRemoved ?? d.closeRemoved,
    closeRenamed: options.closeRenamed ?? d.closeRenamed,
    closeOnEof: options.closeOnEof ?? d.closeOnEof,
    closeCheckIntervalMs: options.closeCheckIntervalMs ?? d.closeCheckIntervalMs,
    cleanRemoved: options.cleanRemoved ?? d.cleanRemoved,
    cleanInactiveMs: options.cleanInactiveMs ?? d.cleanInactiveMs,
    checkIntervalMs: options.checkIntervalMs ?? d.checkIntervalMs,
    symlinks: options.symlinks ?? d.symlinks,
    fingerprint: fp,
    fileIdentity: options.fileIdentity ?? d.fileIdentity,
    harvesterLimit: options.harvesterLimit ?? d.harvesterLimit,
    messageMaxBytes: options.messageMaxBytes ?? d.messageMaxBytes,
    bufferSize: options.bufferSize ?? d.bufferSize,
    backoffInitMs: options.backoffInitMs ?? d.backoffInitMs,
    backoffMaxMs: options.backoffMaxMs ?? d.backoffMaxMs,
    wakeup: options.wakeup ?? d.wakeup,
    registryFlushMs: options.registryFlushMs ?? d.registryFlushMs,
    maxInFlightBytes: options.maxInFlightBytes ?? d.maxInFlightBytes,
  };
  if (r.id === '') problems.push('id: required');
  if (options.dataDir === undefined && options.registryStore === undefined) {
    problems.push('path.data: required for the registry');
  }
  if (r.paths.length === 0) problems.push('paths: at least one glob');
  const positive = (key: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${key}: must be > 0, got ${v}`);
  };
  const nonNegative = (key: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0)) problems.push(`${key}: must be >= 0, got ${v}`);
  };
  positive('close.on_state_change.inactive', r.closeInactiveMs);
  positive('close.on_state_change.check_interval', r.closeCheckIntervalMs);
  positive('prospector.scanner.check_interval', r.checkIntervalMs);
  positive('message_max_bytes', r.messageMaxBytes);
  positive('buffer_size', r.bufferSize);
  positive('backoff.init', r.backoffInitMs);
  positive('max_in_flight_bytes', r.maxInFlightBytes);
  nonNegative('ignore_older', r.ignoreOlderMs);
  nonNegative('clean_inactive', r.cleanInactiveMs);
  nonNegative('flowship.registry.flush', r.registryFlushMs);
  nonNegative('prospector.scanner.fingerprint.offset', fp.offset);
  if (!Number.isInteger(r.harvesterLimit) || r.harvesterLimit < 0) {
    problems.push(`harvester_limit: must be an integer >= 0, got ${r.harvesterLimit}`);
  }
  if (!Number.isInteger(fp.length) || fp.length < 64) {
    problems.push(`prospector.scanner.fingerprint.length: must be an integer >= 64, got ${fp.length}`);
  }
  if (r.fileIdentity === 'fingerprint' && !fp.enabled) {
    problems.push('file_identity: fingerprint needs prospector.scanner.fingerprint.enabled: true');
  }
  if (r.fileIdentity !== 'fingerprint' && r.fileIdentity !== 'native') {
    problems.push(`file_identity: fingerprint or native, got ${String(r.fileIdentity)}`);
  }
  if (r.ignoreOlderMs > 0 && r.ignoreOlderMs <= r.closeInactiveMs) {
    problems.push('ignore_older: must exceed close.on_state_change.inactive');
  }
  if (r.cleanInactiveMs > 0 && r.cleanInactiveMs <= r.ignoreOlderMs + r.checkIntervalMs) {
    problems.push('clean_inactive: must exceed ignore_older + prospector.scanner.check_interval');
  }
  if (!(r.backoffInitMs <= r.backoffMaxMs && r.backoffMaxMs <= r.checkIntervalMs)) {
    problems.push('backoff: requires backoff.init <= backoff.max <= prospector.scanner.check_interval');
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `inputs.${options.id}: ${p}`));
  return r;
}
