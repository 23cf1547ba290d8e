/**
 * Builds a goflow2 input from its configuration, once, for `run` and `decode`: the mapper with
 * its options, and for files the tailer options the schema's YAML names map onto (TAILER.md §2).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { version } from './version.ts';

/** `agent.id`: a UUID kept in path.data, so that one installation keeps one id across restarts. */
function agentId(dataDir: string): string {
  const file = join(dataDir, 'agent.json');
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { id?: unknown };
    if (typeof saved.id === 'string' && saved.id !== '') return saved.id;
  } catch {
    // first start, or an unreadable file: a new id
  }
  const id = randomUUID();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ id })}\n`, { mode: 0o600 });
  return id;
}

/** One ephemeral id per process start, shared by every input. */
const EPHEMERAL_ID = randomUUID();

export function buildGoflow2Normalizer(input: Goflow2InputConfig, dataDir?: string): Goflow2Normalizer {
  return new Goflow2Normalizer({
    tags: input.tags,
    preserveOriginalEvent: input.preserve_original_event,
    namespace: input.namespace,
    timezone: input.timezone,
    timezoneFormat: input.timezone_format,
    splitConcatenatedJson: input.split_concatenated_json,
    fields: input.fields,
    fieldsUnderRoot: input.fields_under_root,
    // decode (no data dir) writes no state: the same agent fields but the per-installation ids
    agent:
      dataDir === undefined
        ? { name: hostname(), version: version() }
        : { name: hostname(), version: version(), id: agentId(dataDir), ephemeral_id: EPHEMERAL_ID },
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
  const normalizer = buildGoflow2Normalizer(input, config.path.data);
  if (input.stdin) {
    return new Goflow2StdinInput({
      id: input.id,
      normalizer,
      sink: queue,
      logger,
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
