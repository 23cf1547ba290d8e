/**
 * `output.console`: one JSON document per line on a stream (stdout by default), as Filebeat's
 * console output does with its JSON codec. `pretty` indents each document over several lines
 * (then the output is a stream of JSON texts rather than strict NDJSON, as in Filebeat).
 *
 * Backpressure: a `send` resolves only once the stream has taken the batch (the write callback
 * has fired and the stream is below its high-water mark), so a slow reader on the other end of
 * a pipe slows the pipeline, fills the queue and pauses the file inputs instead of buffering
 * without bound in this process.
 */
import type { Writable } from 'node:stream';
import { type Event, eventDocument, eventJson } from '../pipeline/event.ts';
import type { BatchResult, ItemResult, Output } from './output.ts';
import { errorText, uniformResult } from './output.ts';

export interface ConsoleOutputOptions {
  /** Where to write; default `process.stdout`. The stream belongs to the caller: `close()` never ends it. */
  stream?: Writable;
  /** Indent documents (2 spaces) for humans; default false. */
  pretty?: boolean;
}

export class ConsoleOutput implements Output {
  readonly name = 'console';
  readonly #stream: Writable;
  readonly #indent: number | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ConsoleOutputOptions = {}) {
    const { stream = process.stdout, pretty = false } = options;
    this.#stream = stream;
    this.#indent = pretty ? 2 : undefined;
  }

  send(batch: readonly Event[]): Promise<BatchResult> {
    // A batch handed over before close() is still written; close() waits for it.
    if (this.#closed) return Promise.resolve(uniformResult(batch.length, 'retry', 'output closed'));
    // One batch at a time keeps documents from two workers from interleaving mid-line.
    const run = this.#tail.then(() => this.#write(batch));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #write(batch: readonly Event[]): Promise<BatchResult> {
    const results: ItemResult[] = new Array(batch.length);
    const written: number[] = [];
    let text = '';
    for (let i = 0; i < batch.length; i++) {
      try {
        // No replacer: JSON.rawJSON values and Dates serialise themselves.
        const event = batch[i];
        text += `${this.#indent === undefined ? eventJson(event) : JSON.stringify(eventDocument(event), null, this.#indent)}\n`;
        written.push(i);
      } catch (err) {
        results[i] = { status: 'dead', error: `cannot serialise document: ${errorText(err)}` };
      }
    }
    if (written.length > 0) {
      const error = await writeFully(this.#stream, text);
      for (const i of written)
        results[i] = error === undefined ? { status: 'ok' } : { status: 'retry', error };
    }
    return { results };
  }

  /** Waits for an in-flight batch to reach the stream; never ends the stream. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#tail;
    })();
    return this.#closing;
  }
}

/**
 * Writes `chunk` and resolves once the stream has processed it and is not asking for a drain;
 * resolves with the error text instead of throwing when the stream fails.
 */
function writeFully(stream: Writable, chunk: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) {
      resolve('stream is closed');
      return;
    }
    let done = false;
    const finish = (error: string | undefined): void => {
      if (done) return;
      done = true;
      stream.off('error', onError);
      stream.off('close', onClose);
      stream.off('drain', onDrain);
      resolve(error);
    };
    const onError = (err: unknown): void => finish(`stream error: ${errorText(err)}`);
    const onClose = (): void => finish('stream closed');
    const onDrain = (): void => {
      if (written) finish(undefined);
    };
    let written = false;
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.on('drain', onDrain);
    stream.write(chunk, (err) => {
      if (err) {
        finish(`write failed: ${errorText(err)}`);
        return;
      }
      written = true;
      if (!stream.writableNeedDrain) finish(undefined);
    });
  });
}
