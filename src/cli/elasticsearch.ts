/**
 * `output.elasticsearch` from the configuration: the connection, the dead-letter file and the
 * output, plus the pipeline settings that belong to this output (Filebeat's `bulk_max_size`,
 * `flush_interval`, `workers`, `backoff.*`).
 */
import type { Config, ElasticsearchOutputConfig } from '../config/schema.ts';
import { buildNetflowParts } from '../inputs/netflow/parts.ts';
import type { Logger } from '../monitoring/logger.ts';
import type { MetricsRegistry } from '../monitoring/metrics.ts';
import { Connection, clientOptions } from '../outputs/elasticsearch/connection.ts';
import { DeadLetterFile } from '../outputs/elasticsearch/dead-letter.ts';
import { ElasticsearchOutput } from '../outputs/elasticsearch/output.ts';
import { installTemplates } from '../outputs/elasticsearch/setup.ts';
import { type IndexTemplate, indexTemplates } from '../outputs/elasticsearch/templates.ts';
import type { PipelineOptions } from '../pipeline/pipeline.ts';

export function buildConnection(out: ElasticsearchOutputConfig): Connection {
  return new Connection(clientOptions(out));
}

export function buildElasticsearchOutput(
  config: Config,
  out: ElasticsearchOutputConfig,
  logger: Logger,
  metrics?: MetricsRegistry,
): ElasticsearchOutput {
  if (out.ssl.verification_mode === 'none') {
    logger.warning('TLS verification is off (ssl.verification_mode: none): the server is not authenticated');
  }
  const connection = buildConnection(out);
  const templates = templatesFor(config);
  const dead = out.dead_letter;
  return new ElasticsearchOutput({
    connection,
    // as Beats do with setup.template.enabled: missing or older templates go in before the first bulk
    onConnect: out.setup_templates
      ? async () => {
          for (const { name, action } of await installTemplates(connection, templates)) {
            if (action !== 'unchanged') logger.info('index template', { name, action });
          }
        }
      : undefined,
    index: out.index,
    pipeline: out.pipeline,
    compressionLevel: out.compression_level,
    deadLetter:
      dead.enabled && dead.path !== undefined
        ? new DeadLetterFile({ path: dead.path, maxBytes: dead.max_size, logger })
        : undefined,
    logger,
    metrics,
  });
}

/** The pipeline settings `output.elasticsearch` carries. */
export function elasticsearchPipelineOptions(
  config: Config,
  out: ElasticsearchOutputConfig,
): Pick<PipelineOptions, 'batchSize' | 'flushIntervalMs' | 'workers' | 'backoffInitMs' | 'backoffMaxMs'> {
  return {
    // as in Filebeat, a batch never waits for more events than the memory queue holds
    batchSize: Math.min(out.bulk_max_size, config.queue.mem.events),
    flushIntervalMs: out.flush_interval,
    workers: out.workers,
    backoffInitMs: out.backoff.init,
    backoffMaxMs: out.backoff.max,
  };
}

/**
 * The index templates for this configuration: the netflow one maps the fields of every netflow
 * input's dictionary (custom definitions included), or the built-in one when there is none.
 */
export function templatesFor(config: Config): IndexTemplate[] {
  const dictionaries = config.flowship.inputs.flatMap((input) =>
    input.type === 'netflow' ? [buildNetflowParts(input).dictionary] : [],
  );
  return indexTemplates(dictionaries.length === 0 ? {} : { netflowDictionary: dictionaries });
}
