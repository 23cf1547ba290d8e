/**
 * TAILER.md §9 scenarios with files rotated, copied, truncated, deleted and re-created under a
 * running tailer (§5).
 */
import assert from 'node:assert/strict';
import {
  appendFile,
  copyFile,
  type FileHandle,
  open,
  rename,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  Consumer,
  type Delivered,
  flow,
  flows,
  readRegistry,
  sleepMs,
  useTailerFixture,
  waitFor,
} from './helpers.ts';

const fx = useTailerFixture();
const writers: FileHandle[] = [];

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close().catch(() => {})));
});

/** GoFlow2's descriptor: O_APPEND, kept across renames until the HUP. */
async function writer(path: string): Promise<FileHandle> {
  const fh = await open(path, 'a');
  writers.push(fh);
  return fh;
}

function assertOnce(delivered: readonly Delivered[], expected: readonly string[]): void {
  const counts = new Map<string, number>();
  for (const d of delivered) counts.set(d.text, (counts.get(d.text) ?? 0) + 1);
  for (const e of expected) assert.equal(counts.get(e), 1, `delivered once: ${e}`);
  assert.equal(delivered.length, expected.length, 'nothing else delivered');
}

/**
 * Creates files (named so that no glob matches them) until one gets inode `ino`, then renames it
 * to `path`; the others are removed. False when the filesystem does not hand the inode out.
 */
async function createOnInode(ino: number, path: string, content: string): Promise<boolean> {
  const probes: string[] = [];
  let found = false;
  for (let i = 0; i < 2000 && !found; i++) {
    const p = join(fx.logs, `probe-${i}.tmp`);
    await writeFile(p, content);
    if ((await stat(p)).ino === ino) {
      await rename(p, path);
      found = true;
    } else probes.push(p);
  }
  await Promise.all(probes.map((p) => unlink(p)));
  return found;
}

const ROTATED = (logsDir: string) => ({ paths: [join(logsDir, '*.log'), join(logsDir, '*.log.1')] });

describe('tailer under rotation and truncation', () => {
  it('rotate_rename_create_hup: every line once, path updated, new file from 0', async () => {
    const live = join(fx.logs, 'goflow2.log');
    const old = await writer(live);
    await old.write(flows(0, 5));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, ROTATED(fx.logs));
    await waitFor(() => consumer.delivered.length === 5, 'first lines');
    await rename(live, `${live}.1`);
    const fresh = await writer(live);
    await old.write(flows(5, 3)); // GoFlow2 writes to the renamed inode until the HUP
    await fresh.write(flows(100, 1, 'new')); // (another process could write the new name already)
    await sleepMs(30);
    await old.write(flows(8, 2));
    await old.close(); // HUP: close and reopen
    await fresh.write(flows(101, 4, 'new'));
    const expected = [...flows(0, 10).trimEnd().split('\n'), ...flows(100, 5, 'new').trimEnd().split('\n')];
    await waitFor(() => consumer.delivered.length >= expected.length, 'all lines');
    await sleepMs(250);
    assertOnce(consumer.delivered, expected);
    const newLines = consumer.delivered.filter((d) => d.text.includes('"new"'));
    assert.equal(newLines[0].offset, 0);
    assert.ok(newLines.every((d) => d.path === live));
    await waitFor(() => tailer.entries().some((e) => e.path === `${live}.1`), 'the old entry path updated');
    assert.ok(tailer.stats.renames_total >= 1);
  });

  it('copytruncate_live: the unread tail once from the copy, new content from 0', async () => {
    const live = join(fx.logs, 'goflow2.log');
    const w = await writer(live);
    await w.write(flows(0, 5));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, ROTATED(fx.logs));
    await waitFor(() => consumer.delivered.length === 5, 'first lines');
    consumer.block();
    await w.write(flows(5, 5)); // read, but held by the blocked output
    await sleepMs(50);
    await copyFile(live, `${live}.1`);
    await truncate(live, 0);
    await w.write(flows(200, 3, 'after'));
    await waitFor(() => tailer.stats.moves_total === 1, 'the entry moved to the copy');
    consumer.unblock();
    const expected = [...flows(0, 10).trimEnd().split('\n'), ...flows(200, 3, 'after').trimEnd().split('\n')];
    await waitFor(() => consumer.delivered.length >= expected.length, 'all lines');
    await sleepMs(250);
    assertOnce(consumer.delivered, expected);
    const after = consumer.delivered.filter((d) => d.text.includes('"after"'));
    assert.equal(after[0].offset, 0);
    assert.equal(after[0].path, live);
    const tail = consumer.delivered.filter((d) => d.path === `${live}.1`);
    assert.ok(tail.length >= 1, 'the tail came from the copy');
  });

  it('truncate_live: truncated and rewritten shorter: from 0, new generation, registry follows', async () => {
    const live = join(fx.logs, 'goflow2.log');
    await writeFile(live, flows(0, 10));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 10, '10 lines');
    // rewritten in place, then cut to the new length: the file is never empty in between (a scan
    // in an empty moment takes the other path, tested below)
    const rewritten = `${flow(0)}\n${flows(300, 2, 'x')}`;
    const fh = await open(live, 'r+');
    await fh.write(rewritten, 0);
    await fh.truncate(Buffer.byteLength(rewritten));
    await fh.close();
    await waitFor(() => consumer.delivered.length === 13, 'the rewritten lines');
    const again = consumer.delivered.slice(10);
    assert.deepEqual(
      again.map((d) => d.text),
      rewritten.trimEnd().split('\n'),
    );
    assert.equal(again[0].offset, 0);
    assert.equal(again[0].generation, consumer.delivered[0].generation + 1);
    assert.equal(tailer.stats.truncations_total, 1);
    await waitFor(() => tailer.entries()[0].ackedOffset === Buffer.byteLength(rewritten), 'acked');
    await waitFor(() => tailer.stats.registry_writes_total > 0, 'flush');
    await sleepMs(50);
    const reg = await readRegistry(fx.dir);
    assert.equal(reg?.entries[0].offset, Buffer.byteLength(rewritten));
  });

  it('truncate_live through an empty file: the lines written after are read from 0, once, none lost', async () => {
    const live = join(fx.logs, 'goflow2.log');
    await writeFile(live, flows(0, 10));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 10, '10 lines');
    await truncate(live, 0);
    await tailer.scanNow(); // a scan sees the empty file
    const rewritten = `${flow(0)}\n${flows(300, 2, 'x')}`;
    await appendFile(live, rewritten);
    await waitFor(() => consumer.delivered.length >= 13, 'the rewritten lines');
    await sleepMs(300); // a duplicate would arrive by now
    assert.deepEqual(
      consumer.delivered.slice(10).map((d) => [d.text, d.offset]),
      rewritten
        .trimEnd()
        .split('\n')
        .map((text, i, all) => [text, all.slice(0, i).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)]),
    );
  });

  it('truncate_blocked_output: truncated while the output blocks; old acks leave the new offset alone', async () => {
    const live = join(fx.logs, 'goflow2.log');
    await writeFile(live, flows(0, 3));
    const consumer = new Consumer('manual');
    const { tailer } = await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 3, 'first lines');
    consumer.block();
    await appendFile(live, flows(3, 3));
    await sleepMs(50);
    await truncate(live, 0);
    // same first line: the same entry, in a new generation
    const rewritten = `${flow(0)}\n${flows(400, 4, 'rw')}`;
    await appendFile(live, rewritten);
    await sleepMs(300); // scans run meanwhile
    consumer.unblock();
    await waitFor(() => consumer.delivered.some((d) => d.text === flow(403, 'rw')), 'new lines');
    const fresh = consumer.delivered.filter((d) => d.generation > consumer.delivered[0].generation);
    assert.deepEqual(
      fresh.map((d) => d.text),
      rewritten.trimEnd().split('\n'),
    );
    assert.equal(fresh[0].offset, 0);
    const oldCount = consumer.delivered.length - fresh.length;
    assert.deepEqual(consumer.texts().slice(0, oldCount), flows(0, oldCount).trimEnd().split('\n'));
    consumer.ack(oldCount); // acks of the old generation arrive late
    await sleepMs(50);
    const entry = tailer.entries()[0];
    assert.equal(entry.generation, fresh[0].generation);
    assert.equal(entry.ackedOffset, 0, 'old acks did not move the new offset');
    consumer.ack();
    await waitFor(() => tailer.entries()[0].ackedOffset === Buffer.byteLength(rewritten), 'acked');
  });

  it('inode_reuse: a new file on a reused inode is read from 0', async (t) => {
    const a = join(fx.logs, 'a.log');
    await writeFile(a, flows(0, 20));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { closeOnEof: true });
    await waitFor(() => consumer.delivered.length === 20, 'a read');
    await waitFor(() => tailer.openReaders === 0, 'reader closed');
    const { ino } = await stat(a);
    await unlink(a);
    const reused = await createOnInode(ino, join(fx.logs, 'b.log'), flows(1000, 25, 'reuse'));
    if (!reused) {
      t.skip(
        'the filesystem did not hand the freed inode out again within 2000 creations (ext4 holds recently deleted inodes back); the in-memory variant in tailer-memory.test.ts covers reuse deterministically',
      );
      return;
    }
    await waitFor(() => consumer.delivered.length === 45, 'the new file, whole');
    assert.deepEqual(consumer.texts().slice(20), flows(1000, 25, 'reuse').trimEnd().split('\n'));
    assert.equal(consumer.delivered[20].offset, 0);
  });

  it('inode_reuse with native identity: the marker check catches it', async (t) => {
    const a = join(fx.logs, 'a.log');
    await writeFile(a, flows(0, 20));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { closeOnEof: true, fileIdentity: 'native' });
    await waitFor(() => consumer.delivered.length === 20, 'a read');
    await waitFor(() => tailer.openReaders === 0, 'reader closed');
    const { ino } = await stat(a);
    await unlink(a);
    const reused = await createOnInode(ino, join(fx.logs, 'b.log'), flows(1000, 25, 'reuse'));
    if (!reused) {
      t.skip(
        'the filesystem did not hand the freed inode out again within 2000 creations (ext4 holds recently deleted inodes back); the in-memory variant in tailer-memory.test.ts covers reuse deterministically',
      );
      return;
    }
    await waitFor(() => consumer.delivered.length === 45, 'the new file, whole');
    assert.deepEqual(consumer.texts().slice(20), flows(1000, 25, 'reuse').trimEnd().split('\n'));
  });

  it('delete_and_recreate: same path, new content: from 0, old entry cleaned', async () => {
    const live = join(fx.logs, 'goflow2.log');
    await writeFile(live, flows(0, 5));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { closeRemoved: true });
    await waitFor(() => consumer.delivered.length === 5, 'first file');
    const oldKey = tailer.entries()[0].key;
    await unlink(live);
    await writeFile(live, flows(500, 3, 'again'));
    await waitFor(() => consumer.delivered.length === 8, 'the new file');
    assert.equal(consumer.delivered[5].offset, 0);
    await waitFor(() => !tailer.entries().some((e) => e.key === oldKey), 'old entry cleaned');
    assert.equal(tailer.entries().length, 1);
  });

  it('rotated_unterminated_tail: not shipped; WARN and counter when the entry is cleaned', async () => {
    const live = join(fx.logs, 'goflow2.log');
    const partial = flow(3).slice(0, -1); // "{…" never gets its newline
    await writeFile(live, `${flows(0, 3)}${flow(3)}`);
    const consumer = new Consumer();
    const { tailer, logs: lines } = await fx.start(consumer, { ...ROTATED(fx.logs), closeInactiveMs: 200 });
    await waitFor(() => consumer.delivered.length === 3, '3 lines');
    await rename(live, `${live}.1`);
    await writeFile(live, flows(10, 1, 'n'));
    await waitFor(() => consumer.delivered.length === 4, 'new file');
    await waitFor(
      () => tailer.entries().find((e) => e.path === `${live}.1`)?.reading === false,
      'old reader closed (inactive)',
    );
    await unlink(`${live}.1`);
    await waitFor(() => tailer.stats.partial_tail_dropped_bytes_total > 0, 'cleaned');
    assert.equal(tailer.stats.partial_tail_dropped_bytes_total, Buffer.byteLength(flow(3)));
    assert.ok(lines.some((l) => / WARNING .*unterminated line/.test(l)));
    assert.ok(!consumer.texts().some((t) => t.startsWith(partial)));
  });
});
