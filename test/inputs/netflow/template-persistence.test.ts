/**
 * Templates survive restarts (NETFLOW.md R4) end to end: a real NetflowInput learns templates
 * over UDP and writes them at stop; the next one loads them at start and decodes data datagrams
 * that arrive before the exporter announces its templates again.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { run } from '../../../src/cli/run.ts';
import { readPcap } from '../../../src/inputs/netflow/capture/pcap.ts';
import { NetflowDecoder } from '../../../src/inputs/netflow/decoder/decoder.ts';
import { buildDictionary } from '../../../src/inputs/netflow/fields/dictionary.ts';
import {
  loadTemplateCache,
  saveTemplateCache,
  templateCachePath,
} from '../../../src/inputs/netflow/template-cache.ts';
import type { MetricsRegistry, ValueSnapshot } from '../../../src/monitoring/metrics.ts';
import { eventDocument } from '../../../src/pipeline/event.ts';
import { ip4, ipfix, ipfixTemplate, set, u32, v9, v9Template } from './decoder/packets.ts';
import { inputHarness, until } from './input-harness.ts';

const CISCO = readFileSync(new URL('../../../fixtures/netflow/pcap/ipfix_cisco.pcap', import.meta.url));
/** ipfix_cisco.pcap's three IPFIX messages: [0] template 267 + 9 flows, [1] and [2] 10 flows each. */
const [WITH_TEMPLATE, DATA_1] = [...readPcap(CISCO, 'ipfix_cisco.pcap')].map((d) => Buffer.from(d.payload));

const dir = mkdtempSync(join(tmpdir(), 'flowship-templates-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A fresh cache path per test. */
const cachePath = () => templateCachePath(dir, `input-${n++}`);

function metric(metrics: MetricsRegistry, name: string): number {
  const snapshot = metrics.snapshot()[name];
  assert.ok(snapshot !== undefined, `${name} is registered`);
  const found = (snapshot.values as ValueSnapshot[]).find((v) => v.labels.input === 'netflow');
  return found?.value ?? 0;
}

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** One UDP source port (one exporter session), sending to whichever port it is told. */
function exporter() {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  return (port: number, payload: Buffer) =>
    new Promise<void>((resolve, reject) =>
      socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
}

const FROM = { ip: '192.0.2.1', address: '192.0.2.1:4444' };

describe('NetflowInput, R4: templates survive restarts', () => {
  it('a restart between a template and its data loses nothing (real UDP)', async () => {
    const path = cachePath();
    const send = exporter();
    const a = inputHarness({ templateCache: { path, flushIntervalMs: 60_000 } });
    await a.input.start();
    await send(a.input.addresses[0].port, WITH_TEMPLATE);
    await until(() => a.events.length >= 9, '9 flows');
    const learned = a.input.snapshot().templates;
    assert.ok(learned >= 1);
    await a.input.stop();
    assert.ok(existsSync(path), 'the cache is written at stop');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { templates: { id: number; protocol: string }[] };
    assert.ok(file.templates.some((t) => t.id === 267 && t.protocol === 'ipfix'));

    const b = inputHarness({ templateCache: { path, flushIntervalMs: 60_000 } });
    await b.input.start();
    assert.equal(metric(b.metrics, 'flowship_netflow_templates_loaded_from_cache_total'), learned);
    assert.ok(b.lines.some((l) => l.includes('templates loaded from the template cache')));
    // the same exporter (same source port), data only
    await send(b.input.addresses[0].port, DATA_1);
    await until(() => b.events.length >= 10, '10 flows');
    assert.equal(b.events.length, 10);
    assert.equal(metric(b.metrics, 'flowship_netflow_data_sets_without_template_total'), 0);
    assert.equal(metric(b.metrics, 'flowship_netflow_templates_learned_total'), 0, 'loaded, not learned');
    assert.equal(b.input.stats.decode_errors_total, 0);
  });

  it('a v9 template too; a re-announcement replaces the loaded one and a high sequence number does not reset it', async () => {
    const path = cachePath();
    const a = inputHarness({ templateCache: { path, flushIntervalMs: 60_000 } });
    await a.input.start();
    a.input.process(v9({ sequence: 1 }, set(0, v9Template(256, [[8, 4]]))), FROM);
    await a.input.stop();

    const b = inputHarness({ templateCache: { path, flushIntervalMs: 60_000 } });
    await b.input.start();
    // the exporter's sequence went on while flowship was down: not a reset
    b.input.process(v9({ sequence: 50_000 }, set(256, ip4('10.0.0.1'))), FROM);
    assert.equal(b.events.length, 1);
    assert.equal((eventDocument(b.events[0]).source as Record<string, unknown>).ip, '10.0.0.1');
    // re-announced with another layout: the wire wins
    b.input.process(v9({ sequence: 50_001 }, set(0, v9Template(256, [[12, 4]]))), FROM);
    b.input.process(v9({ sequence: 50_002 }, set(256, ip4('10.0.0.2'))), FROM);
    assert.equal((eventDocument(b.events[1]).destination as Record<string, unknown>).ip, '10.0.0.2');
    await b.input.stop();
    const { templates } = await loadTemplateCache(path, {
      shareTemplates: false,
      expirationMs: 0,
      now: Date.now(),
      maxTemplates: 10,
    });
    assert.deepEqual(
      templates.map((t) => [t.protocol, t.session, t.id, t.fields]),
      [['v9', `${FROM.address}/0`, 256, [{ pen: 0, id: 12, length: 4 }]]],
    );
  });

  it('an entry idle longer than expiration_timeout is not loaded; a recent one is', async () => {
    const path = cachePath();
    const now = 1_800_000_000_000;
    const spec = { pen: 0, id: 8, length: 4 };
    const entry = {
      session: `${FROM.address}/0`,
      protocol: 'v9' as const,
      fields: [spec],
      scopeCount: 0,
      isOptions: false,
    };
    await saveTemplateCache(
      path,
      [
        { ...entry, id: 256, lastUsedMs: now - 2 * 3_600_000 },
        { ...entry, id: 257, lastUsedMs: now - 60_000 },
      ],
      { shareTemplates: false, now },
    );
    const { input, events, metrics, lines } = inputHarness({
      templateCache: { path, flushIntervalMs: 60_000 },
      expirationTimeoutMs: 30 * 60_000,
      now: () => now,
    });
    await input.start();
    assert.equal(metric(metrics, 'flowship_netflow_templates_loaded_from_cache_total'), 1);
    assert.ok(lines.some((l) => l.includes('templates loaded') && l.includes('expired')));
    input.process(v9({ sequence: 1 }, set(256, ip4('10.0.0.1')), set(257, ip4('10.0.0.2'))), FROM);
    assert.equal(events.length, 1);
    assert.equal((eventDocument(events[0]).source as Record<string, unknown>).ip, '10.0.0.2');
    assert.equal(metric(metrics, 'flowship_netflow_data_sets_without_template_total'), 1);
  });

  it('a file written with the other share_templates is ignored, with a warning', async () => {
    const path = cachePath();
    const entry = { session: '0', protocol: 'v9' as const, id: 256, fields: [{ pen: 0, id: 8, length: 4 }] };
    await saveTemplateCache(path, [{ ...entry, scopeCount: 0, isOptions: false, lastUsedMs: Date.now() }], {
      shareTemplates: true,
      now: Date.now(),
    });
    const { input, metrics, lines } = inputHarness({ templateCache: { path, flushIntervalMs: 60_000 } });
    await input.start();
    assert.equal(metric(metrics, 'flowship_netflow_templates_loaded_from_cache_total'), 0);
    assert.ok(lines.some((l) => l.includes('share_templates') && l.includes('ignored')));
  });

  it('the flush timer writes the cache once the templates changed, and only then', async () => {
    const path = cachePath();
    const { input } = inputHarness({ templateCache: { path, flushIntervalMs: 20 } });
    await input.start();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(existsSync(path), false, 'nothing changed: nothing written');
    input.process(v9({ sequence: 1 }, set(0, v9Template(256, [[8, 4]]))), FROM);
    await until(() => existsSync(path), 'the cache file');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { templates: unknown[] };
    assert.equal(file.templates.length, 1);
  });

  it('a write error is logged, never thrown', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, '');
    const { input, lines } = inputHarness({
      templateCache: { path: join(blocker, 'templates.json'), flushIntervalMs: 60_000 },
    });
    await input.start();
    input.process(v9({ sequence: 1 }, set(0, v9Template(256, [[8, 4]]))), FROM);
    await input.stop();
    assert.ok(lines.some((l) => l.includes('cannot write the template cache')));
  });
});

describe('NetflowDecoder, R4: export and import', () => {
  it('templates are compiled again against the dictionary of this start (custom definitions)', () => {
    const PEN = 99_999;
    const a = new NetflowDecoder({ dictionary: buildDictionary({ compatibility: 'extended' }) });
    a.decode(ipfix({ sequence: 1 }, set(2, ipfixTemplate(300, [[1, 4, PEN]]))), FROM);
    const exported = a.exportTemplates();
    assert.equal(exported.length, 1);
    assert.deepEqual(exported[0].fields, [{ pen: PEN, id: 1, length: 4 }]);

    const b = new NetflowDecoder({
      dictionary: buildDictionary({
        compatibility: 'extended',
        custom: [{ pen: PEN, id: 1, type: 'unsigned32', name: 'myCounter', source: 'test' }],
      }),
    });
    assert.equal(b.importTemplates(exported), 1);
    assert.equal(b.stats.templatesLearned, 0);
    const { records } = b.decode(ipfix({ sequence: 2 }, set(300, u32(42))), FROM);
    assert.equal(records.length, 1);
    assert.equal(records[0].type === 'netflow_flow' && records[0].fields.my_counter, 42);
  });

  it('last use is the decoder clock at learning and at each use; the change count ignores uses', () => {
    let now = 1000;
    const d = new NetflowDecoder({
      dictionary: buildDictionary({ compatibility: 'extended' }),
      now: () => now,
    });
    d.decode(v9({ sequence: 1 }, set(0, v9Template(256, [[8, 4]]))), FROM);
    assert.equal(d.exportTemplates()[0].lastUsedMs, 1000);
    const changes = d.templateChangeCount;
    now = 5000;
    d.decode(v9({ sequence: 2 }, set(256, ip4('10.0.0.1'))), FROM);
    assert.equal(d.exportTemplates()[0].lastUsedMs, 5000);
    assert.equal(d.templateChangeCount, changes);
    d.decode(v9({ sequence: 3 }, set(0, v9Template(257, [[8, 4]]))), FROM);
    assert.notEqual(d.templateChangeCount, changes);
  });

  it('import respects the per-session template cap', () => {
    const d = new NetflowDecoder({
      dictionary: buildDictionary({ compatibility: 'extended' }),
      limits: { maxSessions: 10, maxTemplatesPerSession: 2, maxTemplateFields: 1000 },
    });
    const entries = [256, 257, 258].map((id) => ({
      session: `${FROM.address}/0`,
      protocol: 'ipfix' as const,
      id,
      fields: [{ pen: 0, id: 8, length: 4 }],
      scopeCount: 0,
      isOptions: false,
      lastUsedMs: 0,
    }));
    assert.equal(d.importTemplates(entries), 2);
    assert.equal(d.templateCount, 2);
  });
});

describe('flowship run, R4: template_cache.enabled', () => {
  for (const enabled of [true, false]) {
    it(`enabled: ${enabled} -> ${enabled ? 'the file is written at stop' : 'no file'}`, async () => {
      const data = join(dir, `run-${enabled}`);
      const config = join(dir, `run-${enabled}.yml`);
      writeFileSync(
        config,
        `flowship.inputs: [{type: netflow, id: nf, host: 127.0.0.1, port: 0, template_cache: {enabled: ${enabled}}}]\n` +
          `output.console: {}\npath.data: ${data}\n`,
      );
      const code = await run({
        configFile: config,
        overrides: [],
        stopSignal: new Promise((r) => setTimeout(() => r('SIGTERM'), 200)),
      });
      assert.equal(code, 0);
      assert.equal(existsSync(templateCachePath(data, 'nf')), enabled);
    });
  }
});
