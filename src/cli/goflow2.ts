/**
 * Builds a goflow2 input from its configuration, once, for `run` and `decode`: the mapper with
 * its options, and for files the tailer options the schema's YAML names map onto (TAILER.md §2).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config, Goflow2InputConfig } from '../config/schema.ts';
import { Goflow2Normalizer } from '../ecs/goflow2.ts';
import { Goflow2Input } from '../inputs/goflow2/goflow2-input.ts';
import type { TailerOptions } from '../inputs/goflow2/options.ts';
import { Goflow2StdinInput } from '../inputs/goflow2/stdin.ts';
import type { Input } from '../inputs/input.ts';
import type { Logger } from '../monitoring/logger.ts';
import type { MetricsRegistry } from '../monitoring/metrics.ts';
import type { MemoryQueue } from '../pipeline/memory-queue.ts';
import { FlowshipError } from '../util/errors.ts';
import { version } from './version.ts';

/**
 * `agent.id`: a UUID kept in `<path.data>/agent.json`, so one installation keeps one id across
 * restarts. Written atomically; `persist: false` (decode) only reads an existing one.
 */
function agentId(dataDir: string, persist: boolean): string | undefined {
  const file = join(dataDir, 'agent.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // first start: a new id below
  }
  if (text !== undefined) {
    try {
      const saved = JSON.parse(text) as { id?: unknown };
      if (typeof saved.id === 'string' && saved.id !== '') return saved.id;
    } catch {
      // unreadable: replaced below, as a new installation
    }
  }
  if (!persist) return undefined;
  const id = randomUUID();
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ id })}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch (err) {
    throw new FlowshipError(
      'FLOWSHIP_CONFIG',
      `path.data ${dataDir}: cannot keep the agent id: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return id;
}

/** One ephemeral id per process start, shared by every input. */
const EPHEMERAL_ID = randomUUID();

export function buildGoflow2Normalizer(
  input: Goflow2InputConfig,
  state: { readonly dataDir?: string; readonly persist: boolean },
): Goflow2Normalizer {
  const id = state.dataDir === undefined ? undefined : agentId(state.dataDir, state.persist);
  return new Goflow2Normalizer({
    tags: input.tags,
    preserveOriginalEvent: input.preserve_original_event,
    namespace: input.namespace,
    timezone: input.timezone,
    timezoneFormat: input.timezone_format,
    splitConcatenatedJson: input.split_concatenated_json,
    fields: input.fields,
    fieldsUnderRoot: input.fields_under_root,
    // decode writes no state and has no process of its own: the installation's id if there is
    // one, no ephemeral id
    agent: state.persist
      ? { name: hostname(), version: version(), id, ephemeral_id: EPHEMERAL_ID }
      : { name: hostname(), version: version(), id },
  });
}

export function tailerOptions(
  input: Goflow2InputConfig,
  dataDir: string,
): Omit<TailerOptions, 'id' | 'onLine'> {
  const state = input.close.on_state_change;
  const scanner = input.prospector.scanner;
  return {
    dataDir,
    paths: input.paths,
    excludeFiles: input.exclude_files,
    includeFiles: input.include_files,
    exclude: input.exclude,
    ignoreOlderMs: input.ignore_older,
    closeInactiveMs: state.inactive,
    closeRemoved: state.removed,
    closeRenamed: state.renamed,
    closeCheckIntervalMs: state.check_interval,
    closeOnEof: input.close.reader.on_eof,
    cleanRemoved: input.clean_removed,
    cleanInactiveMs: input.clean_inactive,
    checkIntervalMs: scanner.check_interval,
    symlinks: scanner.symlinks,
    fingerprint: scanner.fingerprint,
    fileIdentity: input.file_identity,
    harvesterLimit: input.harvester_limit,
    messageMaxBytes: input.message_max_bytes,
    bufferSize: input.buffer_size,
    backoffInitMs: input.backoff.init,
    backoffMaxMs: input.backoff.max,
    wakeup: input.wakeup,
    registryFlushMs: input.flowship.registry.flush,
  };
}

export function buildGoflow2Input(
  input: Goflow2InputConfig,
  config: Config,
  queue: MemoryQueue,
  logger: Logger,
  metrics: MetricsRegistry,
): Input {
  const normalizer = buildGoflow2Normalizer(input, { dataDir: config.path.data, persist: true });
  if (input.stdin) {
    return new Goflow2StdinInput({
      id: input.id,
      normalizer,
      sink: queue,
      logger,
      metrics,
      messageMaxBytes: input.message_max_bytes,
    });
  }
  return new Goflow2Input({
    id: input.id,
    tailer: tailerOptions(input, config.path.data),
    normalizer,
    sink: queue,
    logger,
    metrics,
  });
}
