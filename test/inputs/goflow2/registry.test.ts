import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FileRegistryStore,
  parseRegistry,
  type RegistryDocument,
  RegistryError,
  registryPath,
} from '../../../src/inputs/goflow2/registry.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';

const ENTRY = {
  fp: 'a'.repeat(64),
  fp_len: 300,
  path: '/var/log/sflow/goflow2/goflow2.log',
  dev: '2049',
  ino: '18446744073709551615',
  offset: 1234,
  marker: '0123456789abcdef',
  size: 2000,
  mtime_ms: 1767225600000,
  updated_ms: 1767225600000,
};
const DOC: RegistryDocument = {
  version: 1,
  input: 'in',
  written: '2026-01-01T00:00:00.000Z',
  entries: [ENTRY],
};

describe('registry', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowship-registry-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives at <path.data>/registry/goflow2/<id>.json; odd ids stay one file name', () => {
    assert.equal(registryPath('/data', 'goflow2-sflow'), '/data/registry/goflow2/goflow2-sflow.json');
    assert.equal(registryPath('/data', 'a/b'), '/data/registry/goflow2/a%2Fb.json');
    assert.equal(registryPath('/data', '..'), '/data/registry/goflow2/...json');
  });

  it('writes atomically with mode 0600, and reads back exactly (64-bit inode as a string)', async () => {
    const logs: string[] = [];
    const path = registryPath(dir, 'rw');
    const store = new FileRegistryStore({
      path,
      logger: createLogger({ sink: (l) => logs.push(l) }),
      now: () => 1,
    });
    assert.equal(await store.load(), undefined);
    await store.save(DOC);
    const s = await stat(path);
    assert.equal(s.mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dirname(path)), ['rw.json']);
    const text = await readFile(path, 'utf8');
    assert.deepEqual(Object.keys(JSON.parse(text)), ['version', 'input', 'written', 'entries']);
    assert.deepEqual(Object.keys(JSON.parse(text).entries[0]).sort(), Object.keys(ENTRY).sort());
    assert.deepEqual(await store.load(), DOC);
    assert.deepEqual(logs, []);
  });

  it('registry_crash: deletes a leftover .tmp, sets a corrupt file aside with an ERROR and starts empty', async () => {
    const logs: string[] = [];
    const path = registryPath(dir, 'crash');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.tmp`, '{"version":1,"entr');
    await writeFile(path, '{"version":1,"entries":[{"fp":');
    await writeFile(registryPath(dir, 'other'), '{}'); // another input's file is left alone
    await writeFile(`${registryPath(dir, 'other')}.tmp`, 'x');
    const store = new FileRegistryStore({
      path,
      logger: createLogger({ sink: (l) => logs.push(l) }),
      now: () => 42,
    });
    assert.equal(await store.load(), undefined);
    const files = (await readdir(dirname(path))).sort();
    assert.ok(files.includes('crash.json.corrupt-42'));
    assert.ok(!files.includes('crash.json.tmp'));
    assert.ok(!files.includes('crash.json'));
    assert.ok(files.includes('other.json.tmp'), "other inputs' leftovers are theirs");
    assert.equal(logs.length, 1);
    assert.match(logs[0], /ERROR .*registry is unreadable/);
    // "killed between rename and directory fsync": the renamed file is complete either way
    await store.save(DOC);
    assert.deepEqual(await store.load(), DOC);
  });

  it('refuses a newer version with FLOWSHIP_REGISTRY', async () => {
    const path = registryPath(dir, 'newer');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify({ ...DOC, version: 2 }));
    const store = new FileRegistryStore({ path, logger: createLogger({ sink: () => {} }), now: () => 1 });
    await assert.rejects(
      store.load(),
      (err: unknown) => err instanceof RegistryError && err.code === ('FLOWSHIP_REGISTRY' as string),
    );
    assert.equal(await readFile(path, 'utf8'), JSON.stringify({ ...DOC, version: 2 }), 'left in place');
  });

  it('treats malformed entries as corruption', () => {
    for (const bad of [
      '[]',
      '{"version":1}',
      JSON.stringify({ ...DOC, entries: [{ ...ENTRY, ino: 5 }] }),
      JSON.stringify({ ...DOC, entries: [{ ...ENTRY, marker: 'xyz' }] }),
      JSON.stringify({ ...DOC, entries: [{ ...ENTRY, offset: -1 }] }),
    ]) {
      assert.ok('corrupt' in parseRegistry(bad, 'x'), bad);
    }
  });
});
