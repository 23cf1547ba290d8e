/**
 * The dead-letter file: documents Elasticsearch rejected for good (a mapping conflict, a
 * document it can never take as it is), one NDJSON line each, so that an operator can see why,
 * fix the mapping and replay them, while the rest of the flow goes on:
 *
 *     {"@timestamp":"…","index":"logs-netflow.log-default","id":"…","status":400,
 *      "error":"document_parsing_exception: …","document":{…the document as sent…}}
 *
 * The file is bounded (`max_size`): past it, rejected documents are counted and logged, not
 * written (the documented policy). Lines are fsynced before `write` resolves, because the
 * pipeline acknowledges a dead document once it is here: a file line is then never read again.
 * A write that fails is reported, and its documents are retried instead of acknowledged.
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
  /** Documents not written because the file was full (the policy: counted, logged, acknowledged). */
  dropped: number;
  /** Writes that failed (their documents are sent again, not acknowledged). */
  writeErrors: number;
}

export class DeadLetterFile {
  readonly stats: DeadLetterStats = { written: 0, dropped: 0, writeErrors: 0 };
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #file: Promise<{ handle: FileHandle; size: number }> | undefined;
  /** Writes one after another: a line is never interleaved with another. */
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: DeadLetterOptions) {
    this.#path = options.path;
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * Appends the letters and fsyncs. Resolves true when every letter is in the file or was
   * dropped by the size policy (counted); false when the write failed (counted and logged): the
   * caller must not acknowledge them then. Never rejects.
   */
  write(letters: readonly DeadLetter[]): Promise<boolean> {
    if (letters.length === 0) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    const next = this.#tail.then(() => this.#write(letters));
    this.#tail = next.then(() => {});
    return next;
  }

  async #write(letters: readonly DeadLetter[]): Promise<boolean> {
    const at = new Date(this.#now()).toISOString();
    let file: { handle: FileHandle; size: number } | undefined;
    try {
      this.#file ??= this.#open();
      file = await this.#file;
      let text = '';
      let bytes = 0;
      let kept = 0;
      let full = 0;
      for (const letter of letters) {
        const line = `{"@timestamp":"${at}","index":${JSON.stringify(letter.index)},"id":${JSON.stringify(letter.id ?? null)},"status":${letter.status},"error":${JSON.stringify(letter.error)},"document":${letter.json}}\n`;
        const size = Buffer.byteLength(line);
        if (file.size + bytes + size > this.#maxBytes) {
          full++;
          continue;
        }
        text += line;
        bytes += size;
        kept++;
      }
      if (full > 0) {
        this.stats.dropped += full;
        this.#logger
          ?.rateLimited('dead-letter-full', 60_000)
          .error('dead-letter file is full; rejected documents are dropped', {
            path: this.#path,
            max_bytes: this.#maxBytes,
            dropped_total: this.stats.dropped,
          });
      }
      if (kept === 0) return true;
      await file.handle.appendFile(text);
      await file.handle.sync();
      file.size += bytes;
      this.stats.written += kept;
      return true;
    } catch (err) {
      // open again next time; the handle that failed is closed, not leaked
      const failed = this.#file;
      this.#file = undefined;
      failed?.then((f) => f.handle.close()).catch(() => {});
      this.stats.writeErrors++;
      this.#logger?.rateLimited('dead-letter-error', 60_000).error('cannot write the dead-letter file', {
        path: this.#path,
        error: err,
      });
      return false;
    }
  }

  async #open(): Promise<{ handle: FileHandle; size: number }> {
    await mkdir(dirname(this.#path), { recursive: true });
    const handle = await open(this.#path, 'a', 0o600);
    try {
      const { size } = await handle.stat();
      return { handle, size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await (await file).handle.close();
  }
}
