import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCustomDefinitions } from '../../../../src/inputs/netflow/fields/custom.ts';
import { buildDictionary, defaultDictionary } from '../../../../src/inputs/netflow/fields/dictionary.ts';
import { parseYamlDictionary } from '../../../../src/inputs/netflow/fields/yaml-dictionary.ts';
import { FlowshipError } from '../../../../src/util/errors.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flowship-custom-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const path = join(dir, `defs-${++files}.yml`);
  writeFileSync(path, text);
  return path;
}

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rejects(paths: string[], pattern: RegExp): void {
  assert.throws(
    () => loadCustomDefinitions(paths),
    (err: unknown) => {
      assert.ok(err instanceof FlowshipError);
      assert.equal(err.code, 'FLOWSHIP_CUSTOM_DEFINITIONS');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('NetFlow v9 shape: top-level lists are PEN 0 definitions by id', () => {
  const path = file(
    '# Cisco ASA, as in the Filebeat docs\n33000:\n- :acl_id_asa\n- :ingress_acl_id\n1:\n- 4\n- :in_bytes\n44:\n- :skip\n',
  );
  assert.deepEqual(loadCustomDefinitions([path]), [
    { pen: 0, id: 33000, type: 'aclIdAsa', name: 'ingress_acl_id', source: path },
    { pen: 0, id: 1, type: 'unsigned32', name: 'in_bytes', source: path },
    { pen: 0, id: 44, type: 'skip', name: '', source: path },
  ]);
});

test('IPFIX shape: top-level maps are PENs, then ids', () => {
  const path = file(
    '25461:\n  1:\n  - :uint32\n  - :panAppId\n  2: [string, panUser]\n2636:\n  137: [":ip6_addr", ":juniperNextHop"]\n',
  );
  assert.deepEqual(loadCustomDefinitions([path]), [
    { pen: 25461, id: 1, type: 'unsigned32', name: 'panAppId', source: path },
    { pen: 25461, id: 2, type: 'string', name: 'panUser', source: path },
    { pen: 2636, id: 137, type: 'ipv6Address', name: 'juniperNextHop', source: path },
  ]);
});

test('files load in order; the dictionary lets the later file win', () => {
  const first = file('9999:\n  1: [uint8, vendorA]\n  2: [uint8, kept]\n');
  const second = file('9999:\n  1: [uint16, vendorB]\n');
  const custom = loadCustomDefinitions([first, second]);
  assert.deepEqual(
    custom.map((c) => [c.source, c.name]),
    [
      [first, 'vendorA'],
      [first, 'kept'],
      [second, 'vendorB'],
    ],
  );
  const dictionary = buildDictionary({ compatibility: 'filebeat', custom });
  assert.deepEqual(
    { ...dictionary.lookup(9999, 1) },
    { name: 'vendorB', key: 'vendor_b', type: 'unsigned16' },
  );
  assert.equal(dictionary.lookup(9999, 2)?.name, 'kept');
});

test('no paths, no definitions', () => {
  assert.deepEqual(loadCustomDefinitions([]), []);
});

test('every problem is FLOWSHIP_CUSTOM_DEFINITIONS naming the file and the entry', () => {
  const missing = join(dir, 'missing.yml');
  rejects([missing], new RegExp(`^${literal(missing)}: cannot read custom definitions \\(ENOENT\\)$`));

  const mixed = file('1: [uint8, a]\n9:\n  2: [uint8, b]\n');
  rejects([mixed], new RegExp(`^${literal(mixed)}:2: mixes NetFlow v9 definitions`));

  const duplicate = file('0:\n  7: [uint8, a]\n  7: [uint16, b]\n');
  rejects([duplicate], new RegExp(`^${literal(duplicate)}:3: PEN 0 id 7: defined twice$`));

  const unknown = file('25461:\n  5: [":uint128", ":big"]\n');
  rejects([unknown], new RegExp(`^${literal(unknown)}:2: PEN 25461 id 5: unknown type "uint128"$`));

  const malformed = file('1: [":uint8"]\n');
  rejects([malformed], new RegExp(`^${literal(malformed)}:1: PEN 0 id 1: expected \\[type, name\\]`));

  const syntax = file('1: [uint8, a\n');
  rejects([syntax], new RegExp(`^${literal(syntax)}:\\d+:\\d+: invalid YAML`));

  const empty = file('');
  rejects([empty], new RegExp(`^${literal(empty)}: expected a mapping`));

  // A good file before a bad one does not hide the error.
  rejects([file('1: [uint8, a]\n'), unknown], /unknown type "uint128"/);
});

test('definitions/netflow-v9-vendor-fields.yml loads and only adds ids the built-in table lacks', () => {
  const path = join(ROOT, 'definitions/netflow-v9-vendor-fields.yml');
  const custom = loadCustomDefinitions([path]);
  const ids = custom.map((c) => c.id);
  const expected = [
    8192, 8193, 8194, 8195, 8196, 8256, 8257, 8258, 8259, 8320, 8321, 8322, 8323, 8324, 8325, 8326, 8327,
    8328, 8384, 8385, 8386, 8387, 8388, 8389, 8390, 8391, 8392, 8393, 20000, 56701, 56702, 57590, 57591,
  ];
  assert.deepEqual(ids, expected);
  const builtIn = defaultDictionary('extended');
  const source = parseYamlDictionary(readFileSync(join(ROOT, 'fixtures/reference/netflow.yaml'), 'utf8'), {
    source: 'netflow.yaml',
    duplicates: 'last-wins',
  });
  for (const c of custom) {
    assert.equal(c.pen, 0);
    assert.equal(builtIn.lookup(0, c.id), undefined, `id ${c.id} is built in`);
    const original = source.find((e) => e.id === c.id);
    assert.deepEqual(
      [c.type, c.name],
      [original?.type, original?.name],
      `id ${c.id} differs from netflow.yaml`,
    );
  }
  const dictionary = buildDictionary({ compatibility: 'filebeat', custom });
  assert.deepEqual({ ...dictionary.lookup(0, 56701) }, { name: 'app_id', key: 'app_id', type: 'string' });
  assert.deepEqual(
    { ...dictionary.lookup(0, 8192) },
    { name: 'streamcore_wan_rtt', key: 'streamcore_wan_rtt', type: 'unsigned32' },
  );
  // netflow.yaml's Cisco ASA ids stay out: the built-in names are Filebeat's.
  assert.equal(dictionary.lookup(0, 33000)?.name, 'ingressAclID');
});
