/**
 * TAILER.md §9 scenarios around stopping and starting: the registry's acked offset is where
 * reading resumes, whatever happened to the file in between.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { registryPath } from '../../../src/inputs/goflow2/registry.ts';
import {
  Consumer,
  flow,
  flows,
  makeTailer,
  offsetOf,
  readRegistry,
  useTailerFixture,
  waitFor,
} from './helpers.ts';

const fx = useTailerFixture();

describe('tailer across restarts', () => {
  it('restart_resume: stopped with unacked lines, a new tailer resumes at the acked offset', async () => {
    const file = join(fx.logs, 'goflow2.log');
    const text = flows(0, 10);
    await writeFile(file, text);
    const first = new Consumer('manual');
    const { tailer } = await fx.start(first);
    await waitFor(() => first.delivered.length === 10, '10 lines');
    first.ack(4);
    await waitFor(() => tailer.entries()[0]?.ackedOffset === offsetOf(text, 4), 'acked offset after 4 lines');
    await tailer.stop({ timeoutMs: 0 });
    const reg = await readRegistry(fx.dir);
    assert.equal(reg?.entries.length, 1);
    assert.equal(reg?.entries[0].offset, offsetOf(text, 4), 'only the contiguous acked prefix is persisted');

    await appendFile(file, flows(10, 5));
    const second = new Consumer();
    const { tailer: again } = await fx.start(second);
    await waitFor(() => second.delivered.length === 11, 'lines 4..14');
    assert.deepEqual(
      second.texts(),
      Array.from({ length: 11 }, (_, i) => flow(i + 4)),
    );
    // the re-read lines come with the same position and identity, hence the same document ids
    for (const d of second.delivered.slice(0, 6)) {
      const before = first.delivered.find((x) => x.offset === d.offset);
      assert.ok(before !== undefined);
      assert.equal(before.text, d.text);
      assert.equal(before.fingerprint, d.fingerprint);
    }
    await waitFor(
      () => again.entries()[0]?.ackedOffset === Buffer.byteLength(text) + Buffer.byteLength(flows(10, 5)),
      'all acked',
    );
  });

  it('partial_line_across_restart: half a line, stop, finish it, start: delivered exactly once', async () => {
    const file = join(fx.logs, 'goflow2.log');
    const half = flow(2).slice(0, 30);
    await writeFile(file, `${flows(0, 2)}${half}`);
    const first = new Consumer();
    const { tailer } = await fx.start(first);
    await waitFor(() => first.delivered.length === 2, '2 lines');
    await waitFor(() => tailer.entries()[0]?.ackedOffset === offsetOf(flows(0, 2), 2), 'acked');
    await tailer.stop();
    assert.deepEqual(first.texts(), [flow(0), flow(1)]);
    await appendFile(file, `${flow(2).slice(30)}\n${flows(3, 1)}`);
    const second = new Consumer();
    await fx.start(second);
    await waitFor(() => second.delivered.length === 2, 'completed line and next');
    assert.deepEqual(second.texts(), [flow(2), flow(3)]);
    assert.equal(second.delivered[0].offset, offsetOf(flows(0, 2), 2));
  });

  it('truncate_offline: a file shrunk while stopped is read from 0', async () => {
    const file = join(fx.logs, 'goflow2.log');
    await writeFile(file, flows(0, 10));
    const first = new Consumer();
    const { tailer } = await fx.start(first);
    await waitFor(() => first.delivered.length === 10, '10 lines');
    await waitFor(() => tailer.entries()[0]?.ackedOffset === Buffer.byteLength(flows(0, 10)), 'acked');
    await tailer.stop();
    // same first line (same fingerprint), but shorter than the offset
    await writeFile(file, `${flow(0)}\n${flow(100, 'b')}\n`);
    const second = new Consumer();
    const { tailer: again } = await fx.start(second);
    await waitFor(() => second.delivered.length === 2, 'both lines');
    assert.deepEqual(second.texts(), [flow(0), flow(100, 'b')]);
    assert.equal(second.delivered[0].offset, 0);
    assert.equal(again.stats.truncations_total, 1);
  });

  it('truncate_offline, regrown past the offset: the marker detects it', async () => {
    const file = join(fx.logs, 'goflow2.log');
    await writeFile(file, flows(0, 3));
    const first = new Consumer();
    const { tailer } = await fx.start(first);
    await waitFor(() => tailer.entries()[0]?.ackedOffset === Buffer.byteLength(flows(0, 3)), 'acked');
    await tailer.stop();
    const rewritten = `${flow(0)}\n${flows(50, 5, 'bb')}`;
    assert.ok(Buffer.byteLength(rewritten) > Buffer.byteLength(flows(0, 3)));
    await writeFile(file, rewritten);
    const second = new Consumer();
    await fx.start(second);
    await waitFor(() => second.delivered.length === 6, 'all of the rewritten file');
    assert.deepEqual(second.texts(), rewritten.trimEnd().split('\n'));
  });

  it('renamed_while_down: a file renamed within paths continues at its offset', async () => {
    const text = flows(0, 10);
    await writeFile(join(fx.logs, 'a.log'), text);
    const first = new Consumer('manual');
    const { tailer } = await fx.start(first);
    await waitFor(() => first.delivered.length === 10, '10 lines');
    first.ack(5);
    await waitFor(() => tailer.entries()[0]?.ackedOffset === offsetOf(text, 5), 'acked 5');
    await tailer.stop({ timeoutMs: 0 });
    await rename(join(fx.logs, 'a.log'), join(fx.logs, 'b.log'));
    const second = new Consumer();
    const { tailer: again } = await fx.start(second);
    await waitFor(() => second.delivered.length === 5, 'lines 5..9');
    assert.deepEqual(
      second.texts(),
      Array.from({ length: 5 }, (_, i) => flow(i + 5)),
    );
    assert.equal(second.delivered[0].path, join(fx.logs, 'b.log'));
    assert.equal(again.entries().length, 1);
    assert.equal(again.entries()[0].path, join(fx.logs, 'b.log'));
  });

  it('copytruncate_across_restart: copied and truncated while stopped, only new content is read', async () => {
    const file = join(fx.logs, 'goflow2.log');
    await writeFile(file, flows(0, 5));
    const first = new Consumer();
    const { tailer } = await fx.start(first, { paths: [join(fx.logs, '*.log'), join(fx.logs, '*.log.1')] });
    await waitFor(() => tailer.entries()[0]?.ackedOffset === Buffer.byteLength(flows(0, 5)), 'acked');
    await tailer.stop();
    await writeFile(`${file}.1`, flows(0, 5));
    await truncate(file, 0);
    await appendFile(file, flows(5, 2, 'new'));
    const second = new Consumer();
    const { tailer: again } = await fx.start(second, {
      paths: [join(fx.logs, '*.log'), join(fx.logs, '*.log.1')],
    });
    await waitFor(() => second.delivered.length === 2, 'the new lines');
    await waitFor(() => again.stats.scans_total >= 3, 'two more scans');
    assert.deepEqual(second.texts(), [flow(5, 'new'), flow(6, 'new')]);
    const copy = again.entries().find((e) => e.path === `${file}.1`);
    assert.equal(copy?.ackedOffset, Buffer.byteLength(flows(0, 5)), 'the copy continues at the old offset');
  });

  it('registry_crash: leftover tmp and a corrupt registry: start empty, read everything again', async () => {
    const file = join(fx.logs, 'goflow2.log');
    await writeFile(file, flows(0, 3));
    const path = registryPath(join(fx.dir, 'data'), 'test');
    await mkdir(join(fx.dir, 'data', 'registry', 'goflow2'), { recursive: true });
    await writeFile(`${path}.tmp`, 'half');
    await writeFile(path, '{"version":1,"entries":[');
    const consumer = new Consumer();
    const { tailer, logs: lines } = await fx.start(consumer);
    await waitFor(() => consumer.delivered.length === 3, '3 lines');
    assert.ok(lines.some((l) => / ERROR .*registry is unreadable/.test(l)));
    await waitFor(() => tailer.stats.registry_writes_total > 0, 'a registry write');
    const reg = await readRegistry(fx.dir);
    assert.ok(reg !== undefined);
  });

  it('a registry from a newer flowship is refused', async () => {
    const path = registryPath(join(fx.dir, 'data'), 'test');
    await mkdir(join(fx.dir, 'data', 'registry', 'goflow2'), { recursive: true });
    await writeFile(path, JSON.stringify({ version: 9, input: 'test', written: '', entries: [] }));
    const h = makeTailer(fx.dir, new Consumer());
    fx.track(h.tailer);
    await assert.rejects(h.tailer.start(), { code: 'FLOWSHIP_REGISTRY' });
  });
});
