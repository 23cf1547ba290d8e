/**
 * The dead-letter file: documents Elasticsearch rejected for good (a mapping conflict, a
 * document it can never take as it is), one NDJSON line each, so that an operator can see why,
 * fix the mapping and replay them, while the rest of the flow goes on:
 *
 *     {"@timestamp":"…","index":"logs-netflow.log-default","id":"…","status":400,
 *      "error":"document_parsing_exception: …","document":{…the document as sent…}}
 *
 * The file is bounded (`max_size`): past it, rejected documents are counted and logged, not
 * written. Lines are fsynced before `write` resolves, because the pipeline acknowledges a dead
 * document once it is here: a file line is then never read again.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../monitoring/logger.ts';

export interface DeadLetterOptions {
  /** The NDJSON file; its directory is created if missing. */
  path: string;
  /** Largest size of the file in bytes; beyond it documents are dropped (counted). */
  maxBytes: number;
  logger?: Logger;
  /** Time source for `@timestamp`; default `Date.now`. */
  now?: () => number;
}

/** One rejected document. */
export interface DeadLetter {
  index: string;
  id: string | undefined;
  status: number;
  error: string;
  /** The document's JSON text, as sent. */
  json: string;
}

export interface DeadLetterStats {
  /** Documents written to the file. */
  written: number;
  /** Documents not written because the file was full or could not be written. */
  dropped: number;
}

export class DeadLetterFile {
  readonly stats: DeadLetterStats = { written: 0, dropped: 0 };
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #file: Promise<{ handle: FileHandle; size: number }> | undefined;
  /** Writes one after another: a line is never interleaved with another. */
  #tail: Promise<void> = Promise.resolve();

  constructor(options: DeadLetterOptions) {
    this.#path = options.path;
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  get path(): string {
    return this.#path;
  }

  /** Appends the letters and fsyncs; never rejects (a failure is counted and logged). */
  write(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    const next = this.#tail.then(() => this.#write(letters));
    this.#tail = next;
    return next;
  }

  async #write(letters: readonly DeadLetter[]): Promise<void> {
    const at = new Date(this.#now()).toISOString();
    try {
      this.#file ??= this.#open();
      const file = await this.#file;
      let text = '';
      let kept = 0;
      for (const letter of letters) {
        const line = `{"@timestamp":"${at}","index":${JSON.stringify(letter.index)},"id":${JSON.stringify(letter.id ?? null)},"status":${letter.status},"error":${JSON.stringify(letter.error)},"document":${letter.json}}\n`;
        const bytes = Buffer.byteLength(line);
        if (file.size + Buffer.byteLength(text) + bytes > this.#maxBytes) {
          this.stats.dropped++;
          continue;
        }
        text += line;
        kept++;
      }
      if (kept < letters.length) {
        this.#logger
          ?.rateLimited('dead-letter-full', 60_000)
          .error('dead-letter file is full; rejected documents are dropped', {
            path: this.#path,
            max_bytes: this.#maxBytes,
            dropped_total: this.stats.dropped,
          });
      }
      if (kept === 0) return;
      await file.handle.appendFile(text);
      await file.handle.sync();
      file.size += Buffer.byteLength(text);
      this.stats.written += kept;
    } catch (err) {
      this.#file = undefined; // open again next time
      this.stats.dropped += letters.length;
      this.#logger?.rateLimited('dead-letter-error', 60_000).error('cannot write the dead-letter file', {
        path: this.#path,
        error: err,
      });
    }
  }

  async #open(): Promise<{ handle: FileHandle; size: number }> {
    await mkdir(dirname(this.#path), { recursive: true });
    const handle = await open(this.#path, 'a', 0o600);
    const { size } = await handle.stat();
    return { handle, size };
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await (await file).handle.close();
  }
}
