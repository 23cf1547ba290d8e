/**
 * `flowship run`: start the configured inputs, the pipeline and the output; on SIGINT/SIGTERM
 * stop the inputs, drain the queue through the output, and exit 0.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { Config, NetflowInputConfig } from '../config/schema.ts';
import { parseNetworks } from '../ecs/locality.ts';
import { Goflow2Input } from '../inputs/goflow2/goflow2-input.ts';
import type { EventSink, Input } from '../inputs/input.ts';
import { NetflowInput } from '../inputs/netflow/netflow-input.ts';
import { buildNetflowParts } from '../inputs/netflow/parts.ts';
import { templateCachePath } from '../inputs/netflow/template-cache.ts';
import { MonitoringServer } from '../monitoring/http.ts';
import { createLogger, type Logger } from '../monitoring/logger.ts';
import { MetricsRegistry } from '../monitoring/metrics.ts';
import { ConsoleOutput } from '../outputs/console.ts';
import { FileOutput } from '../outputs/file.ts';
import type { Output } from '../outputs/output.ts';
import { DiskSpool } from '../pipeline/disk-spool.ts';
import { MemoryQueue } from '../pipeline/memory-queue.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { FlowshipError } from '../util/errors.ts';
import { buildElasticsearchOutput, elasticsearchPipelineOptions } from './elasticsearch.ts';
import { buildGoflow2Input } from './goflow2.ts';
import { checkRunnable } from './runnable.ts';

/** How long a shutdown may spend draining the queue into the output. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface RunOptions {
  readonly configFile?: string;
  readonly overrides: readonly string[];
  /** Resolves when the process should stop (signals in production, a promise in tests). */
  readonly stopSignal?: Promise<string>;
}

function buildOutput(config: Config, logger: Logger, metrics: MetricsRegistry): Output {
  const out = config.output;
  switch (out.type) {
    case 'file':
      return new FileOutput({ ...out, logger: logger.child('output.file') });
    case 'console':
      return new ConsoleOutput({ pretty: out.pretty });
    case 'elasticsearch':
      return buildElasticsearchOutput(config, out, logger.child('output.elasticsearch'), metrics);
  }
}

function buildNetflowInput(
  input: NetflowInputConfig,
  config: Config,
  sink: EventSink,
  logger: Logger,
  metrics: MetricsRegistry,
): Input {
  const { dictionary, normalizer } = buildNetflowParts(input);
  return new NetflowInput({
    id: input.id,
    host: input.host,
    port: input.port,
    network: input.network,
    protocols: input.protocols,
    maxMessageSize: input.max_message_size,
    readBuffer: input.read_buffer,
    queueSize: input.queue_size,
    expirationTimeoutMs: input.expiration_timeout,
    detectSequenceReset: input.detect_sequence_reset,
    shareTemplates: input.share_templates,
    compatibility: input.compatibility,
    pending: {
      maxAgeMs: input.pending_data.max_age,
      maxSetsPerTemplate: input.pending_data.max_sets_per_template,
      maxSetsPerExporter: input.pending_data.max_sets_per_exporter,
      maxBytesPerExporter: input.pending_data.max_bytes_per_exporter,
      maxBytes: input.pending_data.max_bytes,
    },
    limits: {
      maxSessions: input.limits.max_sessions,
      maxTemplatesPerSession: input.limits.max_templates_per_session,
      maxTemplateFields: input.limits.max_template_fields,
    },
    maxExporters: input.limits.max_exporters,
    allowedExporters:
      input.allowed_exporters === undefined
        ? undefined
        : parseNetworks(input.allowed_exporters, 'allowed_exporters'),
    workers: {
      count: input.workers,
      config: input,
      // only Elasticsearch sends document ids; the others would spend a digest per record for nothing
      documentIds: config.output.type === 'elasticsearch',
    },
    // R4 changes what is decoded after a restart: not in filebeat compatibility
    templateCache:
      input.template_cache.enabled && input.compatibility === 'extended'
        ? {
            path: templateCachePath(config.path.data, input.id),
            flushIntervalMs: input.template_cache.flush_interval,
          }
        : undefined,
    dictionary,
    normalizer,
    sink,
    logger,
    metrics,
  });
}

/**
 * The inputs; UDP ones write through the disk queue when there is one (`spool`), file inputs
 * always go to the memory queue (their registry makes them durable already).
 */
function buildInputs(
  config: Config,
  queue: MemoryQueue,
  spool: DiskSpool | undefined,
  logger: Logger,
  metrics: MetricsRegistry,
): Input[] {
  return config.flowship.inputs.map((input) => {
    const log = logger.child(`input.${input.id}`);
    return input.type === 'netflow'
      ? buildNetflowInput(input, config, spool ?? queue, log, metrics)
      : buildGoflow2Input(input, config, queue, log, metrics);
  });
}

/** The disk queue the netflow inputs write through, when `queue.disk` is set and one is configured. */
async function openSpool(
  config: Config,
  queue: MemoryQueue,
  logger: Logger,
  metrics: MetricsRegistry,
): Promise<DiskSpool | undefined> {
  const disk = config.queue.disk;
  if (disk === undefined) return undefined;
  if (!config.flowship.inputs.some((input) => input.type === 'netflow')) {
    logger.info('queue.disk is set but no netflow input uses it (file inputs keep their own registry)');
    return undefined;
  }
  return DiskSpool.open({
    path: disk.path ?? join(config.path.data, 'diskqueue'),
    maxBytes: disk.max_size,
    segmentBytes: disk.segment_size,
    memoryQueue: queue,
    logger: logger.child('queue.disk'),
    metrics,
  });
}

function signalPromise(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Creates path.data; a failure is a configuration error, printed without a stack trace. */
function createDataPath(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new FlowshipError(
      'FLOWSHIP_CONFIG',
      `path.data ${path} cannot be created: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export async function run(options: RunOptions): Promise<number> {
  const config = loadConfig({ file: options.configFile, overrides: [...options.overrides] });
  checkRunnable(config);
  createDataPath(config.path.data);
  const logger = createLogger({ level: config.logging.level, format: config.logging.json ? 'json' : 'text' });
  const stopSignal = options.stopSignal ?? signalPromise();
  // logs go to stderr, which systemd/journald owns: nothing to reopen, but SIGHUP must not kill us
  const onHangup = () => logger.info('SIGHUP received: nothing to reopen (logs go to stderr)');
  process.on('SIGHUP', onHangup);

  const metrics = new MetricsRegistry();
  const queue = new MemoryQueue({ maxEvents: config.queue.mem.events });
  const output = buildOutput(config, logger, metrics);
  const pipeline = new Pipeline({
    queue,
    output,
    batchSize: Math.max(1, config.queue.mem.flush.min_events),
    flushIntervalMs: config.queue.mem.flush.timeout,
    ...(config.output.type === 'elasticsearch' ? elasticsearchPipelineOptions(config, config.output) : {}),
    metrics,
    logger: logger.child('pipeline'),
  });
  let spool: DiskSpool | undefined;
  let inputs: Input[];
  try {
    spool = await openSpool(config, queue, logger, metrics);
    inputs = buildInputs(config, queue, spool, logger, metrics);
  } catch (err) {
    // nothing ran yet: release what was opened (the output's connections, the disk queue)
    await spool?.close();
    await output.close();
    throw err;
  }
  let http: MonitoringServer | undefined;
  // Signal handlers do not keep Node alive, inputs without a socket (files) hold nothing, and
  // the waits of a shutdown use unref'd timers: a referenced timer keeps the process running
  // from start to the end of the drain.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  try {
    pipeline.start();
    spool?.start();
    for (const input of inputs) await input.start();
    if (config.http.enabled) {
      http = new MonitoringServer({
        registry: metrics,
        host: config.http.host,
        port: config.http.port,
        logger,
      });
      await http.listen();
    }
    logger.info('flowship started', { inputs: inputs.map((i) => i.id), output: output.name });
    // pipes end by themselves: when every input is one and all have ended, so does run
    const ended = inputs.every((i) => i.done !== undefined)
      ? Promise.all(inputs.map((i) => i.done)).then(() => 'end of input')
      : new Promise<string>(() => {});
    const signal = await Promise.race([stopSignal, ended]);
    logger.info('stopping', { signal });
  } finally {
    // UDP inputs stop at once and hand over what they hold before the queue closes; file inputs
    // wait for their lines to be acknowledged, so they stop while the pipeline drains (one
    // shared budget), and write their registry once the acknowledgements are in
    const waiting = inputs.filter((i) => i instanceof Goflow2Input);
    await Promise.all(inputs.filter((i) => !(i instanceof Goflow2Input)).map((i) => i.stop()));
    // the disk queue keeps what the pipeline has not taken yet for the next start; what it has
    // taken is acknowledged into the ledger while the pipeline drains
    await spool?.stop();
    const stops = waiting.map((i) => i.stop());
    const result = await pipeline.stop({ timeoutMs: DRAIN_TIMEOUT_MS });
    await Promise.all(stops);
    await spool?.close();
    if (!result.drained) logger.warning('stopped before the queue was drained', { left: result.left });
    await http?.close();
    process.off('SIGHUP', onHangup);
    clearInterval(keepAlive);
  }
  logger.info('flowship stopped');
  return 0;
}
