/**
 * `output.file`: NDJSON files with Filebeat-style rotation.
 *
 * Naming and rotation follow Filebeat 8's file output: libbeat `outputs/fileout` on the date
 * rotator of elastic-agent-libs `file/rotator.go` (Elastic, Apache-2.0; behaviour reimplemented,
 * no code copied), documented as `filebeat-{datetime}.ndjson`, `filebeat-{datetime}-1.ndjson`,
 * ... Files are never renamed; each rotation starts a new file, and the newest is the active one.
 *
 *     <path>/<filename>-<yyyymmdd>.ndjson       first file of a day
 *     <path>/<filename>-<yyyymmdd>-1.ndjson     after the first rotation that day
 *     <path>/<filename>-<yyyymmdd>-2.ndjson     ...
 *
 * The date is the local calendar date at the time the file is opened (Go's `time.Now()` in
 * Filebeat is local time too). On start the writer continues with the newest existing file;
 * with `rotate_on_startup` (the default) it starts a new one instead, if that file exists.
 *
 * Where flowship knowingly differs from Filebeat:
 * - `number_of_files` counts every file kept, the active one included (as the option's docs
 *   say); Filebeat's code passes it as the number of *backups*, keeping one more file.
 * - When appending to an existing file (`rotate_on_startup: false`), the size limit counts the
 *   bytes already in it; Filebeat starts counting from zero.
 * - The file mode is set with chmod after creation, so `permissions` holds whatever the umask.
 * - Filebeat's `%{+FORMAT}` expansion in `path` and the `codec` option are not supported.
 *
 * Rotation happens before a write that would take the active file past `rotate_every_kb`, so
 * no file exceeds it; a single document larger than the limit can never be written and is
 * reported `dead` (Filebeat drops it the same way). I/O errors never throw: the affected
 * events come back `retry`, the file is reopened on the next batch. `close()` fsyncs.
 */
import { Buffer } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { chmod, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../monitoring/logger.ts';
import type { Clock } from '../pipeline/clock.ts';
import { type Event, eventJson } from '../pipeline/event.ts';
import { ConfigError } from '../util/errors.ts';
import type { BatchResult, ItemResult, Output } from './output.ts';
import { errorText, uniformResult } from './output.ts';

export interface FileOutputOptions {
  /** Directory for the files; created (with parents) if missing. Required. */
  path: string;
  /** File name prefix; default `flowship`. */
  filename?: string;
  /** Maximum size of one file in KiB (1024 bytes); default 10240. */
  rotate_every_kb?: number;
  /** Files kept under `path`, the active one included; 2 to 1024, default 7. */
  number_of_files?: number;
  /** Mode of created files; default 0o600. Directories get rwx for the owner plus r-x for whoever may read. */
  permissions?: number;
  /** Start a new file at start instead of appending to the newest one; default true. */
  rotate_on_startup?: boolean;
  /** Source of the date in file names; default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Where I/O problems are reported (they also come back as `retry` results). */
  logger?: Logger;
}

/** Counters of the file output, for metrics. */
export interface FileOutputStats {
  /** Bytes written to files. */
  bytesWritten: number;
  /** Events written. */
  eventsWritten: number;
  /** Files started because the active one was full (or at start). */
  rotations: number;
  /** Old files deleted to respect `number_of_files`. */
  filesDeleted: number;
  /** Failed I/O operations (each one turned into `retry` results). */
  writeErrors: number;
}

const MAX_FILES = 1024;

interface Candidate {
  name: string;
  date: string;
  index: number;
}

/** The encoding buffer's first size, and the largest kept after a batch. */
const CHUNK_START = 64 * 1024;
const CHUNK_KEPT = 4 * 1024 * 1024;

export class FileOutput implements Output {
  readonly name = 'file';
  readonly #dir: string;
  readonly #filename: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #mode: number;
  readonly #dirMode: number;
  readonly #rotateOnStartup: boolean;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #logger: Logger | undefined;
  readonly #pattern: RegExp;

  /** Full path of the file being written, once the first batch chose it. */
  #active: string | undefined;
  #fh: FileHandle | undefined;
  #size = 0;
  /** Lines encoded for the file, reused from batch to batch (batches are written one at a time). */
  #chunk = Buffer.allocUnsafe(CHUNK_START);
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #stats: FileOutputStats = {
    bytesWritten: 0,
    eventsWritten: 0,
    rotations: 0,
    filesDeleted: 0,
    writeErrors: 0,
  };

  constructor(options: FileOutputOptions) {
    const {
      path,
      filename = 'flowship',
      rotate_every_kb = 10240,
      number_of_files = 7,
      permissions = 0o600,
      rotate_on_startup = true,
      clock = { now: () => Date.now() },
      logger,
    } = options;
    const problems: string[] = [];
    if (typeof path !== 'string' || path === '') problems.push('output.file.path: required');
    if (filename === '' || /[/\\]/.test(filename)) {
      problems.push(`output.file.filename: '${filename}' must be a plain file name`);
    }
    if (!Number.isInteger(rotate_every_kb) || rotate_every_kb < 1) {
      problems.push(`output.file.rotate_every_kb: must be an integer >= 1, got ${rotate_every_kb}`);
    }
    if (!Number.isInteger(number_of_files) || number_of_files < 2 || number_of_files > MAX_FILES) {
      problems.push(
        `output.file.number_of_files: must be between 2 and ${MAX_FILES}, got ${number_of_files}`,
      );
    }
    if (!Number.isInteger(permissions) || permissions < 0 || permissions > 0o777) {
      problems.push(`output.file.permissions: must be a file mode between 0 and 0777, got ${permissions}`);
    }
    if (problems.length > 0) throw new ConfigError(problems);

    this.#dir = path;
    this.#filename = filename;
    this.#maxBytes = rotate_every_kb * 1024;
    this.#maxFiles = number_of_files;
    this.#mode = permissions;
    // As Filebeat: the owner gets rwx, group and others get r-x if the file mode gives them anything.
    this.#dirMode = 0o700 | (permissions & 0o070 ? 0o050 : 0) | (permissions & 0o007 ? 0o005 : 0);
    this.#rotateOnStartup = rotate_on_startup;
    this.#clock = clock;
    this.#logger = logger;
    this.#pattern = new RegExp(`^${escapeRegExp(filename)}-(\\d{8})(?:-(\\d+))?\\.ndjson$`);
  }

  /** The file being written, or undefined before the first batch. */
  get activeFile(): string | undefined {
    return this.#active;
  }

  /** A copy of the output's counters. */
  get stats(): FileOutputStats {
    return { ...this.#stats };
  }

  send(batch: readonly Event[]): Promise<BatchResult> {
    // A batch handed over before close() is still written; close() waits for it.
    if (this.#closed) return Promise.resolve(uniformResult(batch.length, 'retry', 'output closed'));
    // Batches are written one after another: rotation decisions need the exact file size.
    const run = this.#tail.then(() => this.#write(batch));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #write(batch: readonly Event[]): Promise<BatchResult> {
    const results: ItemResult[] = new Array(batch.length);
    // the lines not yet written, encoded once into #chunk[0, pendingBytes)
    let pendingIdx: number[] = [];
    let pendingBytes = 0;
    let i = 0;
    try {
      await this.#ensureOpen();
      for (; i < batch.length; i++) {
        let bytes: number;
        try {
          // No replacer: JSON.rawJSON values and Dates serialise themselves.
          const json = eventJson(batch[i]);
          // UTF-8 takes at least a byte per UTF-16 unit: a line this long is only measured
          bytes =
            json.length + 1 > this.#maxBytes ? Buffer.byteLength(json) + 1 : this.#encode(json, pendingBytes);
        } catch (err) {
          results[i] = { status: 'dead', error: `cannot serialise document: ${errorText(err)}` };
          continue;
        }
        if (bytes > this.#maxBytes) {
          results[i] = {
            status: 'dead',
            error: `document of ${bytes} bytes exceeds rotate_every_kb (${this.#maxBytes} bytes)`,
          };
          continue;
        }
        if (this.#size + pendingBytes + bytes > this.#maxBytes) {
          await this.#flush(pendingBytes, pendingIdx.length);
          for (const j of pendingIdx) results[j] = { status: 'ok' };
          // the line goes first into the next file
          this.#chunk.copyWithin(0, pendingBytes, pendingBytes + bytes);
          pendingIdx = [];
          pendingBytes = 0;
          await this.#rotate();
        }
        pendingIdx.push(i);
        pendingBytes += bytes;
      }
      await this.#flush(pendingBytes, pendingIdx.length);
      for (const j of pendingIdx) results[j] = { status: 'ok' };
    } catch (err) {
      // Everything not yet known to be written is retried; a partly written chunk may repeat
      // (at-least-once), which the sink's deterministic ids make harmless downstream.
      const error = `file output: ${errorText(err)}`;
      this.#stats.writeErrors++;
      this.#logger?.rateLimited('file-output-io', 10_000).error('file output I/O failed', {
        file: this.#active,
        error: err,
      });
      for (const j of pendingIdx) results[j] = { status: 'retry', error };
      for (; i < batch.length; i++) results[i] ??= { status: 'retry', error };
      await this.#discardHandle();
    }
    // an unusually large batch does not keep its buffer
    if (this.#chunk.length > CHUNK_KEPT) this.#chunk = Buffer.allocUnsafe(CHUNK_START);
    return { results };
  }

  /** Opens the active file if no file is open: at the first batch, and again after an I/O error. */
  async #ensureOpen(): Promise<void> {
    if (this.#fh !== undefined) return;
    await mkdir(this.#dir, { recursive: true, mode: this.#dirMode });
    if (this.#active !== undefined) {
      await this.#openActive();
      return;
    }
    const existing = await this.#listFiles();
    const newest = existing.at(-1);
    if (newest === undefined) {
      this.#active = join(this.#dir, `${this.#filename}-${this.#today()}.ndjson`);
      await this.#openActive();
      return;
    }
    this.#active = join(this.#dir, newest.name);
    if (this.#rotateOnStartup) {
      this.#active = this.#nextName(existing);
      this.#stats.rotations++;
      await this.#purge(existing);
    }
    await this.#openActive();
  }

  /** Opens `#active` for appending (never truncating), creating it with the configured mode. */
  async #openActive(): Promise<void> {
    const active = this.#active!;
    const fh = await open(active, 'a', this.#mode);
    try {
      const st = await fh.stat();
      if (st.size === 0) await chmod(active, this.#mode);
      this.#size = st.size;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    this.#fh = fh;
  }

  /**
   * Encodes `json` and a newline into #chunk at `offset` (growing it as needed); returns the
   * line's length in bytes. Each line is encoded once: its length, for rotation, is what was
   * written.
   */
  #encode(json: string, offset: number): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit
    const room = offset + json.length * 3 + 1;
    if (room > this.#chunk.length) {
      const grown = Buffer.allocUnsafe(Math.max(room, this.#chunk.length * 2));
      this.#chunk.copy(grown, 0, 0, offset);
      this.#chunk = grown;
    }
    const written = this.#chunk.write(json, offset, 'utf8');
    this.#chunk[offset + written] = 0x0a;
    return written + 1;
  }

  /** Writes #chunk[0, length), `lines` lines, to the active file. */
  async #flush(length: number, lines: number): Promise<void> {
    if (lines === 0) return;
    const buf = this.#chunk.subarray(0, length);
    const fh = this.#fh!;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
      this.#size += bytesWritten;
      this.#stats.bytesWritten += bytesWritten;
    }
    this.#stats.eventsWritten += lines;
  }

  /** Closes the full file and starts the next one, deleting the oldest beyond `number_of_files`. */
  async #rotate(): Promise<void> {
    const fh = this.#fh!;
    this.#fh = undefined;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const existing = await this.#listFiles();
    this.#active = this.#nextName(existing);
    this.#stats.rotations++;
    await this.#purge(existing);
    await this.#openActive();
  }

  /** The name Filebeat's date rotator picks next: today's date, with index one above today's newest. */
  #nextName(existing: readonly Candidate[]): string {
    const today = this.#today();
    let maxIndex = -1;
    for (const c of existing) if (c.date === today && c.index > maxIndex) maxIndex = c.index;
    const name =
      maxIndex < 0
        ? `${this.#filename}-${today}.ndjson`
        : `${this.#filename}-${today}-${maxIndex + 1}.ndjson`;
    return join(this.#dir, name);
  }

  /** Deletes the oldest files so that at most `number_of_files` remain, counting the new active file. */
  async #purge(existing: readonly Candidate[]): Promise<void> {
    const active = this.#active;
    const others = existing.filter((c) => join(this.#dir, c.name) !== active);
    const excess = others.length - (this.#maxFiles - 1);
    for (let k = 0; k < excess; k++) {
      try {
        await unlink(join(this.#dir, others[k].name));
        this.#stats.filesDeleted++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  /** Our files under `path`, oldest first (by date, then index), as Filebeat orders them. */
  async #listFiles(): Promise<Candidate[]> {
    const names = await readdir(this.#dir);
    const found: Candidate[] = [];
    for (const name of names) {
      const m = this.#pattern.exec(name);
      if (m) found.push({ name, date: m[1], index: m[2] === undefined ? 0 : Number(m[2]) });
    }
    found.sort((a, b) => (a.date === b.date ? a.index - b.index : a.date < b.date ? -1 : 1));
    return found;
  }

  #today(): string {
    const d = new Date(this.#clock.now());
    return `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}`;
  }

  async #discardHandle(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => {});
  }

  /** Waits for the batch being written, fsyncs and closes the active file. Never rejects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#tail;
      const fh = this.#fh;
      this.#fh = undefined;
      if (fh === undefined) return;
      try {
        await fh.sync();
      } catch (err) {
        this.#stats.writeErrors++;
        this.#logger?.error('file output: fsync at close failed', { file: this.#active, error: err });
      } finally {
        await fh.close().catch(() => {});
      }
    })();
    return this.#closing;
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
