import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileOutput } from '../../src/outputs/file.ts';
import { ManualClock } from '../../src/pipeline/clock.ts';
import type { Event } from '../../src/pipeline/event.ts';
import { makeEvent, makeEvents, rawJSON } from '../pipeline/helpers.ts';

const tmpDirs: string[] = [];
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flowship-file-'));
  tmpDirs.push(d);
  return d;
}

/** Local calendar date as yyyymmdd, as the output names files. */
function ymd(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

/** An event whose serialised line is exactly `bytes` long (newline included). */
function sizedEvent(n: number, bytes: number): Event {
  const base = JSON.stringify({ n, pad: '' }).length + 1;
  return { doc: { n, pad: 'x'.repeat(bytes - base) }, dataset: 'netflow.log' };
}

async function readLines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Midday, so that the local date is the same day in every time zone the tests may run in.
const NOON = Date.UTC(2026, 2, 14, 12, 0, 0);

describe('FileOutput', () => {
  test('writes NDJSON to <path>/<filename>-<yyyymmdd>.ndjson, creating the directory', async () => {
    const root = await tempDir();
    const dir = join(root, 'a', 'b');
    const clock = new ManualClock(NOON);
    const out = new FileOutput({ path: dir, filename: 'flows', clock });
    assert.equal(out.name, 'file');
    const big = rawJSON('18446744073709551615');
    const when = new Date(Date.UTC(2026, 2, 14, 11, 59, 59, 123));
    const events: Event[] = [
      { doc: { 'network.bytes': big, '@timestamp': when, msg: 'é\n"' }, dataset: 'netflow.log' },
      makeEvent(2),
    ];
    const res = await out.send(events);
    assert.deepEqual(res.results, [{ status: 'ok' }, { status: 'ok' }]);
    const expected = join(dir, `flows-${ymd(NOON)}.ndjson`);
    assert.equal(out.activeFile, expected);
    assert.deepEqual(await readdir(dir), [`flows-${ymd(NOON)}.ndjson`]);
    const text = await readFile(expected, 'utf8');
    assert.equal(
      text,
      '{"network.bytes":18446744073709551615,"@timestamp":"2026-03-14T11:59:59.123Z","msg":"é\\n\\""}\n{"n":2}\n',
    );
    await out.close();
  });

  test('creates files with the configured permissions (default 0600), whatever the umask', async () => {
    const root = await tempDir();
    const def = new FileOutput({ path: join(root, 'default') });
    await def.send(makeEvents(1));
    await def.close();
    const [f1] = await readdir(join(root, 'default'));
    assert.match(f1, /^flowship-\d{8}\.ndjson$/);
    assert.equal((await stat(join(root, 'default', f1))).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'default'))).mode & 0o777, 0o700 & ~process.umask());

    const shared = new FileOutput({ path: join(root, 'shared'), permissions: 0o644 });
    await shared.send(makeEvents(1));
    await shared.close();
    const [f2] = await readdir(join(root, 'shared'));
    assert.equal((await stat(join(root, 'shared', f2))).mode & 0o777, 0o644);
    // Directory modes go through the umask, as in Filebeat; file modes do not.
    const umask = process.umask();
    assert.equal((await stat(join(root, 'shared'))).mode & 0o777, 0o755 & ~umask);

    const old = process.umask(0o077);
    try {
      const group = new FileOutput({ path: join(root, 'group'), permissions: 0o640 });
      await group.send(makeEvents(1));
      await group.close();
      const [f3] = await readdir(join(root, 'group'));
      assert.equal((await stat(join(root, 'group', f3))).mode & 0o777, 0o640);
    } finally {
      process.umask(old);
    }
  });

  test('rotates before a write would exceed rotate_every_kb and keeps at most number_of_files', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(NOON);
    const out = new FileOutput({ path: dir, filename: 'rot', rotate_every_kb: 1, number_of_files: 3, clock });
    // 100-byte lines: 10 fit in 1024 bytes, the 11th starts a new file.
    const events = Array.from({ length: 45 }, (_, i) => sizedEvent(i, 100));
    // Several sends of uneven sizes: rotation must not depend on batch boundaries.
    for (const slice of [events.slice(0, 7), events.slice(7, 25), events.slice(25, 26), events.slice(26)]) {
      const res = await out.send(slice);
      assert.ok(res.results.every((r) => r.status === 'ok'));
    }
    await out.close();
    const day = ymd(NOON);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, [`rot-${day}-2.ndjson`, `rot-${day}-3.ndjson`, `rot-${day}-4.ndjson`]);
    assert.equal(out.activeFile, join(dir, `rot-${day}-4.ndjson`));
    const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
    assert.deepEqual(sizes, [1000, 1000, 500]);
    const ns = [];
    for (const f of [`rot-${day}-2.ndjson`, `rot-${day}-3.ndjson`, `rot-${day}-4.ndjson`]) {
      for (const doc of await readLines(join(dir, f))) ns.push(doc.n);
    }
    assert.deepEqual(
      ns,
      Array.from({ length: 25 }, (_, i) => 20 + i),
      'the newest events survive, in order, unsplit',
    );
    const stats = out.stats;
    assert.equal(stats.rotations, 4);
    assert.equal(stats.filesDeleted, 2);
    assert.equal(stats.eventsWritten, 45);
    assert.equal(stats.bytesWritten, 4500);
  });

  test('sizes are UTF-8 bytes; a batch larger than the encoding buffer, rotating within, is written whole', async () => {
    const dir = await tempDir();
    const out = new FileOutput({
      path: dir,
      filename: 'u',
      rotate_every_kb: 64,
      clock: new ManualClock(NOON),
    });
    // in UTF-8 'é' is 2 bytes, '€' 3 and '😀' (a surrogate pair) 4: about 1 KiB per line
    const text = 'é€😀'.repeat(114);
    const events = Array.from(
      { length: 200 },
      (_, n): Event => ({ doc: { n, text }, dataset: 'netflow.log' }),
    );
    const res = await out.send(events);
    assert.ok(res.results.every((r) => r.status === 'ok'));
    await out.close();
    // u-<day>.ndjson, then u-<day>-1.ndjson, -2, ...
    const suffix = (f: string) => Number(/-(\d+)\.ndjson$/.exec(f.slice(`u-${ymd(NOON)}`.length))?.[1] ?? 0);
    const files = (await readdir(dir)).sort((a, b) => suffix(a) - suffix(b));
    const lineBytes = Buffer.byteLength(`${JSON.stringify({ n: 100, text })}\n`);
    assert.ok(files.length >= 3, files.join());
    const ns: unknown[] = [];
    let bytes = 0;
    for (const f of files) {
      const size = (await stat(join(dir, f))).size;
      assert.ok(size <= 64 * 1024, `${f}: ${size} bytes`);
      bytes += size;
      for (const doc of await readLines(join(dir, f))) {
        assert.equal(doc.text, text);
        ns.push(doc.n);
      }
    }
    assert.deepEqual(
      ns,
      Array.from({ length: 200 }, (_, n) => n),
    );
    assert.equal(out.stats.bytesWritten, bytes);
    assert.ok(bytes >= 200 * lineBytes - 200 * 2 && bytes <= 200 * lineBytes, String(bytes));
  });

  test('a line exactly filling the file does not rotate; one byte more does', async () => {
    const dir = await tempDir();
    const out = new FileOutput({ path: dir, rotate_every_kb: 1, clock: new ManualClock(NOON) });
    await out.send([sizedEvent(0, 1000), sizedEvent(1, 24)]);
    assert.equal((await readdir(dir)).length, 1);
    await out.send([{ doc: {}, dataset: 'netflow.log' }]);
    assert.equal((await readdir(dir)).length, 2);
    await out.close();
  });

  test('rotate_on_startup starts a new file next to the newest existing one; otherwise appends', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(NOON);
    const day = ymd(NOON);
    const first = new FileOutput({ path: dir, filename: 'fb', rotate_every_kb: 1, clock });
    await first.send([sizedEvent(0, 600)]);
    await first.close();

    const second = new FileOutput({ path: dir, filename: 'fb', rotate_every_kb: 1, clock });
    await second.send([sizedEvent(1, 100)]);
    await second.close();
    assert.deepEqual((await readdir(dir)).sort(), [`fb-${day}-1.ndjson`, `fb-${day}.ndjson`]);

    const third = new FileOutput({
      path: dir,
      filename: 'fb',
      rotate_every_kb: 1,
      rotate_on_startup: false,
      clock,
    });
    await third.send([sizedEvent(2, 100)]);
    assert.equal(third.activeFile, join(dir, `fb-${day}-1.ndjson`), 'continues with the newest file');
    // 200 bytes in it now: 900 more would exceed 1024 counting what was already there.
    await third.send([sizedEvent(3, 900)]);
    await third.close();
    assert.deepEqual((await readdir(dir)).sort(), [
      `fb-${day}-1.ndjson`,
      `fb-${day}-2.ndjson`,
      `fb-${day}.ndjson`,
    ]);
    assert.deepEqual(
      (await readLines(join(dir, `fb-${day}-1.ndjson`))).map((d) => d.n),
      [1, 2],
    );
  });

  test('a new day starts a new dated file at the next rotation; other files in the directory are left alone', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'unrelated.log'), 'keep me\n');
    await writeFile(join(dir, 'fb-notadate.ndjson'), 'keep me too\n');
    const clock = new ManualClock(NOON);
    const out = new FileOutput({ path: dir, filename: 'fb', rotate_every_kb: 1, number_of_files: 2, clock });
    await out.send([sizedEvent(0, 1000)]);
    await clock.advance(24 * 3600 * 1000);
    await out.send([sizedEvent(1, 1000)]);
    await clock.advance(24 * 3600 * 1000);
    await out.send([sizedEvent(2, 1000)]);
    await out.close();
    const d1 = ymd(NOON + 24 * 3600 * 1000);
    const d2 = ymd(NOON + 48 * 3600 * 1000);
    assert.deepEqual((await readdir(dir)).sort(), [
      `fb-${d1}.ndjson`,
      `fb-${d2}.ndjson`,
      'fb-notadate.ndjson',
      'unrelated.log',
    ]);
  });

  test('documents that cannot be written are dead; the rest of the batch is written', async () => {
    const dir = await tempDir();
    const out = new FileOutput({ path: dir, rotate_every_kb: 1, clock: new ManualClock(NOON) });
    const res = await out.send([
      makeEvent(0),
      sizedEvent(1, 2000),
      { doc: { n: 2, bad: 10n }, dataset: 'netflow.log' },
      makeEvent(3),
      // serialises to nothing at all
      { doc: { toJSON: () => undefined }, dataset: 'netflow.log' },
      // multi-byte: a line of 1,001 characters (under the limit) and 1,993 bytes (over it)
      { doc: { t: 'é'.repeat(1001 - 9) }, dataset: 'netflow.log' },
    ]);
    assert.deepEqual(
      res.results.map((r) => r.status),
      ['ok', 'dead', 'dead', 'ok', 'dead', 'dead'],
    );
    assert.match(res.results[1].error ?? '', /document of 2000 bytes exceeds rotate_every_kb/);
    assert.match(res.results[2].error ?? '', /cannot serialise/);
    assert.match(res.results[4].error ?? '', /cannot serialise/);
    assert.match(res.results[5].error ?? '', /document of 1993 bytes exceeds rotate_every_kb/);
    await out.close();
    const [f] = await readdir(dir);
    assert.deepEqual(
      (await readLines(join(dir, f))).map((d) => d.n),
      [0, 3],
    );
  });

  test('I/O errors come back as retry, never as a throw, and the output recovers', async () => {
    const root = await tempDir();
    const blocker = join(root, 'not-a-dir');
    await writeFile(blocker, 'a file where the directory should be');
    const out = new FileOutput({ path: blocker, clock: new ManualClock(NOON) });
    const res = await out.send(makeEvents(2));
    assert.deepEqual(
      res.results.map((r) => r.status),
      ['retry', 'retry'],
    );
    assert.match(res.results[0].error ?? '', /^file output: /);
    assert.equal(out.stats.writeErrors, 1);

    await rm(blocker);
    const again = await out.send(makeEvents(2));
    assert.deepEqual(
      again.results.map((r) => r.status),
      ['ok', 'ok'],
    );
    await out.close();
  });

  test('close is idempotent, waits for the batch being written, and later sends are retried', async () => {
    const dir = await tempDir();
    const out = new FileOutput({ path: dir });
    const sending = out.send(makeEvents(100));
    const c1 = out.close();
    assert.equal(out.close(), c1);
    await c1;
    assert.ok((await sending).results.every((r) => r.status === 'ok'));
    const [f] = await readdir(dir);
    assert.equal((await readLines(join(dir, f))).length, 100);
    const late = await out.send(makeEvents(1));
    assert.deepEqual(late.results, [{ status: 'retry', error: 'output closed' }]);
  });

  test('validates its options with FLOWSHIP_CONFIG errors naming every problem', () => {
    assert.throws(
      () =>
        new FileOutput({
          path: '',
          number_of_files: 1,
          rotate_every_kb: 0,
          permissions: 0o1777,
          filename: 'a/b',
        }),
      (err: { code?: string; problems?: string[] }) => {
        assert.equal(err.code, 'FLOWSHIP_CONFIG');
        assert.equal(err.problems?.length, 5);
        return true;
      },
    );
    assert.throws(() => new FileOutput({ path: '/tmp/x', number_of_files: 1025 }), {
      code: 'FLOWSHIP_CONFIG',
    });
  });
});
