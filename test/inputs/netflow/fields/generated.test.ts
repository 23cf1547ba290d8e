// The committed field table must be what scripts/generate-fields.ts makes of
// fixtures/reference/ipfix.yaml; this is the CI guard against a stale table.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IPFIX_YAML, IPFIX_YAML_SOURCE } from '../../../../src/inputs/netflow/fields/generated/ipfix-yaml.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TABLE = join(ROOT, 'src/inputs/netflow/fields/generated/ipfix-yaml.ts');
const dir = mkdtempSync(join(tmpdir(), 'flowship-generate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function generate(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, ['scripts/generate-fields.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, output: run.stdout + run.stderr };
}

test('the committed table is up to date (generate-fields --check)', () => {
  const { status, output } = generate('--check');
  assert.equal(status, 0, output);
});

test('--check fails on a stale or missing table, and generating fixes it', () => {
  const copy = join(dir, 'ipfix-yaml.ts');
  assert.equal(generate('--check', '--output', copy).status, 1, 'missing');
  assert.equal(generate('--output', copy).status, 0);
  assert.equal(readFileSync(copy, 'utf8'), readFileSync(TABLE, 'utf8'));
  assert.equal(generate('--check', '--output', copy).status, 0);
  appendFileSync(copy, '// edited by hand\n');
  const stale = generate('--check', '--output', copy);
  assert.equal(stale.status, 1);
  assert.match(stale.output, /stale: run npm run generate:fields/);
  assert.equal(generate('--bogus').status, 2);
});

test('the table carries its provenance, licence and NOTICE', () => {
  const text = readFileSync(TABLE, 'utf8');
  assert.match(text, /generated - do not edit, run npm run generate:fields/);
  assert.match(text, /logstash-plugins\/logstash-codec-netflow/);
  assert.match(text, /a4e9621385e8867728d850a423638b88bc7fbc48/);
  assert.match(text, /Apache License, Version 2\.0/);
  assert.match(text, /Copyright 2012-2015 Elasticsearch/);
  assert.equal(IPFIX_YAML_SOURCE.commit, 'a4e9621385e8867728d850a423638b88bc7fbc48');
  assert.equal(IPFIX_YAML.length, 1362);
});
