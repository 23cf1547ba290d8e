/**
 * The whole GoFlow2 path with real components: GoFlow2 v2.2.6 (built from the Go module proxy by
 * scripts/ensure-goflow2.ts) receives sFlow v5 on loopback from the test encoder and writes JSON
 * lines with its default two decode workers; `flowship run` tails that file. Every sample must
 * arrive once as the integration's document, with the values encoded, also across a logrotate-
 * style rotation (rename + SIGHUP).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureGoflow2 } from '../../scripts/ensure-goflow2.ts';
import { type Goflow2, startGoflow2 } from '../helpers/goflow2.ts';
import { type Doc, readOutputDocs } from '../helpers/output.ts';
import { eventually, type Spawned, startFlowship } from '../helpers/process.ts';
import { buildFlowSamples, type ExpectedSample } from '../helpers/sflow.ts';

/** The key of a shipped document, built like the sample key from the ECS fields. */
function docKey(d: Doc): string {
  return [
    d.observer?.ip?.[0],
    d.sflow?.sequence_num,
    d.source?.ip ?? '',
    d.source?.port,
    d.destination?.ip ?? '',
    d.destination?.port,
    d.network?.transport,
  ].join('|');
}

function expectedKey(s: ExpectedSample): string {
  const l = s.line;
  return [
    l.sampler_address,
    l.sequence_num,
    l.src_addr,
    l.src_port,
    l.dst_addr,
    l.dst_port,
    String(l.proto).toLowerCase(),
  ].join('|');
}

function assertShipped(docs: Doc[], samples: readonly ExpectedSample[]): void {
  const byKey = new Map<string, Doc[]>();
  for (const d of docs) byKey.set(docKey(d), [...(byKey.get(docKey(d)) ?? []), d]);
  for (const s of samples) {
    const found = byKey.get(expectedKey(s)) ?? [];
    assert.equal(found.length, 1, `sample ${expectedKey(s)} shipped ${found.length} times`);
    const [d] = found;
    const l = s.line as Record<string, number | string>;
    assert.equal(d.event.action, 'SFLOW_5');
    assert.equal(d.network.type, String(l.etype).toLowerCase());
    assert.equal(d.network.packets, l.sampling_rate);
    assert.equal(d.sflow.sample_rate, l.sampling_rate);
    assert.equal(d.sflow.bytes, l.bytes);
    assert.equal(d.network.bytes, Number(l.bytes) * Number(l.sampling_rate));
    assert.equal(d.observer.ingress.interface.id, String(l.in_if));
    assert.equal(d.observer.egress.interface.id, String(l.out_if));
    assert.equal(d.goflow2.src_mac, l.src_mac);
    assert.equal(d.error, undefined);
  }
}

describe('GoFlow2 writing sFlow to a file, tailed by flowship', { timeout: 180_000 }, () => {
  let dir: string;
  let goflow2: Goflow2 | undefined;
  let flowship: Spawned | undefined;

  before(async () => {
    const binary = await ensureGoflow2();
    dir = mkdtempSync(join(tmpdir(), 'flowship-sflow-'));
    mkdirSync(join(dir, 'logs'));
    // GoFlow2's default: two decode workers writing concurrently (records may interleave)
    goflow2 = await startGoflow2({ binary, file: join(dir, 'logs', 'goflow2.log'), listen: {} });
    const cfg = join(dir, 'flowship.yml');
    writeFileSync(
      cfg,
      [
        'flowship.inputs:',
        '  - type: goflow2',
        '    id: sflow',
        `    paths: [${join(dir, 'logs')}/*.log, ${join(dir, 'logs')}/*.log.1]`,
        '    prospector.scanner.check_interval: 1s',
        '    backoff: {init: 100ms, max: 500ms}',
        `output.file: {path: ${join(dir, 'out')}}`,
        `path.data: ${join(dir, 'data')}`,
        'queue.mem.flush.timeout: 100ms',
        '',
      ].join('\n'),
    );
    flowship = startFlowship(['run', '-c', cfg]);
    await flowship.waitFor(/flowship started/);
  });

  after(async () => {
    await flowship?.stop('SIGKILL');
    await goflow2?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('ships every sample GoFlow2 writes, once, with the values encoded', async () => {
    const set = buildFlowSamples(400, { samplesPerDatagram: 10 });
    await goflow2!.send(set.datagrams);
    const docs = await eventually(() => {
      const d = readOutputDocs(join(dir, 'out'));
      return d.length >= 400 ? d : undefined;
    }, 30_000);
    assertShipped(docs, set.samples);
    assert.equal(docs.length, 400);
  });

  it('follows a rename + SIGHUP rotation: the rest of the old file and the new one, nothing twice', async () => {
    renameSync(join(dir, 'logs', 'goflow2.log'), join(dir, 'logs', 'goflow2.log.1'));
    await goflow2!.reopen();
    const set = buildFlowSamples(200, { firstIndex: 400, firstSequence: 1000, samplesPerDatagram: 10 });
    await goflow2!.send(set.datagrams);
    const docs = await eventually(() => {
      const d = readOutputDocs(join(dir, 'out'));
      return d.length >= 600 ? d : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would show up by now
    assertShipped(readOutputDocs(join(dir, 'out')), set.samples);
    assert.equal(readOutputDocs(join(dir, 'out')).length, 600);
    assert.equal(docs.filter((d) => d.log.file.path.endsWith('goflow2.log')).length >= 200, true);
  });

  it('stops cleanly', async () => {
    assert.equal(await flowship!.stop('SIGTERM'), 0, flowship!.stderr());
  });
});
