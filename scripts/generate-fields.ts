/**
 * Generates src/inputs/netflow/fields/generated/ipfix-yaml.ts from fixtures/reference/ipfix.yaml
 * (the Logstash netflow codec's IPFIX dictionary), so the YAML stays the single source and
 * `npm ci` needs no build step (fixtures/reference/README.md "How flowship uses them").
 *
 *   node scripts/generate-fields.ts           rewrite the table
 *   node scripts/generate-fields.ts --check   exit 1 if the committed table is stale (CI)
 *   --output <file>                           another target (tests)
 *
 * The output is emitted already in Biome's format, so `biome check` passes on it unchanged and
 * the check needs no formatter.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDictionary, type YamlFieldEntry } from '../src/inputs/netflow/fields/yaml-dictionary.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = 'fixtures/reference/ipfix.yaml';
const README = 'fixtures/reference/README.md';
const NOTICE = 'fixtures/reference/NOTICE.TXT';
const OUTPUT = 'src/inputs/netflow/fields/generated/ipfix-yaml.ts';

interface Provenance {
  repository: string;
  directory: string;
  commit: string;
}

/** The README is where the fixture's origin is recorded; reading it keeps one place to update. */
function provenance(readme: string): Provenance {
  const m = /Source:\s+([\w.-]+\/[\w.-]+),\s+`([^`]+)`,\s+commit\s+([0-9a-f]{40})/.exec(readme);
  if (!m) throw new Error(`${README}: no "Source: owner/repo, \`dir/\`, commit <sha>" line found`);
  return { repository: m[1]!, directory: m[2]!, commit: m[3]! };
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function render(yaml: string, readme: string, notice: string): string {
  const { repository, directory, commit } = provenance(readme);
  const entries: YamlFieldEntry[] = parseYamlDictionary(yaml, { source: SOURCE, duplicates: 'last-wins' });
  const upstreamPath = `${directory.replace(/\/$/, '')}/ipfix.yaml`;
  const noticeLines = notice
    .trimEnd()
    .split(/\r?\n/)
    .map((line) => (line.trim() === '' ? ' *' : ` *   ${line.trimEnd()}`));

  const rows: string[] = [];
  let pen: number | undefined;
  for (const e of entries) {
    if (e.pen !== pen) {
      rows.push(`  // PEN ${e.pen}`);
      pen = e.pen;
    }
    rows.push(`  [${e.pen}, ${e.id}, ${quote(e.type)}, ${quote(e.name)}],`);
  }

  return [
    '/*',
    ' * generated - do not edit, run npm run generate:fields',
    ' *',
    ` * Every entry of ${SOURCE}, the IPFIX information-element dictionary of`,
    ` * ${repository} (${upstreamPath}),`,
    ` * commit ${commit}.`,
    ' * Licensed under the Apache License, Version 2.0 (fixtures/reference/LICENSE). Its NOTICE:',
    ' *',
    ...noticeLines,
    ' */',
    '',
    "import type { IeType } from '../types.ts';",
    '',
    'export const IPFIX_YAML_SOURCE = {',
    `  file: ${quote(SOURCE)},`,
    `  repository: ${quote(repository)},`,
    `  path: ${quote(upstreamPath)},`,
    `  commit: ${quote(commit)},`,
    '} as const;',
    '',
    '/** One definition; `name` is empty for a bare `[:skip]`, which names nothing. */',
    'export type IpfixYamlRow = readonly [pen: number, id: number, type: IeType, name: string];',
    '',
    '/** In file order; a repeated id keeps its first position and its last value. */',
    'export const IPFIX_YAML: readonly IpfixYamlRow[] = [',
    ...rows,
    '];',
    '',
  ].join('\n');
}

function main(args: readonly string[]): void {
  let check = false;
  let output = OUTPUT;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--check') check = true;
    else if (args[i] === '--output' && i + 1 < args.length) output = args[++i]!;
    else {
      console.error(`usage: node scripts/generate-fields.ts [--check] [--output <file>] (at "${args[i]}")`);
      process.exitCode = 2;
      return;
    }
  }
  const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');
  const generated = render(read(SOURCE), read(README), read(NOTICE));
  if (!check) {
    writeFileSync(resolve(ROOT, output), generated);
    console.log(`wrote ${output}`);
    return;
  }
  let committed: string | undefined;
  try {
    committed = read(output);
  } catch {
    committed = undefined;
  }
  if (committed !== generated) {
    console.error(
      `${output} is ${committed === undefined ? 'missing' : 'stale'}: run npm run generate:fields`,
    );
    process.exitCode = 1;
    return;
  }
  console.log(`${output} is up to date`);
}

main(process.argv.slice(2));
