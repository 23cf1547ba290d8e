/**
 * The reader (Filebeat's harvester), one per open file (TAILER.md §4): reads at explicit
 * positions, splits lines, hands each range to the tailer (which awaits the consumer: a blocked
 * pipeline pauses the reader), and at end of file, in order:
 *
 *   1. `fstat`: a size below the position is a truncation (the scanner resolves it, §5.3);
 *   2. the close conditions (`close.reader.on_eof`, `close.on_state_change.inactive`, `.removed`);
 *   3. backs off (`backoff.init` doubling to `backoff.max`, at most the close check interval),
 *      or wakes early on a hint.
 *
 * Every read starts up to 1 KiB before the position, and those bytes must be the ones read there
 * before: a file truncated and regrown between two looks (after a wait, or even between two reads
 * of a busy reader) shows a difference that sizes cannot
 * (open-telemetry/opentelemetry-collector-contrib#43693). One read does both, so there is no
 * window between the check and the data. On opening and after each wait, under fingerprint
 * identity, the identity bytes are hashed again: a file truncated to 0 and rewritten, or a reused
 * inode, whose line ends look alike (GoFlow2's always do) is caught there.
 */
import type { Clock, TimerHandle } from '../../pipeline/clock.ts';
import { type Entry, sameReadTail } from './entry.ts';
import type { FileHandlePort } from './fs-port.ts';
import { fingerprintFile, readMarkerBytes } from './identity.ts';
import { LineSplitter, type SplitRange } from './lines.ts';
import type { ResolvedTailerOptions } from './options.ts';

export type CloseReason =
  | 'eof'
  | 'inactive'
  | 'removed'
  | 'renamed'
  | 'truncated'
  | 'changed'
  | 'replaced'
  | 'moved'
  | 'stopped'
  | 'error';

/** What a reader needs from the tailer. */
export interface ReaderHost {
  readonly options: ResolvedTailerOptions;
  readonly clock: Clock;
  /** Queues the range for acknowledgement and, for a line, awaits the consumer. */
  deliver(reader: Reader, range: SplitRange): Promise<void>;
  /** Resolves when the in-flight byte bound leaves room (at once, usually). */
  capacity(): Promise<void>;
  /** The reader stopped by itself (`truncated`/`changed`: the file's content changed under it). */
  readerClosed(reader: Reader, reason: CloseReason): void;
  readError(reader: Reader, err: unknown): void;
}

/**
 * Bytes before the position re-read and compared at each read. More than the registry marker's
 * 32: GoFlow2 lines end in the same ~100 bytes (`…"observation_point_id":0}`), so only a window
 * reaching back into the previous line's timestamp tells two line boundaries apart.
 */
export const VERIFY_BYTES = 1024;

/** A reader yields to the others after this many bytes (§4.6 fairness). */
export const TURN_BYTES = 1024 * 1024;

export class Reader {
  readonly entry: Entry;
  /** The tracker generation the reader reads for. */
  readonly generation: number;
  /** Resolves once the descriptor is closed. */
  readonly done: Promise<void>;
  readonly #host: ReaderHost;
  readonly #handle: FileHandlePort;
  readonly #splitter: LineSplitter;
  #closed: CloseReason | undefined;
  #wake: (() => void) | undefined;
  /** Ranges of the last chunk not yet delivered. */
  #undelivered = 0;
  #lastLineMs: number;
  #atEof = false;
  /** The next chunk's read, issued while the current chunk's lines are delivered. */
  #readAhead: Promise<number> | undefined;

  constructor(host: ReaderHost, entry: Entry, handle: FileHandlePort) {
    this.#host = host;
    this.entry = entry;
    this.generation = entry.tracker.generation;
    this.#handle = handle;
    this.#splitter = new LineSplitter(host.options.messageMaxBytes);
    this.#lastLineMs = host.clock.now();
    this.done = this.#run();
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  get closeReason(): CloseReason | undefined {
    return this.#closed;
  }

  /** Position reached; a new reader is needed only once the file is larger than this. */
  get readEnd(): number {
    return this.#undelivered === 0 ? this.#splitter.position : this.entry.readOffset;
  }

  /** Bytes of an unterminated line held at end of file (0 when not at end of file). */
  get heldAtEof(): number {
    return this.#atEof ? this.#splitter.held : 0;
  }

  /** Stops at the next step; never touches the entry afterwards. Idempotent. */
  close(reason: CloseReason): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    this.#wake?.();
  }

  /** Closes the descriptor now (at shutdown, for a reader still blocked in the consumer). */
  forceClose(): void {
    this.close('stopped');
    void this.#handle.close().catch(() => {});
  }

  /** A hint: data may have been appended. */
  wake(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { options, clock } = this.#host;
    const e = this.entry;
    try {
      const start = e.readOffset;
      let tail: Buffer = Buffer.alloc(0);
      if (start > 0) {
        tail = await readMarkerBytes(this.#handle, start);
        if (this.closed) return;
        if (!sameReadTail(e, tail)) {
          this.#stop('changed');
          return;
        }
      }
      if (!(await this.#identityHolds())) {
        if (!this.closed) this.#stop('changed');
        return;
      }
      this.#splitter.reset(start, tail);
      // the bytes before the position, compared at each read (see the file comment)
      let seen = tail;
      const buffer = Buffer.allocUnsafe(VERIFY_BYTES + options.bufferSize);
      let backoff = options.backoffInitMs;
      let turn = 0;
      const readAt = (position: number, verify: Buffer): Promise<number> =>
        this.#handle.read(buffer, 0, verify.length + options.bufferSize, position - verify.length);
      while (!this.closed) {
        await this.#host.capacity();
        if (this.closed) break;
        const position = this.#splitter.position;
        const got = await (this.#readAhead ?? readAt(position, seen));
        this.#readAhead = undefined;
        if (this.closed) break;
        if (got < seen.length) {
          this.#stop('truncated');
          break;
        }
        if (!buffer.subarray(0, seen.length).equals(seen)) {
          this.#stop('changed');
          break;
        }
        if (got > seen.length) {
          this.#atEof = false;
          backoff = options.backoffInitMs;
          const fresh = got - seen.length;
          const ranges = this.#splitter.push(buffer.subarray(seen.length, got));
          seen = Buffer.from(buffer.subarray(Math.max(0, got - VERIFY_BYTES), got));
          // A full chunk: the file likely has more. The lines hold copies of their bytes, so the
          // buffer is free: the next read runs on the thread pool while these are delivered.
          if (fresh === options.bufferSize) {
            const ahead = readAt(this.#splitter.position, seen);
            ahead.catch(() => {}); // handled where it is awaited (read error, or ignored once closed)
            this.#readAhead = ahead;
          }
          this.#undelivered = ranges.length;
          let lines = 0;
          for (const range of ranges) {
            if (range.kind === 'line') lines++;
            await this.#host.deliver(this, range);
            this.#undelivered--;
            if (this.closed) break;
          }
          // lines reset the inactivity clock (close.on_state_change.inactive)
          if (lines > 0) this.#lastLineMs = clock.now();
          if (this.closed) break;
          turn += fresh;
          if (turn >= TURN_BYTES) {
            turn = 0;
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          continue;
        }
        this.#atEof = true;
        const stat = await this.#handle.stat();
        if (this.closed) break;
        if (stat.size < position) {
          this.#stop('truncated');
          break;
        }
        if (options.closeOnEof) {
          this.#stop('eof');
          break;
        }
        if (options.closeRemoved && stat.nlink === 0) {
          this.#stop('removed');
          break;
        }
        if (clock.now() - this.#lastLineMs >= options.closeInactiveMs) {
          this.#stop('inactive');
          break;
        }
        await this.#sleep(Math.min(backoff, options.closeCheckIntervalMs));
        backoff = Math.min(backoff * 2, options.backoffMaxMs);
        if (this.closed) break;
        if (!(await this.#identityHolds())) {
          if (!this.closed) this.#stop('changed');
          break;
        }
      }
    } catch (err) {
      if (!this.closed) {
        this.#host.readError(this, err);
        this.#stop('error');
      }
    } finally {
      this.#wake = undefined;
      await this.#readAhead?.catch(() => 0);
      this.#readAhead = undefined;
      await this.#handle.close().catch(() => {});
    }
  }

  /** Under fingerprint identity: whether the file still starts with the entry's identity bytes. */
  async #identityHolds(): Promise<boolean> {
    const { fileIdentity, fingerprint } = this.#host.options;
    if (fileIdentity !== 'fingerprint') return true;
    return (await fingerprintFile(this.#handle, fingerprint))?.fp === this.entry.fp;
  }

  #stop(reason: CloseReason): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    this.#wake?.();
    this.#host.readerClosed(this, reason);
  }

  #sleep(ms: number): Promise<void> {
    const clock = this.#host.clock;
    return new Promise((resolve) => {
      let handle: TimerHandle;
      const done = () => {
        this.#wake = undefined;
        clock.clearTimeout(handle);
        resolve();
      };
      handle = clock.setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
