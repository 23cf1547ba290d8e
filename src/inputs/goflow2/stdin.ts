/**
 * The `goflow2` input on a pipe: `goflow2 -format json | flowship run` (TAILER.md §8, split2).
 * A pipe has no offsets, registry or truncation: documents carry no `log.file.*`/`log.offset` and
 * no id. The stream is read with backpressure (a full queue stops reading), and the input is done
 * at end of stream, when the writer exited.
 */
import type { Readable } from 'node:stream';
import split2 from 'split2';
import { GOFLOW2_DATASET, type Goflow2Normalizer } from '../../ecs/goflow2.ts';
import type { Logger } from '../../monitoring/logger.ts';
import type { MetricsRegistry } from '../../monitoring/metrics.ts';
import type { EventSink, Input } from '../input.ts';

export interface Goflow2StdinInputOptions {
  readonly id: string;
  readonly normalizer: Goflow2Normalizer;
  readonly sink: EventSink;
  readonly logger: Logger;
  /** Longer lines are skipped and counted. */
  readonly messageMaxBytes: number;
  /** Default `process.stdin`. */
  readonly stream?: Readable;
  readonly metrics?: MetricsRegistry;
}

/**
 * The lines of a pipe, as the stdin input and `flowship decode -` read them: split on `\n`, a
 * trailing `\r` removed, empty lines skipped, lines over `messageMaxBytes` reported and skipped;
 * the last line counts without its newline (the writer has exited). A stream error ends the
 * iteration with that error.
 */
export async function* pipeLines(
  stream: Readable,
  messageMaxBytes: number,
  onTooLong: (bytes: number) => void,
): AsyncGenerator<string> {
  // split2's maxLength counts UTF-16 units of a buffered partial line only: a memory guard;
  // the byte limit is checked per line below. skipOverflow (split2 >= 4) is missing from its types
  const split = split2({ maxLength: 4 * messageMaxBytes, skipOverflow: true } as split2.Options);
  const forward = (err: Error) => split.destroy(err);
  stream.on('error', forward);
  stream.pipe(split);
  try {
    for await (const raw of split as AsyncIterable<string>) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') continue;
      const bytes = Buffer.byteLength(line);
      if (bytes > messageMaxBytes) {
        onTooLong(bytes);
        continue;
      }
      yield line;
    }
  } finally {
    stream.off('error', forward);
  }
}

export interface StdinStats {
  lines_total: number;
  lines_too_long_total: number;
  documents_total: number;
}

export class Goflow2StdinInput implements Input {
  readonly id: string;
  readonly stats: StdinStats = { lines_total: 0, lines_too_long_total: 0, documents_total: 0 };
  /** Resolves at end of stream (or when stopped). */
  readonly done: Promise<void>;
  private readonly options: Goflow2StdinInputOptions;
  private readonly stream: Readable;
  private resolveDone!: () => void;
  private stopping: Promise<void> | undefined;
  private reading: Promise<void> | undefined;

  constructor(options: Goflow2StdinInputOptions) {
    this.id = options.id;
    this.options = options;
    this.stream = options.stream ?? process.stdin;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    const labels = { input: options.id };
    for (const name of ['lines_total', 'lines_too_long_total', 'documents_total'] as const) {
      options.metrics?.counter({
        name: `flowship_goflow2_stdin_${name}`,
        help: `Standard input: ${name.replaceAll('_', ' ')}.`,
        labelNames: ['input'],
        collect: () => [{ labels, value: this.stats[name] }],
      });
    }
    options.metrics?.counter({
      name: 'flowship_goflow2_pipeline_failures_total',
      help: 'Lines whose mapping failed at a pipeline step, shipped as error documents, by step tag.',
      labelNames: ['input', 'tag'],
      collect: () =>
        Object.entries(options.normalizer.stats.failures).map(([tag, value]) => ({
          labels: { ...labels, tag },
          value,
        })),
    });
  }

  start(): Promise<void> {
    this.reading ??= this.read().finally(() => this.resolveDone());
    return Promise.resolve();
  }

  private async read(): Promise<void> {
    const { normalizer, sink, logger, messageMaxBytes } = this.options;
    const onTooLong = (bytes: number) => {
      this.stats.lines_too_long_total++;
      logger.rateLimited('too_long', 60_000).warning('line longer than message_max_bytes skipped', {
        input: this.id,
        bytes,
      });
    };
    try {
      for await (const line of pipeLines(this.stream, messageMaxBytes, onTooLong)) {
        this.stats.lines_total++;
        for (const { json } of normalizer.map(line, { input: 'stdin' })) {
          await sink.publish({ json, dataset: GOFLOW2_DATASET, namespace: normalizer.dataStream.namespace });
          this.stats.documents_total++;
        }
      }
      logger.info('end of standard input', { input: this.id, lines: this.stats.lines_total });
    } catch (err) {
      // the pipeline closing while we publish ends reading; anything else is worth a line
      if (this.stopping === undefined) {
        logger.error('reading standard input failed', { input: this.id, error: (err as Error).message });
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stream.unpipe();
      this.stream.pause();
      this.resolveDone();
    })();
    return this.stopping;
  }
}
