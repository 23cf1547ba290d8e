/**
 * The `goflow2` input on files: the tailer's lines -> the GoFlow2 ECS mapper -> the pipeline.
 *
 * Files can wait, so events go in with `publish`, which blocks while the queue is full; the
 * tailer awaits each line, so a slow output pauses the readers instead of filling memory. Each
 * document carries the ack handle of its line: the registry advances only over lines whose
 * documents the output has acknowledged, and a deterministic id from (input, file identity,
 * offset, part, line) makes replays after a crash idempotent at the sink.
 */

import { GOFLOW2_DATASET, type Goflow2Document, type Goflow2Normalizer } from '../../ecs/goflow2.ts';
import { documentId } from '../../ecs/goflow2-id.ts';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import type { AckHandle, Event } from '../../pipeline/event.ts';
import type { EventSink, Input } from '../input.ts';
import type { TailedLine, TailerOptions } from './options.ts';
import { Tailer } from './tailer.ts';

export interface Goflow2InputOptions {
  readonly id: string;
  /** Everything the tailer takes but its consumer, id, logger and metrics. */
  readonly tailer: Omit<TailerOptions, 'id' | 'onLine' | 'logger' | 'metrics'>;
  readonly normalizer: Goflow2Normalizer;
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** How long `stop()` waits for in-flight lines to be acknowledged. */
  readonly shutdownTimeoutMs?: number;
}

export class Goflow2Input implements Input {
  readonly id: string;
  readonly tailer: Tailer;
  private readonly normalizer: Goflow2Normalizer;
  private readonly sink: EventSink;
  private readonly shutdownTimeoutMs: number;
  private readonly logger: Logger;
  /** Lines the mapper threw on (a bug, not bad input: bad lines become error documents). */
  mapErrors = 0;
  private stopping: Promise<void> | undefined;

  constructor(options: Goflow2InputOptions) {
    this.id = options.id;
    this.normalizer = options.normalizer;
    this.sink = options.sink;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.logger = options.logger;
    this.tailer = new Tailer({
      ...options.tailer,
      id: options.id,
      onLine: (line) => this.onLine(line),
      logger: options.logger,
      metrics: options.metrics,
    });
    options.metrics?.counter({
      name: 'flowship_goflow2_pipeline_failures_total',
      help: 'Lines whose mapping failed at a pipeline step, shipped as error documents, by step tag.',
      labelNames: ['input', 'tag'],
      collect: () =>
        Object.entries(this.normalizer.stats.failures).map(([tag, value]) => ({
          labels: { input: this.id, tag },
          value,
        })),
    });
  }

  start(): Promise<void> {
    return this.tailer.start();
  }

  /** Not `async`: a line of one document (nearly all) returns `publish`'s promise as it is. */
  private onLine(line: TailedLine): Promise<void> {
    let parts: ReturnType<Goflow2Normalizer['map']>;
    try {
      parts = this.normalizer.map(line.text, {
        input: 'filestream',
        path: line.path,
        offset: line.offset,
        device_id: line.dev,
        inode: line.ino,
        fingerprint: line.fingerprint,
      });
    } catch (err) {
      // a mapping bug must not stall the file (TAILER.md §4.4): the line is counted, logged and passed
      this.mapErrors++;
      this.logger.rateLimited(`map:${line.path}`, 60_000).error('line could not be mapped, skipped', {
        input: this.id,
        path: line.path,
        offset: line.offset,
        error: err instanceof Error ? err.message : String(err),
      });
      line.acks(0);
      return Promise.resolve();
    }
    const acks = line.acks(parts.length);
    if (parts.length === 1) return this.sink.publish(this.event(line, parts[0], acks[0]));
    return this.publishAll(line, parts, acks);
  }

  private async publishAll(
    line: TailedLine,
    parts: readonly Goflow2Document[],
    acks: AckHandle[],
  ): Promise<void> {
    // in order; a rejection (the queue closing at shutdown) leaves the rest unacknowledged: read again
    for (let i = 0; i < parts.length; i++) await this.sink.publish(this.event(line, parts[i], acks[i]));
  }

  private event(line: TailedLine, { json, part }: Goflow2Document, ack: AckHandle): Event {
    return {
      json,
      dataset: GOFLOW2_DATASET,
      namespace: this.normalizer.dataStream.namespace,
      id: () => documentId(this.id, line.fingerprint, line.offset, part, line.text),
      ack,
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.tailer.stop({ timeoutMs: this.shutdownTimeoutMs });
    return this.stopping;
  }
}
