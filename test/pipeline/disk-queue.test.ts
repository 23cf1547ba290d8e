import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetricsRegistry } from '../../src/monitoring/metrics.ts';
import { DiskQueue, type DiskQueueOptions, type QueueRecord } from '../../src/pipeline/disk-queue.ts';
import { isSettled } from './helpers.ts';

let root: string;
let dirs = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowship-diskqueue-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): string {
  return join(root, `q${dirs++}`);
}

/** A payload that says which record it is: `<n>:` then filler up to `size` bytes. */
function payload(n: number, size = 100): Buffer {
  const head = `${n}:`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length)));
}

function numberOf(record: QueueRecord): number {
  return Number(record.payload.toString('latin1').split(':')[0]);
}

function openQueue(path: string, options: Partial<DiskQueueOptions> = {}): Promise<DiskQueue> {
  return DiskQueue.open({ path, maxBytes: 1024 * 1024, segmentBytes: 4096, ...options });
}

/** Reads until `count` records came back (fails after a while rather than hanging). */
async function readN(queue: DiskQueue, count: number, batch = 1000): Promise<QueueRecord[]> {
  const out: QueueRecord[] = [];
  const signal = AbortSignal.timeout(5000);
  while (out.length < count) {
    const records = await queue.read(Math.min(batch, count - out.length), signal);
    if (records.length === 0) assert.fail(`read gave up after ${out.length} of ${count} records`);
    out.push(...records);
  }
  return out;
}

/** Every record left, reading until nothing more comes within a short wait. */
async function readAll(queue: DiskQueue): Promise<QueueRecord[]> {
  const out: QueueRecord[] = [];
  for (;;) {
    const records = await queue.read(1000, AbortSignal.timeout(100));
    if (records.length === 0) return out;
    out.push(...records);
  }
}

function append(queue: DiskQueue, from: number, count: number, size = 100): void {
  for (let n = from; n < from + count; n++) assert.equal(queue.append(payload(n, size)), true, `append ${n}`);
}

async function segmentFiles(path: string): Promise<string[]> {
  return (await readdir(path)).filter((f) => f.startsWith('segment-')).sort();
}

describe('DiskQueue: append, read, ack', () => {
  it('round-trips records across several segments and deletes them once acknowledged', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    append(queue, 0, 200);
    await queue.flush();
    assert.ok((await segmentFiles(path)).length >= 5, 'the records span several segments');
    const records = await readN(queue, 200, 37);
    assert.deepEqual(
      records.map(numberOf),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.deepEqual(records[5].payload, payload(5));
    assert.equal(queue.stats.pendingRecords, 200);
    for (const r of records) queue.ack(r.position);
    const stats = queue.stats;
    assert.equal(stats.acked, 200);
    assert.equal(stats.pendingRecords, 0);
    assert.equal(stats.pendingBytes, 0);
    await queue.close();
    // Only the segment being appended to is left.
    assert.equal((await segmentFiles(path)).length, 1);
    assert.equal(queue.stats.segments, 1);
    const reopened = await openQueue(path);
    assert.equal(reopened.stats.pendingRecords, 0);
    assert.deepEqual(await readAll(reopened), []);
    await reopened.close();
  });

  it('advances the acknowledged prefix only over contiguous acknowledgements', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    append(queue, 0, 10);
    const records = await readN(queue, 10);
    for (const i of [3, 2, 1, 5]) queue.ack(records[i].position);
    assert.equal(queue.stats.acked, 0, 'nothing before record 0 is acknowledged');
    assert.equal(queue.stats.pendingRecords, 10);
    queue.ack(records[0].position);
    assert.equal(queue.stats.acked, 4, 'records 0..3 are the prefix; 5 waits for 4');
    queue.ack(records[0].position); // repeated: ignored
    queue.ack(12345); // unknown: ignored
    assert.equal(queue.stats.acked, 4);
    await queue.close();
    const ledger = JSON.parse(await readFile(join(path, 'ledger.json'), 'utf8'));
    assert.equal(ledger.version, 1);
    const reopened = await openQueue(path);
    assert.deepEqual((await readAll(reopened)).map(numberOf), [4, 5, 6, 7, 8, 9]);
    await reopened.close();
  });

  it('deletes segments as the prefix passes them, and their bytes leave the budget', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    append(queue, 0, 120);
    await queue.flush();
    const before = await segmentFiles(path);
    const used = queue.stats.usedBytes;
    const records = await readN(queue, 120);
    for (const r of records.slice(0, 60)) queue.ack(r.position);
    await queue.flush();
    const middle = await segmentFiles(path);
    assert.ok(middle.length < before.length, `${middle.length} < ${before.length}`);
    assert.equal(middle[middle.length - 1], before[before.length - 1]);
    assert.ok(queue.stats.usedBytes < used);
    assert.equal(queue.stats.segments, middle.length);
    await queue.close();
  });

  it('resumes at the ledger after a reopen: unacknowledged records come back, acknowledged ones do not', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    append(queue, 0, 50);
    const records = await readN(queue, 50);
    for (const r of records.slice(0, 20)) queue.ack(r.position);
    // Acknowledged out of the prefix: replayed, since the prefix stops at 20.
    queue.ack(records[30].position);
    await queue.close();
    assert.equal(queue.append(payload(99)), false, 'append after close is refused');
    assert.equal(queue.close(), queue.close(), 'close is idempotent');

    const reopened = await openQueue(path);
    assert.equal(reopened.stats.pendingRecords, 30);
    append(reopened, 50, 5);
    const again = await readAll(reopened);
    assert.deepEqual(
      again.map(numberOf),
      Array.from({ length: 35 }, (_, i) => 20 + i),
    );
    await reopened.close();
  });

  it('serves reads as records are written, and resolves [] on abort and on close', async () => {
    const queue = await openQueue(freshDir());
    const waiting = queue.read(10);
    assert.equal(await isSettled(waiting), false);
    queue.append(payload(1));
    queue.append(payload(2));
    assert.deepEqual((await waiting).map(numberOf), [1, 2]);

    const controller = new AbortController();
    const aborted = queue.read(10, controller.signal);
    controller.abort();
    assert.deepEqual(await aborted, []);

    const pending = queue.read(10);
    await queue.close();
    assert.deepEqual(await pending, []);
    assert.deepEqual(await queue.read(10), []);
  });

  it('registers its metrics', async () => {
    const metrics = new MetricsRegistry();
    const queue = await openQueue(freshDir(), { metrics });
    append(queue, 0, 3);
    const value = (name: string) =>
      (metrics.snapshot()[name]?.values[0] as { value: number } | undefined)?.value;
    assert.equal(value('flowship_diskqueue_pending_events'), 3);
    assert.equal(value('flowship_diskqueue_appended_total'), 3);
    assert.ok(metrics.prometheus().includes('flowship_diskqueue_dropped_total 0'));
    await queue.close();
  });

  it('rejects empty records and bad options', async () => {
    const queue = await openQueue(freshDir());
    assert.throws(() => queue.append(Buffer.alloc(0)), RangeError);
    await queue.close();
    await assert.rejects(DiskQueue.open({ path: freshDir(), maxBytes: 100 }), RangeError);
  });
});

describe('DiskQueue: the size budget', () => {
  it('drops the newest records when full, counts them, and takes records again after acknowledgements', async () => {
    const queue = await openQueue(freshDir(), { maxBytes: 16 * 1024, segmentBytes: 4096 });
    let accepted = 0;
    while (queue.append(payload(accepted, 1000))) accepted++;
    assert.ok(accepted >= 14 && accepted <= 16, `accepted ${accepted}`);
    assert.equal(queue.stats.droppedFull, 1);
    assert.equal(queue.append(payload(999, 1000)), false);
    assert.equal(queue.stats.droppedFull, 2);
    assert.ok(queue.stats.usedBytes <= 16 * 1024);
    const records = await readN(queue, accepted);
    for (const r of records) queue.ack(r.position);
    await queue.flush();
    assert.equal(queue.append(payload(1000, 1000)), true, 'room came back');
    assert.deepEqual((await readN(queue, 1)).map(numberOf), [1000]);
    await queue.close();
  });

  it('counts a failed write as lost records, never throwing to the appender', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    await rm(path, { recursive: true, force: true }); // the segment file cannot be created
    append(queue, 0, 5);
    await queue.flush();
    const stats = queue.stats;
    assert.equal(stats.writeErrors >= 1, true);
    assert.equal(stats.lost, 5);
    assert.equal(stats.pendingRecords, 0);
    assert.equal(stats.pendingBytes, 0);
    assert.equal(stats.usedBytes, 0);
    await queue.close().catch(() => {}); // the ledger cannot be written either; close still ends
  });
});

describe('DiskQueue: repair at open', () => {
  async function written(path: string, count: number, size = 100): Promise<string[]> {
    const queue = await openQueue(path);
    append(queue, 0, count, size);
    await queue.close();
    return segmentFiles(path);
  }

  it('truncates a torn tail (a record cut short) and keeps the records before it', async () => {
    const path = freshDir();
    const files = await written(path, 10);
    const last = join(path, files[files.length - 1]);
    const size = (await stat(last)).size;
    await truncate(last, size - 5);
    const queue = await openQueue(path);
    assert.equal(queue.stats.tornTailsRepaired, 1);
    assert.equal(queue.stats.pendingRecords, 9);
    assert.equal((await stat(last)).size, size - 108, 'cut at the start of the torn record');
    assert.deepEqual(
      (await readAll(queue)).map(numberOf),
      Array.from({ length: 9 }, (_, i) => i),
    );
    await queue.close();
  });

  it('truncates garbage appended after the last record', async () => {
    const path = freshDir();
    const files = await written(path, 10);
    const last = join(path, files[files.length - 1]);
    const size = (await stat(last)).size;
    const fh = await open(last, 'a');
    await fh.write(Buffer.from([0, 0, 0, 20, 1, 2, 3, 4, 9, 9, 9])); // a header, then too few bytes
    await fh.close();
    const queue = await openQueue(path);
    assert.equal(queue.stats.tornTailsRepaired, 1);
    assert.equal((await stat(last)).size, size);
    assert.equal((await readAll(queue)).length, 10);
    await queue.close();

    // A zero-filled tail (what a crash of the machine can leave) is torn too.
    const fh2 = await open(last, 'a');
    await fh2.write(Buffer.alloc(4096));
    await fh2.close();
    const again = await openQueue(path);
    assert.equal(again.stats.tornTailsRepaired, 1);
    assert.equal(again.stats.corruptRecordsSkipped, 0);
    assert.equal((await readAll(again)).length, 10);
    await again.close();
  });

  it('skips a record with a CRC mismatch in an older segment, logging the file and offset', async () => {
    const path = freshDir();
    const files = await written(path, 120);
    assert.ok(files.length >= 3);
    // The third record of the first segment: offset 2 * 108, one payload byte flipped.
    const first = join(path, files[0]);
    const bytes = await readFile(first);
    bytes[2 * 108 + 8 + 50] ^= 0xff;
    await writeFile(first, bytes);
    const lines: string[] = [];
    const { Logger } = await import('../../src/monitoring/logger.ts');
    const logger = new Logger({ sink: (line) => lines.push(line) });
    const queue = await openQueue(path, { logger });
    assert.equal(queue.stats.corruptRecordsSkipped, 1);
    assert.equal(queue.stats.tornTailsRepaired, 0);
    assert.equal(queue.stats.pendingRecords, 119);
    assert.ok(
      lines.some((l) => l.includes('corrupt') && l.includes(files[0]) && l.includes('offset=216')),
      lines.join('\n'),
    );
    const records = await readAll(queue);
    assert.deepEqual(
      records.map(numberOf),
      Array.from({ length: 120 }, (_, i) => i).filter((n) => n !== 2),
    );
    // The skipped record does not hold the prefix back.
    for (const r of records) queue.ack(r.position);
    assert.equal(queue.stats.pendingRecords, 0);
    assert.equal(queue.stats.pendingBytes, 0);
    await queue.close();
    assert.deepEqual(await segmentFiles(path), [], 'every segment was acknowledged, none appended to');
  });

  it('skips the rest of an older segment when a length field is corrupt', async () => {
    const path = freshDir();
    const files = await written(path, 120);
    const first = join(path, files[0]);
    const bytes = await readFile(first);
    const perSegment = bytes.length / 108;
    bytes.writeUInt32BE(0xfffffff0, 3 * 108); // record 3's length
    await writeFile(first, bytes);
    const queue = await openQueue(path);
    assert.equal(queue.stats.corruptRecordsSkipped, 1);
    const numbers = (await readAll(queue)).map(numberOf);
    assert.deepEqual(numbers.slice(0, 3), [0, 1, 2]);
    assert.equal(numbers[3], perSegment, 'the next segment follows');
    assert.equal(numbers[numbers.length - 1], 119);
    await queue.close();
  });

  it('replays every segment when the ledger is garbled or missing', async () => {
    const path = freshDir();
    const queue = await openQueue(path);
    append(queue, 0, 30);
    for (const r of await readN(queue, 30)) queue.ack(r.position);
    append(queue, 30, 30);
    await queue.close();
    const all = Array.from({ length: 60 }, (_, i) => i);
    const reopened = await openQueue(path);
    assert.deepEqual((await readAll(reopened)).map(numberOf), all.slice(30), 'the ledger holds');
    await reopened.close();

    await writeFile(join(path, 'ledger.json'), '{"version":1,"segm');
    const lines: string[] = [];
    const { Logger } = await import('../../src/monitoring/logger.ts');
    const logger = new Logger({ sink: (line) => lines.push(line) });
    const garbled = await openQueue(path, { logger });
    assert.equal(garbled.stats.pendingRecords, 60);
    assert.deepEqual((await readAll(garbled)).map(numberOf), all);
    assert.ok(lines.some((l) => l.includes('ledger unreadable')));
    await garbled.close();

    await rm(join(path, 'ledger.json'));
    const missing = await openQueue(path);
    assert.deepEqual((await readAll(missing)).map(numberOf), all);
    await missing.close();
  });
});

describe('DiskQueue: a process killed mid-work (SIGKILL)', () => {
  /*
   * The guarantee: a record whose append returned true before a flush() that resolved before
   * the kill is read again after reopening, unless the ledger's prefix covers it, and the prefix
   * covers only records that the process acknowledged. Records come back in append order,
   * without gaps or duplicates.
   */
  it('loses no record that was flushed and not acknowledged', { timeout: 60_000 }, async (t) => {
    const path = freshDir();
    const child = spawn(
      join(import.meta.dirname, '../../node_modules/.bin/node'),
      [join(import.meta.dirname, 'fixtures/disk-queue-child.ts'), path],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let flushed = 0;
    let acked = 0;
    let pending = '';
    let killed = false;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, sig) => resolve(sig)),
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // Lines the child wrote before it died are all true, even those read after the kill.
        const [what, n] = line.split(' ');
        if (what === 'flushed') flushed = Number(n);
        if (what === 'acked') acked = Number(n);
      }
      // Well into the run: several segments written, many acknowledged, ledger written often.
      if (!killed && flushed >= 40_000 && acked >= 10_000) {
        killed = true;
        // At a random moment, to land in different phases of the work (writing, syncing, renaming).
        setTimeout(() => child.kill('SIGKILL'), Math.random() * 30);
      }
    });
    assert.equal(await exited, 'SIGKILL');

    const queue = await openQueue(path, { maxBytes: 64 * 1024 * 1024, segmentBytes: 256 * 1024 });
    const numbers = (await readAll(queue)).map(numberOf);
    const repaired = queue.stats.tornTailsRepaired;
    await queue.close();
    t.diagnostic(
      `child killed after flushed ${flushed}, acked ${acked}; replayed ${numbers[0]}..${numbers.at(-1)}, torn tails repaired ${repaired}`,
    );
    assert.ok(numbers.length > 0);
    const first = numbers[0];
    for (let i = 0; i < numbers.length; i++) {
      if (numbers[i] !== first + i) assert.fail(`record ${first + i} expected at ${i}, got ${numbers[i]}`);
    }
    assert.ok(first > 0, 'the ledger moved during the run');
    assert.ok(first <= acked, `replay starts at ${first}, within what was acknowledged (${acked})`);
    const last = numbers[numbers.length - 1];
    assert.ok(last >= flushed - 1, `every flushed record is there: last ${last}, flushed ${flushed}`);
  });
});

describe('DiskQueue: throughput (printed, not asserted)', () => {
  it('appends and reads 1 KB records', async (t) => {
    const queue = await DiskQueue.open({ path: freshDir(), maxBytes: 1024 * 1024 * 1024 });
    const count = 200_000;
    const record = payload(0, 1024);
    let started = performance.now();
    // Bursts of 16 Ki records (16 MiB) then a flush: the writer's sustained rate, not the buffer's.
    for (let i = 0; i < count; i++) {
      queue.append(record);
      if ((i & 16383) === 16383) await queue.flush();
    }
    await queue.flush();
    assert.equal(queue.stats.droppedFull, 0);
    const appendSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    let read = 0;
    while (read < count) {
      const records = await queue.read(2000, AbortSignal.timeout(5000));
      if (records.length === 0) assert.fail(`read stopped at ${read}`);
      for (const r of records) queue.ack(r.position);
      read += records.length;
    }
    const readSeconds = (performance.now() - started) / 1000;
    await queue.close();
    t.diagnostic(
      `append+write: ${Math.round(count / appendSeconds)} records/s; read+ack: ${Math.round(count / readSeconds)} records/s (1 KiB payloads)`,
    );
  });
});
