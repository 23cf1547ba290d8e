/** The template cache file: round trip, expiry, share_templates, damage, atomic replacement. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type CachedTemplate,
  loadTemplateCache,
  saveTemplateCache,
  templateCachePath,
} from '../../../src/inputs/netflow/template-cache.ts';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'flowship-template-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const template = (id: number, lastUsedMs: number, extra: Partial<CachedTemplate> = {}): CachedTemplate => ({
  session: '192.0.2.1:4739/0',
  protocol: 'ipfix',
  id,
  fields: [
    { pen: 0, id: 8, length: 4 },
    { pen: 9, id: 12235, length: 0xffff },
    { pen: 0, id: 40001, length: 2 },
  ],
  scopeCount: 0,
  isOptions: false,
  lastUsedMs,
  ...extra,
});

const load = (path: string, options: Partial<Parameters<typeof loadTemplateCache>[1]> = {}) =>
  loadTemplateCache(path, {
    shareTemplates: false,
    expirationMs: 30 * 60_000,
    now: NOW,
    maxTemplates: 1000,
    ...options,
  });

describe('template cache', () => {
  it('keeps what was announced, and loads it back, most recently used first', async () => {
    const path = templateCachePath(dir, 'nf-a');
    assert.equal(path, join(dir, 'netflow', 'nf-a', 'templates.json'));
    const saved = [
      template(256, NOW - 60_000),
      template(257, NOW - 1000, {
        protocol: 'v9',
        session: '192.0.2.2:2055/7',
        scopeCount: 1,
        isOptions: true,
      }),
    ];
    await saveTemplateCache(path, saved, { shareTemplates: false, now: NOW });
    const loaded = await load(path);
    assert.deepEqual(loaded, { templates: [saved[1], saved[0]], expired: 0, invalid: 0 });
    assert.deepEqual(readdirSync(join(dir, 'netflow', 'nf-a')), ['templates.json'], 'no temporary file left');
  });

  it('drops entries idle longer than the expiration timeout (none with 0), and caps the count', async () => {
    const path = templateCachePath(dir, 'nf-b');
    await saveTemplateCache(
      path,
      [template(256, NOW - 31 * 60_000), template(257, NOW - 60_000), template(258, NOW)],
      {
        shareTemplates: false,
        now: NOW,
      },
    );
    const loaded = await load(path);
    assert.deepEqual(
      loaded.templates.map((t) => t.id),
      [258, 257],
    );
    assert.equal(loaded.expired, 1);
    assert.equal((await load(path, { expirationMs: 0 })).templates.length, 3);
    const capped = await load(path, { expirationMs: 0, maxTemplates: 2 });
    assert.deepEqual(
      capped.templates.map((t) => t.id),
      [258, 257],
    );
    assert.equal(capped.invalid, 1);
  });

  it('a file written with the other share_templates is ignored, and says why', async () => {
    const path = templateCachePath(dir, 'nf-c');
    await saveTemplateCache(path, [template(256, NOW)], { shareTemplates: true, now: NOW });
    const loaded = await load(path);
    assert.deepEqual(loaded.templates, []);
    assert.match(loaded.ignored ?? '', /share_templates: true/);
  });

  it('a missing file is an empty cache; a damaged one is ignored; bad entries are dropped and counted', async () => {
    assert.deepEqual(await load(join(dir, 'none', 'templates.json')), {
      templates: [],
      expired: 0,
      invalid: 0,
    });
    const path = templateCachePath(dir, 'nf-d');
    await saveTemplateCache(path, [template(256, NOW)], { shareTemplates: false, now: NOW });
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.length / 2)); // torn by hand
    assert.match((await load(path)).ignored ?? '', /is not JSON/);
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        share_templates: false,
        saved_at: NOW,
        templates: [
          {
            session: 's',
            protocol: 'ipfix',
            id: 256,
            fields: [[0, 8, 4]],
            scope_count: 0,
            options: false,
            last_used: NOW,
          },
          {
            session: 's',
            protocol: 'ipfix',
            id: 12,
            fields: [[0, 8, 4]],
            scope_count: 0,
            options: false,
            last_used: NOW,
          },
          {
            session: 's',
            protocol: 'sflow',
            id: 300,
            fields: [[0, 8, 4]],
            scope_count: 0,
            options: false,
            last_used: NOW,
          },
          {
            session: 's',
            protocol: 'v9',
            id: 301,
            fields: [[0, 8]],
            scope_count: 0,
            options: false,
            last_used: NOW,
          },
          {
            session: 's',
            protocol: 'v9',
            id: 302,
            fields: [[0, 8, 4]],
            scope_count: 2,
            options: true,
            last_used: NOW,
          },
          null,
        ],
      }),
    );
    const loaded = await load(path);
    assert.deepEqual(
      loaded.templates.map((t) => t.id),
      [256],
    );
    assert.equal(loaded.invalid, 5);
  });

  it('saving again replaces the file whole', async () => {
    const path = templateCachePath(dir, 'nf-e');
    await saveTemplateCache(path, [template(256, NOW), template(257, NOW)], {
      shareTemplates: false,
      now: NOW,
    });
    await saveTemplateCache(path, [template(300, NOW)], { shareTemplates: false, now: NOW + 1 });
    assert.deepEqual(
      (await load(path)).templates.map((t) => t.id),
      [300],
    );
  });
});
