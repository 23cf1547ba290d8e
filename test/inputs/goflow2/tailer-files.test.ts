/**
 * TAILER.md §9 scenarios about what is read from which file: line rules, identity of small and
 * empty files, ignore_older, excludes, inactivity, many files under harvester_limit.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readlink, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tailer } from '../../../src/inputs/goflow2/tailer.ts';
import { MetricsRegistry } from '../../../src/monitoring/metrics.ts';
import { Consumer, flow, flows, makeTailer, sleepMs, useTailerFixture, waitFor } from './helpers.ts';

const fx = useTailerFixture();

/** Paths this process has open (Linux). */
async function openPaths(): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd').catch(() => [])) {
    out.push(await readlink(`/proc/self/fd/${fd}`).catch(() => ''));
  }
  return out;
}

describe('tailer: lines and files', () => {
  it('long_lines: limit ± 1, a 50 MiB line, a restart mid-skip: neighbours delivered, counted, offset passes', async () => {
    const max = 64 * 1024;
    const file = join(fx.logs, 'big.log');
    const atLimit = `{"a":"${'x'.repeat(max - 8)}"}`;
    const overLimit = `{"a":"${'y'.repeat(max - 7)}"}`;
    assert.equal(Buffer.byteLength(atLimit), max);
    assert.equal(Buffer.byteLength(overLimit), max + 1);
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x7a);
    await writeFile(file, `${flow(0)}\n${atLimit}\n${overLimit}\n${flow(1)}\n`);
    await appendFile(file, huge);
    await appendFile(file, `\n${flow(2)}\n`);
    // and an over-long line still being written when the tailer stops
    await appendFile(file, 'w'.repeat(max * 3));
    const metrics = new MetricsRegistry();
    const consumer = new Consumer();
    const { tailer, logs: lines } = await fx.start(consumer, { messageMaxBytes: max, metrics });
    await waitFor(() => consumer.delivered.length === 4, 'the short lines');
    assert.deepEqual(consumer.texts(), [flow(0), atLimit, flow(1), flow(2)]);
    assert.equal(tailer.stats.lines_too_long_total, 2);
    assert.ok(
      lines.some((l) => / WARNING .*longer than message_max_bytes.* offset=\d+ length=65537/.test(l)),
    );
    const end = (await import('node:fs')).statSync(file).size - max * 3;
    await waitFor(() => tailer.entries()[0].ackedOffset === end, 'offset passes the skipped lines');
    await tailer.stop();
    await appendFile(file, `\n${flow(3)}\n`);
    const second = new Consumer();
    const { tailer: again } = await fx.start(second, {
      messageMaxBytes: max,
      metrics: new MetricsRegistry(),
    });
    await waitFor(() => second.delivered.length === 1, 'the line after the re-skipped one');
    assert.deepEqual(second.texts(), [flow(3)]);
    assert.equal(again.stats.lines_too_long_total, 1);
    assert.equal(
      (metrics.get('flowship_goflow2_lines_too_long_total') as { get(l: object): number }).get({
        input: 'test',
      }),
      2,
    );
  });

  it('empty_and_bom: no entry for an empty-only file; BOM and CR stripped; empty lines skipped', async () => {
    await writeFile(join(fx.logs, 'empty.log'), '\n\n\r\n\n');
    await writeFile(join(fx.logs, 'zero.log'), '');
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    await writeFile(
      join(fx.logs, 'bom.log'),
      Buffer.concat([bom, Buffer.from(`${flow(0)}\r\n\r\n\n${flow(1)}\r\n`)]),
    );
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 2, 'two lines');
    await sleepMs(150);
    assert.deepEqual(consumer.texts(), [flow(0), flow(1)]);
    assert.equal(consumer.delivered[0].offset, 0);
    assert.equal(tailer.stats.empty_lines_total, 2);
    assert.deepEqual(
      tailer.entries().map((e) => e.path),
      [join(fx.logs, 'bom.log')],
    );
  });

  it('small_file_identity: a new file with one 300-byte line is shipped at once', async () => {
    const consumer = new Consumer();
    await fx.start(consumer);
    const line = `{"x":"${'s'.repeat(290)}"}`;
    await writeFile(join(fx.logs, 'small.log'), `${line}\n`);
    await waitFor(() => consumer.delivered.length === 1, 'the line', 2000);
    assert.equal(consumer.delivered[0].text, line);
    // shorter than 64 bytes and alone: no identity yet, nothing read
    await writeFile(join(fx.logs, 'tiny.log'), '{"a":1}\n');
    await sleepMs(250);
    assert.equal(consumer.delivered.length, 1);
    await appendFile(join(fx.logs, 'tiny.log'), `${flow(7)}\n`);
    await waitFor(() => consumer.delivered.length === 3, 'tiny, once identified');
    assert.deepEqual(consumer.texts().slice(1), ['{"a":1}', flow(7)]);
  });

  it('ignore_older: an old file is skipped, and only lines appended later are read', async () => {
    const file = join(fx.logs, 'old.log');
    await writeFile(file, flows(0, 5));
    const past = new Date(Date.now() - 2 * 3600_000);
    await utimes(file, past, past);
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { ignoreOlderMs: 3600_000 });
    await sleepMs(200);
    assert.equal(consumer.delivered.length, 0);
    assert.equal(tailer.stats.files_ignored_older_total, 1);
    assert.equal(tailer.entries()[0].ackedOffset, Buffer.byteLength(flows(0, 5)));
    await appendFile(file, flows(5, 2));
    await waitFor(() => consumer.delivered.length === 2, 'appended lines');
    assert.deepEqual(consumer.texts(), [flow(5), flow(6)]);
  });

  it('exclude: .gz by regex, *.tmp by glob, an excluded symlink target: never opened', async () => {
    await writeFile(join(fx.logs, 'a.log'), flows(0, 1));
    await writeFile(join(fx.logs, 'b.log.gz'), flows(10, 1));
    await writeFile(join(fx.logs, 'c.tmp'), flows(20, 1));
    await writeFile(join(fx.logs, '.d.tmp'), flows(30, 1));
    await mkdir(join(fx.dir, 'elsewhere'));
    await writeFile(join(fx.dir, 'elsewhere', 'target.secret'), flows(40, 1));
    await symlink(join(fx.dir, 'elsewhere', 'target.secret'), join(fx.logs, 'link.log'));
    await writeFile(join(fx.dir, 'elsewhere', 'ok.txt'), flows(50, 1));
    await symlink(join(fx.dir, 'elsewhere', 'ok.txt'), join(fx.logs, 'ok-link.log'));
    const consumer = new Consumer();
    const seenOpen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const p of await openPaths()) seenOpen.add(p);
        await sleepMs(2);
      }
    })();
    const { tailer } = await fx.start(consumer, {
      paths: [join(fx.logs, '*')],
      exclude: ['*.tmp'],
      excludeFiles: ['\\.gz$', '\\.secret$'],
      symlinks: true,
    });
    await waitFor(() => consumer.delivered.length === 2, 'the two readable files');
    await sleepMs(200);
    sampling = false;
    await sampler;
    assert.deepEqual(consumer.texts().sort(), [flow(0), flow(50)].sort());
    assert.deepEqual(
      consumer.delivered.map((d) => d.path).sort(),
      [join(fx.logs, 'a.log'), join(fx.logs, 'ok-link.log')],
      'a followed link is shipped under its own path',
    );
    for (const p of seenOpen) {
      assert.ok(!/b\.log\.gz|c\.tmp|\.d\.tmp|target\.secret/.test(p), `opened ${p}`);
    }
    assert.equal(tailer.entries().length, 2);
  });

  it('symlinks off (default): symlinked files are ignored', async () => {
    await writeFile(join(fx.dir, 'target.log'), flows(0, 1));
    await symlink(join(fx.dir, 'target.log'), join(fx.logs, 'link.log'));
    await writeFile(join(fx.logs, 'real.log'), flows(5, 1));
    const consumer = new Consumer();
    await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 1, 'the real file');
    await sleepMs(150);
    assert.deepEqual(consumer.texts(), [flow(5)]);
  });

  it('symlink_rotated: a re-pointed link is a new file read from 0; the old target drains', async () => {
    const a = join(fx.dir, 'a.target');
    const b = join(fx.dir, 'b.target');
    await writeFile(a, flows(0, 3, 'a'));
    await writeFile(b, flows(0, 2, 'b'));
    const link = join(fx.logs, 'current.log');
    await symlink(a, link);
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { symlinks: true });
    await waitFor(() => consumer.delivered.length === 3, 'a through the link');
    await appendFile(a, flows(3, 1, 'a')); // written before the switch, read through the open descriptor
    await unlink(link);
    await symlink(b, link);
    await waitFor(() => consumer.delivered.length === 6, 'b from 0 and the rest of a');
    assert.deepEqual(
      consumer.texts().sort(),
      [...flows(0, 4, 'a').trimEnd().split('\n'), ...flows(0, 2, 'b').trimEnd().split('\n')].sort(),
    );
    assert.ok(
      consumer.delivered.every((d) => d.path === link),
      'log.file.path is the matched path',
    );
    assert.equal(consumer.delivered.find((d) => d.text === flow(0, 'b'))?.offset, 0);
    assert.ok(tailer.entries().length >= 2);
  });

  it('wakeup: directory events wake the scanner and readers long before the periodic scan', async () => {
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, {
      checkIntervalMs: 30_000,
      backoffInitMs: 10_000,
      backoffMaxMs: 30_000,
      closeCheckIntervalMs: 30_000,
    });
    const t0 = Date.now();
    await writeFile(join(fx.logs, 'new.log'), flows(0, 1));
    await waitFor(() => consumer.delivered.length === 1, 'a new file found on a hint', 3000);
    await sleepMs(50);
    await appendFile(join(fx.logs, 'new.log'), flows(1, 1));
    await waitFor(() => consumer.delivered.length === 2, 'an append read on a hint', 3000);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(tailer.stats.scans_total < 10, true);
  });

  it('write_after_close: appended during and right after the inactive close: no loss, no duplicate', async () => {
    const file = join(fx.logs, 'w.log');
    await writeFile(file, flows(0, 3));
    const consumer = new Consumer();
    const { tailer } = await fx.start(consumer, { closeInactiveMs: 150, wakeup: false });
    await waitFor(() => consumer.delivered.length === 3, 'first lines');
    let n = 3;
    // keep appending across the close: some lines land while the reader closes, some after
    const end = Date.now() + 600;
    while (Date.now() < end) {
      await appendFile(file, flows(n, 1));
      n++;
      await sleepMs(40 + (n % 3) * 100);
    }
    await waitFor(() => consumer.delivered.length === n, `all ${n} lines`);
    await waitFor(() => tailer.openReaders === 0, 'closed again');
    await appendFile(file, flows(n, 2));
    await waitFor(() => consumer.delivered.length === n + 2, 'lines after the close');
    assert.deepEqual(
      consumer.texts(),
      flows(0, n + 2)
        .trimEnd()
        .split('\n'),
    );
  });

  it('many_files: 1,000 files with harvester_limit 16: all delivered, descriptors bounded, oldest first', async () => {
    const n = 1000;
    const base = Date.now() - 1000_000;
    for (let i = 0; i < n; i++) {
      const p = join(fx.logs, `f${String(i).padStart(4, '0')}.log`);
      await writeFile(p, flows(i * 10, 3, `f${i}`));
      // mtimes in reverse name order: oldest-mtime-first must not be name order
      const t = new Date(base + (n - i) * 100);
      await utimes(p, t, t);
    }
    const before = (await openPaths()).length;
    const consumer = new Consumer();
    let maxOpen = 0;
    let maxFds = 0;
    let sampling = true;
    let tailerRef: Tailer | undefined;
    const sampler = (async () => {
      while (sampling) {
        maxOpen = Math.max(maxOpen, tailerRef?.openReaders ?? 0);
        maxFds = Math.max(maxFds, (await openPaths()).length - before);
        await sleepMs(1);
      }
    })();
    const h = makeTailer(fx.dir, consumer, { harvesterLimit: 16, closeOnEof: true });
    fx.track(h.tailer);
    tailerRef = h.tailer;
    await h.tailer.start();
    await waitFor(() => consumer.delivered.length === 3 * n, 'every line', 60_000);
    sampling = false;
    await sampler;
    assert.ok(maxOpen <= 16, `open readers ${maxOpen}`);
    assert.ok(maxFds <= 16 + 16, `descriptors ${maxFds}`);
    // readers start oldest first, 16 at a time; they deliver concurrently, so the order in which
    // files first deliver is only close to the start order: every one of the first 16 files to
    // deliver is among the 32 oldest, and the oldest is among the first 32
    const firstDelivering: string[] = [];
    for (const d of consumer.delivered) if (!firstDelivering.includes(d.path)) firstDelivering.push(d.path);
    const fileIndex = (p: string) => Number(/f(\d{4})\.log$/.exec(p)?.[1]);
    assert.ok(
      firstDelivering.slice(0, 16).every((p) => fileIndex(p) >= n - 32),
      `the oldest files start first: ${firstDelivering.slice(0, 16).join(' ')}`,
    );
    assert.ok(
      firstDelivering.slice(0, 32).some((p) => p.endsWith('f0999.log')),
      'the oldest file is among the first to start',
    );
    assert.equal(new Set(consumer.texts()).size, 3 * n, 'no duplicates');
  });
});
