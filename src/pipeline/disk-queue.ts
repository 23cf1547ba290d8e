/**
 * The disk queue: a bounded, segmented, append-only log of opaque records with acknowledgements
 * in any order (OUTPUT.md, "The queue"). It stores bytes and knows nothing of events; the spool
 * (disk-spool.ts) puts events in and takes them out.
 *
 * Files under `path`:
 *
 *   segment-0000000000000007.dat   records, appended; a new segment once one passes segmentBytes
 *   segment-0000000000000008.dat   ...
 *   ledger.json                    {"version":1,"segment":7,"offset":40960}: every record before
 *                                  that position is acknowledged (written via ledger.json.tmp,
 *                                  fsync, rename, so it is either the old or the new one)
 *
 * A record in a segment, big-endian (no padding, records follow each other):
 *
 *   offset  size    field
 *   +-------+-------+--------------------------------------------------------------+
 *   | 0     | 4     | length: payload bytes, 1 .. 64 MiB (0 is never written)      |
 *   | 4     | 4     | crc32(payload) (zlib's CRC-32, as in gzip and PNG)           |
 *   | 8     | len   | payload                                                      |
 *   +-------+-------+--------------------------------------------------------------+
 *
 * Life of a record:
 *
 *   append() ──► chunk buffer ──(setImmediate, one writev per batch)──► segment file
 *   read()   ◄── only what the file holds (`written`), never a buffered record
 *   ack(p)   ──► in-flight window ──(contiguous prefix)──► ack position ──(every ledgerIntervalMs,
 *                                                          and on close)──► ledger.json
 *
 * The in-flight window holds every record handed out by `read` and not yet behind the
 * acknowledged prefix, in file order; positions are window sequence numbers (this process
 * only). Corrupt regions the reader skips enter it as already acknowledged, so the prefix passes
 * them:
 *
 *   position:  base   base+1  base+2  base+3 ...  base+count-1
 *   state:     [ 0  |   1   |   2   |   0   | ... ]   0 unacked, 1 acked, 2 skipped (corrupt)
 *   (segment, end offset, frame bytes) per slot; popping acked slots off the front moves the
 *   ack position to the popped slot's (segment, end offset).
 *
 * Guarantees. A record is safe against a crash of the process (SIGKILL included) once the write
 * that carried it has completed, which happens within one turn of the event loop after `append`
 * returned true unless the disk is slow; `flush()` waits for it. It is safe against a crash of
 * the machine once fsync'd: segment data is synced when a segment is sealed, at every ledger
 * write (`ledgerIntervalMs`) and on close. After a restart every record not behind the ledger's
 * position is read again (at least once); acknowledgements after the last ledger write are
 * replayed too.
 *
 * Budget. `maxBytes` bounds the bytes the queue holds: live segment files plus appends not yet
 * written. A segment's bytes leave the budget when the whole segment is behind the
 * acknowledged prefix and it is deleted. When an append would exceed the budget it is refused
 * and counted (drop the newest). Appends buffered in memory are further bounded by
 * `maxBufferBytes` (a stalled disk must not fill memory).
 *
 * At open: segments behind the ledger are deleted; the rest are scanned from the ledger's
 * position with every CRC checked. A torn tail (a frame cut short, or a bad frame with no valid
 * frame after it in the newest segment) is truncated and counted. A bad frame elsewhere is
 * skipped alone when the frame after it is valid, otherwise the rest of its segment is skipped;
 * either way it is logged with the file and offset and counted, never thrown. Appends then go to
 * a new segment. Opening costs one sequential read of the unacknowledged data.
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type Logger, silentLogger } from '../monitoring/logger.ts';
import type { MetricsRegistry } from '../monitoring/metrics.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { FlowshipError } from '../util/errors.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';

/** Where a record sits; opaque, valid only for the `DiskQueue` that returned it. */
export type Position = number;

export interface QueueRecord {
  position: Position;
  /** The record's bytes: a view on a buffer that is never reused, safe to keep. */
  payload: Buffer;
}

export interface DiskQueueOptions {
  /** Directory of the segments and the ledger; created if missing. */
  path: string;
  /** Most bytes held (segment files plus buffered appends); at least 16 KiB. */
  maxBytes: number;
  /** Size at which a segment is sealed and a new one started; default min(64 MiB, maxBytes / 4), at least 4 KiB. */
  segmentBytes?: number;
  /** Longest wait between ledger writes (and data syncs), in ms; default 1000. */
  ledgerIntervalMs?: number;
  /** Most bytes of appends waiting in memory for their write; default min(32 MiB, maxBytes). */
  maxBufferBytes?: number;
  logger?: Logger;
  /** Registry for the `flowship_diskqueue_*` metrics. */
  metrics?: MetricsRegistry;
  /** Timer source for ledger writes; default the system clock. */
  clock?: Clock;
}

/** Counters and gauges of a disk queue. */
export interface DiskQueueStats {
  /** Records appended and not yet behind the acknowledged prefix (gauge). */
  pendingRecords: number;
  /** Frame bytes of those records (gauge). */
  pendingBytes: number;
  /** Bytes counted against maxBytes: live segment files plus buffered appends (gauge). */
  usedBytes: number;
  maxBytes: number;
  /** Live segment files, the one being appended to included (gauge). */
  segments: number;
  /** Records accepted by `append`. */
  appended: number;
  /** Appends refused because the queue or its write buffer was full, or it was closed. */
  droppedFull: number;
  /** Failed writes (each may carry many records). */
  writeErrors: number;
  /** Records accepted by `append` whose write then failed. */
  lost: number;
  /** Torn tails truncated at open. */
  tornTailsRepaired: number;
  /** Records lost to CRC or framing errors (at open, or when read). */
  corruptRecordsSkipped: number;
  /** Records acknowledged (behind the prefix). */
  acked: number;
}

const HEADER = 8;
/** Longest payload; a larger length field is corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 4096;
const MIN_MAX_BYTES = 16 * 1024;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
const LEDGER = 'ledger.json';
const SEGMENT_NAME = /^segment-(\d{16})\.dat$/;
const EMPTY = Buffer.alloc(0);

const UNACKED = 0;
const ACKED = 1;
const SKIPPED = 2;

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(16, '0')}.dat`;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Bytes assigned to this segment: written plus buffered (minus writes that failed). */
  size: number;
  /** Bytes in the file, in whole frames; readers stop here. */
  written: number;
  /** Bytes known to be fsync'd. */
  synced: number;
  /** No more appends go here. */
  sealed: boolean;
  /** Write handle (the segment being appended to, until sealed and settled). */
  fh: FileHandle | undefined;
  /** Corrupt regions found at open: frame offset -> offset to resume at. */
  skips: Map<number, number> | undefined;
}

interface Chunk {
  seg: Segment;
  buf: Buffer;
  len: number;
  records: number;
}

/** A sliding window over a file: `ensure` makes a byte range available, in a fresh buffer each refill. */
class ChunkReader {
  buf: Buffer = EMPTY;
  /** File offset of `buf[0]`. */
  start = 0;
  readonly #fh: FileHandle;
  readonly #chunk: number;

  constructor(fh: FileHandle, chunk: number) {
    this.#fh = fh;
    this.#chunk = chunk;
  }

  has(offset: number, n: number): boolean {
    return offset >= this.start && offset + n <= this.start + this.buf.length;
  }

  /**
   * Makes [offset, offset + n) available, reading ahead up to `limit`. Resolves false if the file
   * ends first. Buffers are never reused, so views handed out stay valid.
   */
  async ensure(offset: number, n: number, limit: number): Promise<boolean> {
    if (this.has(offset, n)) return true;
    if (offset + n > limit) return false;
    const end = Math.min(limit, offset + Math.max(n, this.#chunk));
    const next = Buffer.allocUnsafe(end - offset);
    let have = 0;
    const bufEnd = this.start + this.buf.length;
    if (offset >= this.start && offset < bufEnd) {
      have = this.buf.copy(next, 0, offset - this.start, this.buf.length);
    }
    while (have < next.length) {
      const { bytesRead } = await this.#fh.read(next, have, next.length - have, offset + have);
      if (bytesRead === 0) break;
      have += bytesRead;
    }
    this.buf = have === next.length ? next : next.subarray(0, have);
    this.start = offset;
    return offset + n <= this.start + this.buf.length;
  }
}

/** The state of the frame at `offset` in a reader's buffer. */
function frameAt(r: ChunkReader, offset: number): 'ok' | 'crc' | 'length' {
  const b = offset - r.start;
  const len = r.buf.readUInt32BE(b);
  if (len === 0 || len > MAX_RECORD_BYTES) return 'length';
  return crc32(r.buf.subarray(b + HEADER, b + HEADER + len)) === r.buf.readUInt32BE(b + 4) ? 'ok' : 'crc';
}

export class DiskQueue {
  readonly path: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly #ledgerIntervalMs: number;
  readonly #maxBufferBytes: number;
  readonly #logger: Logger;
  readonly #clock: Clock;

  /** Live segments, oldest first; the last one is appended to. */
  #segments: Segment[] = [];
  #nextSeq = 0;

  // Writing
  #chunks: Chunk[] = [];
  #pool: Buffer[] = [];
  #bufferedBytes = 0;
  #flushScheduled = false;
  #writing: Promise<void> | undefined;

  // Reading
  #rSeg: Segment | undefined;
  #rOffset = 0;
  #rFh: FileHandle | undefined;
  #rReader: ChunkReader | undefined;
  #readChain: Promise<unknown> = Promise.resolve();
  #wakers: Array<() => void> = [];

  // The in-flight window (see the file comment)
  #wCap = 1024;
  #wHead = 0;
  #wCount = 0;
  #wBase = 0;
  #wSeg = new Float64Array(1024);
  #wEnd = new Float64Array(1024);
  #wBytes = new Float64Array(1024);
  #wState = new Uint8Array(1024);

  // Acknowledged prefix and ledger
  #ackSeg = 0;
  #ackOffset = 0;
  #ledgerSeg = -1;
  #ledgerOffset = -1;
  #ledgerWriting: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #deleting = new Set<Promise<void>>();

  #usedBytes = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  readonly #stats = {
    pendingRecords: 0,
    pendingBytes: 0,
    appended: 0,
    droppedFull: 0,
    writeErrors: 0,
    lost: 0,
    tornTailsRepaired: 0,
    corruptRecordsSkipped: 0,
    acked: 0,
  };

  private constructor(options: DiskQueueOptions) {
    const {
      path,
      maxBytes,
      segmentBytes,
      ledgerIntervalMs = 1000,
      maxBufferBytes,
      logger = silentLogger,
      clock = systemClock,
    } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_MAX_BYTES) {
      throw new RangeError(`disk queue maxBytes must be an integer >= ${MIN_MAX_BYTES}, got ${maxBytes}`);
    }
    if (!Number.isFinite(ledgerIntervalMs) || ledgerIntervalMs < 0) {
      throw new RangeError(`disk queue ledgerIntervalMs must be >= 0, got ${ledgerIntervalMs}`);
    }
    this.path = path;
    this.maxBytes = maxBytes;
    const defaultSegment = Math.max(
      MIN_SEGMENT_BYTES,
      Math.min(DEFAULT_SEGMENT_BYTES, Math.floor(maxBytes / 4)),
    );
    let segment = segmentBytes ?? defaultSegment;
    // A segment is freed only once wholly acknowledged: one as large as the budget would make
    // the queue refuse appends while most of it is acknowledged. Clamp, and say so.
    const largest = Math.max(MIN_SEGMENT_BYTES, Math.floor(maxBytes / 2));
    if (!Number.isSafeInteger(segment) || segment < MIN_SEGMENT_BYTES || segment > largest) {
      const clamped = Number.isFinite(segment)
        ? Math.min(largest, Math.max(MIN_SEGMENT_BYTES, Math.floor(segment)))
        : defaultSegment;
      logger.warning('disk queue segment size out of range; clamped', {
        segment_bytes: segmentBytes,
        using: clamped,
        max_bytes: maxBytes,
      });
      segment = clamped;
    }
    this.segmentBytes = segment;
    this.#ledgerIntervalMs = ledgerIntervalMs;
    this.#maxBufferBytes = Math.max(CHUNK_BYTES, maxBufferBytes ?? Math.min(32 * 1024 * 1024, maxBytes));
    this.#logger = logger;
    this.#clock = clock;
  }

  /** Opens (or creates) the queue in `options.path`, repairing what a crash left behind. */
  static async open(options: DiskQueueOptions): Promise<DiskQueue> {
    const queue = new DiskQueue(options);
    await queue.#recover();
    if (options.metrics !== undefined) queue.#registerMetrics(options.metrics);
    queue.#armTimer();
    return queue;
  }

  /** A copy of the counters and gauges. */
  get stats(): DiskQueueStats {
    return {
      ...this.#stats,
      usedBytes: this.#usedBytes,
      maxBytes: this.maxBytes,
      segments: this.#segments.length,
    };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // -------------------------------------------------------------------------------------------
  // Appending

  /**
   * Queues `payload` for writing (copied; the caller may reuse its buffer). Never waits and never
   * throws for I/O: returns false, counted in `droppedFull`, when the queue is closed, full
   * (`maxBytes`), or its write buffer is full. A write that fails later is logged and counted in
   * `writeErrors`/`lost`. Empty payloads and payloads over 64 MiB are programming errors
   * (RangeError).
   */
  append(payload: Uint8Array): boolean {
    const len = payload.length;
    if (len === 0 || len > MAX_RECORD_BYTES) {
      throw new RangeError(`disk queue records must be 1 to ${MAX_RECORD_BYTES} bytes, got ${len}`);
    }
    const frame = HEADER + len;
    if (
      this.#closed ||
      this.#usedBytes + frame > this.maxBytes ||
      this.#bufferedBytes + frame > this.#maxBufferBytes
    ) {
      this.#stats.droppedFull++;
      if (!this.#closed) {
        this.#logger.rateLimited('diskqueue-full', 10_000).warning('disk queue full; dropping new records', {
          path: this.path,
          used_bytes: this.#usedBytes,
          max_bytes: this.maxBytes,
          buffered_bytes: this.#bufferedBytes,
          dropped: this.#stats.droppedFull,
        });
      }
      return false;
    }
    let seg = this.#segments[this.#segments.length - 1];
    if (seg.size > 0 && seg.size + frame > this.segmentBytes) seg = this.#startSegment();
    let chunk = this.#chunks[this.#chunks.length - 1];
    if (chunk === undefined || chunk.seg !== seg || chunk.len + frame > chunk.buf.length) {
      chunk = { seg, buf: this.#allocChunk(frame), len: 0, records: 0 };
      this.#chunks.push(chunk);
    }
    const buf = chunk.buf;
    const at = chunk.len;
    buf.writeUInt32BE(len, at);
    buf.writeUInt32BE(crc32(payload), at + 4);
    buf.set(payload, at + HEADER);
    chunk.len += frame;
    chunk.records++;
    seg.size += frame;
    this.#usedBytes += frame;
    this.#bufferedBytes += frame;
    this.#stats.pendingBytes += frame;
    this.#stats.pendingRecords++;
    this.#stats.appended++;
    if (!this.#flushScheduled && this.#writing === undefined) {
      this.#flushScheduled = true;
      setImmediate(this.#startWriting);
    }
    return true;
  }

  /**
   * Resolves once every append made before the call has been written (or has failed), and every
   * segment deletion already started has finished.
   */
  async flush(): Promise<void> {
    while (this.#writing !== undefined || this.#chunks.length > 0) {
      this.#kick();
      await this.#writing;
    }
    await Promise.all(this.#deleting);
  }

  #startSegment(): Segment {
    const last = this.#segments[this.#segments.length - 1];
    if (last !== undefined) last.sealed = true;
    const seq = this.#nextSeq++;
    const seg: Segment = {
      seq,
      path: join(this.path, segmentName(seq)),
      size: 0,
      written: 0,
      synced: 0,
      sealed: false,
      fh: undefined,
      skips: undefined,
    };
    this.#segments.push(seg);
    // A sealed segment whose writes are all done is closed now; otherwise by the writer.
    if (last !== undefined && last.written === last.size) void this.#settleSealed(last);
    return seg;
  }

  #allocChunk(frame: number): Buffer {
    if (frame > CHUNK_BYTES) return Buffer.allocUnsafeSlow(frame);
    return this.#pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  readonly #startWriting = (): void => {
    this.#flushScheduled = false;
    this.#kick();
  };

  /** Starts the writer unless it runs or there is nothing to write. */
  #kick(): void {
    if (this.#writing !== undefined || this.#chunks.length === 0) return;
    this.#writing = this.#writeLoop()
      .catch((err: unknown) => {
        this.#logger.error('disk queue writer failed', { path: this.path, error: err });
      })
      .finally(() => {
        this.#writing = undefined;
        this.#kick();
      });
  }

  /** Writes chunks until none are left; appends made meanwhile form the next batch. */
  async #writeLoop(): Promise<void> {
    while (this.#chunks.length > 0) {
      const chunks = this.#chunks;
      this.#chunks = [];
      let i = 0;
      while (i < chunks.length) {
        let j = i + 1;
        while (j < chunks.length && chunks[j].seg === chunks[i].seg) j++;
        await this.#writeGroup(chunks[i].seg, chunks.slice(i, j));
        i = j;
      }
    }
  }

  /** One positional writev of consecutive chunks of one segment. */
  async #writeGroup(seg: Segment, chunks: Chunk[]): Promise<void> {
    let bytes = 0;
    let records = 0;
    const buffers: Buffer[] = [];
    for (const c of chunks) {
      bytes += c.len;
      records += c.records;
      buffers.push(c.buf.subarray(0, c.len));
    }
    try {
      seg.fh ??= await open(seg.path, seg.written === 0 ? 'w' : 'r+');
      await writeFully(seg.fh, buffers, seg.written);
      seg.written += bytes;
    } catch (err) {
      // The records are gone; the next write goes where these would have started, and a part
      // that did reach the file is cut off (or, failing that, overwritten or cut at open).
      seg.size -= bytes;
      this.#usedBytes -= bytes;
      this.#stats.pendingBytes -= bytes;
      this.#stats.pendingRecords -= records;
      this.#stats.writeErrors++;
      this.#stats.lost += records;
      this.#logger.rateLimited('diskqueue-write', 10_000).error('disk queue write failed; records lost', {
        file: seg.path,
        records,
        bytes,
        error: err,
      });
      await seg.fh?.truncate(seg.written).catch(() => {});
    }
    this.#bufferedBytes -= bytes;
    for (const c of chunks) if (c.buf.length === CHUNK_BYTES && this.#pool.length < 4) this.#pool.push(c.buf);
    if (seg.sealed && seg.written === seg.size) await this.#settleSealed(seg);
    this.#wake();
  }

  /** A sealed segment with all its writes done: synced (data written before the next segment) and closed. */
  async #settleSealed(seg: Segment): Promise<void> {
    const fh = seg.fh;
    if (fh === undefined) return;
    seg.fh = undefined;
    await this.#sync(seg, fh);
    await fh.close().catch(() => {});
    this.#wake();
    this.#collect();
  }

  async #sync(seg: Segment, fh: FileHandle): Promise<void> {
    const upTo = seg.written;
    if (seg.synced >= upTo) return;
    try {
      await fh.datasync();
      seg.synced = Math.max(seg.synced, upTo);
    } catch (err) {
      this.#stats.writeErrors++;
      this.#logger.rateLimited('diskqueue-sync', 10_000).error('disk queue fsync failed', {
        file: seg.path,
        error: err,
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /**
   * Up to `maxRecords` records after the last one read, oldest first. Waits until at least one
   * has been written; resolves `[]` once the queue is closed or `signal` aborts. Only records
   * already in the file are returned. Calls are served one after the other. Corrupt records are
   * skipped and counted; a read error rejects with `FLOWSHIP_QUEUE_CORRUPT` (try again later).
   */
  read(maxRecords: number, signal?: AbortSignal): Promise<QueueRecord[]> {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      return Promise.reject(new RangeError(`read maxRecords must be an integer >= 1, got ${maxRecords}`));
    }
    const p = this.#readChain.then(() => this.#read(maxRecords, signal));
    this.#readChain = p.catch(() => {});
    return p;
  }

  async #read(max: number, signal: AbortSignal | undefined): Promise<QueueRecord[]> {
    const out: QueueRecord[] = [];
    for (;;) {
      if (this.#closed || signal?.aborted) return out;
      const seg = this.#rSeg!;
      const need = this.#parse(seg, max, out);
      if (out.length > 0) return out;
      if (need > 0) {
        try {
          this.#rFh ??= await open(seg.path, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
            throw queueError(`cannot read ${seg.path}`, err);
          this.#corrupt(seg, this.#rOffset, seg.written, 'the segment file is gone');
          continue;
        }
        this.#rReader ??= new ChunkReader(this.#rFh, READ_CHUNK_BYTES);
        if (!(await this.#rReader.ensure(this.#rOffset, need, seg.written))) {
          // The file is shorter than what was written to it: someone truncated it.
          this.#corrupt(seg, this.#rOffset, seg.written, 'the segment file is shorter than expected');
        }
        continue;
      }
      const next = this.#segments[this.#segments.indexOf(seg) + 1];
      if (seg.sealed && seg.written === seg.size && this.#rOffset >= seg.written && next !== undefined) {
        await this.#moveReader(next);
        continue;
      }
      await this.#waitForData(signal);
    }
  }

  /**
   * Takes the frames available in memory, up to `max` in all. Returns 0 when done (max reached, or
   * nothing more written yet), or the number of bytes needed in memory at the read offset.
   */
  #parse(seg: Segment, max: number, out: QueueRecord[]): number {
    const r = this.#rReader;
    while (out.length < max) {
      const o = this.#rOffset;
      const skipTo = seg.skips?.get(o);
      if (skipTo !== undefined) {
        this.#pushWindow(seg.seq, skipTo, skipTo - o, SKIPPED);
        this.#rOffset = skipTo;
        continue;
      }
      const limit = seg.written;
      if (o >= limit) return 0;
      if (r === undefined || !r.has(o, HEADER)) return HEADER;
      const b = o - r.start;
      const len = r.buf.readUInt32BE(b);
      if (len === 0 || len > MAX_RECORD_BYTES || o + HEADER + len > limit) {
        this.#corrupt(seg, o, limit, 'bad record length');
        continue;
      }
      const frame = HEADER + len;
      if (!r.has(o, frame)) return frame;
      const payload = r.buf.subarray(b + HEADER, b + frame);
      if (crc32(payload) !== r.buf.readUInt32BE(b + 4)) {
        this.#corrupt(seg, o, o + frame, 'CRC mismatch');
        continue;
      }
      const position = this.#pushWindow(seg.seq, o + frame, frame, UNACKED);
      this.#rOffset = o + frame;
      out.push({ position, payload });
    }
    return 0;
  }

  /** Corruption met while reading (not known at open): skipped up to `to`, counted as one record. */
  #corrupt(seg: Segment, offset: number, to: number, reason: string): void {
    this.#stats.corruptRecordsSkipped++;
    this.#stats.pendingRecords--;
    this.#logger.rateLimited('diskqueue-corrupt', 10_000).error('disk queue record corrupt; skipped', {
      file: seg.path,
      offset,
      skipped_bytes: to - offset,
      reason,
    });
    this.#pushWindow(seg.seq, to, to - offset, SKIPPED);
    this.#rOffset = to;
  }

  async #moveReader(next: Segment): Promise<void> {
    const fh = this.#rFh;
    this.#rFh = undefined;
    this.#rReader = undefined;
    this.#rSeg = next;
    this.#rOffset = 0;
    // Everything read so far is acknowledged: the prefix reaches the start of the next segment.
    if (this.#wCount === 0) {
      this.#ackSeg = next.seq;
      this.#ackOffset = 0;
    }
    await fh?.close().catch(() => {});
    this.#collect();
  }

  #waitForData(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = (): void => resolve();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#wakers.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  #wake(): void {
    if (this.#wakers.length === 0) return;
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const w of wakers) w();
  }

  // -------------------------------------------------------------------------------------------
  // Acknowledging

  /**
   * Acknowledges the record at `position`, in any order. The ledger advances over the contiguous
   * acknowledged prefix. Unknown, repeated, or after-close acknowledgements are ignored.
   */
  ack(position: Position): void {
    if (this.#closed) return;
    const i = position - this.#wBase;
    if (!(i >= 0 && i < this.#wCount)) return;
    const idx = (this.#wHead + i) & (this.#wCap - 1);
    if (this.#wState[idx] !== UNACKED) return;
    this.#wState[idx] = ACKED;
    if (i === 0) this.#advance();
  }

  #pushWindow(seq: number, end: number, bytes: number, state: number): Position {
    if (this.#wCount === this.#wCap) this.#growWindow();
    const idx = (this.#wHead + this.#wCount) & (this.#wCap - 1);
    this.#wSeg[idx] = seq;
    this.#wEnd[idx] = end;
    this.#wBytes[idx] = bytes;
    this.#wState[idx] = state;
    const position = this.#wBase + this.#wCount;
    this.#wCount++;
    if (state === SKIPPED && this.#wCount === 1) this.#advance();
    return position;
  }

  #growWindow(): void {
    const cap = this.#wCap * 2;
    const seg = new Float64Array(cap);
    const end = new Float64Array(cap);
    const bytes = new Float64Array(cap);
    const state = new Uint8Array(cap);
    for (let i = 0; i < this.#wCount; i++) {
      const idx = (this.#wHead + i) & (this.#wCap - 1);
      seg[i] = this.#wSeg[idx];
      end[i] = this.#wEnd[idx];
      bytes[i] = this.#wBytes[idx];
      state[i] = this.#wState[idx];
    }
    this.#wSeg = seg;
    this.#wEnd = end;
    this.#wBytes = bytes;
    this.#wState = state;
    this.#wCap = cap;
    this.#wHead = 0;
  }

  /** Pops the acknowledged front of the window into the ack position. */
  #advance(): void {
    const mask = this.#wCap - 1;
    const stats = this.#stats;
    let moved = false;
    while (this.#wCount > 0) {
      const idx = this.#wHead;
      const state = this.#wState[idx];
      if (state === UNACKED) break;
      this.#ackSeg = this.#wSeg[idx];
      this.#ackOffset = this.#wEnd[idx];
      stats.pendingBytes -= this.#wBytes[idx];
      if (state === ACKED) {
        stats.pendingRecords--;
        stats.acked++;
      }
      this.#wHead = (idx + 1) & mask;
      this.#wCount--;
      this.#wBase++;
      moved = true;
    }
    if (moved) this.#collect();
  }

  /** Deletes the oldest segments once they are wholly behind the ack position. */
  #collect(): void {
    while (this.#segments.length > 1) {
      const s = this.#segments[0];
      const behind = this.#ackSeg > s.seq || (this.#ackSeg === s.seq && this.#ackOffset >= s.written);
      if (!(s.sealed && s.written === s.size && s.fh === undefined && behind && s !== this.#rSeg)) return;
      this.#segments.shift();
      this.#usedBytes -= s.size;
      const p: Promise<void> = rm(s.path, { force: true })
        .catch((err: unknown) => {
          this.#logger.rateLimited('diskqueue-delete', 10_000).error('disk queue segment delete failed', {
            file: s.path,
            error: err,
          });
        })
        .finally(() => this.#deleting.delete(p));
      this.#deleting.add(p);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The ledger

  #armTimer(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#persist().finally(() => this.#armTimer());
    }, this.#ledgerIntervalMs);
  }

  /** Syncs the segment being appended to, then writes the ledger if the ack position moved. */
  #persist(): Promise<void> {
    const run = async (): Promise<void> => {
      const active = this.#segments[this.#segments.length - 1];
      if (active?.fh !== undefined) await this.#sync(active, active.fh);
      const seg = this.#ackSeg;
      const offset = this.#ackOffset;
      if (seg === this.#ledgerSeg && offset === this.#ledgerOffset) return;
      try {
        await writeFileAtomic(
          join(this.path, LEDGER),
          `${JSON.stringify({ version: 1, segment: seg, offset })}\n`,
        );
        this.#ledgerSeg = seg;
        this.#ledgerOffset = offset;
      } catch (err) {
        this.#stats.writeErrors++;
        this.#logger.rateLimited('diskqueue-ledger', 10_000).error('disk queue ledger write failed', {
          path: this.path,
          error: err,
        });
      }
    };
    const p = this.#ledgerWriting.then(run);
    this.#ledgerWriting = p;
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // Opening

  async #recover(): Promise<void> {
    await mkdir(this.path, { recursive: true });
    await rm(join(this.path, `${LEDGER}.tmp`), { force: true });
    const seqs = (await readdir(this.path))
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const ledger = await this.#readLedger(seqs.length > 0);
    let start = { seg: seqs[0] ?? 0, offset: 0 };
    if (ledger !== undefined) {
      start = ledger;
      for (const seq of seqs.filter((s) => s < ledger.seg)) {
        await rm(join(this.path, segmentName(seq)), { force: true });
      }
    }
    const live = seqs.filter((s) => s >= start.seg);
    this.#ackSeg = start.seg;
    this.#ackOffset = start.offset;
    this.#ledgerSeg = ledger?.seg ?? -1;
    this.#ledgerOffset = ledger?.offset ?? -1;
    for (const [i, seq] of live.entries()) {
      const from = seq === start.seg ? start.offset : 0;
      await this.#scan(seq, from, i === live.length - 1);
    }
    this.#nextSeq = Math.max(start.seg, ...seqs) + 1;
    const active = this.#startSegment();
    this.#rSeg = this.#segments[0];
    this.#rOffset = this.#rSeg === active || this.#rSeg.seq !== start.seg ? 0 : start.offset;
    this.#collect();
    const pending = this.#stats.pendingRecords;
    if (pending > 0 || this.#stats.tornTailsRepaired > 0 || this.#stats.corruptRecordsSkipped > 0) {
      this.#logger.info('disk queue opened', {
        path: this.path,
        pending_records: pending,
        pending_bytes: this.#stats.pendingBytes,
        segments: this.#segments.length,
        torn_tails_repaired: this.#stats.tornTailsRepaired,
        corrupt_records_skipped: this.#stats.corruptRecordsSkipped,
      });
    }
  }

  /** The ledger's position, or undefined (missing or unreadable: everything is replayed). */
  async #readLedger(haveSegments: boolean): Promise<{ seg: number; offset: number } | undefined> {
    const file = join(this.path, LEDGER);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw queueError(`cannot read ${file}`, err);
      if (haveSegments) {
        this.#logger.warning('disk queue ledger missing; replaying every segment', { file });
      }
      return undefined;
    }
    try {
      const value = JSON.parse(text) as { version?: unknown; segment?: unknown; offset?: unknown };
      if (
        value.version === 1 &&
        Number.isSafeInteger(value.segment) &&
        Number.isSafeInteger(value.offset) &&
        (value.segment as number) >= 0 &&
        (value.offset as number) >= 0
      ) {
        return { seg: value.segment as number, offset: value.offset as number };
      }
    } catch {
      // reported below
    }
    this.#logger.warning('disk queue ledger unreadable; replaying every segment', { file });
    return undefined;
  }

  /** Scans one segment from `from`, checking every frame; repairs or records what is wrong. */
  async #scan(seq: number, from: number, newest: boolean): Promise<void> {
    const path = join(this.path, segmentName(seq));
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (err) {
      throw queueError(`cannot open ${path}`, err);
    }
    try {
      let size = (await fh.stat()).size;
      const r = new ChunkReader(fh, SCAN_CHUNK_BYTES);
      let o = Math.min(from, size);
      let records = 0;
      let skips: Map<number, number> | undefined;
      while (o < size) {
        // undefined: a sound frame; 'torn': cut the file here; a number: skip to that offset.
        let problem: 'torn' | number | undefined;
        if (!(await r.ensure(o, HEADER, size))) problem = 'torn';
        else {
          const len = r.buf.readUInt32BE(o - r.start);
          const end = o + HEADER + len;
          const plausible = len !== 0 && len <= MAX_RECORD_BYTES;
          if (plausible && end > size) problem = 'torn';
          else if (plausible && (await r.ensure(o, end - o, size)) && frameAt(r, o) === 'ok') {
            records++;
            o = end;
            continue;
          }
          // A bad frame: skipped alone when a sound frame follows it; otherwise the newest
          // segment's tail is torn, an older segment's rest is lost.
          else if (plausible && end < size && (await validAt(fh, end, size))) problem = end;
          else problem = newest ? 'torn' : size;
        }
        const torn = problem === 'torn';
        const resume = problem === 'torn' || problem === undefined ? size : problem;
        if (torn) {
          this.#stats.tornTailsRepaired++;
          this.#logger.warning('disk queue segment has a torn tail; truncated', {
            file: path,
            offset: o,
            cut_bytes: size - o,
          });
          await fh.truncate(o);
          await fh.datasync();
          size = o;
          break;
        }
        this.#stats.corruptRecordsSkipped++;
        this.#logger.error('disk queue record corrupt (CRC or length); skipped', {
          file: path,
          offset: o,
          skipped_bytes: resume - o,
          rest_of_segment: resume === size,
        });
        skips ??= new Map();
        skips.set(o, resume);
        o = resume;
      }
      const start = Math.min(from, size);
      this.#segments.push({
        seq,
        path,
        size,
        written: size,
        synced: size,
        sealed: true,
        fh: undefined,
        skips,
      });
      this.#usedBytes += size;
      this.#stats.pendingBytes += size - start;
      this.#stats.pendingRecords += records;
    } finally {
      await fh.close();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /**
   * Stops appends (they return false) and reads (they resolve `[]`), writes and syncs what is
   * buffered, writes the ledger and releases the files. Every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.flush();
    await this.#readChain;
    await this.#persist();
    for (const seg of this.#segments) {
      const fh = seg.fh;
      if (fh === undefined) continue;
      seg.fh = undefined;
      await this.#sync(seg, fh);
      await fh.close().catch(() => {});
    }
    await this.#rFh?.close().catch(() => {});
    this.#rFh = undefined;
    await Promise.all(this.#deleting);
  }

  #registerMetrics(registry: MetricsRegistry): void {
    const s = this.#stats;
    const gauge = (name: string, help: string, collect: () => number): void => {
      registry.gauge({ name, help, collect });
    };
    const counter = (name: string, help: string, collect: () => number): void => {
      registry.counter({ name, help, collect });
    };
    gauge(
      'flowship_diskqueue_pending_events',
      'Records in the disk queue not yet acknowledged.',
      () => s.pendingRecords,
    );
    gauge('flowship_diskqueue_pending_bytes', 'Bytes of the unacknowledged records.', () => s.pendingBytes);
    gauge(
      'flowship_diskqueue_used_bytes',
      'Bytes counted against the disk queue size: segment files plus buffered appends.',
      () => this.#usedBytes,
    );
    gauge('flowship_diskqueue_max_bytes', 'The disk queue size limit in bytes.', () => this.maxBytes);
    gauge('flowship_diskqueue_segments', 'Segment files of the disk queue.', () => this.#segments.length);
    counter('flowship_diskqueue_appended_total', 'Records accepted by the disk queue.', () => s.appended);
    counter(
      'flowship_diskqueue_dropped_total',
      'Records refused because the disk queue was full or closed.',
      () => s.droppedFull,
    );
    counter(
      'flowship_diskqueue_write_errors_total',
      'Failed disk queue writes and syncs.',
      () => s.writeErrors,
    );
    counter('flowship_diskqueue_lost_total', 'Accepted records whose write failed.', () => s.lost);
    counter(
      'flowship_diskqueue_torn_tails_repaired_total',
      'Torn segment tails truncated at open.',
      () => s.tornTailsRepaired,
    );
    counter(
      'flowship_diskqueue_corrupt_records_total',
      'Records skipped because of a CRC or framing error.',
      () => s.corruptRecordsSkipped,
    );
    counter('flowship_diskqueue_acked_total', 'Records acknowledged.', () => s.acked);
  }
}

/** Writes every byte of `buffers` at `position`, going on after short writes. */
async function writeFully(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at);
    if (bytesWritten === 0) throw new Error('write made no progress');
    at += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i].length) skip -= rest[i++].length;
    rest = rest.slice(i);
    if (skip > 0) rest[0] = rest[0].subarray(skip);
  }
}

/** Whether a sound frame starts at `offset` of the file. */
async function validAt(fh: FileHandle, offset: number, size: number): Promise<boolean> {
  if (offset + HEADER > size) return false;
  const r = new ChunkReader(fh, HEADER);
  if (!(await r.ensure(offset, HEADER, size))) return false;
  const len = r.buf.readUInt32BE(0);
  if (len === 0 || len > MAX_RECORD_BYTES || offset + HEADER + len > size) return false;
  if (!(await r.ensure(offset, HEADER + len, size))) return false;
  return frameAt(r, offset) === 'ok';
}

function queueError(message: string, cause: unknown): FlowshipError {
  return new FlowshipError('FLOWSHIP_QUEUE_CORRUPT', `disk queue: ${message}`, { cause });
}
